"""The working-day calendar: read it (anyone), correct its days (system admins), set a receiving
unit's own office hours (system admins, or the unit's admins)."""

from __future__ import annotations

from datetime import date, timedelta

import strawberry
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from models.catalog import Agency
from resolvers.common import run_command
from schema.context import Context
from schema.errors import ClientError
from schema.inputs.calendar import UnitCalendarInput
from schema.payloads.calendar import CalendarChanged, CalendarResult, UnitCalendarChanged, UnitCalendarResult
from schema.permissions import SYSTEM_ADMIN, UNIT_CALENDAR_ADMIN
from schema.types.calendar import CalendarDay, OfficeHoursType, UnitCalendar, WorkingCalendarYear
from services import holidays


@strawberry.type
class CalendarQuery:
    @strawberry.field(
        description="Ngày nghỉ và ngày làm bù của một năm (tính thời hạn giải quyết theo lịch này)."
    )
    async def working_calendar(self, info: Info[Context, None], year: int) -> WorkingCalendarYear:
        ctx = info.context
        if not 2000 <= year <= 2100:
            raise ClientError("Năm không hợp lệ.", "OUT_OF_RANGE")
        calendar = ctx.calendar
        async with ctx.db.session() as session:
            rows = await holidays.overrides(session)
        day, end = date(year, 1, 1), date(year + 1, 1, 1)
        off, worked = [], []
        while day < end:
            weekend = day.weekday() >= 5
            if not weekend and not calendar.is_working_day(day):
                off.append(day)
            if weekend and calendar.is_working_day(day):
                worked.append(day)
            day += timedelta(days=1)
        return WorkingCalendarYear(
            year=year,
            days_off=off,
            working_weekend_days=worked,
            overrides=[
                CalendarDay(day=r.day, working=r.is_working_day, name=r.name)
                for r in rows
                if r.day.year == year
            ],
        )

    @strawberry.field(
        description="Giờ làm việc của một đơn vị tiếp nhận: giờ riêng của đơn vị, hoặc giờ chung của tỉnh."
    )
    async def unit_calendar(self, info: Info[Context, None], agency_code: str) -> UnitCalendar | None:
        ctx = info.context
        async with ctx.db.session() as session:
            agency = await session.scalar(select(Agency).where(Agency.code == agency_code))
            if agency is None or not agency.is_one_stop_unit:
                return None
            return await _unit_calendar(session, ctx, agency)


async def _unit_calendar(session: AsyncSession, ctx: Context, agency: Agency) -> UnitCalendar:
    row = await holidays.unit_calendar_row(session, agency.id)
    hours = holidays.unit_hours(row) if row is not None else ctx.calendar.hours
    return UnitCalendar(
        agency_code=agency.code, agency_name=agency.name, own=row is not None, hours=OfficeHoursType.of(hours)
    )


@strawberry.type
class CalendarMutation:
    @strawberry.mutation(
        description="Điều chỉnh lịch: thêm một ngày nghỉ; đặt thứ Bảy/Chủ nhật là ngày làm bù; hoặc bỏ một "
        "ngày nghỉ lễ có sẵn trong lịch (đặt là ngày làm việc).",
        extensions=SYSTEM_ADMIN,
    )
    async def holiday_override_set(
        self, info: Info[Context, None], day: date, is_working_day: bool, name: str
    ) -> CalendarResult:
        ctx = info.context

        async def command(session: AsyncSession) -> CalendarChanged:
            row = await holidays.set_override(session, ctx.actor, day, is_working_day, name)
            return CalendarChanged(day=CalendarDay(day=row.day, working=row.is_working_day, name=row.name))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(description="Gỡ một điều chỉnh lịch.", extensions=SYSTEM_ADMIN)
    async def holiday_override_remove(self, info: Info[Context, None], day: date) -> CalendarResult:
        ctx = info.context

        async def command(session: AsyncSession) -> CalendarChanged:
            await holidays.remove_override(session, ctx.actor, day)
            return CalendarChanged(day=None)

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Đặt giờ làm việc riêng của một đơn vị tiếp nhận (giờ hai buổi, giờ chốt, buổi thứ Bảy).",
        extensions=UNIT_CALENDAR_ADMIN,
    )
    async def unit_calendar_set(
        self, info: Info[Context, None], agency_code: str, hours: UnitCalendarInput
    ) -> UnitCalendarResult:
        ctx = info.context

        async def command(session: AsyncSession) -> UnitCalendarChanged:
            agency, _ = await holidays.set_unit_calendar(
                session, ctx.actor, agency_code, hours.to_data(), ctx.now
            )
            return UnitCalendarChanged(calendar=await _unit_calendar(session, ctx, agency))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Gỡ giờ làm việc riêng của đơn vị: đơn vị theo giờ chung của tỉnh.",
        extensions=UNIT_CALENDAR_ADMIN,
    )
    async def unit_calendar_remove(self, info: Info[Context, None], agency_code: str) -> UnitCalendarResult:
        ctx = info.context

        async def command(session: AsyncSession) -> UnitCalendarChanged:
            agency = await holidays.remove_unit_calendar(session, ctx.actor, agency_code)
            return UnitCalendarChanged(calendar=await _unit_calendar(session, ctx, agency))

        return await run_command(info, command)  # type: ignore[return-value]
