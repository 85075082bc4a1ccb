"""GraphQL types of the working-day calendar (lịch ngày làm việc)."""

from __future__ import annotations

from datetime import date

import strawberry


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
