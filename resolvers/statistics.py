"""Statistics and the Decision 766 index (public disclosure, Trà Vinh art. 5.6 and 12.4): the
aggregated figures are public; the dossiers behind an indicator only for the staff of the agency
in scope (or of an agency above it) and for system admins."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from schema.context import Context
from schema.errors import ClientError
from schema.inputs.statistics import StatisticsFilter
from schema.types.statistics import (
    HandlingFigures,
    ServiceIndex,
    ServiceIndexGroup,
    ServiceIndicator,
    Statistics,
    StatisticsRow,
)
from services.errors import ValidationFailed
from services.statistics import figures as stats
from services.statistics import index766


async def _resolved(info: Info[Context, None], f: StatisticsFilter) -> stats.Resolved:
    ctx = info.context
    try:
        async with ctx.db.read_session() as session:
            return await stats.resolve(session, f.scope(), now=ctx.now, zone=ctx.settings.zone)
    except ValidationFailed as error:
        issue = error.issues[0]
        raise ClientError(issue.message, issue.code) from None


@strawberry.type
class StatisticsQuery:
    @strawberry.field(
        description="Thống kê tình hình giải quyết TTHC (công khai): tiếp nhận theo kênh, giải quyết "
        "trước hạn / đúng hạn / quá hạn, đang giải quyết, quá hạn, rút, từ chối, các tỷ lệ trực tuyến, "
        "thanh toán trực tuyến, số hoá, thời gian trung bình, mức độ hài lòng; theo nhóm tuỳ chọn."
    )
    async def statistics(
        self,
        info: Info[Context, None],
        filter: StatisticsFilter,
        group_by: stats.GroupBy = stats.GroupBy.TOTAL,
    ) -> Statistics:
        r = await _resolved(info, filter)
        ctx = info.context
        async with ctx.db.read_session() as session:
            total = await stats.figures(session, r)
            rows: list[stats.Row] = []
            if group_by is not stats.GroupBy.TOTAL:
                try:
                    rows = await stats.breakdown(session, r, group_by, now=ctx.now, zone=ctx.settings.zone)
                except ValidationFailed as error:
                    raise ClientError(error.issues[0].message, error.issues[0].code) from None
        return Statistics(
            from_=filter.from_,
            to=filter.to,
            reference=r.reference,
            total=HandlingFigures.of(total),
            rows=[
                StatisticsRow(
                    key=row.key or "", label=row.label or "", figures=HandlingFigures.of(row.figures)
                )
                for row in rows
            ],
        )

    @strawberry.field(
        description="Bộ chỉ số 766 (công khai) của một cơ quan (gồm đơn vị trực thuộc) hoặc cả tỉnh, "
        "trong một kỳ: điểm, tử số, mẫu số của từng chỉ số; danh sách hồ sơ làm giảm điểm cho cán bộ "
        "có thẩm quyền."
    )
    async def service_index(self, info: Info[Context, None], filter: StatisticsFilter) -> ServiceIndex:
        r = await _resolved(info, filter)
        async with info.context.db.read_session() as session:
            found = await index766.service_index(session, r)
        return ServiceIndex(
            from_=filter.from_,
            to=filter.to,
            score=found.score,
            max_points=found.max_points,
            measured_points=found.measured_points,
            groups=[
                ServiceIndexGroup(
                    code=g.group.code,
                    name=g.group.name,
                    max_points=g.group.points,
                    measured_points=g.measured_points,
                    score=g.score,
                    indicators=[
                        ServiceIndicator(
                            code=i.definition.code,
                            name=i.definition.name,
                            formula=i.definition.formula,
                            max_points=i.definition.points,
                            status=i.status,
                            reason=i.definition.not_measured,
                            numerator=i.numerator,
                            denominator=i.denominator,
                            value=i.value,
                            score=i.score,
                            _resolved=r,
                        )
                        for i in g.indicators
                    ],
                )
                for g in found.groups
            ],
        )
