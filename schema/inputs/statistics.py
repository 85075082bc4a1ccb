"""GraphQL input of the statistics: the scope asked for."""

from __future__ import annotations

from datetime import date

import strawberry

from services.statistics import figures as stats

strawberry.enum(
    stats.Attribution,
    name="StatisticsAttribution",
    description="Hồ sơ được tính cho cơ quan nào: đơn vị tiếp nhận, cơ quan có thẩm quyền, "
    "hay mỗi cơ quan xử lý.",
)


@strawberry.input(
    description="Phạm vi thống kê: kỳ (ngày địa phương, tính cả hai đầu) và đơn vị, cấp, lĩnh vực, thủ tục."
)
class StatisticsFilter:
    from_: date = strawberry.field(name="from", description="Ngày đầu kỳ (tính cả ngày này).")
    to: date = strawberry.field(description="Ngày cuối kỳ (tính cả ngày này).")
    agency_code: str | None = strawberry.field(
        default=None,
        description="Mã cơ quan (tiếp nhận, có thẩm quyền hoặc xử lý, theo `attribution`); gồm cả các "
        "đơn vị trực thuộc.",
    )
    level_code: str | None = strawberry.field(default=None, description="Mã cấp hành chính của cơ quan.")
    field_code: str | None = strawberry.field(default=None, description="Mã lĩnh vực.")
    procedure_code: str | None = strawberry.field(default=None, description="Mã thủ tục.")
    attribution: stats.Attribution = strawberry.field(
        default=stats.Attribution.RECEIVING,
        description="Hồ sơ được tính cho cơ quan nào (như Cổng DVC quốc gia): RECEIVING — đơn vị tiếp "
        "nhận; COMPETENT — cơ quan có thẩm quyền giải quyết; PROCESSING — mỗi cơ quan tham gia xử lý "
        "(một hồ sơ tính cho từng cơ quan đã giữ một bước). Áp dụng cho mã cơ quan, cấp và nhóm theo "
        "cơ quan, cấp.",
    )

    def scope(self) -> stats.Scope:
        return stats.Scope(
            self.from_,
            self.to,
            self.agency_code,
            self.level_code,
            self.field_code,
            self.procedure_code,
            self.attribution,
        )
