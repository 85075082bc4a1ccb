"""The working-day calendar: read it (anyone), correct it (system admins)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import PermissionExtension
from strawberry.types import Info

from resolvers.common import run_command
from schema.context import Context
from schema.errors import ClientError, NotFound, ValidationFailed
from schema.permissions import IsSystemAdmin
from services import holidays

SYSTEM_ADMIN: list[FieldExtension] = [PermissionExtension(permissions=[IsSystemAdmin()])]


@strawberry.type(description="Một ngày nghỉ (hoặc ngày làm bù) trong lịch làm việc.")
class CalendarDay:
    day: date = strawberry.field(description="Ngày.")
    working: bool = strawberry.field(description="Là ngày làm việc (ngày làm bù vào thứ Bảy/Chủ nhật).")
    name: str | None = strawberry.field(description="Tên ngày lễ hoặc căn cứ điều chỉnh (nếu có).")


@strawberry.type(description="Lịch ngày làm việc của một năm.")
class WorkingCalendarYear:
    year: int = strawberry.field(description="Năm.")
    days_off: list[date] = strawberry.field(
        description="Các ngày nghỉ lễ, Tết và nghỉ bù rơi vào ngày thường."
    )
    working_weekend_days: list[date] = strawberry.field(description="Các ngày thứ Bảy, Chủ nhật làm việc bù.")
    overrides: list[CalendarDay] = strawberry.field(description="Các điều chỉnh của quản trị.")


@strawberry.type(description="Lịch đã được điều chỉnh.")
class CalendarChanged:
    day: CalendarDay | None = strawberry.field(description="Ngày vừa điều chỉnh (null khi đã gỡ).")


CalendarResult = Annotated[
    CalendarChanged | ValidationFailed | NotFound,
    strawberry.union("CalendarResult", description="Kết quả điều chỉnh lịch."),
]


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
