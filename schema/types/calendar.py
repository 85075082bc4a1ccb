"""GraphQL types of the working-day calendar (lịch ngày làm việc)."""

from __future__ import annotations

from datetime import date, time

import strawberry

from services.calendar import OfficeHours


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


@strawberry.type(name="OfficeHours", description="Giờ làm việc: hai buổi, giờ chốt tiếp nhận, buổi thứ Bảy.")
class OfficeHoursType:
    morning_start: time = strawberry.field(description="Bắt đầu buổi sáng.")
    morning_end: time = strawberry.field(description="Kết thúc buổi sáng.")
    afternoon_start: time = strawberry.field(description="Bắt đầu buổi chiều.")
    afternoon_end: time = strawberry.field(description="Kết thúc buổi chiều.")
    cutoff: time | None = strawberry.field(
        description="Hồ sơ tiếp nhận sau giờ này được tính từ ngày làm việc tiếp theo (null: không chốt)."
    )
    saturday_start: time | None = strawberry.field(
        description="Bắt đầu buổi thứ Bảy (null: không làm thứ Bảy)."
    )
    saturday_end: time | None = strawberry.field(description="Kết thúc buổi thứ Bảy.")
    saturday_counts: bool = strawberry.field(
        description="Thời gian buổi thứ Bảy được tính vào thời hạn giải quyết (false: chỉ tiếp nhận, "
        "trả kết quả)."
    )

    @classmethod
    def of(cls, hours: OfficeHours) -> OfficeHoursType:
        saturday = hours.saturday
        return cls(
            morning_start=hours.morning[0],
            morning_end=hours.morning[1],
            afternoon_start=hours.afternoon[0],
            afternoon_end=hours.afternoon[1],
            cutoff=hours.cutoff,
            saturday_start=saturday[0] if saturday else None,
            saturday_end=saturday[1] if saturday else None,
            saturday_counts=hours.saturday_counts,
        )


@strawberry.type(
    description="Lịch làm việc của một đơn vị tiếp nhận: giờ riêng của đơn vị, hoặc giờ chung của tỉnh."
)
class UnitCalendar:
    agency_code: str = strawberry.field(description="Mã đơn vị tiếp nhận.")
    agency_name: str = strawberry.field(description="Tên đơn vị.")
    own: bool = strawberry.field(description="Đơn vị có giờ làm việc riêng (false: theo giờ chung của tỉnh).")
    hours: OfficeHoursType = strawberry.field(description="Giờ làm việc đang áp dụng cho đơn vị.")
