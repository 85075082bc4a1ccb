"""The handling figures (số liệu tình hình giải quyết TTHC) for a filter, exactly defined.

A period is a range of local calendar days `start`–`end`, both included: from `start` 00:00 to
the midnight after `end`, in the province's zone. Which moment puts a dossier in the period
depends on the figure:

- received (đã tiếp nhận), by channel: `received_at` in the period. Online = submitted online
  here or through the national portal (counted also on its own); counter; post.
- finished (đã giải quyết, đã trả kết quả): closed with a judged punctuality, `finished_at` in
  the period; early / on time / late as judged at return (the result's readiness against the
  deadline by law under the on-time policy, services/dossiers/ontime.py; an apology never makes
  late on time). `refused` counts those of them
  whose settlement was refused (từ chối giải quyết).
- rejected (từ chối tiếp nhận), withdrawn (rút hồ sơ): that status, `finished_at` in the period.
- in progress (đang giải quyết) at the reference moment R — the end of the period, or now if
  the period has not ended: received before R and not finished before R. Overdue (quá hạn):
  those of them whose deadline by law (`due_at` of the facts: `dossiers.deadline_at`, which moves
  with stopped clocks or restarts, never with an apology, as it stands now) is before R, the
  clock not stopped now.
- online share = online received / received; full-online share = online received under a
  "toàn trình" procedure version / received under such versions; online payment share =
  received dossiers with an online payment confirmed / received dossiers owing fees;
  digitisation share = counter and postal dossiers received with a document digitised into the
  applicant's vault / counter and postal dossiers received. Shares are percentages, two decimals,
  None when nothing is counted below the line.
- average handling time: mean of (result ready, or finished) − received over the finished
  dossiers, in calendar days, two decimals.
- satisfaction: ratings given in the period (`rated_at`), their mean overall score (1–5) and the
  share not unsatisfied (overall score 3 or more).

Attribution — which agency a dossier counts for, as the national portal attributes it
(`Attribution`): RECEIVING, the unit that received it (the default, and what the receiving
unit's own figures mean); COMPETENT, the agency competent to settle it (the procedure version's
agency the dossier was routed to at submission — `services.dossiers.routing` —, for older dossiers
the procedure version's competent agency, else the receiving unit; with reception anywhere in the
province the two differ); PROCESSING, each agency that held one of its
started steps (not one the dossier has not reached yet). A dossier counts once for every such
agency: grouped by agency, the rows overlap and do not add up to the total. The agency filter
and the AGENCY / LEVEL groups follow the attribution.

Every figure is one FILTER aggregate over `dossier_facts`; the scope (agency with its
sub-agencies, level, field, procedure) restricts the rows read through the indexes on
(agency, date).
"""

from __future__ import annotations

import dataclasses
import enum
import uuid
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Boolean,
    ColumnElement,
    DateTime,
    Numeric,
    String,
    Uuid,
    and_,
    any_,
    cast,
    extract,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog import AdministrativeLevel, Agency, Field, Procedure, ProcedureVersion
from models.statistics import OPEN_SPAN
from models.statistics import DossierFact as F
from services.errors import FieldIssue, ValidationFailed

ONLINE = ("ONLINE", "NATIONAL_PORTAL")
PAPER = ("COUNTER", "POST")


class Attribution(enum.Enum):
    RECEIVING = "RECEIVING"  # the unit that received the dossier
    COMPETENT = "COMPETENT"  # the agency competent to settle it
    PROCESSING = "PROCESSING"  # each agency that held one of its (started) steps


class GroupBy(enum.Enum):
    TOTAL = "TOTAL"  # one row for the whole scope
    AGENCY = "AGENCY"  # per receiving agency
    LEVEL = "LEVEL"  # per administrative level of the receiving agency
    FIELD = "FIELD"  # per field (lĩnh vực)
    PROCEDURE = "PROCEDURE"  # per procedure
    MONTH = "MONTH"  # per calendar month of the period (monthly publication)
    QUARTER = "QUARTER"  # per quarter
    YEAR = "YEAR"  # per year


