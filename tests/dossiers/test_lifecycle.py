"""The whole path over GraphQL (HTTP): save a draft, submit (the automatic check refuses an
incomplete one), ask for completion, resubmit, receive (code and appointment), process across
two agencies, pause for documents (the clock stops), apologise with a new date, approve with a
result, return and close — time moving as it would, working days and holidays counted."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import httpx
import pypdfium2 as pdfium
import zxingcpp
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import FixedClock
from core.settings import Settings
from storage.s3 import ObjectStore
from tests.accounts.helpers import messages_to
from tests.conftest import CALENDAR, gql
from tests.dossiers.helpers import DRAFT_RESULT, PDF, act, scene, upload

SAVE = (
    """mutation($input: DossierDraftInput!, $id: ID) { r: dossierSaveDraft(input: $input, id: $id) { %s } }"""
    % DRAFT_RESULT
)


def at(local: str) -> datetime:
    """A moment given in Hà Nội time."""
    return datetime.fromisoformat(local + "+07:00").astimezone(UTC)


async def test_the_whole_path(
    client: httpx.AsyncClient,
    session: AsyncSession,
    store: ObjectStore,
    clock: FixedClock,
    settings: Settings,
) -> None:
    s = await scene(client, session)
    form_file = await upload(session, store, s.citizen_id)
    draft_input = {
        "procedureCode": s.code,
        "receivingAgencyCode": "H44.99",
        "formData": {},
        "components": [],
        "deliveryMethod": "ONLINE",
    }

    # Thursday 26/11/2026, 09:00: a draft, then a submission the automatic check refuses.
    clock.at = at("2026-11-26T09:00:00")
    draft = (await gql(client, SAVE, {"input": draft_input}, token=s.citizen))["data"]["r"]
    assert draft["dossier"]["status"] == "DRAFT"
    dossier_id = draft["dossier"]["id"]
    refused = await act(client, s.citizen, "dossierSubmit", id=dossier_id)
    assert refused["__typename"] == "ValidationFailed"
    assert {tuple(e["field"]): e["code"] for e in refused["errors"]} == {
        ("formData", "hoTen"): "REQUIRED",
        ("components", s.components["Tờ khai theo mẫu"]): "MISSING_COMPONENT",
    }
    complete = {
        **draft_input,
        "formData": {"hoTen": "Nguyễn Thị Lan"},
        "components": [{"componentId": s.components["Tờ khai theo mẫu"], "fileIds": [form_file]}],
    }
    saved = (await gql(client, SAVE, {"input": complete, "id": dossier_id}, token=s.citizen))["data"]["r"]
    version = saved["dossier"]["version"]
    submitted = await act(client, s.citizen, "dossierSubmit", "expectedVersion: $v", id=dossier_id, v=version)
    d = submitted["dossier"]
    assert d["status"] == "SUBMITTED"
    # Submitted online: the charge is at its reduced online amount.
    assert d["feesDue"] == {
        "total": 50000,
        "reduction": 50000,
        "lines": [{"kind": "CHARGE", "name": "Lệ phí cấp phép", "amount": 50000, "ordinaryAmount": 100000}],
    }
    assert d["paymentStatus"] == "UNPAID"
    assert datetime.fromisoformat(d["countsFrom"]) == at("2026-11-26T09:00:00")
    assert d["code"] is None
    assert d["availableActions"] == ["WITHDRAW"]

    # The one-stop officer asks for completion (once), the citizen completes it.
    clock.at = at("2026-11-26T10:00:00")
    asked = await act(
        client,
        s.reception,
        "dossierRequestCompletion",
        "items: $items",
        id=dossier_id,
        items=["Bổ sung bản sao giấy tờ tùy thân có chứng thực"],
    )
    assert asked["dossier"]["status"] == "AWAITING_COMPLETION"
    id_copy = await upload(session, store, s.citizen_id, "cccd.pdf")
    clock.at = at("2026-11-26T17:10:00")  # after hours: counts from Friday morning
    resubmitted = await act(
        client,
        s.citizen,
        "dossierResubmit",
        "components: $components",
        id=dossier_id,
        components=[{"componentId": s.components["Bản sao giấy tờ tùy thân"], "fileIds": [id_copy]}],
    )
    assert resubmitted["dossier"]["status"] == "SUBMITTED"
    assert datetime.fromisoformat(resubmitted["dossier"]["countsFrom"]) == at("2026-11-27T07:30:00")

    # Friday 08:00: received. A code, and an appointment 4 working days later (online: reduced).
    clock.at = at("2026-11-27T08:00:00")
    again = await act(
        client, s.reception, "dossierRequestCompletion", "items: $items", id=dossier_id, items=["x"]
    )
    assert again["__typename"] == "InvalidTransition"  # only once
    received = (await act(client, s.reception, "dossierReceive", id=dossier_id))["dossier"]
    assert received["code"] == "000.00.99.H44-261127-0001"
    expected = CALENDAR.add_working_days(at("2026-11-27T07:30:00"), Decimal(4))
    assert datetime.fromisoformat(received["appointmentAt"]) == expected
    assert expected == at("2026-12-02T17:00:00")  # Fri, Mon, Tue, Wed: the weekend skipped
    steps = received["steps"]
    assert [st["agency"]["code"] for st in steps] == ["H44.99", "H44.19", "H44.96", "H44.19"]
    assert [st["days"] for st in steps] == [0.5, 2.5, 0.5, 0.5]  # the online time, shared alike
    assert steps[0]["finishedAt"]
    assert received["currentStep"] == 2
    assert steps[1]["assigneeId"] == str(s.specialist_id)  # assigned automatically

    # Across two agencies: examination, then the tax office, which asks for documents.
    clock.at = at("2026-11-30T09:00:00")
    forwarded = (
        await act(
            client,
            s.specialist,
            "dossierForward",
            "comment: $comment",
            id=dossier_id,
            comment="Hồ sơ đủ điều kiện",
        )
    )["dossier"]
    assert forwarded["currentStep"] == 3
    assert forwarded["steps"][1]["punctuality"] in ("EARLY", "ON_TIME")
    clock.at = at("2026-12-01T10:00:00")  # Tuesday 10:00
    paused = (
        await act(
            client,
            s.tax,
            "dossierRequestSupplement",
            "items: $items",
            id=dossier_id,
            items=["Tờ khai thuế có chữ ký"],
        )
    )["dossier"]
    assert paused["status"] == "SUPPLEMENT_REQUESTED"
    due_before = datetime.fromisoformat(paused["dueAt"])
    clock.at = at("2026-12-03T10:00:00")  # Thursday 10:00: two working days later
    tax_form = await upload(session, store, s.citizen_id, "to-khai-thue.pdf")
    resumed = (
        await act(
            client,
            s.citizen,
            "dossierSupplement",
            "components: $components",
            id=dossier_id,
            components=[{"componentId": s.components["Tờ khai theo mẫu"], "fileIds": [tax_form]}],
        )
    )["dossier"]
    assert resumed["status"] == "IN_PROGRESS"
    paused_minutes = CALENDAR.working_minutes_between(at("2026-12-01T10:00:00"), at("2026-12-03T10:00:00"))
    assert paused_minutes == 2 * CALENDAR.minutes_per_day()
    assert datetime.fromisoformat(resumed["dueAt"]) == CALENDAR.add_working_minutes(
        due_before, paused_minutes
    )
    # the receipt's date never moves
    assert datetime.fromisoformat(resumed["appointmentAt"]) == datetime.fromisoformat(
        received["appointmentAt"]
    )

    clock.at = at("2026-12-03T14:00:00")
    to_leader = (await act(client, s.tax, "dossierForward", id=dossier_id))["dossier"]
    assert to_leader["currentStep"] == 4

    # Going to be late: the leader apologises with a new date, at the latest one working day before
    # the deadline (Decree 61/2018 art. 19; due Friday 17:00 after the pause); then approves.
    clock.at = at("2026-12-03T15:00:00")
    new_date = at("2026-12-10T16:00:00")
    sorry = (
        await act(
            client,
            s.leader,
            "dossierApologize",
            "newAppointment: $when, reason: $reason",
            id=dossier_id,
            when=new_date.isoformat(),
            reason="Chờ ý kiến cơ quan thuế",
        )
    )["dossier"]
    assert (sorry["apologised"], datetime.fromisoformat(sorry["dueAt"])) == (True, new_date)
    result_file = await upload(session, store, None, "giay-phep.pdf")
    clock.at = at("2026-12-09T09:00:00")
    approved = (
        await act(
            client, s.leader, "dossierApprove", "resultFileIds: $files", id=dossier_id, files=[result_file]
        )
    )["dossier"]
    assert (approved["status"], approved["deliveryStatus"]) == ("RESULT_READY", "AWAITING_PICKUP")
    assert "RESULT" in {a["kind"] for a in approved["attachments"]}
    withdraw = await act(client, s.citizen, "dossierWithdraw", id=dossier_id)
    assert withdraw["__typename"] == "InvalidTransition"  # no withdrawing a ready result

    # Returned online and closed; late against the receipt's appointment, apology or not.
    clock.at = at("2026-12-09T10:00:00")
    closed = (
        await act(client, s.reception, "dossierReturn", "method: $method", id=dossier_id, method="ONLINE")
    )["dossier"]
    assert (closed["status"], closed["deliveryStatus"], closed["punctuality"]) == (
        "CLOSED",
        "DELIVERED",
        "LATE",
    )
    assert closed["availableActions"] == []

    actions = [e["action"] for e in closed["trail"]]
    assert actions == [
        "SUBMIT",
        "REQUEST_COMPLETION",
        "RESUBMIT",
        "RECEIVE",
        "FORWARD",
        "REQUEST_SUPPLEMENT",
        "SUPPLEMENT",
        "FORWARD",
        "APOLOGIZE",
        "APPROVE",
        "RETURN",
    ]
    assert closed["trail"][4]["comment"] == "Hồ sơ đủ điều kiện"
    assert closed["trail"][1]["data"]["items"] == ["Bổ sung bản sao giấy tờ tùy thân có chứng thực"]
    assert closed["trailCheck"] == {"valid": True, "events": 11, "brokenAtSeq": None}

    # Public lookup: the bare code shows no personal data; with the ID number, the whole dossier.
    lookup = """query($c: String!, $n: String) { dossierStatus(code: $c, idNumber: $n) {
        public { code procedureName agencyName status statusLabel } dossier { applicant { name } } } }"""
    public = (await gql(client, lookup, {"c": closed["code"]}))["data"]["dossierStatus"]
    assert public["public"]["statusLabel"] == "đã trả kết quả"
    assert public["dossier"] is None
    assert "Lan" not in str(public)
    full = (await gql(client, lookup, {"c": closed["code"], "n": "025190000001"}))["data"]["dossierStatus"]
    assert full["dossier"]["applicant"]["name"] == "Nguyễn Thị Lan"
    wrong = (await gql(client, lookup, {"c": closed["code"], "n": "025190000002"}))["data"]["dossierStatus"]
    assert wrong["dossier"] is None
    assert (await gql(client, lookup, {"c": "000.00.99.H44-261127-9999"}))["data"]["dossierStatus"] is None

    # The citizen was told at each act that concerns them (e-mail, their verified contact).
    sent = [m.template for m in await messages_to(session, "lan1@example.vn")]
    assert [t for t in sent if t.startswith("dossier_")] == [
        "dossier_request_completion",
        "dossier_receive",
        "dossier_request_supplement",
        "dossier_apologize",
        "dossier_approve",
        "dossier_return",
    ]
    receipt_message = next(
        m for m in await messages_to(session, "lan1@example.vn") if m.template == "dossier_receive"
    )
    assert closed["code"] in receipt_message.body

    # Satisfaction, once the result is returned, once per dossier; aggregated publicly.
    rate = """mutation($id: ID!, $s: [ScoreInput!]!, $c: String) { r: dossierRate(id: $id, scores: $s, comment: $c) {
        __typename ... on DossierRated { overall } ... on Refused { code } ... on ValidationFailed { errors { field code } } } }"""
    scores = [
        {"criterion": c, "score": v}
        for c, v in (("RECEPTION", 5), ("GUIDANCE", 4), ("TIMELINESS", 2), ("RESULT", 5), ("ATTITUDE", 4))
    ]
    bad = (await gql(client, rate, {"id": dossier_id, "s": scores[:2]}, token=s.citizen))["data"]["r"]
    assert bad["errors"] == [{"field": ["scores"], "code": "CRITERIA"}]
    rated = (await gql(client, rate, {"id": dossier_id, "s": scores, "c": "Chậm hẹn"}, token=s.citizen))[
        "data"
    ]["r"]
    assert rated == {"__typename": "DossierRated", "overall": 4.0}
    twice = (await gql(client, rate, {"id": dossier_id, "s": scores}, token=s.citizen))["data"]["r"]
    assert twice == {"__typename": "Refused", "code": "ALREADY_RATED"}
    summary = (await gql(client, '{ satisfaction(agencyCode: "H44.99") { ratings overall byCriterion } }'))[
        "data"
    ]
    assert summary["satisfaction"] == {
        "ratings": 1,
        "overall": 4.0,
        "byCriterion": {"RECEPTION": 5.0, "GUIDANCE": 4.0, "TIMELINESS": 2.0, "RESULT": 5.0, "ATTITUDE": 4.0},
    }
    officer = (await gql(client, f'{{ satisfaction(officerId: "{s.specialist_id}") {{ ratings }} }}'))["data"]
    assert officer["satisfaction"]["ratings"] == 1

    # The result went into the citizen's vault on return: kept by law, downloadable, reusable.
    docs = (await gql(client, "{ vaultDocuments { items { id title source fileId } } }", token=s.citizen))[
        "data"
    ]
    [result_doc] = docs["vaultDocuments"]["items"]
    assert result_doc["source"] == "RESULT"
    assert result_doc["title"] == f"Giấy phép — hồ sơ {closed['code']}"
    delete = "mutation($id: ID!) { r: vaultDocumentDelete(id: $id) { __typename ... on Refused { code } } }"
    assert (await gql(client, delete, {"id": result_doc["id"]}, token=s.citizen))["data"]["r"][
        "code"
    ] == "KEPT_BY_LAW"
    link = """mutation($id: ID!) { r: fileDownload(fileId: $id) { __typename } }"""
    assert (await gql(client, link, {"id": result_doc["fileId"]}, token=s.citizen))["data"]["r"][
        "__typename"
    ] == "DownloadLink"
    reuse = {
        **complete,
        "components": [{"componentId": s.components["Tờ khai theo mẫu"], "fileIds": [result_doc["fileId"]]}],
    }
    second = (await gql(client, SAVE, {"input": reuse}, token=s.citizen))["data"]["r"]
    assert second["__typename"] == "DossierChanged", second  # reused from the vault, not uploaded again
    assert [a["filename"] for a in second["dossier"]["attachments"]] == ["giay-phep.pdf"]

    # The official slips, generated on demand and stored with the dossier; the paper conversion
    # of the result, verifiable by anyone from the code on the paper.
    slip = """mutation($id: ID!, $f: SlipForm!) { r: dossierSlip(id: $id, form: $f) {
        __typename ... on FileResult { file { id filename } } ... on Refused { code } } }"""
    for form in ("RECEIPT", "COMPLETION_REQUEST", "APOLOGY", "CONTROL_SLIP"):
        made = (await gql(client, slip, {"id": dossier_id, "f": form}, token=s.reception))["data"]["r"]
        assert made["__typename"] == "FileResult", (form, made)
        if form == "RECEIPT":
            receipt_file = made["file"]["id"]
    absent = (await gql(client, slip, {"id": dossier_id, "f": "REFUSAL_OF_RECEIPT"}, token=s.reception))[
        "data"
    ]["r"]
    assert absent == {"__typename": "Refused", "code": "NOT_APPLICABLE"}
    receipt_pdf = await _fetch(client, s.citizen, receipt_file)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(receipt_pdf)).pages)
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in text
    assert closed["code"] in text
    assert "Nguyễn Thị Lan" in text
    # The receipt's QR: nothing secret or personal where a server logs it (path and query), the
    # secret and the applicant's ID in the fragment, which no browser sends; the page answers the
    # same without them, and the fragment's secret opens the full view.
    qr = pdfium.PdfDocument(receipt_pdf)[0].render(scale=3).to_pil()
    (qr_text,) = [b.text for b in zxingcpp.read_barcodes(qr) if b.format == zxingcpp.BarcodeFormat.QRCode]
    qr_url = urlsplit(qr_text)
    fragment = dict(parse_qsl(qr_url.fragment))
    assert qr_url.path == f"/tra-cuu/{closed['code']}"
    assert qr_url.query == ""
    assert set(fragment) == {"s", "tt", "nd"}
    assert fragment["nd"] not in qr_url.path
    page_without = await client.get(qr_url.path)
    assert page_without.status_code == 200
    assert "đã trả kết quả" in page_without.text
    full = """query($c: String!, $s: String) { dossierStatus(code: $c, secret: $s) { dossier { code } } }"""
    opened = (await gql(client, full, {"c": closed["code"], "s": fragment["s"]}))["data"]["dossierStatus"]
    assert opened["dossier"] == {"code": closed["code"]}
    convert = """mutation($f: ID!) { r: paperConvert(fileId: $f) {
        __typename ... on PaperConverted { verificationCode verificationUrl file { id } } } }"""
    paper = (await gql(client, convert, {"f": result_doc["fileId"]}, token=s.citizen))["data"]["r"]
    verify = """query($c: String!) { conversionVerify(code: $c) { title checksumSha256 convertedAt sourceSystem } }"""
    checked = (await gql(client, verify, {"c": paper["verificationCode"]}))["data"]["conversionVerify"]
    assert checked["title"] == "giay-phep.pdf"
    assert checked["checksumSha256"] == hashlib.sha256(PDF).hexdigest()
    assert checked["sourceSystem"] == settings.system_name  # with the province (PROVINCE_NAME)
    assert settings.system_name.endswith("tỉnh Phú Thọ")
    assert (await gql(client, verify, {"c": "KHONGCO"}))["data"]["conversionVerify"] is None
    paper_pdf = await _fetch(client, s.citizen, paper["file"]["id"])
    paper_text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(paper_pdf)).pages)
    assert "BẢN CHUYỂN ĐỔI TỪ VĂN BẢN ĐIỆN TỬ" in paper_text
    assert settings.system_name in " ".join(paper_text.split())  # the paper names its system
    image = pdfium.PdfDocument(paper_pdf)[0].render(scale=3).to_pil()
    decoded = [b.text for b in zxingcpp.read_barcodes(image) if b.format == zxingcpp.BarcodeFormat.QRCode]
    assert decoded == [paper["verificationUrl"]]
    # The link works: the verification page, then the public lookup page the receipt's QR opens.
    page = await client.get(paper["verificationUrl"].replace(settings.public_base_url, ""))
    assert page.status_code == 200
    assert "Bản giấy này được chuyển đổi từ văn bản điện tử" in page.text
    assert hashlib.sha256(PDF).hexdigest() in page.text
    assert f"<footer>{settings.system_name}</footer>" in page.text
    assert (await client.get("/xac-minh/KHONGCO")).status_code == 404
    public = await client.get(f"/tra-cuu/{closed['code']}")
    assert "đã trả kết quả" in public.text
    assert "Nguyễn Thị Lan" not in public.text  # no personal data on the public page
    _ = timedelta


async def _fetch(client: httpx.AsyncClient, token: str, file_id: str) -> bytes:
    link = (
        await gql(
            client,
            "mutation($id: ID!) { r: fileDownload(fileId: $id) { ... on DownloadLink { url } } }",
            {"id": file_id},
            token=token,
        )
    )["data"]["r"]
    async with httpx.AsyncClient(timeout=30) as browser:
        return (await browser.get(link["url"])).content
