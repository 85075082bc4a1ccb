"""Admins correct the calendar in the database; the rebuilt calendar counts it."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from services import holidays
from tests.conftest import admin_gql, gql

SET = """mutation($d: Date!, $w: Boolean!, $n: String!) { holidayOverrideSet(day: $d, isWorkingDay: $w, name: $n) {
  __typename ... on CalendarChanged { day { day working name } } ... on ValidationFailed { errors { field code } } } }"""


async def test_override_days_and_rebuild(client: httpx.AsyncClient, session: AsyncSession) -> None:
    off = await admin_gql(client, SET, {"d": "2026-12-07", "w": False, "n": "Quyết định 99/QĐ-UBND nghỉ bão"})
    assert off["holidayOverrideSet"]["day"] == {
        "day": "2026-12-07",
        "working": False,
        "name": "Quyết định 99/QĐ-UBND nghỉ bão",
    }
    worked = await admin_gql(client, SET, {"d": "2026-12-12", "w": True, "n": "Làm bù"})
    assert worked["holidayOverrideSet"]["day"]["working"] is True
    weekday = await admin_gql(client, SET, {"d": "2026-12-09", "w": True, "n": "x"})
    assert weekday["holidayOverrideSet"]["errors"] == [{"field": ["day"], "code": "NOT_WEEKEND"}]

    calendar = holidays.build(ZoneInfo("Asia/Ho_Chi_Minh"), await holidays.overrides(session), around=2026)
    assert not calendar.is_working_day(date(2026, 12, 7))
    assert calendar.is_working_day(date(2026, 12, 12))
    assert not calendar.is_working_day(date(2026, 2, 17))  # Tết from the library

    year = (
        await gql(client, "{ workingCalendar(year: 2026) { daysOff workingWeekendDays overrides { day } } }")
    )["data"]
    assert "2026-02-17" in year["workingCalendar"]["daysOff"]
    assert {o["day"] for o in year["workingCalendar"]["overrides"]} == {"2026-12-07", "2026-12-12"}

    removed = await admin_gql(client, 'mutation { holidayOverrideRemove(day: "2026-12-07") { __typename } }')
    assert removed["holidayOverrideRemove"]["__typename"] == "CalendarChanged"
    again = await admin_gql(client, 'mutation { holidayOverrideRemove(day: "2026-12-07") { __typename } }')
    assert again["holidayOverrideRemove"]["__typename"] == "NotFound"


async def test_register_a_consumer_and_see_its_backlog(client: httpx.AsyncClient) -> None:
    register = """mutation($n: String!, $u: String!) { eventConsumerRegister(name: $n, url: $u) {
        __typename ... on EventConsumerRegistered { secret consumer { name active } }
        ... on ValidationFailed { errors { field code } } } }"""
    made = (await admin_gql(client, register, {"n": "cong-quoc-gia", "u": "https://dvcqg.example/sync"}))[
        "eventConsumerRegister"
    ]
    assert made["consumer"] == {"name": "cong-quoc-gia", "active": True}
    assert len(made["secret"]) >= 32
    dup = (await admin_gql(client, register, {"n": "cong-quoc-gia", "u": "ftp://x"}))["eventConsumerRegister"]
    assert {tuple(e["field"]): e["code"] for e in dup["errors"]} == {
        ("url",): "BAD_FORMAT",
        ("name",): "DUPLICATE",
    }
    backlog = (await admin_gql(client, "{ outboxBacklog { name active pendingEvents } }"))["outboxBacklog"]
    assert {"name": "cong-quoc-gia", "active": True, "pendingEvents": 0} in backlog
    off = """mutation { eventConsumerSetActive(name: "cong-quoc-gia", active: false) {
        ... on EventConsumerSaved { consumer { active } } } }"""
    assert (await admin_gql(client, off))["eventConsumerSetActive"]["consumer"]["active"] is False
