"""The service index of Decision 766/QĐ-TTg (23/6/2022): "Bộ chỉ số chỉ đạo, điều hành và đánh
giá chất lượng phục vụ người dân, doanh nghiệp trong thực hiện TTHC, dịch vụ công theo thời
gian thực trên môi trường điện tử", **as the national portal scores it** (DESIGN.md "The law
since 2025", checked on the portal's data, Oct 2026).

Five groups, 100 points, one table (`INDICATORS`) below:

- công khai, minh bạch 18: TTHC công bố đúng hạn 6, công khai đúng hạn 4, nội dung đầy đủ 2
  (all three about the national procedure database: not measured here), hồ sơ đồng bộ lên Cổng
  DVC quốc gia 6 (delivered to the national portal's consumer — no other webhook counts);
- tiến độ, kết quả giải quyết 20: hồ sơ giải quyết trước hạn, đúng hạn, linear (the
  punctuality judged on the dossier, as the facts hold it; a dossier still waiting for a
  supplement ends at the request date: on time if asked for by the deadline by law and the
  first request, else late);
- số hoá 22: kết quả điện tử 6, số hoá hồ sơ 4, tái sử dụng dữ liệu số hoá 2 (full at ≥ 80 %),
  kết nối Kho dữ liệu quốc gia 4, dữ liệu dân cư theo hồ sơ 2 and theo TTHC 2, bản sao điện tử
  chứng thực 2 (these four: no such link or data here — not measured);
- cung cấp dịch vụ trực tuyến 22: dịch vụ trực tuyến 12 — halved (our reading) into the share
  of online procedures with an online dossier (full at ≥ 80 %) and the share of online dossiers
  (full at ≥ 50 %) —, thanh toán trực tuyến 10;
- mức độ hài lòng 18: phản ánh, kiến nghị xử lý đúng hạn 6 (15 working days to answer —
  `feedback_answer_days`), hài lòng với việc xử lý phản ánh 6 (no rating of answers: not
  measured), hài lòng với TTHC 6 = 100 % − late share − complained share, full at ≥ 90 %.

An indicator's score is points × min(1, share / full-at), two decimals; the share is
numerator / denominator in percent. **An indicator with nothing to count scores full points**
(NO_DATA). Indicators our data cannot measure say so (NOT_MEASURED, with the reason) and score
nothing: the total is reported with the points that were measured beside it (`measured_points`),
never with invented numbers.

Which agency a dossier counts for follows the scope's `attribution` (figures.py): the receiving
unit, the competent agency, or each processing agency.

Every dossier-counted indicator names the dossiers that lower it, with the same conditions as
its numbers.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, false, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from models.dossiers import Dossier
from models.feedback import Inquiry, InquiryKind, InquiryStatus
from models.statistics import DossierFact as F
from services.statistics.figures import (
    ONLINE,
    PAPER,
    Resolved,
    custom_plans,
    finished,
    received,
    relevant,
    scoped,
)


class Status(enum.Enum):
    MEASURED = "MEASURED"
    NO_DATA = "NO_DATA"  # nothing to count in the period: full points
    NOT_MEASURED = "NOT_MEASURED"  # our data cannot measure it


Condition = Callable[[Resolved], ColumnElement[bool]]


class Counting(enum.Enum):
    """What an indicator's numerator and denominator count."""

    DOSSIERS = "DOSSIERS"  # facts rows: `counted`, and of them `good`
    PROCEDURES = "PROCEDURES"  # distinct procedures of the facts rows `counted`, and of `good`
    DEDUCTED = "DEDUCTED"  # `counted` rows, less each of `minus` counted separately
    FEEDBACK = "FEEDBACK"  # feedback (phản ánh, kiến nghị): see `feedback_on_time`
    NONE = "NONE"  # not measured


@dataclass(frozen=True)
class Definition:
    code: str
    group: str
    name: str
    points: float
    formula: str
    counting: Counting = Counting.NONE
    counted: Condition | None = None  # below the line
    good: Condition | None = None  # above the line (within `counted`)
    minus: tuple[Condition, ...] = ()  # DEDUCTED: what is taken off the counted
    full_at: float = 100.0  # the share (percent) that scores full points
    not_measured: str | None = None  # why not

    @property
    def measurable(self) -> bool:
        return self.counting is not Counting.NONE

    @property
    def drills_down(self) -> bool:
        """Whether the dossiers lowering it can be listed (dossier-counted indicators)."""
        return self.counting in (Counting.DOSSIERS, Counting.DEDUCTED)

    def lowering(self, r: Resolved) -> ColumnElement[bool] | None:
        """The dossiers that lower the score: counted, but not good (or taken off)."""
        if self.counted is None:
            return None
        if self.counting is Counting.DOSSIERS and self.good is not None:
            return and_(self.counted(r), not_(self.good(r)))
        if self.counting is Counting.DEDUCTED:
            return and_(self.counted(r), or_(*(m(r) for m in self.minus)))
        return None

    def score(self, good: int, total: int) -> tuple[Status, float]:
        """points × min(1, share / full_at); nothing to count scores full points (DESIGN.md,
        "The law since 2025": "an indicator with nothing to count scores full points")."""
        if total == 0:
            return Status.NO_DATA, self.points
        share = 100 * max(good, 0) / total
        return Status.MEASURED, round(self.points * min(1.0, share / self.full_at), 2)