PERIODS = (GroupBy.MONTH, GroupBy.QUARTER, GroupBy.YEAR)
MAX_PERIODS = 60  # one statement each: bounds what one public request may cost


def _period(day: date, group_by: GroupBy) -> tuple[str, str, date]:
    """The key and label of the month, quarter or year holding `day`, and the day after it."""
    if group_by is GroupBy.YEAR:
        return f"{day.year}", f"Năm {day.year}", date(day.year + 1, 1, 1)
    if group_by is GroupBy.QUARTER:
        quarter = (day.month - 1) // 3 + 1
        after = date(day.year, 3 * quarter + 1, 1) if quarter < 4 else date(day.year + 1, 1, 1)
        return f"{day.year}-Q{quarter}", f"Quý {quarter}/{day.year}", after
    after = date(day.year, day.month + 1, 1) if day.month < 12 else date(day.year + 1, 1, 1)
    return f"{day:%Y-%m}", f"Tháng {day.month:02d}/{day.year}", after


@dataclass(frozen=True)
class Scope:
    """What to count: a period and optionally an agency (with its sub-agencies), a level, a field
    and a procedure, given by their codes."""

    start: date
    end: date
    agency_code: str | None = None
    level_code: str | None = None
    field_code: str | None = None
    procedure_code: str | None = None
    attribution: Attribution = Attribution.RECEIVING


@dataclass(frozen=True)
class Resolved:
    scope: Scope
    agency_id: uuid.UUID | None
    # The agencies in scope (the agency's subtree, of the level), resolved beforehand
    # so the planner sees a list it can probe the (agency, date) indexes with; None: all.
    agencies: tuple[uuid.UUID, ...] | None
    field_id: uuid.UUID | None
    procedure_id: uuid.UUID | None
    since: datetime  # the period, as moments
    until: datetime
    reference: datetime  # R: the end of the period, or now


async def resolve(session: AsyncSession, scope: Scope, *, now: datetime, zone: ZoneInfo) -> Resolved:
    """Check the scope and turn its codes into ids; unknown codes are field errors."""
    issues: list[FieldIssue] = []
    if scope.end < scope.start:
        issues.append(FieldIssue(("to",), "BEFORE_START", "Ngày kết thúc phải sau ngày bắt đầu."))
    if (scope.end - scope.start).days > 366 * 20:
        issues.append(FieldIssue(("from",), "TOO_LONG", "Kỳ thống kê tối đa 20 năm."))

    async def find(column: Any, key: Any, code: str | None, path: str, what: str) -> Any:
        if code is None:
            return None
        found = await session.scalar(select(key).where(column == code))
        if found is None:
            issues.append(FieldIssue((path,), "UNKNOWN", f"Không có {what} mã “{code}”."))
        return found

    agency_id: uuid.UUID | None = None
    tree_ids: set[uuid.UUID] = set()
    if scope.agency_code is not None:  # the agency and its subtree in one statement
        tree = subtree_of(scope.agency_code)
        for found_id, root in (await session.execute(select(tree.c.id, tree.c.root))).all():
            tree_ids.add(found_id)
            agency_id = found_id if root else agency_id
        if agency_id is None:
            unknown = f"Không có cơ quan mã “{scope.agency_code}”."
            issues.append(FieldIssue(("agencyCode",), "UNKNOWN", unknown))
    field_id = await find(Field.code, Field.id, scope.field_code, "fieldCode", "lĩnh vực")
    procedure_id = await find(Procedure.code, Procedure.id, scope.procedure_code, "procedureCode", "thủ tục")
    if scope.level_code is not None:
        level = AdministrativeLevel.code
        await find(level, level, scope.level_code, "levelCode", "cấp hành chính")
    if issues:
        raise ValidationFailed(issues)
    since = datetime.combine(scope.start, time(), tzinfo=zone)
    until = datetime.combine(scope.end + timedelta(days=1), time(), tzinfo=zone)
    agencies: set[uuid.UUID] | None = None
    if agency_id is not None:
        agencies = tree_ids
    if scope.level_code is not None:
        of_level = set(await session.scalars(select(Agency.id).where(Agency.level_code == scope.level_code)))
        agencies = of_level if agencies is None else agencies & of_level
    return Resolved(
        scope,
        agency_id,
        None if agencies is None else tuple(sorted(agencies)),
        field_id,
        procedure_id,
        since,
        until,
        min(until, now),
    )


