"""The service index of Decision 766/QĐ-TTg (23/6/2022): "Bộ chỉ số chỉ đạo, điều hành và đánh
giá chất lượng phục vụ người dân, doanh nghiệp trong thực hiện TTHC, dịch vụ công theo thời
gian thực trên môi trường điện tử", published monthly, quarterly and yearly (Trà Vinh art.
12.4.b).

Five groups, 100 points (as in DESIGN.md): công khai, minh bạch 18; tiến độ, kết quả giải quyết
20; cung cấp dịch vụ trực tuyến 22 (of which online payment 10); số hoá hồ sơ 22; mức độ hài
lòng 18. The decision's own text is not among the project's seeds (only the Trà Vinh rules that
cite it): the indicators inside each group and their points follow the decision's appendix as
far as we know it, are listed in one table below, and are worth checking against the text.

Each indicator's score is its points × numerator / denominator (a share); nothing counted
below the line gives no score (NO_DATA). Indicators our data cannot measure say so
(NOT_MEASURED, with the reason) and score nothing: the total is reported with the points that
were measurable beside it, never with invented numbers.

Every indicator names the dossiers that lower it (late, not online, not paid online, not
digitised, no electronic result, unsatisfied…), with the same conditions as its numbers.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, false, func, not_, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from models.dossiers import Dossier
from models.feedback import Inquiry, InquiryKind, InquiryStatus
from models.statistics import DossierFact as F
from services.statistics.figures import (
    ONLINE,
    PAPER,
    Resolved,
    finished,
    rated,
    received,
    relevant,
    scoped,
)


class Status(enum.Enum):
    MEASURED = "MEASURED"
    NO_DATA = "NO_DATA"  # nothing to count in the period
    NOT_MEASURED = "NOT_MEASURED"  # our data cannot measure it


Condition = Callable[[Resolved], ColumnElement[bool]]


@dataclass(frozen=True)
class Definition:
    code: str
    group: str
    name: str
    points: float
    formula: str
    counted: Condition | None = None  # below the line
    good: Condition | None = None  # above the line (within `counted`)
    not_measured: str | None = None  # why not
    # Counted over feedback (phản ánh, kiến nghị), not dossiers: see `feedback_on_time`.
    from_inquiries: bool = False

    @property
    def measurable(self) -> bool:
        return self.counted is not None and self.good is not None

    def parts(self, r: Resolved) -> tuple[ColumnElement[bool], ColumnElement[bool]] | None:
        """(counted, counted and good); None when not measurable."""
        if self.counted is None or self.good is None:
            return None
        counted = self.counted(r)
        return counted, and_(counted, self.good(r))

    def lowering(self, r: Resolved) -> ColumnElement[bool] | None:
        """The dossiers that lower the score: counted, but not good."""
        if self.counted is None or self.good is None:
            return None
        return and_(self.counted(r), not_(self.good(r)))


@dataclass(frozen=True)
class Group:
    code: str
    name: str
    points: float


GROUPS = (
    Group("TRANSPARENCY", "Công khai, minh bạch", 18),
    Group("PROGRESS", "Tiến độ, kết quả giải quyết", 20),
    Group("ONLINE_SERVICE", "Cung cấp dịch vụ trực tuyến", 22),
    Group("DIGITISATION", "Số hoá hồ sơ", 22),
    Group("SATISFACTION", "Mức độ hài lòng", 18),
)


def _online(r: Resolved) -> ColumnElement[bool]:
    return F.channel.in_(ONLINE)


INDICATORS = (
    Definition(
        "1.1",
        "TRANSPARENCY",
        "Tỷ lệ TTHC được cập nhật, công khai đúng hạn trên Cơ sở dữ liệu quốc gia về TTHC",
        4,
        "TTHC công khai đúng hạn / TTHC phải công khai × 100%",
        not_measured="Hạn công khai TTHC trên Cơ sở dữ liệu quốc gia không được ghi nhận trong hệ thống.",
    ),
    Definition(
        "1.2",
        "TRANSPARENCY",
        "Tỷ lệ hồ sơ được đồng bộ trạng thái lên Cổng Dịch vụ công quốc gia",
        14,
        "Hồ sơ tiếp nhận trong kỳ đã đồng bộ đủ / hồ sơ tiếp nhận trong kỳ × 100%",
        counted=received,
        good=lambda r: F.synced.is_(True),
    ),
    Definition(
        "2.1",
        "PROGRESS",
        "Tỷ lệ hồ sơ giải quyết trước hạn, đúng hạn",
        20,
        "Hồ sơ giải quyết trước hạn và đúng hạn / hồ sơ đã giải quyết trong kỳ × 100%",
        counted=finished,
        good=lambda r: F.punctuality.in_(("EARLY", "ON_TIME")),
    ),
    Definition(
        "3.1",
        "ONLINE_SERVICE",
        "Tỷ lệ hồ sơ nộp trực tuyến",
        8,
        "Hồ sơ tiếp nhận trực tuyến / hồ sơ tiếp nhận trong kỳ × 100%",
        counted=received,
        good=_online,
    ),
    Definition(
        "3.2",
        "ONLINE_SERVICE",
        "Tỷ lệ hồ sơ trực tuyến toàn trình",
        4,
        "Hồ sơ trực tuyến của TTHC toàn trình / hồ sơ tiếp nhận của TTHC toàn trình × 100%",
        counted=lambda r: and_(received(r), F.online_mode == "FULL"),
        good=_online,
    ),
    Definition(
        "3.3",
        "ONLINE_SERVICE",
        "Tỷ lệ hồ sơ thanh toán trực tuyến",
        10,
        "Hồ sơ có phí, lệ phí đã thanh toán trực tuyến / hồ sơ có phí, lệ phí tiếp nhận trong kỳ × 100%",
        counted=lambda r: and_(received(r), F.fee_owed),
        good=lambda r: F.paid_online.is_(True),
    ),
    Definition(
        "4.1",
        "DIGITISATION",
        "Tỷ lệ cấp kết quả giải quyết TTHC điện tử",
        8,
        "Hồ sơ giải quyết có kết quả bản điện tử / hồ sơ giải quyết (không kể từ chối) × 100%",
        counted=lambda r: and_(finished(r), not_(F.refused)),
        good=lambda r: F.electronic_result.is_(True),
    ),
    Definition(
        "4.2",
        "DIGITISATION",
        "Tỷ lệ số hoá hồ sơ tiếp nhận trực tiếp, qua bưu chính",
        8,
        "Hồ sơ trực tiếp, bưu chính đã số hoá / hồ sơ trực tiếp, bưu chính tiếp nhận × 100%",
        counted=lambda r: and_(received(r), F.channel.in_(PAPER)),
        good=lambda r: F.digitised.is_(True),
    ),
    Definition(
        "4.3",
        "DIGITISATION",
        "Tỷ lệ khai thác, sử dụng lại thông tin, dữ liệu số hoá",
        6,
        "Hồ sơ dùng lại giấy tờ từ kho dữ liệu / hồ sơ tiếp nhận trong kỳ × 100%",
        counted=received,
        good=lambda r: F.reused.is_(True),
    ),
    Definition(
        "5.1",
        "SATISFACTION",
        "Tỷ lệ phản ánh, kiến nghị xử lý đúng hạn",
        6,
        "Phản ánh, kiến nghị có hạn trả lời trong kỳ được trả lời đúng hạn / phản ánh, kiến nghị có hạn "
        "trả lời trong kỳ (cơ quan có thẩm quyền trong phạm vi) × 100%",
        from_inquiries=True,
    ),
    Definition(
        "5.2",
        "SATISFACTION",
        "Tỷ lệ hài lòng trong xử lý phản ánh, kiến nghị",
        6,
        "(Phản ánh, kiến nghị − số không hài lòng) / phản ánh, kiến nghị × 100%",
        not_measured="Người gửi chưa đánh giá được câu trả lời phản ánh, kiến nghị trên hệ thống.",
    ),
    Definition(
        "5.3",
        "SATISFACTION",
        "Tỷ lệ hài lòng trong tiếp nhận, giải quyết TTHC",
        6,
        "(Lượt đánh giá − lượt không hài lòng, điểm dưới 3) / lượt đánh giá trong kỳ × 100%",
        counted=rated,
        good=lambda r: F.rating >= 3,
    ),
)
BY_CODE = {d.code: d for d in INDICATORS}


@dataclass(frozen=True)
class Indicator:
    definition: Definition
    status: Status
    numerator: int | None
    denominator: int | None
    score: float | None

    @property
    def value(self) -> float | None:
        """The share, in percent."""
        if not self.denominator or self.numerator is None:
            return None
        return round(100 * self.numerator / self.denominator, 2)


@dataclass(frozen=True)
class GroupScore:
    group: Group
    indicators: list[Indicator]

    @property
    def score(self) -> float:
        return round(sum(i.score or 0 for i in self.indicators), 2)

    @property
    def measured_points(self) -> float:
        return sum(i.definition.points for i in self.indicators if i.status is Status.MEASURED)


@dataclass(frozen=True)
class ServiceIndex:
    groups: list[GroupScore]

    @property
    def score(self) -> float:
        return round(sum(g.score for g in self.groups), 2)

    @property
    def measured_points(self) -> float:
        return sum(g.measured_points for g in self.groups)

    @property
    def max_points(self) -> float:
        return sum(g.group.points for g in self.groups)


async def service_index(session: AsyncSession, r: Resolved) -> ServiceIndex:
    """Every measurable indicator in one pass over the period's facts."""
    measurable = []
    columns = []
    for d in INDICATORS:
        parts = d.parts(r)
        if parts is not None:
            measurable.append(d)
            columns += [func.count().filter(parts[1]), func.count().filter(parts[0])]
    row = list((await session.execute(select(*columns).where(relevant(r), *scoped(r)))).one())
    counts = {d.code: (int(row[2 * i]), int(row[2 * i + 1])) for i, d in enumerate(measurable)}
    for d in INDICATORS:
        if d.from_inquiries:
            counts[d.code] = await feedback_on_time(session, r)
    indicators = []
    for d in INDICATORS:
        if d.code not in counts:
            indicators.append(Indicator(d, Status.NOT_MEASURED, None, None, None))
            continue
        good, total = counts[d.code]
        if total == 0:
            indicators.append(Indicator(d, Status.NO_DATA, good, total, None))
        else:
            indicators.append(Indicator(d, Status.MEASURED, good, total, round(d.points * good / total, 2)))
    return ServiceIndex(
        [GroupScore(g, [i for i in indicators if i.definition.group == g.code]) for g in GROUPS]
    )


