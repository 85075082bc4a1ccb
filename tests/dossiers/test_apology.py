"""Late dossiers by the book (Decree 61/2018 art. 19; Circular 03/2025/TT-VPCP form 04), over
GraphQL: the apology comes at the latest one working day before the deadline, the result date
moves at most once, the signer is a leader of the agency holding the late step (a setting), and
the letter names the reason and the new date. And the slips follow the form set of the dossier's
reception day: the notice to stop processing (Circular 03/2025 form 05) on a withdrawal."""

from __future__ import annotations

import io
import re
from datetime import datetime
from typing import Any

import httpx
from pypdf import PdfReader
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import FixedClock
from core.settings import Settings
from models.catalog import Agency
from models.dossiers import Dossier
from storage.s3 import ObjectStore
from tests.conftest import CALENDAR, gql
from tests.dossiers.helpers import DRAFT_RESULT, Scene, act, scene, upload

SAVE = (
    """mutation($input: DossierDraftInput!, $id: ID) { r: dossierSaveDraft(input: $input, id: $id) { %s } }"""
    % DRAFT_RESULT
)
SLIP = """mutation($id: ID!, $f: SlipForm!) { r: dossierSlip(id: $id, form: $f) {
    __typename ... on FileResult { file { id } } ... on Refused { code message } } }"""
DOWNLOAD = """mutation($id: ID!) { r: fileDownload(fileId: $id) { ... on DownloadLink { url } } }"""


def at(local: str) -> datetime:
    return datetime.fromisoformat(local).replace(tzinfo=CALENDAR.zone)


async def _received(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore, clock: FixedClock, s: Scene
) -> dict[str, Any]:
    """A complete online dossier submitted Thursday 26/11/2026 after hours, received on Friday
    08:00: 4 working days from Friday 07:30 is Wednesday 2/12 17:00."""
    form_file = await upload(session, store, s.citizen_id)
    draft = {
        "procedureCode": s.code,
        "receivingAgencyCode": "H44.99",
        "formData": {"hoTen": "Nguyễn Thị Lan"},
        "components": [{"componentId": s.components["Tờ khai theo mẫu"], "fileIds": [form_file]}],
        "deliveryMethod": "ONLINE",
    }
    clock.at = at("2026-11-26T17:10:00")  # after hours: counts from Friday 07:30
    saved = (await gql(client, SAVE, {"input": draft}, token=s.citizen))["data"]["r"]
    dossier_id = saved["dossier"]["id"]
    assert (await act(client, s.citizen, "dossierSubmit", id=dossier_id))["dossier"]["status"] == "SUBMITTED"
    clock.at = at("2026-11-27T08:00:00")
    received: dict[str, Any] = (await act(client, s.reception, "dossierReceive", id=dossier_id))["dossier"]
    assert datetime.fromisoformat(received["dueAt"]) == at("2026-12-02T17:00:00")
    return received


async def _apologize(client: httpx.AsyncClient, token: str, dossier_id: str, when: str) -> dict[str, Any]:
    return await act(
        client,
        token,
        "dossierApologize",
        "newAppointment: $when, reason: $reason",
        id=dossier_id,
        when=at(when).isoformat(),
        reason="Chờ ý kiến cơ quan thuế",
    )


async def _pdf_text(client: httpx.AsyncClient, token: str, file_id: str) -> str:
    link = (await gql(client, DOWNLOAD, {"id": file_id}, token=token))["data"]["r"]
    async with httpx.AsyncClient(timeout=30) as browser:
        response = await browser.get(link["url"])
    assert response.status_code == 200
    pages = PdfReader(io.BytesIO(response.content)).pages
    return " ".join(" ".join((p.extract_text() or "").split()) for p in pages)