def subtree_of(code: str) -> Any:
    """The agency of `code` (`root` true) and every agency below it (recursive CTE)."""
    tree = select(Agency.id, true().label("root")).where(Agency.code == code).cte("subtree", recursive=True)
    return tree.union_all(select(Agency.id, false()).where(Agency.parent_id == tree.c.id))


def scoped(r: Resolved) -> list[ColumnElement[bool]]:
    """The conditions of the scope (not of the period)."""
    conditions: list[ColumnElement[bool]] = []
    if r.agencies is not None:
        conditions.append(attributed(r.scope.attribution, r.agencies))
    if r.field_id is not None:
        conditions.append(F.field_id == r.field_id)
    if r.procedure_id is not None:
        conditions.append(F.procedure_id == r.procedure_id)
    return conditions


def attributed(attribution: Attribution, agencies: tuple[uuid.UUID, ...]) -> ColumnElement[bool]:
    """The dossiers that count for one of `agencies` under `attribution`."""
    if not agencies:
        return false()
    if attribution is Attribution.COMPETENT:
        return F.competent_agency_id.in_(agencies)
    if attribution is Attribution.PROCESSING:
        held: ColumnElement[bool] = F.processing_agency_ids.overlap(cast(list(agencies), ARRAY(Uuid())))
        return held
    return F.agency_id.in_(agencies)


# -- the conditions each figure counts (shared with the 766 index and its drill-down) ----------


def received(r: Resolved) -> ColumnElement[bool]:
    return and_(F.received_at >= r.since, F.received_at < r.until)


def finished(r: Resolved) -> ColumnElement[bool]:
    return and_(F.finished_at >= r.since, F.finished_at < r.until, F.punctuality.is_not(None))


def ended(r: Resolved, status: str) -> ColumnElement[bool]:
    return and_(F.status == status, F.finished_at >= r.since, F.finished_at < r.until)


def open_at(r: Resolved) -> ColumnElement[bool]:
    return and_(F.received_at < r.reference, or_(F.finished_at.is_(None), F.finished_at >= r.reference))


def open_span(at: Any) -> ColumnElement[bool]:
    """Open at `at` as the GiST index on the facts' open spans answers it (migration 0034): with
    `open_at`, the planner probes the spans holding `at` instead of reading every dossier
    finished after it. The same rows as `open_at` (models.statistics.OPEN_SPAN)."""
    span: ColumnElement[Any] = literal_column(f"({OPEN_SPAN})")
    at = at if isinstance(at, ColumnElement) else literal(at, DateTime(timezone=True))
    holds: ColumnElement[bool] = span.op("@>", return_type=Boolean)(at)
    return and_(F.received_at.is_not(None), holds)


def overdue_at(r: Resolved) -> ColumnElement[bool]:
    return and_(open_at(r), F.due_at < r.reference, not_(F.paused))


def rated(r: Resolved) -> ColumnElement[bool]:
    return and_(F.rated_at >= r.since, F.rated_at < r.until)