@dataclass(frozen=True)
class Group:
    code: str
    name: str
    points: float


GROUPS = (
    Group("TRANSPARENCY", "Công khai, minh bạch", 18),
    Group("PROGRESS", "Tiến độ, kết quả giải quyết", 20),
    Group("DIGITISATION", "Số hoá hồ sơ, kết quả", 22),
    Group("ONLINE_SERVICE", "Cung cấp dịch vụ trực tuyến", 22),
    Group("SATISFACTION", "Mức độ hài lòng", 18),
)


def _online(r: Resolved) -> ColumnElement[bool]:
    return F.channel.in_(ONLINE)


def _offered_online(r: Resolved) -> ColumnElement[bool]:
    """Received under a procedure version offered online (toàn trình or một phần)."""
    return and_(received(r), F.online_mode != "NONE")


def _waiting(r: Resolved) -> ColumnElement[bool]:
    """Still waiting for the applicant's supplement, asked for in the period: under the 766
    formula such a dossier ends at the request date (DESIGN.md, "The law since 2025")."""
    return and_(F.status == "SUPPLEMENT_REQUESTED", F.paused_at >= r.since, F.paused_at < r.until)


def _handled(r: Resolved) -> ColumnElement[bool]:
    """Handled in the period, as the index counts it: finished (result ready, refused…) in the
    period, or still waiting for a supplement asked for in the period."""
    return or_(finished(r), _waiting(r))


def _waiting_late(r: Resolved) -> ColumnElement[bool]:
    """A waiting dossier ended at its request date is late when the request came after the
    deadline by law, or when it is not the first request (more than one supplement request
    counts as late)."""
    return and_(_waiting(r), or_(F.paused_at > F.due_at, F.supplement_requests > 1))


def _late(r: Resolved) -> ColumnElement[bool]:
    return or_(F.punctuality == "LATE", _waiting_late(r))


def _early_or_on_time(r: Resolved) -> ColumnElement[bool]:
    """Never NULL (a waiting dossier has no punctuality yet): its negation lists the lowering ones."""
    judged = and_(F.punctuality.is_not(None), F.punctuality.in_(("EARLY", "ON_TIME")))
    return or_(judged, and_(_waiting(r), not_(_waiting_late(r))))


def _complained(r: Resolved) -> ColumnElement[bool]:
    """A feedback (phản ánh, kiến nghị, not declined) was made about the dossier. An uncorrelated
    IN: one hashed pass over the feedback, not a probe per dossier."""
    about = select(Inquiry.dossier_id).where(
        Inquiry.kind == InquiryKind.FEEDBACK,
        Inquiry.status != InquiryStatus.DECLINED,
        Inquiry.dossier_id.is_not(None),
    )
    return F.dossier_id.in_(about)