async def test_decree_61_art_19_the_apology_comes_at_the_latest_one_working_day_before_the_deadline(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore, clock: FixedClock
) -> None:
    """Decree 61/2018 art. 19: the competent agency apologises "chậm nhất 01 ngày trước ngày hết
    hạn giải quyết" — later, the apology is refused with a field error (APOLOGY_TOO_LATE)."""
    s = await scene(client, session)
    dossier_id = (await _received(client, session, store, clock, s))["id"]
    clock.at = at("2026-12-02T07:45:00")  # less than a working day before Wed 17:00
    late = await _apologize(client, s.leader, dossier_id, "2026-12-07T16:00:00")
    assert late["__typename"] == "ValidationFailed"
    assert late["errors"] == [
        {
            "field": ["newAppointment"],
            "code": "APOLOGY_TOO_LATE",
            "message": "Đã quá thời hạn xin lỗi và hẹn lại: chậm nhất 01 ngày làm việc trước ngày hết hạn giải "
            "quyết.",
        }
    ]
    clock.at = at("2026-12-01T17:00:00")  # exactly one working day before: still in time
    sorry = await _apologize(client, s.leader, dossier_id, "2026-12-07T16:00:00")
    assert sorry["__typename"] == "DossierChanged", sorry
    moved = (sorry["dossier"]["apologised"], datetime.fromisoformat(sorry["dossier"]["dueAt"]))
    assert moved == (True, at("2026-12-07T16:00:00"))


async def test_decree_61_art_19_the_result_date_moves_at_most_once(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore, clock: FixedClock
) -> None:
    """Decree 61/2018 art. 19: "Việc hẹn lại ngày trả kết quả được thực hiện không quá một lần" —
    a second apology (or extension request) is refused (APPOINTMENT_ALREADY_MOVED)."""
    s = await scene(client, session)
    dossier_id = (await _received(client, session, store, clock, s))["id"]
    clock.at = at("2026-11-30T09:00:00")
    first = await _apologize(client, s.leader, dossier_id, "2026-12-07T16:00:00")
    assert first["__typename"] == "DossierChanged"
    clock.at = at("2026-12-01T09:00:00")
    second = await _apologize(client, s.leader, dossier_id, "2026-12-10T16:00:00")
    assert second["__typename"] == "ValidationFailed"
    assert [(e["field"], e["code"]) for e in second["errors"]] == [
        (["newAppointment"], "APPOINTMENT_ALREADY_MOVED")
    ]


async def test_the_apology_is_signed_by_a_leader_of_the_agency_holding_the_late_step(
    client: httpx.AsyncClient,
    session: AsyncSession,
    store: ObjectStore,
    clock: FixedClock,
    settings: Settings,
) -> None:
    """The signer is a provincial rule (DESIGN.md: Decree 61 names the competent agency, not a
    signer): by default a leader of the agency holding the late step (APOLOGY_SIGNER); the letter
    (Circular 03/2025 form 04, the dossier being received after 15 Sept 2025) is headed by that
    agency and names the reason and the new date."""
    s = await scene(client, session)
    dossier_id = (await _received(client, session, store, clock, s))["id"]
    clock.at = at("2026-11-30T15:00:00")  # no step late yet: the current one (H44.19) holds it
    sorry = (await _apologize(client, s.leader, dossier_id, "2026-12-07T16:00:00"))["dossier"]
    signer = sorry["trail"][-1]["data"]["signer"]
    late_agency = await session.scalar(
        select(Agency).where(Agency.code == sorry["steps"][1]["agency"]["code"])
    )
    assert late_agency is not None
    assert late_agency.code == "H44.19"
    assert (signer["agency"], signer["title"]) == (late_agency.name, "THỦ TRƯỞNG CƠ QUAN, ĐƠN VỊ")
    assert signer["name"]  # the leader who acted is a leader of that agency
    made = (await gql(client, SLIP, {"id": dossier_id, "f": "APOLOGY"}, token=s.leader))["data"]["r"]
    text = await _pdf_text(client, s.leader, made["file"]["id"])
    assert "VĂN BẢN XIN LỖI VÀ ĐỀ NGHỊ GIA HẠN THỜI GIAN GIẢI QUYẾT" in text
    assert "Lý do: Chờ ý kiến cơ quan thuế" in text
    assert "16 giờ 00 phút, ngày 07 tháng 12 năm 2026" in text
    assert text.startswith(signer["agency"].upper()[:12])

    settings.apology_signer = "RECEIVING_AGENCY_LEADER"
    other = (await _received(client, session, store, clock, s))["id"]
    clock.at = at("2026-11-30T15:00:00")
    moved = (await _apologize(client, s.leader, other, "2026-12-07T16:00:00"))["dossier"]
    kept = moved["trail"][-1]["data"]["signer"]
    assert kept["name"] is None  # not a leader of the receiving unit: signed by hand
    assert kept["agency"] != signer["agency"]


