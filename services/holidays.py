"""The working-day calendar as the province runs it: Vietnam's public holidays from a well-kept
library, corrected by admins in the database in both directions (an extra day off; a library
holiday removed, or a weekend day worked in exchange), with the province's office hours from the
settings and a receiving unit's own hours (unit_calendars). Every app process rebuilds its
calendars when the overrides change."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as clock_time
from zoneinfo import ZoneInfo

import holidays as holiday_library
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from auth.roles import StaffRole
from core.settings import Settings
from models.catalog import Agency
from models.dossiers import HolidayOverride, UnitCalendar
from services.calendar import DEFAULT_HOURS, OfficeHours, WorkingCalendar
from services.errors import FieldIssue, Forbidden, NotFound, ValidationFailed
from services.events import announce

_HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


def _clock(text: str) -> clock_time:
    match = _HHMM.match(text.strip())
    if match is None:
        raise ValueError(f"not a HH:MM time: {text!r}")
    return clock_time(int(match.group(1)), int(match.group(2)))


def _session(text: str) -> tuple[clock_time, clock_time]:
    start, _, end = text.partition("-")
    return _clock(start), _clock(end)


def province_hours(settings: Settings) -> OfficeHours:
    """The province's office hours from CALENDAR_MORNING, CALENDAR_AFTERNOON, CALENDAR_CUTOFF,
    CALENDAR_SATURDAY and CALENDAR_SATURDAY_COUNTS (an inconsistent set fails at start)."""
    saturday = settings.calendar_saturday.strip()
    cutoff = settings.calendar_cutoff.strip()
    return OfficeHours(
        morning=_session(settings.calendar_morning),
        afternoon=_session(settings.calendar_afternoon),
        cutoff=_clock(cutoff) if cutoff else None,
        saturday=_session(saturday) if saturday else None,
        saturday_counts=settings.calendar_saturday_counts and bool(saturday),
    )


async def overrides(session: AsyncSession) -> list[HolidayOverride]:
    return list(await session.scalars(select(HolidayOverride).order_by(HolidayOverride.day)))


def build(
    zone: ZoneInfo, rows: list[HolidayOverride], *, around: int, hours: OfficeHours = DEFAULT_HOURS
) -> WorkingCalendar:
    return WorkingCalendar.vietnam(
        range(around - 3, around + 3),
        zone=zone,
        hours=hours,
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
    if working and day.weekday() < 5 and day not in holiday_library.country_holidays("VN", years=day.year):
        # A weekday is worked anyway unless it is a library holiday, which the province may remove.
        message = "Chỉ ngày thứ Bảy, Chủ nhật (làm bù) hoặc một ngày lễ có trong lịch mới là ngày làm việc."
        raise ValidationFailed([FieldIssue(("day",), "NOT_WEEKEND", message)])
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


@dataclass(frozen=True)
class UnitHours:
    """What an admin sets for a receiving unit (fields as the GraphQL input names them)."""

    morning_start: clock_time
    morning_end: clock_time
    afternoon_start: clock_time
    afternoon_end: clock_time
    cutoff: clock_time | None
    saturday_start: clock_time | None = None
    saturday_end: clock_time | None = None
    saturday_counts: bool = False


def unit_hours(row: UnitCalendar) -> OfficeHours:
    """A unit's stored hours (checked when they were set)."""
    saturday = (row.saturday_start, row.saturday_end) if row.saturday_start and row.saturday_end else None
    return OfficeHours(
        morning=(row.morning_start, row.morning_end),
        afternoon=(row.afternoon_start, row.afternoon_end),
        cutoff=row.cutoff,
        saturday=saturday,
        saturday_counts=row.saturday_counts and saturday is not None,
    )


def _checked(hours: UnitHours) -> None:
    """The field-level issues of an inconsistent set of hours."""
    issues: list[FieldIssue] = []
    times = [t for t in (*_fields(hours).values(),) if t is not None]
    if any(t.second or t.microsecond for t in times):
        issues.append(FieldIssue(("hours",), "WHOLE_MINUTES", "Giờ làm việc tính theo phút (HH:MM)."))
    if not hours.morning_start < hours.morning_end <= hours.afternoon_start < hours.afternoon_end:
        message = "Buổi sáng phải bắt đầu trước khi kết thúc và kết thúc trước buổi chiều."
        issues.append(FieldIssue(("afternoonStart",), "OUT_OF_ORDER", message))
    if hours.cutoff is not None and not hours.afternoon_start <= hours.cutoff <= hours.afternoon_end:
        message = "Giờ chốt tiếp nhận phải nằm trong buổi chiều."
        issues.append(FieldIssue(("cutoff",), "OUT_OF_RANGE", message))
    if (hours.saturday_start is None) != (hours.saturday_end is None):
        message = "Buổi thứ Bảy cần cả giờ bắt đầu và giờ kết thúc."
        issues.append(FieldIssue(("saturdayEnd",), "REQUIRED", message))
    elif hours.saturday_start is not None and hours.saturday_end is not None:
        if not hours.saturday_start < hours.saturday_end:
            message = "Buổi thứ Bảy phải bắt đầu trước khi kết thúc."
            issues.append(FieldIssue(("saturdayEnd",), "OUT_OF_ORDER", message))
    elif hours.saturday_counts:
        message = "Chỉ tính thời gian thứ Bảy khi đơn vị có buổi làm việc thứ Bảy."
        issues.append(FieldIssue(("saturdayCounts",), "NO_SATURDAY_SESSION", message))
    if issues:
        raise ValidationFailed(issues)


