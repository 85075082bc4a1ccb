"""Reading feedback and questions: each one's history, the public tracking view by code, the
submitter's own, the staff inbox (by status, kind, overdue) and the published answers (công khai
kết quả trả lời: newest first, or by relevance when searching).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor, ActorKind
from models.catalog import Agency, Field, Procedure
from models.feedback import Inquiry, InquiryEvent, InquiryKind, InquiryStatus
from services import visibility
from services.pagination import Page, check_first, decode, encode_key, encode_offset
from services.text import check_search, prefix_tsquery


async def events_by_inquiry_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[list[InquiryEvent]]:
    """Each inquiry's history in order, for a batch of inquiries in one statement."""
    found: dict[uuid.UUID, list[InquiryEvent]] = {i: [] for i in ids}
    rows = await session.scalars(
        select(InquiryEvent).where(InquiryEvent.inquiry_id.in_(ids)).order_by(InquiryEvent.seq)
    )
    for row in rows:
        found[row.inquiry_id].append(row)
    return [found[i] for i in ids]


async def by_code(session: AsyncSession, code: str) -> Inquiry | None:
    """The public tracking view's row (the caller shows only status and dates)."""
    return await session.scalar(select(Inquiry).where(Inquiry.code == code.strip().upper()))


@dataclass(frozen=True)
class InboxFilter:
    status: InquiryStatus | None = None
    kind: InquiryKind | None = None
    overdue: bool | None = None


def overdue_condition(now: visibility.Bound[datetime]) -> ColumnElement[bool]:
    """Not classified within 3 working days, or not answered by the answer deadline."""
    return or_(
        and_(Inquiry.status == InquiryStatus.RECEIVED, Inquiry.classify_due_at < now),
        and_(Inquiry.status == InquiryStatus.FORWARDED, Inquiry.answer_due_at < now),
    )


def after_key(after: str | None) -> tuple[datetime, uuid.UUID] | None:
    """The (time, id) a key cursor names, None without one (or with an offset cursor); a cursor
    that does not decode is the BAD_CURSOR field error."""
    cursor = decode(after)
    if not cursor.key:
        return None
    at, _, ident = cursor.key.partition("|")
    try:
        return datetime.fromisoformat(at), uuid.UUID(ident)
    except ValueError:
        decode("!")  # raises the BAD_CURSOR field error
        raise


def ordered(
    stmt: Select[Inquiry],
    by: str,
    *,
    after_at: visibility.Bound[datetime] | None,
    after_id: visibility.Bound[uuid.UUID] | None,
    limit: visibility.Bound[int],
) -> Select[Inquiry]:
    """Newest `by` first (then id), after the key (`after_at`, `after_id`) when given: the
    statement of a keyset page, its key values or bound parameters."""
    column: ColumnElement[datetime] = getattr(Inquiry, by)
    if after_at is not None and after_id is not None:
        stmt = stmt.where(or_(column < after_at, and_(column == after_at, Inquiry.id < after_id)))
    return stmt.order_by(column.desc(), Inquiry.id.desc()).limit(limit)


async def _page(
    session: AsyncSession, stmt: Select[Inquiry], first: int, after: str | None, by: str
) -> Page[Inquiry]:
    first = check_first(first)
    key = after_key(after)
    at, ident = key if key is not None else (None, None)
    rows = list(await session.scalars(ordered(stmt, by, after_at=at, after_id=ident, limit=first + 1)))
    items = [(r, encode_key(f"{getattr(r, by).isoformat()}|{r.id}")) for r in rows[:first]]
    return Page(items, len(rows) > first, after is not None, -1)


def reads_own(actor: Actor) -> bool:
    """Whether `mine` reads anything for the actor (a citizen or organisation with an account)."""
    return actor.id is not None and actor.kind in (ActorKind.CITIZEN, ActorKind.ORGANISATION)


def mine_rows(actor: Actor, me: visibility.AccountKey = None) -> Select[Inquiry]:
    """The inquiries the actor sent (`me`: `visibility.AccountKey`), to be `ordered`."""
    return select(Inquiry).where(visibility.submitted_inquiries(actor, me))


async def mine(session: AsyncSession, actor: Actor, *, first: int, after: str | None) -> Page[Inquiry]:
    if not reads_own(actor):
        return Page([], False, False, 0)
    return await _page(session, mine_rows(actor), first, after, "received_at")


def inbox_rows(
    actor: Actor,
    *,
    me: visibility.AccountKey = None,
    status: visibility.Bound[InquiryStatus] | None,
    kind: visibility.Bound[InquiryKind] | None,
    overdue: visibility.Bound[bool] | None,
    now: visibility.Bound[datetime],
) -> Select[Inquiry]:
    """Staff: the inquiries they read, by status, kind and whether overdue at `now` (values or
    bound parameters), to be `ordered`."""
    stmt = select(Inquiry).where(visibility.inquiries(actor, me))
    if status is not None:
        stmt = stmt.where(Inquiry.status == status)
    if kind is not None:
        stmt = stmt.where(Inquiry.kind == kind)
    if overdue is not None:
        stmt = stmt.where(overdue_condition(now) == overdue)
    return stmt


async def inbox(
    session: AsyncSession, actor: Actor, flt: InboxFilter, *, now: datetime, first: int, after: str | None
) -> Page[Inquiry]:
    """Staff: to classify or review (focal points), to answer (competent agency)."""
    if actor.kind is not ActorKind.STAFF:
        return Page([], False, False, 0)
    stmt = inbox_rows(actor, status=flt.status, kind=flt.kind, overdue=flt.overdue, now=now)
    return await _page(session, stmt, first, after, "received_at")


@dataclass(frozen=True)
class PublishedFilter:
    search: str | None = None
    kind: InquiryKind | None = None
    agency_code: str | None = None
    procedure_code: str | None = None
    field_code: str | None = None


async def published(
    session: AsyncSession, flt: PublishedFilter, *, first: int, after: str | None
) -> Page[Inquiry]:
    """Published answers (công khai kết quả trả lời): newest first, or by relevance when searching."""
    check_search(flt.search, ("search",))
    stmt = select(Inquiry).where(visibility.published_inquiries())
    if flt.kind is not None:
        stmt = stmt.where(Inquiry.kind == flt.kind)
    if flt.agency_code:
        stmt = stmt.where(
            Inquiry.competent_agency_id
            == select(Agency.id).where(Agency.code == flt.agency_code).scalar_subquery()
        )
    if flt.procedure_code:
        stmt = stmt.where(
            Inquiry.procedure_id
            == select(Procedure.id).where(Procedure.code == flt.procedure_code).scalar_subquery()
        )
    if flt.field_code:
        stmt = stmt.where(
            Inquiry.field_id == select(Field.id).where(Field.code == flt.field_code).scalar_subquery()
        )
    query = prefix_tsquery(flt.search) if flt.search else None
    if query is None:
        return await _page(session, stmt, first, after, "published_at")
    first = check_first(first)
    offset = decode(after).offset or 0
    vector = func.to_tsvector("simple", Inquiry.search_text)
    tsquery = func.to_tsquery("simple", query)
    rank = func.ts_rank(vector, tsquery)
    rows = list(
        await session.scalars(
            stmt.where(vector.op("@@")(tsquery))
            .order_by(rank.desc(), Inquiry.published_at.desc(), Inquiry.id)
            .offset(offset)
            .limit(first + 1)
        )
    )
    items = [(r, encode_offset(offset + i + 1)) for i, r in enumerate(rows[:first])]
    return Page(items, len(rows) > first, offset > 0, -1)