async def test_circular_03_2025_form_05_notice_to_stop_on_withdrawal_and_the_old_set_for_old_dossiers(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore, clock: FixedClock
) -> None:
    """Circular 03/2025/TT-VPCP form 05: a notice to stop processing when the dossier is withdrawn.
    A dossier received before 15 Sept 2025 keeps Circular 01/2018's six forms, which have none.
    Form 01 (both circulars) names the statutory time, where to collect, the book entry."""
    s = await scene(client, session)
    dossier_id = (await _received(client, session, store, clock, s))["id"]
    # Form 01 carries what the template asks: the statutory time (online: the reduced 4 days), where
    # the result will be collected, the tracking-book volume and number, the e-mail field.
    receipt = (await gql(client, SLIP, {"id": dossier_id, "f": "RECEIPT"}, token=s.reception))["data"]["r"]
    text = await _pdf_text(client, s.reception, receipt["file"]["id"])
    assert "3. Thời gian giải quyết hồ sơ theo quy định là: 04 ngày làm việc" in text
    assert "6. Đăng ký nhận kết quả tại: Trực tuyến" in text
    assert re.search(r"Vào Sổ theo dõi hồ sơ, Quyển số: 2026; Số thứ tự: \d{4}", text)
    assert "Email:" in text
    clock.at = at("2026-11-30T09:00:00")
    assert (await act(client, s.citizen, "dossierWithdraw", id=dossier_id))["dossier"][
        "status"
    ] == "WITHDRAWN"
    made = (await gql(client, SLIP, {"id": dossier_id, "f": "STOP_NOTICE"}, token=s.reception))["data"]["r"]
    assert made["__typename"] == "FileResult", made
    text = await _pdf_text(client, s.reception, made["file"]["id"])
    assert "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ" in text
    assert "Theo đề nghị rút hồ sơ của Ông/Bà" in text
    assert "Mẫu số 05" in text

    # The same dossier as if received on 12/9/2025 (a dossier carried over from before the switch).
    await session.execute(
        update(Dossier).where(Dossier.id == dossier_id).values(received_at=at("2025-09-12T08:00:00"))
    )
    await session.commit()
    old = (await gql(client, SLIP, {"id": dossier_id, "f": "STOP_NOTICE"}, token=s.reception))["data"]["r"]
    assert old["__typename"] == "Refused"
    assert old["code"] == "NOT_IN_FORM_SET"
    control = (await gql(client, SLIP, {"id": dossier_id, "f": "CONTROL_SLIP"}, token=s.reception))["data"][
        "r"
    ]
    text = await _pdf_text(client, s.reception, control["file"]["id"])
    assert "Mẫu số 05" in text  # the control slip is form 05 of Circular 01/2018 (06 of 03/2025)


async def test_decree_61_art_19_while_the_clock_is_stopped_the_deadline_the_apology_counts_from_moves_with_it(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore, clock: FixedClock
) -> None:
    """Decree 61/2018 art. 19 with the stopped clock: while the dossier waits for the applicant's
    supplement, its deadline moves by the working time waited so far, and so does the latest
    moment for the apology."""
    s = await scene(client, session)
    dossier_id = (await _received(client, session, store, clock, s))["id"]
    clock.at = at("2026-11-30T09:00:00")
    paused = await act(
        client, s.specialist, "dossierRequestSupplement", "items: $items", id=dossier_id, items=["x"]
    )
    assert paused["dossier"]["status"] == "SUPPLEMENT_REQUESTED"
    clock.at = at("2026-12-02T16:00:00")  # an hour before the unmoved deadline; 2.8 days waited
    sorry = await _apologize(client, s.leader, dossier_id, "2026-12-10T16:00:00")
    assert sorry["__typename"] == "DossierChanged", sorry