def _fields(hours: UnitHours) -> dict[str, clock_time | None]:
    return {k: v for k, v in vars(hours).items() if k != "saturday_counts"}


async def _managed_unit(session: AsyncSession, actor: Actor, agency_code: str) -> Agency:
    """The receiving unit, if the caller administers it (or the whole system)."""
    agency = await session.scalar(select(Agency).where(Agency.code == agency_code))
    if agency is None:
        raise NotFound("cơ quan", agency_code)
    if not (actor.is_system_admin or actor.has_role(StaffRole.AGENCY_ADMIN, agency.id)):
        raise Forbidden("Chỉ quản trị hệ thống hoặc quản trị của đơn vị được sửa lịch làm việc của đơn vị.")
    if not agency.is_one_stop_unit:
        message = "Chỉ đơn vị tiếp nhận (bộ phận một cửa) có lịch làm việc riêng."
        raise ValidationFailed([FieldIssue(("agencyCode",), "NOT_ONE_STOP_UNIT", message)])
    return agency


async def unit_calendars(session: AsyncSession) -> list[UnitCalendar]:
    return list(await session.scalars(select(UnitCalendar)))


async def unit_calendar_row(session: AsyncSession, agency_id: uuid.UUID) -> UnitCalendar | None:
    return await session.get(UnitCalendar, agency_id)


async def set_unit_calendar(
    session: AsyncSession, actor: Actor, agency_code: str, hours: UnitHours, now: datetime
) -> tuple[Agency, UnitCalendar]:
    """A receiving unit's own office hours (a system admin, or an admin of that unit)."""
    agency = await _managed_unit(session, actor, agency_code)
    _checked(hours)
    row = await session.get(UnitCalendar, agency.id, with_for_update=True)
    if row is None:
        row = UnitCalendar(agency_id=agency.id)
        session.add(row)
    for name, value in _fields(hours).items():
        setattr(row, name, value)
    row.saturday_counts = hours.saturday_counts
    row.changed_by, row.changed_at = actor.label, now
    await session.flush()
    await announce(session, "calendar", "overrides")
    return agency, row


async def remove_unit_calendar(session: AsyncSession, actor: Actor, agency_code: str) -> Agency:
    """The unit follows the province's hours again."""
    agency = await _managed_unit(session, actor, agency_code)
    row = await session.get(UnitCalendar, agency.id, with_for_update=True)
    if row is None:
        raise NotFound("lịch làm việc riêng của đơn vị", agency_code)
    await session.delete(row)
    await session.flush()
    await announce(session, "calendar", "overrides")
    return agency


async def calendar_of_unit(
    session: AsyncSession, province: WorkingCalendar, agency_id: uuid.UUID | None
) -> WorkingCalendar:
    """The calendar a unit receives by, read now (the uncached path: tests and command-line jobs)."""
    row = await session.get(UnitCalendar, agency_id) if agency_id is not None else None
    return province.with_hours(unit_hours(row)) if row is not None else province


class CalendarCache:
    """The process's calendars — the province's and each receiving unit's — rebuilt after an
    override changes (a broker notice marks them stale) and at least every `max_age` seconds, in
    case a notice was missed. A unit's calendar shares the province's days; it is derived once per
    build and kept until the next."""

    def __init__(
        self,
        zone: ZoneInfo,
        factory: Callable[[], AsyncSession],
        *,
        max_age: float = 300,
        hours: OfficeHours = DEFAULT_HOURS,
    ) -> None:
        self._zone = zone
        self._factory = factory
        self._max_age = max_age
        self._hours = hours
        self._calendar: WorkingCalendar | None = None
        self._units: dict[uuid.UUID, OfficeHours] = {}
        self._unit_calendars: dict[uuid.UUID, WorkingCalendar] = {}
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
                    units = await unit_calendars(session)
                self._calendar = build(
                    self._zone, rows, around=now.astimezone(self._zone).year, hours=self._hours
                )
                self._units = {u.agency_id: unit_hours(u) for u in units}
                self._unit_calendars = {}
                self._built = time.monotonic()
        return self._calendar

    async def for_unit(self, now: datetime, agency_id: uuid.UUID | None) -> WorkingCalendar:
        """The calendar of the receiving unit `agency_id` (the province's when it has none)."""
        province = await self.get(now)
        if agency_id is None or agency_id not in self._units:
            return province
        found = self._unit_calendars.get(agency_id)
        if found is None or found.days_off is not province.days_off:
            found = self._unit_calendars[agency_id] = province.with_hours(self._units[agency_id])
        return found
