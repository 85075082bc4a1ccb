"""The fast path of the statistics and the 766 index: whole months read from the monthly
pre-aggregate (`dossier_fact_months`, migration 0032), the partial edge days from the facts.

Exact by construction: every additive figure counts a fact row in the month of one moment of its
own (received, finished, rated, paused for a supplement), so a period's count is the sum of its
whole months' rows plus the count over its edge days, read from `dossier_fact_contributions` —
the very view the month rows are kept from. What depends on a reference instant — in progress
and overdue at the end of the period — adds up from the month rows' balances too when that
instant is a month's first midnight (a period of whole months that has ended: migration 0035,
`open_then`), and is read from the facts otherwise; the feedback-driven parts (complained
dossiers, feedback answered on time) and the PROCESSING attribution are read from the facts as
before; the groups by agency, level, field and procedure add up per key the same way. Whole
months stop at the month holding the reference instant (a period not yet ended), and the fast
path answers None — the caller counts from the facts — whenever it could differ: another zone
than the one the months are cut in, PROCESSING, no whole month, or a dossier waiting for a
supplement that the month rows cannot place (an "odd" one) paused in the period.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    and_,
    cast,
    column,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    table,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog import Agency
from models.statistics import (
    MONTH_KEYS,
    MONTH_MEASURES,
    NUMERIC_MEASURES,
    PROCEDURE_ROLLUP_KEYS,
    fact_months,
    fact_months_agency,
    fact_months_procedure,
    fact_years_procedure,
)
from models.statistics import DossierFact as F
from services.statistics import figures as fig
from services.statistics import index766

ZONE = "Asia/Ho_Chi_Minh"  # the zone migration 0032 cuts the months in
NAMES = [n for n, _ in MONTH_MEASURES]
# Not figures: what in progress and overdue at a month's start add up from (migration 0035).
BALANCES = ("closed", "due_opened", "due_closed")
BALANCE_MOMENTS = ("closed", "due", "due_closed")
# What a period sums: the whole months' rows plus its edge days' contributions.
ADDITIVE = [n for n in NAMES if n not in BALANCES]
# What the figures show (the 766 index's own measures left out): what the groups and periods sum.
SHOWN = [
    n
    for n in NAMES
    if not n.startswith(("waiting", "offered"))
    and n not in ("received_synced", "received_reused", "finished_electronic", *BALANCES)
]
Sums = dict[str, Any]

contributions = table(
    "dossier_fact_contributions",
    *(
        column(c)
        for c in (
            "dossier_id",
            "moment",
            "at",
            "month",
            *MONTH_KEYS,
            "received_at",
            "finished_at",
            "rated_at",
            "paused_at",
            "status",
            *NAMES,
        )
    ),
)
C = contributions.c
_FIXED = (fact_months.c, fact_months_agency.c, fact_months_procedure.c, C)
M = fact_months.c
BY_PROCEDURE = (fig.GroupBy.FIELD, fig.GroupBy.PROCEDURE)
BY_AGENCY = (fig.GroupBy.AGENCY, fig.GroupBy.LEVEL)


def rows_for(r: fig.Resolved, group_by: fig.GroupBy | None = None, *, procedures: bool = False) -> Any:
    """The coarsest month rows that answer the scope and the grouping (their columns): the
    rollup per (month, receiving agency, competent agency) when neither a field nor a procedure
    matters, the one per (month, procedure, field) when no agency does, else the fine rows —
    all three hold the same sums (migration 0034)."""
    filtered = r.field_id is not None or r.procedure_id is not None
    by_procedure = procedures or filtered or group_by in BY_PROCEDURE
    by_agency = r.agencies is not None or group_by in BY_AGENCY
    if by_procedure and by_agency:
        return M
    return fact_months_procedure.c if by_procedure else fact_months_agency.c


EPOCH = date(1, 1, 1)  # "from the first month on", for the balances


def _calendar(rows: Any, first: date, last: date, split: date | None = None) -> Any:
    """The months [first, last) of `rows` read as coarsely as they can be: for the per-procedure
    rollup, the whole years among them from its yearly rows (migration 0036; `month` then the
    year's first day) and the months around them from its month rows, as one union with the
    same columns; any other rows as they are. No yearly row straddles the month `split` (where
    the caller's own month conditions cut: a period's first month inside the balances' span),
    whose year is read by month. The callers keep their month conditions, which the rows meet."""
    if rows is not fact_months_procedure.c:
        return rows
    years_from = first if first.month == 1 else date(first.year + 1, 1, 1)
    years_to = date(last.year, 1, 1)
    if years_from >= years_to:
        return rows
    years = fact_years_procedure.c
    names = [*PROCEDURE_ROLLUP_KEYS, *NAMES]
    in_years = [years.year >= years_from, years.year < years_to]
    spans = [(first, years_from), (years_to, last)]
    if split is not None and split.month != 1 and years_from.year <= split.year < years_to.year:
        in_years.append(years.year != date(split.year, 1, 1))
        spans.append((date(split.year, 1, 1), date(split.year + 1, 1, 1)))
    by_year = select(years.year.label("month"), *(years[n] for n in names)).where(*in_years)
    # Only the spans with months in them: an empty range in an OR still has the planner read
    # the whole month rollup.
    around = [and_(rows.month >= a, rows.month < b) for a, b in spans if a < b]
    if not around:
        return by_year.subquery("calendar").c
    by_month = select(rows.month, *(rows[n] for n in names)).where(or_(*around))
    return union_all(by_year, by_month).subquery("calendar").c


_SUMMED: dict[tuple[int, str], Any] = {}  # (id of a fixed table's columns, measure): its sum


def _sum(rows: Any, name: str, among: ColumnElement[bool] | None = None) -> Any:
    """A measure summed: counts as bigint (PostgreSQL sums bigints as numeric, which the driver
    turns into a Decimal each — most of a group-by-procedure's time), seconds and scores as the
    exact numerics they are. `among`: the rows summed, when not all. The sums of the fixed
    tables' columns are built once (SQLAlchemy takes about 50 µs an expression: a few ms of an
    agency's 766 index, which sums forty measures)."""
    if among is None and any(rows is fixed for fixed in _FIXED):
        found = _SUMMED.get((id(rows), name))
        if found is None:
            found = _SUMMED[(id(rows), name)] = _build_sum(rows, name, None)
        return found
    return _build_sum(rows, name, among)


def _build_sum(rows: Any, name: str, among: ColumnElement[bool] | None) -> Any:
    summed = func.sum(rows[name])
    total = func.coalesce(summed if among is None else summed.filter(among), 0)
    return total if name in NUMERIC_MEASURES else cast(total, BigInteger)


def days(seconds: Any) -> float:
    """Seconds (an exact sum) in days, as both paths give them."""
    return float(Decimal(seconds or 0) / Decimal(86400))


def _first_of_month(day: date) -> date:
    return day.replace(day=1)


def whole_months(r: fig.Resolved) -> tuple[date, date] | None:
    """The whole local months [first, last) inside the period and before the month holding the
    reference instant; None when the fast path does not apply."""
    zone = r.since.tzinfo
    if not isinstance(zone, ZoneInfo) or zone.key != ZONE:
        return None
    if r.scope.attribution is fig.Attribution.PROCESSING:
        return None
    start = r.scope.start
    first = start if start.day == 1 else _first_of_month(start + timedelta(days=32 - start.day))
    last = _first_of_month(r.scope.end + timedelta(days=1))
    last = min(last, _first_of_month(r.reference.astimezone(zone).date()))
    return (first, last) if first < last else None


def _open_span(r: fig.Resolved) -> list[ColumnElement[bool]]:
    """Province-wide, the open spans' GiST index finds what is in progress at the reference
    instant; an agency's few rows are found faster through its own (agency, date) indexes."""
    return [fig.open_span(r.reference)] if r.agencies is None else []


def _scope(keys: Any, r: fig.Resolved) -> list[ColumnElement[bool]]:
    """The scope's conditions on the month rows or the contributions (not PROCESSING)."""
    conditions: list[ColumnElement[bool]] = []
    if r.agencies is not None:
        competent = r.scope.attribution is fig.Attribution.COMPETENT
        agency = keys.competent_agency_id if competent else keys.agency_id
        conditions.append(agency.in_(r.agencies) if r.agencies else false())
    if r.field_id is not None:
        conditions.append(keys.field_id == r.field_id)
    if r.procedure_id is not None:
        conditions.append(keys.procedure_id == r.procedure_id)
    return conditions


def _cut(r: fig.Resolved, first: date, last: date) -> list[tuple[datetime, datetime]]:
    """The edge days around the whole months [first, last), as ranges of moments (none, one or two)."""
    zone = r.since.tzinfo
    cut = [(r.since, datetime.combine(first, time(), tzinfo=zone))]
    cut.append((datetime.combine(last, time(), tzinfo=zone), r.until))
    return [(a, b) for a, b in cut if a < b]


def _edges(r: fig.Resolved, first: date, last: date) -> ColumnElement[bool]:
    """The contributions of the edge days: before `first` and from `last` on, each moment in
    them (the facts' own columns too, so the planner probes the facts' indexes). A normal waiting
    dossier counts only received before the reference instant, as the facts path has it."""
    cut = _cut(r, first, last)

    def within(at: Any) -> ColumnElement[bool]:
        return or_(false(), *(and_(at >= a, at < b) for a, b in cut))

    return and_(
        within(C.at),
        C.moment.not_in(BALANCE_MOMENTS),
        or_(
            within(C.received_at),
            within(C.finished_at),
            within(C.rated_at),
            and_(C.status == "SUPPLEMENT_REQUESTED", within(C.paused_at)),
        ),
        or_(C.moment != "waiting", C.waiting_odd == 1, C.received_at < r.reference),
    )


async def _sums(
    session: AsyncSession, r: fig.Resolved, first: date, last: date, *, balances: bool = False
) -> tuple[Sums, tuple[int, int] | None]:
    """Every additive measure over the period: the whole months plus the edge days; with
    `balances`, in the same scan, what was in progress and overdue at the reference instant
    when it is a month's first midnight (else None)."""
    start = month_start(r) if balances else None
    # With the balances, the months back to the first one (no yearly row across `first`).
    rows = _calendar(rows_for(r), *((first, last) if start is None else (EPOCH, last, first)))
    columns, where = _period_columns(rows, ADDITIVE, first, last, start)
    a = (await session.execute(select(*columns).where(*where, *_scope(rows, r)))).one()
    on_edges = select(*(_sum(C, n) for n in ADDITIVE)).where(_edges(r, first, last), *_scope(C, r))
    # No edge days (whole months only): no statement for them.
    b = (await session.execute(on_edges)).one() if _cut(r, first, last) else [0] * len(ADDITIVE)
    sums = {n: x + y for n, x, y in zip(ADDITIVE, a, b, strict=False)}
    return sums, (None if start is None else (int(a[-2]), int(a[-1])))


def _period_columns(
    rows: Any, names: list[str], first: date, last: date, start: date | None
) -> tuple[list[Any], list[ColumnElement[bool]]]:
    """The sums of `names` over the months [first, last) of `rows` and the conditions to read
    them; with a month `start`, the balances before it too (two more columns), in one scan."""
    if start is None:
        return [_sum(rows, n) for n in names], [rows.month >= first, rows.month < last]
    period = and_(rows.month >= first, rows.month < last)
    columns = [_sum(rows, n, period) for n in names]
    return [*columns, *_balance(rows, rows.month < start)], [rows.month < max(last, start)]


def month_start(r: fig.Resolved) -> date | None:
    """The month whose first local midnight the reference instant is (the end of an ended period
    of whole months), else None."""
    zone = r.since.tzinfo
    first = r.reference.astimezone(zone).date().replace(day=1)
    return first if datetime.combine(first, time(), tzinfo=zone) == r.reference else None


def _balance(rows: Any, among: ColumnElement[bool] | None = None) -> list[Any]:
    """In progress and overdue at the start of the month after the rows summed (migration 0035)."""

    def total(expression: Any) -> Any:
        summed = func.sum(expression)
        return cast(func.coalesce(summed if among is None else summed.filter(among), 0), BigInteger)

    return [total(rows.received - rows.closed), total(rows.due_opened - rows.due_closed)]


async def open_then(
    session: AsyncSession, r: fig.Resolved, group_by: fig.GroupBy | None = None
) -> dict[Any, tuple[int, int]]:
    """In progress and overdue at the reference instant, per key of `group_by` (agency, level
    folded by the caller, field or procedure; None: one entry under None). At a month's first
    midnight, the balances of the month rows before it; else from the facts — province-wide
    through the open spans' index, for an agency through its own indexes."""
    start = month_start(r)
    keys: list[Any]
    if start is not None:
        rows = _calendar(rows_for(r, group_by), EPOCH, start)
        keys = [] if group_by is None else [_key(rows, r, group_by)]
        stmt = select(*keys, *_balance(rows)).where(rows.month < start, *_scope(rows, r))
    else:
        keys = [] if group_by is None else [_key(F, r, group_by)]
        stmt = select(*keys, func.count(), func.count().filter(fig.overdue_at(r))).where(
            fig.open_at(r), *_open_span(r), *fig.scoped(r)
        )
    if keys:
        stmt = stmt.group_by(*keys)
    found = (await session.execute(stmt)).all()
    return {(row[0] if keys else None): (int(row[-2]), int(row[-1])) for row in found}


async def figures(session: AsyncSession, r: fig.Resolved) -> fig.Figures | None:
    """The figures of `r` through the month rows, or None when the fast path does not apply."""
    months = whole_months(r)
    if months is None:
        return None
    s, balance = await _sums(session, r, *months, balances=True)
    return _figures(s, *(balance or (await open_then(session, r))[None]))


def _whole(r: fig.Resolved) -> tuple[date, date] | None:
    """The months of a period made of whole months only (no edge days), else None."""
    months = whole_months(r)
    if months is None or r.agencies is not None:
        return None
    zone = r.since.tzinfo
    first, last = months
    bounds = (datetime.combine(first, time(), tzinfo=zone), datetime.combine(last, time(), tzinfo=zone))
    return months if bounds == (r.since, r.until) else None


async def periods(session: AsyncSession, parts: list[fig.Resolved]) -> list[fig.Figures | None]:
    """The figures of consecutive periods (a breakdown by month, quarter or year) of one
    province-wide scope: those made of whole months in two or three statements — the month
    rows summed per month; what was in progress and overdue at each ended period's end, from
    the month rows' balances summed up to it; at the reference instant of one not yet ended,
    through the open spans — None for the others (the caller counts them alone)."""
    spans = [_whole(part) for part in parts]
    wanted = [(part, span) for part, span in zip(parts, spans, strict=True) if span is not None]
    if not wanted:
        return [None] * len(parts)
    r = wanted[0][0]
    rows = rows_for(r)
    first, last = min(s[0] for _, s in wanted), max(s[1] for _, s in wanted)
    stmt = select(rows.month, *(_sum(rows, n) for n in SHOWN)).where(
        rows.month >= first, rows.month < last, *_scope(rows, r)
    )
    by_month = {m: values for m, *values in (await session.execute(stmt.group_by(rows.month))).all()}
    open_at = await _balances_at(session, r, rows, [p for p, _ in wanted])
    probed = [p.reference for p, _ in wanted if p.reference not in open_at]
    if probed:
        open_at.update(await _probe(session, r, probed))
    found: list[fig.Figures | None] = []
    for part, span in zip(parts, spans, strict=True):
        if span is None:
            found.append(None)
            continue
        sums = dict.fromkeys(SHOWN, 0)
        for month, values in by_month.items():
            if span[0] <= month < span[1]:
                for n, v in zip(SHOWN, values, strict=True):
                    sums[n] += v
        found.append(_figures(sums, *open_at.get(part.reference, (0, 0))))
    return found


async def _balances_at(
    session: AsyncSession, r: fig.Resolved, rows: Any, parts: list[fig.Resolved]
) -> dict[datetime, tuple[int, int]]:
    """In progress and overdue at the references of `parts` that are a month's first midnight:
    the month rows' balances per month, summed up to each."""
    starts = {p.reference: s for p in parts if (s := month_start(p)) is not None}
    if not starts:
        return {}
    stmt = select(rows.month, *_balance(rows)).where(rows.month < max(starts.values()), *_scope(rows, r))
    per_month = (await session.execute(stmt.group_by(rows.month))).all()
    return {
        at: (
            sum(o for month, o, _ in per_month if month < start),
            sum(d for month, _, d in per_month if month < start),
        )
        for at, start in starts.items()
    }


async def _probe(
    session: AsyncSession, r: fig.Resolved, moments: list[datetime]
) -> dict[datetime, tuple[int, int]]:
    """In progress and overdue at each of `moments`, from the facts through the open spans."""
    refs = func.unnest(literal(moments, ARRAY(DateTime(timezone=True))))
    at = refs.table_valued("at").render_derived("refs")
    moment = at.c.at
    open_then = and_(
        fig.open_span(moment), F.received_at < moment, or_(F.finished_at.is_(None), F.finished_at >= moment)
    )
    overdue = and_(F.due_at < moment, not_(F.paused))
    counts = (
        select(func.count().label("n"), func.count().filter(overdue).label("late"))
        .where(open_then, *fig.scoped(r))
        .lateral("counts")
    )
    stmt = select(moment, counts.c.n, counts.c.late).select_from(at.join(counts, true()))
    return {moment: (n, late) for moment, n, late in (await session.execute(stmt)).all()}


def _key(keys: Any, r: fig.Resolved, group_by: fig.GroupBy) -> Any:
    """The group's key on the month rows, the contributions or the facts (same column names)."""
    if group_by is fig.GroupBy.FIELD:
        return keys.field_id
    if group_by is fig.GroupBy.PROCEDURE:
        return keys.procedure_id
    competent = r.scope.attribution is fig.Attribution.COMPETENT
    return keys.competent_agency_id if competent else keys.agency_id  # LEVEL: folded afterwards


def _fold(found: dict[Any, Any], levels: dict[Any, Any], add: Any) -> dict[Any, Any]:
    """Values per agency folded into values per level (`add` sums two of them)."""
    folded: dict[Any, Any] = {}
    for agency, value in found.items():
        level = levels.get(agency)
        folded[level] = add(folded[level], value) if level in folded else value
    return folded


async def grouped(
    session: AsyncSession, r: fig.Resolved, group_by: fig.GroupBy
) -> list[tuple[Any, fig.Figures]] | None:
    """The figures per agency, level, field or procedure through the month rows (keys in no
    particular order, groups with nothing included), or None when the fast path does not apply."""
    months = whole_months(r)
    if months is None:
        return None
    first, last = months
    rows = _calendar(rows_for(r, group_by), first, last)
    key = _key(rows, r, group_by)
    # The balances in a statement of their own (open_then): a scan of the year's rows for the
    # sums and one of a few narrow columns back to the first month cost less than one scan of
    # all those rows with every sum filtered (procedures on 5M dossiers: 66 against 108 ms).
    columns, where = _period_columns(rows, SHOWN, first, last, None)
    stmt = select(key, *columns).where(*where, *_scope(rows, r)).group_by(key)
    # Per key: the SHOWN sums in order.
    sums: dict[Any, list[Any]] = {k: values for k, *values in (await session.execute(stmt)).all()}
    if _cut(r, first, last):
        key = _key(C, r, group_by)
        stmt = select(key, *(_sum(C, n) for n in SHOWN)).where(_edges(r, first, last), *_scope(C, r))
        for k, *values in (await session.execute(stmt.group_by(key))).all():
            found = sums.setdefault(k, [0] * len(columns))
            for i, v in enumerate(values):
                found[i] += v
    open_by_key = await open_then(session, r, group_by)
    if group_by is fig.GroupBy.LEVEL:  # per agency above, each agency's level here
        levels = dict((await session.execute(select(Agency.id, Agency.level_code))).all())
        sums = _fold(sums, levels, lambda a, b: [x + y for x, y in zip(a, b, strict=True)])
        open_by_key = _fold(open_by_key, levels, lambda a, b: (a[0] + b[0], a[1] + b[1]))
    nothing = [0] * len(SHOWN)
    return [
        (k, _figures_of(sums.get(k, nothing), *open_by_key.get(k, (0, 0))))
        for k in set(sums) | set(open_by_key)
    ]


def _at(*names: str) -> Any:
    """The values of `names` from a list of SHOWN sums, in one call."""
    return itemgetter(*(SHOWN.index(n) for n in names))


# The integer fields of fig.Figures before in_progress and overdue, and those after them up to
# the handling time; then handling_days_total, ratings, rating_total, unsatisfied (the fast path's
# tests compare every figure with the facts: a field moved would show there).
_FIELDS = [f.name for f in dataclasses.fields(fig.Figures)]
_before_open = _at(*_FIELDS[: _FIELDS.index("in_progress")])
_after_open = _at(*_FIELDS[_FIELDS.index("overdue") + 1 : _FIELDS.index("handling_days_total")])
_HANDLING, _RATINGS, _RATING_TOTAL, _UNSATISFIED = (
    SHOWN.index(n) for n in ("handling_seconds", "ratings", "rating_total", "unsatisfied")
)


def _figures_of(values: Sequence[Any], in_progress: int, overdue: int) -> fig.Figures:
    """The figures from the SHOWN sums in order (ints, and numerics for seconds and scores)."""
    # The counts are ints already (bigint sums, and sums of them); the two numerics are not.
    ordered: list[Any] = [
        *_before_open(values),
        int(in_progress),
        int(overdue),
        *_after_open(values),
        days(values[_HANDLING]),
        values[_RATINGS],
        float(values[_RATING_TOTAL]),
        values[_UNSATISFIED],
    ]
    return fig.Figures(*ordered)


def _figures(s: Sums, in_progress: int, overdue: int) -> fig.Figures:
    return _figures_of([s[n] for n in SHOWN], in_progress, overdue)


async def _procedures(session: AsyncSession, r: fig.Resolved, first: date, last: date) -> tuple[int, int]:
    """4.1's distinct procedures: offered online with a dossier received, and of them with an
    online one — the union of the whole months' and the edge days' procedures."""
    offered: set[Any] = set()
    online: set[Any] = set()
    rows = rows_for(r, procedures=True)
    stmts = [
        select(rows.procedure_id, func.bool_or(rows.offered_online_online > 0))
        .where(rows.month >= first, rows.month < last, rows.offered_online > 0, *_scope(rows, r))
        .group_by(rows.procedure_id),
        select(C.procedure_id, func.bool_or(C.offered_online_online > 0))
        .where(_edges(r, first, last), C.offered_online > 0, *_scope(C, r))
        .group_by(C.procedure_id),
    ]
    for stmt in stmts if _cut(r, first, last) else stmts[:1]:
        for procedure, any_online in (await session.execute(stmt)).all():
            offered.add(procedure)
            if any_online:
                online.add(procedure)
    return len(offered), len(online)


def _counts(s: Sums, procedures: tuple[int, int], complained: int) -> dict[str, tuple[int, ...]]:
    """The counts of each facts-counted indicator ([counted, good] or [counted, minus…])."""
    handled = int(s["finished"] + s["waiting"])
    return {
        "1.4": (int(s["received"]), int(s["received_synced"])),
        "2.1": (handled, int(s["finished_early"] + s["finished_on_time"] + s["waiting_good"])),
        "3.1": (int(s["finished"] - s["refused"]), int(s["finished_electronic"])),
        "3.2": (int(s["paper_received"]), int(s["digitised"])),
        "3.3": (int(s["received"]), int(s["received_reused"])),
        "4.1": procedures,
        "4.2": (int(s["offered_online"]), int(s["offered_online_online"])),
        "4.3": (int(s["fee_owed"]), int(s["paid_online"])),
        "5.3": (handled, int(s["finished_late"] + s["waiting_late"]), complained),
    }


FAST_CODES = frozenset({"1.4", "2.1", "3.1", "3.2", "3.3", "4.1", "4.2", "4.3", "5.3"})


async def index_counts(session: AsyncSession, r: fig.Resolved) -> dict[str, tuple[int, ...]] | None:
    """The counts of the facts-counted 766 indicators through the month rows; None when the fast
    path does not apply (or the indicators are not the ones it knows)."""
    from_facts = {d.code for d in index766.INDICATORS if d.counted is not None}
    months = whole_months(r)
    if months is None or from_facts != FAST_CODES:
        return None
    s, _ = await _sums(session, r, *months)
    if s["waiting_odd"]:
        return None
    procedures = await _procedures(session, r, *months)
    handled = index766._handled(r)
    complained = await session.scalar(
        select(func.count()).where(fig.relevant(r), *fig.scoped(r), handled, index766._complained(r))
    )
    return _counts(s, procedures, int(complained or 0))