def relevant(r: Resolved) -> ColumnElement[bool]:
    """Rows that can count for any figure of the period (lets the planner use the indexes)."""
    return or_(
        and_(F.received_at >= r.since, F.received_at < r.until),
        and_(F.finished_at >= r.since, F.finished_at < r.until),
        and_(F.finished_at.is_(None), F.received_at < r.reference),
        and_(F.finished_at >= r.reference, F.received_at < r.reference),
        and_(F.rated_at >= r.since, F.rated_at < r.until),
    )


@dataclass(frozen=True)
class Figures:
    received: int
    received_online: int
    received_national_portal: int
    received_counter: int
    received_post: int
    finished: int
    finished_early: int
    finished_on_time: int
    finished_late: int
    refused: int
    rejected: int
    withdrawn: int
    in_progress: int
    overdue: int
    full_online_received: int  # received under "toàn trình" versions
    full_online_online: int  # … of them online
    fee_owed: int
    paid_online: int
    paper_received: int
    digitised: int
    handling_days_total: float  # sum over the finished, for exact re-aggregation
    ratings: int
    rating_total: float
    unsatisfied: int

    @property
    def online_share(self) -> float | None:
        return share(self.received_online, self.received)

    @property
    def full_online_share(self) -> float | None:
        return share(self.full_online_online, self.full_online_received)

    @property
    def online_payment_share(self) -> float | None:
        return share(self.paid_online, self.fee_owed)

    @property
    def digitisation_share(self) -> float | None:
        return share(self.digitised, self.paper_received)

    @property
    def on_time_share(self) -> float | None:
        return share(self.finished_early + self.finished_on_time, self.finished)

    @property
    def average_handling_days(self) -> float | None:
        return round(self.handling_days_total / self.finished, 2) if self.finished else None

    @property
    def satisfaction_average(self) -> float | None:
        return round(self.rating_total / self.ratings, 3) if self.ratings else None

    @property
    def satisfied_share(self) -> float | None:
        return share(self.ratings - self.unsatisfied, self.ratings)


def share(numerator: int, denominator: int) -> float | None:
    return round(100 * numerator / denominator, 2) if denominator else None


def _count(condition: ColumnElement[bool]) -> Any:
    return func.count().filter(condition)


def _columns(r: Resolved) -> list[Any]:
    rec, fin = received(r), finished(r)
    online = F.channel.in_(ONLINE)
    # Exact sums (numeric seconds, numeric ratings): the month rows add up to the same numbers.
    handling = cast(extract("epoch", func.coalesce(F.ready_at, F.finished_at) - F.received_at), Numeric)
    return [
        _count(rec),
        _count(and_(rec, online)),
        _count(and_(rec, F.channel == "NATIONAL_PORTAL")),
        _count(and_(rec, F.channel == "COUNTER")),
        _count(and_(rec, F.channel == "POST")),
        _count(fin),
        _count(and_(fin, F.punctuality == "EARLY")),
        _count(and_(fin, F.punctuality == "ON_TIME")),
        _count(and_(fin, F.punctuality == "LATE")),
        _count(and_(fin, F.refused)),
        _count(ended(r, "REJECTED")),
        _count(ended(r, "WITHDRAWN")),
        _count(open_at(r)),
        _count(overdue_at(r)),
        _count(and_(rec, F.online_mode == "FULL")),
        _count(and_(rec, F.online_mode == "FULL", online)),
        _count(and_(rec, F.fee_owed)),
        _count(and_(rec, F.fee_owed, F.paid_online)),
        _count(and_(rec, F.channel.in_(PAPER))),
        _count(and_(rec, F.channel.in_(PAPER), F.digitised)),
        func.coalesce(func.sum(handling).filter(fin), 0),
        _count(rated(r)),
        func.coalesce(func.sum(cast(F.rating, Numeric)).filter(rated(r)), 0),
        _count(and_(rated(r), F.rating < 3)),
    ]


