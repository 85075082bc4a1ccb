"""What the calendar corrections answer."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.errors import NotFound, ValidationFailed
from schema.types.calendar import CalendarDay, UnitCalendar


@strawberry.type(description="Lịch đã được điều chỉnh.")
class CalendarChanged:
    day: CalendarDay | None = strawberry.field(description="Ngày vừa điều chỉnh (null khi đã gỡ).")


CalendarResult = Annotated[
    CalendarChanged | ValidationFailed | NotFound,
    strawberry.union("CalendarResult", description="Kết quả điều chỉnh lịch."),
]


@strawberry.type(description="Lịch làm việc của đơn vị đã được đặt hoặc gỡ.")
class UnitCalendarChanged:
    calendar: UnitCalendar = strawberry.field(
        description="Lịch làm việc đang áp dụng cho đơn vị sau thay đổi."
    )


UnitCalendarResult = Annotated[
    UnitCalendarChanged | ValidationFailed | NotFound,
    strawberry.union("UnitCalendarResult", description="Kết quả đặt lịch làm việc của đơn vị."),
]
