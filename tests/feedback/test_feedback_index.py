"""Indicator 5.1 of the Decision 766 index (feedback answered on time) counts the feedback the
agency really had due in the period: one answered on time, one late, one still open and late,
a declined one and a question (neither counts)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import FixedClock
from tests.conftest import NOW, gql
from tests.feedback.test_inquiries import (
    ANSWER,
    DECLINE,
    FORWARD,
    QUESTION,
    SUBMIT,
    citizen_token,
    people,
    run,
)

INDEX = """query($f: StatisticsFilter!) { serviceIndex(filter: $f) {
  groups { code indicators { code status numerator denominator score maxPoints } } } }"""


async def indicator(client: httpx.AsyncClient, agency: str, code: str) -> dict[str, Any]:
    f = {"from": "2026-11-01", "to": "2027-01-31", "agencyCode": agency}
    data = (await gql(client, INDEX, {"f": f}))["data"]["serviceIndex"]
    found: dict[str, Any] = next(i for g in data["groups"] for i in g["indicators"] if i["code"] == code)
    return found


async def test_feedback_answered_on_time_is_the_share_the_index_scores(
    client: httpx.AsyncClient, session: AsyncSession, clock: FixedClock
) -> None:
    citizen = await citizen_token(client, session)
    staff = await people(session)
    feedback = {**QUESTION, "kind": "FEEDBACK"}
    ids = []
    for _ in range(4):
        made = await run(client, SUBMIT, citizen, i=feedback)
        ids.append(made["inquiry"]["id"])
    question = (await run(client, SUBMIT, citizen, i=QUESTION))["inquiry"]["id"]
    for ident in [*ids[:3], question]:
        forwarded = await run(client, FORWARD, staff["focal"], id=ident, a="H44.19")
        assert forwarded["inquiry"]["status"] == "FORWARDED"
    await run(client, DECLINE, staff["focal"], id=ids[3], reason="Trùng với phản ánh đã gửi")
    text = "Cơ quan đã tiếp thu và sẽ điều chỉnh quy trình tiếp nhận trong tháng tới."
    on_time = await run(client, ANSWER, staff["justice"], id=ids[0], t=text)
    assert on_time["inquiry"]["status"] == "ANSWERED"
    await run(client, ANSWER, staff["justice"], id=question, t=text)  # a question: not counted
    clock.at = NOW + timedelta(days=30)  # past the 15 working days
    late = await run(client, ANSWER, staff["justice"], id=ids[1], t=text)
    assert late["inquiry"]["status"] == "ANSWERED"
    # ids[2] stays unanswered past its deadline.

    justice = await indicator(client, "H44.19", "5.1")
    assert (justice["status"], justice["numerator"], justice["denominator"]) == ("MEASURED", 1, 3)
    assert justice["score"] == round(justice["maxPoints"] / 3, 2)
    other = await indicator(client, "H44.07", "5.1")
    assert (other["status"], other["denominator"]) == ("NO_DATA", 0)