def _figures(row: Any) -> Figures:
    values = list(row)
    names = [f.name for f in fields(Figures)]
    typed: dict[str, Any] = {n: int(v or 0) for n, v in zip(names, values, strict=True)}
    # handling: seconds summed exactly, in days as the month rows give them (months.days).
    seconds = Decimal(values[names.index("handling_days_total")] or 0)
    typed["handling_days_total"] = float(seconds / Decimal(86400))
    typed["rating_total"] = float(values[names.index("rating_total")] or 0)
    return Figures(**typed)


ZERO = _figures([0] * len(fields(Figures)))


@dataclass(frozen=True)
class Row:
    key: str | None  # agency/field/procedure code, level code or YYYY-MM; None for the total
    label: str | None
    figures: Figures


async def custom_plans(session: AsyncSession) -> None:
    """Plan each statistics statement for its own values, once per session: a prepared
    statement run a sixth time may get PostgreSQL's generic plan, blind to which agency and
    period it counts (an agency's month took 250 ms instead of 35 on the 1M data set)."""
    if not session.info.get("custom_plans"):
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        session.info["custom_plans"] = True


async def figures(session: AsyncSession, r: Resolved) -> Figures:
    """The figures of `r`: whole months from the monthly pre-aggregate when the setting
    `statistics_monthly` allows it and the fast path applies (services.statistics.months), the
    rest from the facts."""
    from core.settings import get_settings
    from services.statistics import months

    await custom_plans(session)
    if get_settings().statistics_monthly:
        found = await months.figures(session, r)
        if found is not None:
            return found
    return await from_facts(session, r)


async def from_facts(session: AsyncSession, r: Resolved) -> Figures:
    """The figures of `r` counted from the facts rows alone."""
    stmt = select(*_columns(r)).where(relevant(r), *scoped(r))
    return _figures((await session.execute(stmt)).one())


async def breakdown(
    session: AsyncSession, r: Resolved, group_by: GroupBy, *, now: datetime, zone: ZoneInfo
) -> list[Row]:
    """The figures per group, ordered by key; groups without any figure are left out."""
    await custom_plans(session)
    if group_by is GroupBy.TOTAL:
        return [Row(None, None, await figures(session, r))]
    if group_by in PERIODS:
        count, day = 0, r.scope.start
        while day <= r.scope.end:
            count, day = count + 1, _period(day, group_by)[2]
        if count > MAX_PERIODS:
            raise ValidationFailed(
                [
                    FieldIssue(
                        ("groupBy",), "TOO_MANY", f"Tối đa {MAX_PERIODS} kỳ; chọn kỳ lớn hơn hoặc rút ngắn."
                    )
                ]
            )
        parts = _parts(r, group_by, now=now, zone=zone)
        found = await _periods(session, [part for _, _, part in parts])
        return [Row(name, label, f) for (name, label, _), f in zip(parts, found, strict=True) if f != ZERO]
    grouped = await _grouped(session, r, group_by)
    labels = await _labels(session, group_by, [k for k, _ in grouped])
    rows = [Row(*labels[k], f) for k, f in grouped if f != ZERO]
    return sorted(rows, key=lambda row: row.key or "")


def _parts(
    r: Resolved, group_by: GroupBy, *, now: datetime, zone: ZoneInfo
) -> list[tuple[str, str, Resolved]]:
    """The months, quarters or years of the period, each resolved as a period of its own."""
    parts = []
    first = r.scope.start
    while first <= r.scope.end:
        name, label, following = _period(first, group_by)
        last = min(r.scope.end, following - timedelta(days=1))
        part = dataclasses.replace(
            r,
            scope=dataclasses.replace(r.scope, start=first, end=last),
            since=datetime.combine(first, time(), tzinfo=zone),
            until=datetime.combine(following, time(), tzinfo=zone),
        )
        parts.append((name, label, dataclasses.replace(part, reference=min(part.until, now))))
        first = following
    return parts


