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