async def feedback_on_time(session: AsyncSession, r: Resolved) -> tuple[int, int]:
    """(answered on time, due) over feedback (not questions, not declined) whose answer was due
    in the period, forwarded to a competent agency in scope (field and procedure as filtered).
    An answer sent back as unsuitable counts by its final answer's time. The feedback that
    lowers it is in `inquiryInbox(overdue: true)` for the agency's staff."""
    conditions = [
        Inquiry.kind == InquiryKind.FEEDBACK,
        Inquiry.status != InquiryStatus.DECLINED,
        Inquiry.answer_due_at >= r.since,
        Inquiry.answer_due_at < r.until,
    ]
    if r.agencies is not None:
        conditions.append(Inquiry.competent_agency_id.in_(r.agencies) if r.agencies else false())
    if r.field_id is not None:
        conditions.append(Inquiry.field_id == r.field_id)
    if r.procedure_id is not None:
        conditions.append(Inquiry.procedure_id == r.procedure_id)
    on_time = and_(
        Inquiry.answered_at.is_not(None),
        Inquiry.answered_at <= Inquiry.answer_due_at,
        Inquiry.status.in_((InquiryStatus.ANSWERED, InquiryStatus.PUBLISHED)),
    )
    good, total = (
        await session.execute(select(func.count().filter(on_time), func.count()).where(*conditions))
    ).one()
    return int(good), int(total)