async def _periods(session: AsyncSession, parts: list[Resolved]) -> list[Figures]:
    """The figures of each period: those made of whole months together through the monthly
    pre-aggregate when allowed (services.statistics.months.periods), the others one by one."""
    from core.settings import get_settings
    from services.statistics import months

    batched: list[Figures | None] = [None] * len(parts)
    if get_settings().statistics_monthly:
        batched = await months.periods(session, parts)
    return [
        found if found is not None else await figures(session, part)
        for part, found in zip(parts, batched, strict=True)
    ]


async def _grouped(session: AsyncSession, r: Resolved, group_by: GroupBy) -> list[tuple[Any, Figures]]:
    """The figures per key: through the monthly pre-aggregate when allowed and it applies."""
    from core.settings import get_settings
    from services.statistics import months

    if get_settings().statistics_monthly:
        found = await months.grouped(session, r, group_by)
        if found is not None:
            return found
    return await grouped_from_facts(session, r, group_by)


async def grouped_from_facts(
    session: AsyncSession, r: Resolved, group_by: GroupBy
) -> list[tuple[Any, Figures]]:
    """The figures per key (agency, level, field or procedure), from the facts rows alone."""
    key: Any
    agency, source, where = _attributed_agency(r)
    if group_by is GroupBy.AGENCY:
        key = agency
    elif group_by is GroupBy.FIELD:
        key = F.field_id
    elif group_by is GroupBy.PROCEDURE:
        key = F.procedure_id
    else:
        key = select(Agency.level_code).where(Agency.id == agency).scalar_subquery()
    stmt = select(key.label("k"), *_columns(r)).select_from(source).where(relevant(r), *where).group_by(key)
    return [(k, _figures(rest)) for k, *rest in (await session.execute(stmt)).all()]


def _attributed_agency(r: Resolved) -> tuple[Any, Any, list[ColumnElement[bool]]]:
    """The agency a row counts for, the rows to read and the scope's conditions. PROCESSING
    gives one row per (dossier, agency that held a step), the agency filter applied to it."""
    if r.scope.attribution is Attribution.COMPETENT:
        return F.competent_agency_id, F, scoped(r)
    if r.scope.attribution is Attribution.RECEIVING:
        return F.agency_id, F, scoped(r)
    # A function in FROM sees the rows before it (implicitly LATERAL in PostgreSQL).
    held = func.unnest(F.processing_agency_ids).table_valued("agency_id").render_derived("held")
    where = scoped(dataclasses.replace(r, agencies=None))
    if r.agencies is not None:
        where.append(held.c.agency_id.in_(r.agencies) if r.agencies else false())
    return held.c.agency_id, F.__table__.join(held, true()), where


async def _labels(session: AsyncSession, group_by: GroupBy, keys: list[Any]) -> dict[Any, tuple[str, str]]:
    """The code and name of each key. The keys go as one array parameter (`= ANY`): a list
    expanded into one parameter each cost more than the statement for 1,500 procedures."""

    def among(column: Any, kind: Any) -> ColumnElement[bool]:
        found: ColumnElement[bool] = column == any_(literal([k for k in keys if k is not None], ARRAY(kind)))
        return found

    if group_by is GroupBy.AGENCY:
        stmt: Any = select(Agency.id, Agency.code, Agency.name).where(among(Agency.id, Uuid()))
    elif group_by is GroupBy.FIELD:
        stmt = select(Field.id, Field.code, Field.name).where(among(Field.id, Uuid()))
    elif group_by is GroupBy.PROCEDURE:
        stmt = (
            select(Procedure.id, Procedure.code, ProcedureVersion.name)
            .join(ProcedureVersion, ProcedureVersion.id == Procedure.published_version_id, isouter=True)
            .where(among(Procedure.id, Uuid()))
        )
    else:
        level = AdministrativeLevel.code
        stmt = select(level, level, AdministrativeLevel.name).where(among(level, String()))
    found = {k: (code, name) for k, code, name in (await session.execute(stmt)).all()}
    return {k: found.get(k, (str(k), str(k))) for k in keys}
