"""What the calendar corrections answer."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.errors import NotFound, ValidationFailed
from schema.types.calendar import CalendarDay


@strawberry.type(description="Lịch đã được điều chỉnh.")
class CalendarChanged:
    day: CalendarDay | None = strawberry.field(description="Ngày vừa điều chỉnh (null khi đã gỡ).")


CalendarResult = Annotated[
    CalendarChanged | ValidationFailed | NotFound,
    strawberry.union("CalendarResult", description="Kết quả điều chỉnh lịch."),
]
