"""Feedback and questions end to end over GraphQL against the real database: a question routed
from submission to published answer within its 3-working-day deadline, an answer sent back as
unsuitable, redaction, search, notifications, staff entry, decline, and who may see and do what."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import FixedClock
from models.accounts import Notification
from models.feedback import Inquiry, InquiryEvent
from tests.accounts.helpers import make_staff, token_for
from tests.conftest import NOW, gql
from tests.dossiers.helpers import long_token

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")

FIELDS = """
  id code kind channel status statusLabel title content submitterName submitterEmail submitterPhone
  receivedAt classifyDueAt forwardedAt forwardedOnTime answerDueAt overdue answer answeredAt returnedCount
  declineReason publishedAt version dossierId
  focalAgency { code } competentAgency { code } agency { code } field { code }
  history { action fromStatus toStatus note }
"""
RESULT = (
    """
  __typename
  ... on InquiryChanged { replayed inquiry { %s } }
  ... on ValidationFailed { errors { field code message } }
  ... on UserError { message code }
"""
    % FIELDS
)
SUBMIT = (
    "mutation($i: InquiryInput!, $k: String) { r: inquirySubmit(input: $i, idempotencyKey: $k) { %s } }"
    % RESULT
)
RECORD = "mutation($i: InquiryRecordInput!) { r: inquiryRecord(input: $i) { %s } }" % RESULT
FORWARD = (
    "mutation($id: ID!, $a: String!, $f: String, $v: Int) "
    '{ r: inquiryForward(id: $id, competentAgencyCode: $a, fieldCode: $f, note: "Lĩnh vực hộ tịch", '
    "expectedVersion: $v) { %s } }" % RESULT
)
ANSWER = "mutation($id: ID!, $t: String!) { r: inquiryAnswer(id: $id, text: $t) { %s } }" % RESULT
REVIEW = (
    "mutation($id: ID!, $p: Boolean!, $reason: String) "
    "{ r: inquiryReview(id: $id, publish: $p, reason: $reason) { %s } }" % RESULT
)
DECLINE = (
    "mutation($id: ID!, $reason: String!) { r: inquiryDecline(id: $id, reason: $reason) { %s } }" % RESULT
)
ONE = "query($id: ID!) { inquiry(id: $id) { %s } }" % FIELDS
INBOX = "query($o: Boolean, $s: InquiryStatus) { inquiryInbox(overdue: $o, status: $s) { edges { node { code } } } }"
TRACK = (
    "query($c: String!) { inquiryTracking(code: $c) { code status statusLabel classifyDueAt answerDueAt } }"
)
PUBLISHED = """query($q: String, $a: String) { publishedAnswers(search: $q, agencyCode: $a) {
  edges { node { code kind title question answer competentAgency { code } field { code } } }
  pageInfo { hasNextPage } } }"""

QUESTION = {
    "kind": "QUESTION",
    "title": "Đăng ký khai sinh cho con khi bố mẹ chưa đăng ký kết hôn",
    "content": "Tôi là Nguyễn Thị Lan, số điện thoại 0912 300 001, email lan1@example.vn, CCCD 025190000001. "
    "Con tôi sinh năm 2026, bố mẹ chưa đăng ký kết hôn thì đăng ký khai sinh ở đâu, cần giấy tờ gì?",
}
ANSWER_TEXT = (
    "Việc đăng ký khai sinh thực hiện tại UBND cấp xã nơi cư trú của cha hoặc mẹ; hồ sơ gồm tờ khai "
    "và giấy chứng sinh. Nếu cần hỗ trợ, bà Nguyễn Thị Lan có thể gọi 0912300001."
)


async def run(client: httpx.AsyncClient, query: str, token: str | None, **variables: Any) -> dict[str, Any]:
    body = await gql(client, query, variables, token=token)
    result: dict[str, Any] = body["data"]["r"]
    return result


async def citizen_token(client: httpx.AsyncClient, session: AsyncSession, n: int = 1) -> str:
    """A signed-up citizen whose token outlives the days the tests move the clock by."""
    signed_in = await token_for(client, session, n)
    me = (await gql(client, "{ me { id } }", token=signed_in))["data"]["me"]["id"]
    return long_token(uuid.UUID(me))


async def people(session: AsyncSession) -> dict[str, str]:
    ids = {
        "focal": await make_staff(session, "daumoi@phutho.gov.vn", ("FEEDBACK_FOCAL_POINT", "H44.99", False)),
        "justice": await make_staff(session, "tuphap@phutho.gov.vn", ("SPECIALIST", "H44.19", False)),
        "foreign_focal": await make_staff(
            session, "daumoi.ct@phutho.gov.vn", ("FEEDBACK_FOCAL_POINT", "H44.07", False)
        ),
        "foreign_specialist": await make_staff(
            session, "congthuong@phutho.gov.vn", ("SPECIALIST", "H44.07", False)
        ),
        "counter": await make_staff(
            session, "motcua.pa@phutho.gov.vn", ("RECEPTION_OFFICER", "H44.99", False)
        ),
    }
    await session.commit()
    return {name: long_token(account_id) for name, (account_id, _) in ids.items()}


async def test_question_from_submission_to_published_answer(
    client: httpx.AsyncClient, session: AsyncSession, clock: FixedClock
) -> None:
    citizen = await citizen_token(client, session)
    other = await citizen_token(client, session, 2)
    staff = await people(session)

    submitted = await run(client, SUBMIT, citizen, i=QUESTION, k="hoi-dap-0001")
    assert submitted["__typename"] == "InquiryChanged", submitted
    q = submitted["inquiry"]
    assert (q["kind"], q["status"], q["channel"]) == ("QUESTION", "RECEIVED", "ONLINE")
    assert q["focalAgency"]["code"] == "H44.99"  # FEEDBACK_FOCAL_AGENCY: nothing more specific named
    assert q["code"].startswith("HD-")
    # Thursday 26/11 09:00 + 3 working days (Fri, Mon, Tue) = Tuesday 01/12.
    due = httpx_dt(q["classifyDueAt"])
    assert due.astimezone(ZONE).date().isoformat() == "2026-12-01"
    assert q["submitterEmail"] is None  # contacts are for staff eyes
    # A retry with the same key is applied once.
    again = await run(client, SUBMIT, citizen, i=QUESTION, k="hoi-dap-0001")
    assert again["replayed"] is True
    assert again["inquiry"]["id"] == q["id"]
    assert len(list(await session.scalars(select(Inquiry)))) == 1

    # The submitter was told the tracking code.
    told = (
        await session.scalars(select(Notification).where(Notification.template == "inquiry_received"))
    ).all()
    assert any(q["code"] in n.body and n.destination == "lan1@example.vn" for n in told)

    # Public tracking shows status only; strangers see nothing else.
    tracked = (await gql(client, TRACK, {"c": q["code"].lower()}))["data"]["inquiryTracking"]
    assert tracked["status"] == "RECEIVED"
    assert "title" not in tracked
    for token in (other, staff["foreign_focal"], staff["foreign_specialist"], staff["justice"]):
        assert (await gql(client, ONE, {"id": q["id"]}, token=token))["data"]["inquiry"] is None
    assert (await gql(client, INBOX, {}, token=staff["foreign_focal"]))["data"]["inquiryInbox"]["edges"] == []
    stolen = await run(client, FORWARD, staff["foreign_focal"], id=q["id"], a="H44.07")
    assert stolen["__typename"] == "NotFound"

    # The focal point sees it, classifies it and forwards it on the next working day: on time.
    inbox = (await gql(client, INBOX, {"s": "RECEIVED"}, token=staff["focal"]))["data"]["inquiryInbox"]
    assert [e["node"]["code"] for e in inbox["edges"]] == [q["code"]]
    clock.at = NOW + timedelta(days=1)
    stale = await run(client, FORWARD, staff["focal"], id=q["id"], a="H44.19", f="HOTICH", v=99)
    assert stale["__typename"] == "Conflict"
    bad = await run(client, FORWARD, staff["focal"], id=q["id"], a="KHONG-CO", f="KHONG-CO")
    assert bad["__typename"] == "ValidationFailed"
    assert {e["field"][0] for e in bad["errors"]} == {"competentAgencyCode", "fieldCode"}
    forwarded = await run(client, FORWARD, staff["focal"], id=q["id"], a="H44.19", f="HOTICH", v=q["version"])
    f = forwarded["inquiry"]
    assert (f["status"], f["forwardedOnTime"], f["competentAgency"]["code"], f["field"]["code"]) == (
        "FORWARDED",
        True,
        "H44.19",
        "HOTICH",
    )
    assert httpx_dt(f["answerDueAt"]) > httpx_dt(f["forwardedAt"])
    # Forwarding twice is not applied twice.
    twice = await run(client, FORWARD, staff["focal"], id=q["id"], a="H44.19")
    assert twice["__typename"] == "InvalidTransition"

    # Only the competent agency answers; the submitter and other agencies cannot.
    denied = await gql(client, ANSWER, {"id": q["id"], "t": ANSWER_TEXT}, token=citizen, expect_errors=True)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    foreign = await run(client, ANSWER, staff["foreign_specialist"], id=q["id"], t=ANSWER_TEXT)
    assert foreign["__typename"] == "NotFound"
    clock.at = NOW + timedelta(days=2)
    first_answer = await run(client, ANSWER, staff["justice"], id=q["id"], t="Liên hệ UBND xã.")
    assert first_answer["inquiry"]["status"] == "ANSWERED"
    # The submitter does not see an answer before it is published.
    mine = (await gql(client, ONE, {"id": q["id"]}, token=citizen))["data"]["inquiry"]
    assert mine["answer"] is None
    assert mine["status"] == "ANSWERED"

    # The focal point judges it unsuitable: back to the competent agency, with the reason.
    sent_back = await run(
        client, REVIEW, staff["focal"], id=q["id"], p=False, reason="Trả lời chưa nêu hồ sơ cần nộp."
    )
    assert (sent_back["inquiry"]["status"], sent_back["inquiry"]["returnedCount"]) == ("FORWARDED", 1)
    assert (await run(client, REVIEW, staff["focal"], id=q["id"], p=False))[
        "__typename"
    ] == "InvalidTransition"
    answered = await run(client, ANSWER, staff["justice"], id=q["id"], t=ANSWER_TEXT)
    assert answered["inquiry"]["status"] == "ANSWERED"
    clock.at = NOW + timedelta(days=3)
    published = await run(client, REVIEW, staff["focal"], id=q["id"], p=True)
    p = published["inquiry"]
    assert p["status"] == "PUBLISHED"
    assert p["publishedAt"]
    assert [h["action"] for h in p["history"]] == [
        "SUBMIT",
        "FORWARD",
        "ANSWER",
        "RETURN_ANSWER",
        "ANSWER",
        "PUBLISH",
    ]
    assert p["history"][3]["note"] == "Trả lời chưa nêu hồ sơ cần nộp."

    # The submitter follows it and reads the answer; their view hides staff notes.
    mine = (await gql(client, ONE, {"id": q["id"]}, token=citizen))["data"]["inquiry"]
    assert mine["answer"] == ANSWER_TEXT
    assert all(h["note"] is None for h in mine["history"])
    mail = (
        await session.scalars(select(Notification).where(Notification.template == "inquiry_published"))
    ).all()
    assert len(mail) == 1
    assert ANSWER_TEXT in mail[0].body
    assert mail[0].destination == "lan1@example.vn"

    # Published, redacted and searchable without diacritics.
    found = (await gql(client, PUBLISHED, {"q": "khai sinh chua ket hon"}))["data"]["publishedAnswers"][
        "edges"
    ]
    assert [e["node"]["code"] for e in found] == [q["code"]]
    shown = found[0]["node"]
    text = shown["question"] + shown["answer"]
    for personal in ("Nguyễn Thị Lan", "0912 300 001", "0912300001", "lan1@example.vn", "025190000001"):
        assert personal not in text
    assert "[đã ẩn]" in shown["question"]
    assert "giấy chứng sinh" in shown["answer"]
    assert shown["competentAgency"]["code"] == "H44.19"
    assert shown["field"]["code"] == "HOTICH"
    assert (await gql(client, PUBLISHED, {"q": "giay phep xay dung"}))["data"]["publishedAnswers"][
        "edges"
    ] == []
    by_agency = (await gql(client, PUBLISHED, {"a": "H44.07"}))["data"]["publishedAnswers"]["edges"]
    assert by_agency == []


async def test_overdue_classification_is_flagged(
    client: httpx.AsyncClient, session: AsyncSession, clock: FixedClock
) -> None:
    citizen = await citizen_token(client, session)
    staff = await people(session)
    q = (await run(client, SUBMIT, citizen, i={**QUESTION, "kind": "FEEDBACK"}))["inquiry"]
    assert q["code"].startswith("PA-")
    assert q["overdue"] is False
    assert (await gql(client, INBOX, {"o": True}, token=staff["focal"]))["data"]["inquiryInbox"][
        "edges"
    ] == []
    clock.at = NOW + timedelta(days=7)  # past Tuesday 01/12
    late = (await gql(client, INBOX, {"o": True}, token=staff["focal"]))["data"]["inquiryInbox"]["edges"]
    assert [e["node"]["code"] for e in late] == [q["code"]]
    forwarded = (await run(client, FORWARD, staff["focal"], id=q["id"], a="H44.19"))["inquiry"]
    assert forwarded["forwardedOnTime"] is False


async def test_staff_enter_a_letter_and_decline_a_complaint(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    citizen = await citizen_token(client, session)
    staff = await people(session)
    letter = {
        "kind": "FEEDBACK",
        "channel": "LETTER",
        "receivingAgencyCode": "H44.99",
        "name": "Trần Văn Bình",
        "phone": "0987 654 321",
        "title": "Thái độ tiếp dân",
        "content": "Cán bộ tiếp nhận hồ sơ ngày 20/11 không hướng dẫn đầy đủ.",
    }
    # A citizen cannot enter letters; staff cannot enter them for an agency where they do not work.
    refused = await run(client, RECORD, citizen, i=letter)
    assert refused["__typename"] == "ValidationFailed"
    assert "channel" in {e["field"][0] for e in refused["errors"]}
    elsewhere = await run(client, RECORD, staff["foreign_focal"], i=letter)
    assert {e["field"][0] for e in elsewhere["errors"]} == {"receivingAgencyCode"}
    missing = await run(client, RECORD, staff["counter"], i={**letter, "name": " ", "phone": "12"})
    assert {e["field"][0] for e in missing["errors"]} == {"name", "phone"}

    entered = await run(client, RECORD, staff["counter"], i=letter)
    assert entered["__typename"] == "InquiryChanged", entered
    row = entered["inquiry"]
    assert (row["channel"], row["submitterName"], row["submitterPhone"]) == (
        "LETTER",
        "Trần Văn Bình",
        "0987 654 321",
    )
    sms = (
        await session.scalars(select(Notification).where(Notification.destination == "0987 654 321"))
    ).all()
    assert [n.template for n in sms] == ["inquiry_received"]
    assert row["code"] in sms[0].body

    # The counter officer entered it but only the focal point routes it.
    denied = await gql(
        client, DECLINE, {"id": row["id"], "reason": "Khiếu nại"}, token=staff["counter"], expect_errors=True
    )
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    short = await run(client, DECLINE, staff["focal"], id=row["id"], reason="x")
    assert short["__typename"] == "ValidationFailed"
    declined = await run(
        client,
        DECLINE,
        staff["focal"],
        id=row["id"],
        reason="Nội dung là khiếu nại, chuyển theo Luật Khiếu nại",
    )
    assert declined["inquiry"]["status"] == "DECLINED"
    told = (
        await session.scalars(select(Notification).where(Notification.template == "inquiry_declined"))
    ).all()
    assert len(told) == 1
    assert "khiếu nại" in told[0].body.lower()
    assert (await run(client, FORWARD, staff["focal"], id=row["id"], a="H44.19"))[
        "__typename"
    ] == "InvalidTransition"


async def test_submission_is_validated_and_subjects_must_be_ones_own(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    citizen = await citizen_token(client, session)
    bad = await run(
        client,
        SUBMIT,
        citizen,
        i={
            "kind": "QUESTION",
            "title": "",
            "content": "ngắn",
            "procedureCode": "0.000000",
            "agencyCode": "KHONG-CO",
            "dossierId": str(uuid.uuid4()),
            "latitude": 123.0,
        },
    )
    assert bad["__typename"] == "ValidationFailed"
    assert {(e["field"][0], e["code"]) for e in bad["errors"]} == {
        ("title", "REQUIRED"),
        ("content", "TOO_SHORT"),
        ("procedureCode", "NOT_FOUND"),
        ("agencyCode", "NOT_FOUND"),
        ("dossierId", "NOT_FOUND"),
        ("latitude", "OUT_OF_RANGE"),
    }
    malformed = await run(client, SUBMIT, citizen, i={**QUESTION, "dossierId": "not-an-id"})
    assert malformed["__typename"] == "ValidationFailed"
    assert not list(await session.scalars(select(Inquiry)))
    # Anonymous callers must sign in.
    anonymous = await gql(client, SUBMIT, {"i": QUESTION}, expect_errors=True)
    assert anonymous["errors"]
    assert anonymous["data"] is None
    # About an agency: that agency's focal point receives it.
    about = await run(client, SUBMIT, citizen, i={**QUESTION, "agencyCode": "H44.07"})
    assert about["inquiry"]["focalAgency"]["code"] == "H44.07"
    assert about["inquiry"]["agency"]["code"] == "H44.07"
    events = (await session.scalars(select(InquiryEvent))).all()
    assert [e.action for e in events] == ["SUBMIT"]


def httpx_dt(value: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(value)