def may_drill_down(actor: Actor, r: Resolved) -> bool:
    """The dossiers behind a figure are for the staff of the agency in scope or of an agency
    above it (their roles there reach the sub-agencies), and for system admins; a
    province-wide scope only for those whose roles reach everywhere."""
    if actor.is_system_admin:
        return True
    if r.agency_id is None:
        return any(agencies is None for agencies in actor.roles.values())
    return any(agencies is None or r.agency_id in agencies for agencies in actor.roles.values())


@dataclass(frozen=True)
class Lowering:
    dossier_id: uuid.UUID
    code: str | None
    received_at: datetime | None
    status: str


async def lowering(
    session: AsyncSession, r: Resolved, indicator: str, *, offset: int, limit: int
) -> tuple[list[Lowering], int]:
    """The dossiers that lower `indicator` (by code), ordered by dossier code, and their number.
    The caller has checked `may_drill_down`."""
    d = BY_CODE.get(indicator)
    condition = d.lowering(r) if d is not None else None
    if condition is None:
        return [], 0
    where = [relevant(r), *scoped(r), condition]
    total = int(await session.scalar(select(func.count()).select_from(F).where(*where)) or 0)
    stmt = (
        select(Dossier.id, Dossier.code, F.received_at, F.status)
        .join(Dossier, Dossier.id == F.dossier_id)
        .where(*where)
        .order_by(Dossier.code, Dossier.id)
        .offset(offset)
        .limit(limit)
    )
    rows = [Lowering(i, c, at, s) for i, c, at, s in (await session.execute(stmt)).all()]
    return rows, total
