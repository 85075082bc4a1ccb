"""The working-day calendar: read it (anyone), correct it (system admins)."""

from __future__ import annotations

from datetime import date, timedelta

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from resolvers.common import run_command
from schema.context import Context
from schema.errors import ClientError
from schema.payloads.calendar import CalendarChanged, CalendarResult
from schema.permissions import SYSTEM_ADMIN
from schema.types.calendar import CalendarDay, WorkingCalendarYear
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


@strawberry.type
class CalendarMutation:
    @strawberry.mutation(
        description="Điều chỉnh lịch: thêm một ngày nghỉ, hoặc đặt thứ Bảy/Chủ nhật là ngày làm bù.",
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
