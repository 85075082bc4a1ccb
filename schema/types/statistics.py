"""GraphQL types of the statistics and of the Decision 766 index (Bộ chỉ số 766), with the
dossiers lowering an indicator (for the staff in scope)."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.types import Info

from schema.context import Context
from schema.errors import ClientError
from schema.types.pagination import CountedConnection, Edge, PageInfo
from services.errors import ValidationFailed
from services.pagination import check_first, decode, encode_offset
from services.statistics import figures as stats
from services.statistics import index766

strawberry.enum(stats.GroupBy, name="StatisticsGroupBy", description="Cách nhóm số liệu.")
strawberry.enum(
    index766.Status,
    name="IndicatorStatus",
    description="Chỉ số đo được, không có gì để tính (đủ điểm), hay không đo được.",
)


@strawberry.type(description="Số liệu giải quyết TTHC (định nghĩa từng số: xem mô tả trường).")
class HandlingFigures:
    received: int = strawberry.field(description="Hồ sơ tiếp nhận trong kỳ (theo ngày tiếp nhận).")
    received_online: int = strawberry.field(description="… trực tuyến (gồm qua Cổng DVC quốc gia).")
    received_national_portal: int = strawberry.field(description="… trong đó qua Cổng DVC quốc gia.")
    received_counter: int = strawberry.field(description="… trực tiếp tại Bộ phận Một cửa.")
    received_post: int = strawberry.field(description="… qua bưu chính công ích.")
    finished: int = strawberry.field(
        description="Hồ sơ đã giải quyết, trả kết quả trong kỳ (theo ngày kết thúc)."
    )
    finished_early: int = strawberry.field(description="… trước hạn.")
    finished_on_time: int = strawberry.field(description="… đúng hạn.")
    finished_late: int = strawberry.field(description="… quá hạn.")
    refused: int = strawberry.field(description="… trong đó từ chối giải quyết.")
    rejected: int = strawberry.field(description="Hồ sơ từ chối tiếp nhận trong kỳ.")
    withdrawn: int = strawberry.field(description="Hồ sơ rút trong kỳ.")
    in_progress: int = strawberry.field(
        description="Đang giải quyết tại cuối kỳ (hoặc lúc này nếu kỳ chưa kết thúc)."
    )
    overdue: int = strawberry.field(description="… trong đó đã quá hạn tại thời điểm đó.")
    online_share: float | None = strawberry.field(description="Tỷ lệ tiếp nhận trực tuyến (%).")
    full_online_share: float | None = strawberry.field(
        description="Tỷ lệ trực tuyến trong hồ sơ của thủ tục trực tuyến toàn trình (%)."
    )
    online_payment_share: float | None = strawberry.field(
        description="Tỷ lệ hồ sơ có phí, lệ phí đã thanh toán trực tuyến (%)."
    )
    digitisation_share: float | None = strawberry.field(
        description="Tỷ lệ hồ sơ trực tiếp, bưu chính đã số hoá (%)."
    )
    on_time_share: float | None = strawberry.field(description="Tỷ lệ giải quyết trước hạn, đúng hạn (%).")
    average_handling_days: float | None = strawberry.field(
        description="Thời gian giải quyết trung bình (ngày, từ tiếp nhận đến khi có kết quả)."
    )
    ratings: int = strawberry.field(description="Lượt đánh giá mức độ hài lòng trong kỳ.")
    satisfaction_average: float | None = strawberry.field(description="Điểm hài lòng trung bình (1–5).")
    satisfied_share: float | None = strawberry.field(
        description="Tỷ lệ lượt đánh giá không ở mức không hài lòng (điểm từ 3) (%)."
    )

    @classmethod
    def of(cls, f: stats.Figures) -> HandlingFigures:
        return cls(
            received=f.received,
            received_online=f.received_online,
            received_national_portal=f.received_national_portal,
            received_counter=f.received_counter,
            received_post=f.received_post,
            finished=f.finished,
            finished_early=f.finished_early,
            finished_on_time=f.finished_on_time,
            finished_late=f.finished_late,
            refused=f.refused,
            rejected=f.rejected,
            withdrawn=f.withdrawn,
            in_progress=f.in_progress,
            overdue=f.overdue,
            online_share=f.online_share,
            full_online_share=f.full_online_share,
            online_payment_share=f.online_payment_share,
            digitisation_share=f.digitisation_share,
            on_time_share=f.on_time_share,
            average_handling_days=f.average_handling_days,
            ratings=f.ratings,
            satisfaction_average=f.satisfaction_average,
            satisfied_share=f.satisfied_share,
        )


@strawberry.type(description="Số liệu của một nhóm (cơ quan, cấp, lĩnh vực, thủ tục hoặc tháng).")
class StatisticsRow:
    key: str = strawberry.field(description="Mã cơ quan / cấp / lĩnh vực / thủ tục, hoặc tháng YYYY-MM.")
    label: str = strawberry.field(description="Tên.")
    figures: HandlingFigures = strawberry.field(description="Số liệu.")


@strawberry.type(description="Thống kê tình hình giải quyết TTHC (công khai).")
class Statistics:
    from_: date = strawberry.field(name="from", description="Ngày đầu kỳ.")
    to: date = strawberry.field(description="Ngày cuối kỳ.")
    reference: datetime = strawberry.field(
        description="Thời điểm tính hồ sơ đang giải quyết và quá hạn (cuối kỳ, hoặc lúc này)."
    )
    total: HandlingFigures = strawberry.field(description="Tổng của cả phạm vi.")
    rows: list[StatisticsRow] = strawberry.field(description="Theo nhóm (rỗng khi không nhóm).")


@strawberry.type(description="Một hồ sơ làm giảm điểm chỉ số.")
class LoweringDossier:
    id: strawberry.ID = strawberry.field(description="Mã định danh hồ sơ.")
    code: str | None = strawberry.field(description="Mã hồ sơ.")
    received_at: datetime | None = strawberry.field(description="Thời điểm tiếp nhận.")
    status: str = strawberry.field(description="Trạng thái hiện tại.")


@strawberry.type(description="Một chỉ số thành phần của Bộ chỉ số 766.")
class ServiceIndicator:
    code: str = strawberry.field(description="Số thứ tự chỉ số (nhóm.chỉ số).")
    name: str = strawberry.field(description="Tên chỉ số.")
    formula: str = strawberry.field(description="Cách tính.")
    max_points: float = strawberry.field(description="Điểm tối đa.")
    status: index766.Status = strawberry.field(
        description="Đo được / không có gì để tính (đủ điểm) / không đo được."
    )
    reason: str | None = strawberry.field(description="Vì sao không đo được (khi NOT_MEASURED).")
    numerator: int | None = strawberry.field(description="Tử số.")
    denominator: int | None = strawberry.field(description="Mẫu số.")
    value: float | None = strawberry.field(description="Tỷ lệ (%).")
    score: float | None = strawberry.field(description="Điểm đạt được.")
    _resolved: strawberry.Private[stats.Resolved]

    @strawberry.field(
        description="Hồ sơ làm giảm điểm (trễ hạn, không trực tuyến, chưa thanh toán trực tuyến, "
        "chưa số hoá, không có kết quả điện tử, không hài lòng…). Chỉ cán bộ của cơ quan trong "
        "phạm vi (hoặc cơ quan cấp trên) và quản trị hệ thống; người khác, và chỉ số không đo được, "
        "nhận null."
    )
    async def lowering(
        self, info: Info[Context, None], first: int = 20, after: str | None = None
    ) -> CountedConnection[LoweringDossier] | None:
        if not index766.BY_CODE[self.code].drills_down:
            return None
        if not index766.may_drill_down(info.context.actor, self._resolved):
            return None
        try:
            check_first(first)
            offset = decode(after).offset or 0
        except ValidationFailed as error:
            raise ClientError(error.issues[0].message, error.issues[0].code) from None
        async with info.context.db.read_session() as session:
            rows, total = await index766.lowering(
                session, self._resolved, self.code, offset=offset, limit=first
            )
        edges = [
            Edge(
                cursor=encode_offset(offset + n + 1),
                node=LoweringDossier(
                    id=strawberry.ID(str(r.dossier_id)),
                    code=r.code,
                    received_at=r.received_at,
                    status=r.status,
                ),
            )
            for n, r in enumerate(rows)
        ]
        return CountedConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=offset + len(rows) < total,
                has_previous_page=offset > 0,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            total_count=total,
        )


@strawberry.type(description="Một nhóm chỉ số của Bộ chỉ số 766.")
class ServiceIndexGroup:
    code: str = strawberry.field(description="Mã nhóm.")
    name: str = strawberry.field(description="Tên nhóm.")
    max_points: float = strawberry.field(description="Điểm tối đa của nhóm.")
    measured_points: float = strawberry.field(description="Điểm tối đa của các chỉ số đo được.")
    score: float = strawberry.field(description="Điểm đạt được.")
    indicators: list[ServiceIndicator] = strawberry.field(description="Các chỉ số thành phần.")


@strawberry.type(
    description="Bộ chỉ số chỉ đạo, điều hành và đánh giá chất lượng phục vụ người dân, doanh nghiệp "
    "(Quyết định 766/QĐ-TTg), tính từ dữ liệu của hệ thống."
)
class ServiceIndex:
    from_: date = strawberry.field(name="from", description="Ngày đầu kỳ.")
    to: date = strawberry.field(description="Ngày cuối kỳ.")
    score: float = strawberry.field(description="Tổng điểm đạt được.")
    max_points: float = strawberry.field(description="Điểm tối đa (100).")
    measured_points: float = strawberry.field(
        description="Điểm tối đa của các chỉ số đo được (điểm đạt được so với số này)."
    )
    groups: list[ServiceIndexGroup] = strawberry.field(description="Năm nhóm chỉ số.")
