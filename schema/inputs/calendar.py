"""GraphQL input of a receiving unit's own office hours."""

from __future__ import annotations

from datetime import time

import strawberry

from services.holidays import UnitHours


@strawberry.input(description="Giờ làm việc riêng của một đơn vị tiếp nhận (giờ địa phương, HH:MM).")
class UnitCalendarInput:
    morning_start: time = strawberry.field(description="Bắt đầu buổi sáng.")
    morning_end: time = strawberry.field(description="Kết thúc buổi sáng.")
    afternoon_start: time = strawberry.field(description="Bắt đầu buổi chiều.")
    afternoon_end: time = strawberry.field(description="Kết thúc buổi chiều.")
    cutoff: time | None = strawberry.field(
        default=None,
        description="Giờ chốt: tiếp nhận sau giờ này tính từ ngày làm việc tiếp theo (bỏ trống: không chốt).",
    )
    saturday_start: time | None = strawberry.field(default=None, description="Bắt đầu buổi thứ Bảy (nếu có).")
    saturday_end: time | None = strawberry.field(default=None, description="Kết thúc buổi thứ Bảy (nếu có).")
    saturday_counts: bool = strawberry.field(
        default=False, description="Tính thời gian buổi thứ Bảy vào thời hạn giải quyết (mặc định: không)."
    )

    def to_data(self) -> UnitHours:
        return UnitHours(
            morning_start=self.morning_start,
            morning_end=self.morning_end,
            afternoon_start=self.afternoon_start,
            afternoon_end=self.afternoon_end,
            cutoff=self.cutoff,
            saturday_start=self.saturday_start,
            saturday_end=self.saturday_end,
            saturday_counts=self.saturday_counts,
        )
