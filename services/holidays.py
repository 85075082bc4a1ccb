"""The working-day calendar as the province runs it: Vietnam's public holidays from a well-kept
library, corrected by admins in the database (an extra day off; a weekend day worked in
exchange). Every app process rebuilds its calendar when the overrides change."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from models.dossiers import HolidayOverride
from services.calendar import WorkingCalendar
from services.errors import FieldIssue, Forbidden, NotFound, ValidationFailed
from services.events import announce


async def overrides(session: AsyncSession) -> list[HolidayOverride]:
    return list(await session.scalars(select(HolidayOverride).order_by(HolidayOverride.day)))


def build(zone: ZoneInfo, rows: list[HolidayOverride], *, around: int) -> WorkingCalendar:
    return WorkingCalendar.vietnam(
        range(around - 3, around + 3),
        zone=zone,
        extra_days_off=[r.day for r in rows if not r.is_working_day],
        extra_working_days=[r.day for r in rows if r.is_working_day],
    )


async def set_override(
    session: AsyncSession, actor: Actor, day: date, working: bool, name: str
) -> HolidayOverride:
    if not actor.is_system_admin:
        raise Forbidden("Chỉ quản trị hệ thống được sửa lịch ngày nghỉ.")
    if not name.strip():
        raise ValidationFailed(
            [FieldIssue(("name",), "REQUIRED", "Nêu căn cứ (ví dụ số văn bản) của ngày nghỉ/làm bù.")]
        )
    if working and day.weekday() < 5:
        raise ValidationFailed(
            [
                FieldIssue(
                    ("day",), "NOT_WEEKEND", "Chỉ ngày thứ Bảy, Chủ nhật mới có thể là ngày làm việc bù."
                )
            ]
        )
    row = await session.get(HolidayOverride, day, with_for_update=True)
    if row is None:
        row = HolidayOverride(day=day, is_working_day=working, name=name.strip(), created_by=actor.label)
        session.add(row)
    else:
        row.is_working_day, row.name, row.created_by = working, name.strip(), actor.label
    await session.flush()
    await announce(session, "calendar", "overrides")
    return row


async def remove_override(session: AsyncSession, actor: Actor, day: date) -> None:
    if not actor.is_system_admin:
        raise Forbidden("Chỉ quản trị hệ thống được sửa lịch ngày nghỉ.")
    row = await session.get(HolidayOverride, day, with_for_update=True)
    if row is None:
        raise NotFound("ngày điều chỉnh", day.isoformat())
    await session.delete(row)
    await session.flush()
    await announce(session, "calendar", "overrides")


class CalendarCache:
    """The process's calendar, rebuilt after an override changes (a broker notice marks it
    stale) and at least every `max_age` seconds, in case a notice was missed."""

    def __init__(self, zone: ZoneInfo, factory: Callable[[], AsyncSession], *, max_age: float = 300) -> None:
        self._zone = zone
        self._factory = factory
        self._max_age = max_age
        self._calendar: WorkingCalendar | None = None
        self._built = 0.0
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._built = 0.0

    async def get(self, now: datetime) -> WorkingCalendar:
        if self._calendar is not None and time.monotonic() - self._built < self._max_age:
            return self._calendar
        async with self._lock:
            if self._calendar is None or time.monotonic() - self._built >= self._max_age:
                async with self._factory() as session:
                    rows = await overrides(session)
                self._calendar = build(self._zone, rows, around=now.astimezone(self._zone).year)
                self._built = time.monotonic()
        return self._calendar