_NATIONAL_DB = "Cơ sở dữ liệu quốc gia về TTHC không nằm trong hệ thống; chưa đo được."
INDICATORS = (
    Definition(
        "1.1",
        "TRANSPARENCY",
        "Tỷ lệ TTHC được công bố đúng hạn",
        6,
        "TTHC công bố đúng hạn / TTHC phải công bố × 100%",
        not_measured="Ngày ban hành quyết định công bố TTHC và hạn công bố không được ghi nhận. "
        + _NATIONAL_DB,
    ),
    Definition(
        "1.2",
        "TRANSPARENCY",
        "Tỷ lệ TTHC được công khai đúng hạn trên Cơ sở dữ liệu quốc gia về TTHC",
        4,
        "TTHC công khai đúng hạn / TTHC phải công khai × 100%",
        not_measured="Thời điểm công khai trên Cơ sở dữ liệu quốc gia không được ghi nhận. " + _NATIONAL_DB,
    ),
    Definition(
        "1.3",
        "TRANSPARENCY",
        "Tỷ lệ TTHC công khai đầy đủ nội dung",
        2,
        "TTHC công khai đầy đủ các bộ phận / TTHC công khai × 100%",
        not_measured="Nội dung công khai được chấm trên Cơ sở dữ liệu quốc gia. " + _NATIONAL_DB,
    ),
    Definition(
        "1.4",
        "TRANSPARENCY",
        "Tỷ lệ hồ sơ được đồng bộ lên Cổng Dịch vụ công quốc gia",
        6,
        "Hồ sơ tiếp nhận trong kỳ đã đồng bộ đủ lên Cổng DVC quốc gia / hồ sơ tiếp nhận trong kỳ × 100%",
        Counting.DOSSIERS,
        counted=received,
        good=lambda r: F.synced.is_(True),
    ),
    Definition(
        "2.1",
        "PROGRESS",
        "Tỷ lệ hồ sơ giải quyết trước hạn, đúng hạn",
        20,
        "Hồ sơ giải quyết trước hạn và đúng hạn / hồ sơ đã giải quyết trong kỳ × 100% (hồ sơ đang chờ "
        "bổ sung tính kết thúc tại ngày yêu cầu bổ sung)",
        Counting.DOSSIERS,
        counted=_handled,
        good=_early_or_on_time,
    ),
    Definition(
        "3.1",
        "DIGITISATION",
        "Tỷ lệ cấp kết quả giải quyết TTHC điện tử",
        6,
        "Hồ sơ giải quyết có kết quả bản điện tử / hồ sơ giải quyết (không kể từ chối) × 100%",
        Counting.DOSSIERS,
        counted=lambda r: and_(finished(r), not_(F.refused)),
        good=lambda r: F.electronic_result.is_(True),
    ),
    Definition(
        "3.2",
        "DIGITISATION",
        "Tỷ lệ số hoá hồ sơ TTHC",
        4,
        "Hồ sơ trực tiếp, bưu chính đã số hoá / hồ sơ trực tiếp, bưu chính tiếp nhận × 100%",
        Counting.DOSSIERS,
        counted=lambda r: and_(received(r), F.channel.in_(PAPER)),
        good=lambda r: F.digitised.is_(True),
    ),
    Definition(
        "3.3",
        "DIGITISATION",
        "Tỷ lệ khai thác, sử dụng lại thông tin, dữ liệu số hoá",
        2,
        "Hồ sơ dùng lại giấy tờ từ kho dữ liệu / hồ sơ tiếp nhận trong kỳ × 100%; đủ điểm từ 80%",
        Counting.DOSSIERS,
        counted=received,
        good=lambda r: F.reused.is_(True),
        full_at=80,
    ),
    Definition(
        "3.4",
        "DIGITISATION",
        "Kết nối, chia sẻ với Kho dữ liệu quốc gia",
        4,
        "Theo kết nối với Kho quản lý dữ liệu điện tử của tổ chức, cá nhân trên Cổng DVC quốc gia",
        not_measured="Hệ thống chưa kết nối Kho dữ liệu quốc gia; kho dữ liệu của tỉnh không được tính.",
    ),
    Definition(
        "3.5",
        "DIGITISATION",
        "Tỷ lệ hồ sơ sử dụng dữ liệu dân cư",
        2,
        "Hồ sơ khai thác Cơ sở dữ liệu quốc gia về dân cư / hồ sơ tiếp nhận × 100%",
        not_measured="Hệ thống chưa kết nối Cơ sở dữ liệu quốc gia về dân cư.",
    ),
    Definition(
        "3.6",
        "DIGITISATION",
        "Tỷ lệ TTHC khai thác dữ liệu dân cư",
        2,
        "TTHC có khai thác Cơ sở dữ liệu quốc gia về dân cư / TTHC × 100%",
        not_measured="Hệ thống chưa kết nối Cơ sở dữ liệu quốc gia về dân cư.",
    ),
    Definition(
        "3.7",
        "DIGITISATION",
        "Tỷ lệ cấp bản sao điện tử có chứng thực",
        2,
        "Bản sao điện tử chứng thực từ bản chính / yêu cầu chứng thực × 100%",
        not_measured="Chứng thực bản sao điện tử từ bản chính không do hệ thống này thực hiện.",
    ),
    Definition(
        "4.1",
        "ONLINE_SERVICE",
        "Dịch vụ trực tuyến: tỷ lệ TTHC có phát sinh hồ sơ trực tuyến",
        6,
        "TTHC cung cấp trực tuyến có hồ sơ nộp trực tuyến / TTHC cung cấp trực tuyến có hồ sơ tiếp "
        "nhận trong kỳ × 100%; đủ điểm từ 80%",
        Counting.PROCEDURES,
        counted=_offered_online,
        good=_online,
        full_at=80,
    ),
    Definition(
        "4.2",
        "ONLINE_SERVICE",
        "Dịch vụ trực tuyến: tỷ lệ hồ sơ nộp trực tuyến",
        6,
        "Hồ sơ nộp trực tuyến / hồ sơ tiếp nhận của TTHC cung cấp trực tuyến × 100%; đủ điểm từ 50%",
        Counting.DOSSIERS,
        counted=_offered_online,
        good=_online,
        full_at=50,
    ),
    Definition(
        "4.3",
        "ONLINE_SERVICE",
        "Tỷ lệ hồ sơ thanh toán trực tuyến",
        10,
        "Hồ sơ có phí, lệ phí đã thanh toán trực tuyến / hồ sơ có phí, lệ phí tiếp nhận trong kỳ × 100%",
        Counting.DOSSIERS,
        counted=lambda r: and_(received(r), F.fee_owed),
        good=lambda r: F.paid_online.is_(True),
    ),
    Definition(
        "5.1",
        "SATISFACTION",
        "Tỷ lệ phản ánh, kiến nghị xử lý đúng hạn",
        6,
        "Phản ánh, kiến nghị có hạn trả lời trong kỳ được trả lời đúng hạn (15 ngày làm việc) / phản "
        "ánh, kiến nghị có hạn trả lời trong kỳ (cơ quan có thẩm quyền trong phạm vi) × 100%",
        Counting.FEEDBACK,
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
        "Mức độ hài lòng trong tiếp nhận, giải quyết TTHC",
        6,
        "100% − tỷ lệ hồ sơ quá hạn − tỷ lệ hồ sơ bị phản ánh, kiến nghị (trên hồ sơ giải quyết "
        "trong kỳ); đủ điểm từ 90%",
        Counting.DEDUCTED,
        counted=_handled,
        minus=(_late, _complained),
        full_at=90,
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
        return sum(i.definition.points for i in self.indicators if i.status is not Status.NOT_MEASURED)


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


def _columns(d: Definition, r: Resolved) -> list[ColumnElement[int]]:
    """The aggregates an indicator needs over the facts: [counted, good or each minus]."""
    assert d.counted is not None
    counted = d.counted(r)
    if d.counting is Counting.PROCEDURES:
        assert d.good is not None
        return [
            func.count(F.procedure_id.distinct()).filter(counted),
            func.count(F.procedure_id.distinct()).filter(and_(counted, d.good(r))),
        ]
    if d.counting is Counting.DEDUCTED:
        return [func.count().filter(counted), *(func.count().filter(and_(counted, m(r))) for m in d.minus)]
    assert d.good is not None
    return [func.count().filter(counted), func.count().filter(and_(counted, d.good(r)))]


def indicator(d: Definition, counts: tuple[int, ...] | None) -> Indicator:
    """The indicator from its counts ([counted, good] or [counted, minus…]); None: not measured."""
    if counts is None:
        return Indicator(d, Status.NOT_MEASURED, None, None, None)
    total = counts[0]
    good = total - sum(counts[1:]) if d.counting is Counting.DEDUCTED else counts[1]
    good = max(good, 0)
    status, score = d.score(good, total)
    return Indicator(d, status, good, total, score)


async def service_index(session: AsyncSession, r: Resolved) -> ServiceIndex:
    """Every measurable indicator in one pass over the period's facts (and one over feedback)."""
    from core.settings import get_settings
    from services.statistics import months

    await custom_plans(session)
    found = await months.index_counts(session, r) if get_settings().statistics_monthly else None
    counts = found if found is not None else await counts_from_facts(session, r)
    for d in INDICATORS:
        if d.counting is Counting.FEEDBACK:
            good, total = await feedback_on_time(session, r)
            counts[d.code] = (total, good)
    indicators = [indicator(d, counts.get(d.code)) for d in INDICATORS]
    return ServiceIndex(
        [GroupScore(g, [i for i in indicators if i.definition.group == g.code]) for g in GROUPS]
    )


async def counts_from_facts(session: AsyncSession, r: Resolved) -> dict[str, tuple[int, ...]]:
    """The counts of every facts-counted indicator, from the facts rows alone, in one pass."""
    from_facts = [d for d in INDICATORS if d.counted is not None]
    columns = [c for d in from_facts for c in _columns(d, r)]
    row = iter((await session.execute(select(*columns).where(relevant(r), *scoped(r)))).one())
    return {d.code: tuple(int(next(row)) for _ in _columns(d, r)) for d in from_facts}


async def feedback_on_time(session: AsyncSession, r: Resolved) -> tuple[int, int]:
    """(answered on time, due) over feedback (not questions, not declined) whose answer was due
    in the period, forwarded to a competent agency in scope (field and procedure as filtered).
    The answer is due `feedback_answer_days` working days (default 15, the index's time to
    handle) after forwarding. An answer sent back as unsuitable counts by its final answer's
    time. Feedback is always attributed to its competent agency, whatever the scope's
    attribution. The feedback that lowers it is in `inquiryInbox(overdue: true)` for the
    agency's staff."""
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
    session: AsyncSession, r: Resolved, code: str, *, offset: int, limit: int
) -> tuple[list[Lowering], int]:
    """The dossiers that lower the indicator `code`, ordered by dossier code, and their number.
    The caller has checked `may_drill_down`."""
    d = BY_CODE.get(code)
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
