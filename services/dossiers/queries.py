"""Dossier reads. Row access is a query, `readable_dossiers(actor)`, used by every resolver and
loader, on the rule `services.visibility.dossiers`: an applicant reads their own dossiers; staff
read those received by, or passing through, the agencies where they hold a role; a system admin
reads all. A dossier outside that query does not exist for the caller."""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, false, or_, select, true, union_all
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from auth.actor import Actor
from auth.roles import StaffRole
from models.catalog import Agency, Procedure, ProcedureVersion
from models.dossiers import (
    Dossier,
    DossierAttachment,
    DossierEvent,
    DossierStatus,
    DossierStep,
    DossierTrailAnchor,
)
from services import visibility
from services.dossiers import trail
from services.dossiers.workflow import FINAL
from services.pagination import Page, check_first, decode, encode_key, encode_offset
from services.text import check_search

OPEN = [s for s in DossierStatus if s not in FINAL and s is not DossierStatus.DRAFT]


def readable_dossiers(actor: Actor, me: visibility.AccountKey = None) -> Select[Dossier]:
    return select(Dossier).where(visibility.dossiers(actor, me))


async def dossier_for(session: AsyncSession, actor: Actor, dossier_id: uuid.UUID) -> Dossier | None:
    return await session.scalar(readable_dossiers(actor).where(Dossier.id == dossier_id))


@dataclass(frozen=True)
class Lookup:
    dossier: Dossier
    full: bool  # the second factor was given: the applicant's view


async def lookup(
    session: AsyncSession, code: str, *, id_number: str | None = None, secret: str | None = None
) -> Lookup | None:
    """Tra cứu by code; with the applicant's ID number or the receipt QR's secret, the full view."""
    dossier = await session.scalar(select(Dossier).where(Dossier.code == code.strip().upper()))
    if dossier is None:
        dossier = await session.scalar(select(Dossier).where(Dossier.code == code.strip()))
    if dossier is None:
        return None
    full = bool(
        (
            id_number
            and dossier.applicant_id_number
            and secrets.compare_digest(id_number.strip(), dossier.applicant_id_number)
        )
        or (secret and secrets.compare_digest(secret, dossier.lookup_secret))
    )
    return Lookup(dossier, full)


@dataclass(frozen=True)
class PublicStatus:
    """What the public lookup shows (no personal data), and whether the second factor matched."""

    dossier_id: uuid.UUID
    code: str
    status: DossierStatus
    received_at: datetime | None
    appointment_at: datetime | None
    finished_at: datetime | None
    procedure_name: str
    agency_name: str
    full: bool


def public_status_select(code: Any, typed: Any) -> Select[*tuple[Any, ...]]:
    """The public status of the dossier with `code` (as issued, upper-case) or `typed` (the code
    as typed): its public columns with its procedure's and agency's names, and the two second
    factors (compared in Python, never shown). The compiled read path runs the same statement."""
    stmt: Select[*tuple[Any, ...]] = (
        select(
            Dossier.id.label("dossier_id"),
            Dossier.code.label("code"),
            Dossier.status.label("status"),
            Dossier.received_at.label("received_at"),
            Dossier.appointment_at.label("appointment_at"),
            Dossier.finished_at.label("finished_at"),
            ProcedureVersion.name.label("procedure_name"),
            Agency.name.label("agency_name"),
            Dossier.applicant_id_number.label("applicant_id_number"),
            Dossier.lookup_secret.label("lookup_secret"),
        )
        .join(ProcedureVersion, ProcedureVersion.id == Dossier.procedure_version_id)
        .join(Agency, Agency.id == Dossier.receiving_agency_id)
        .where(or_(Dossier.code == code, Dossier.code == typed))
        .order_by((Dossier.code == code).desc())
        .limit(1)
    )
    return stmt


# Compiled once and run on the driver's connection (its prepared-statement cache): on the hottest
# public path SQLAlchemy's statement handling and result processing cost more than the query.
_PUBLIC_STATUS = public_status_select(bindparam("code"), bindparam("typed")).compile(
    dialect=asyncpg_dialect()  # type: ignore[no-untyped-call]
)


async def public_status(
    connection: AsyncConnection, code: str, *, id_number: str | None = None, secret: str | None = None
) -> PublicStatus | None:
    """`lookup` for the public status in one statement (`public_status_select`; codes are issued
    upper-case; the code as typed also counts)."""
    typed = code.strip()
    driver: Any = (await connection.get_raw_connection()).driver_connection  # asyncpg's
    values = {**_PUBLIC_STATUS.params, "code": typed.upper(), "typed": typed}
    row = await driver.fetchrow(
        str(_PUBLIC_STATUS), *(values[name] for name in _PUBLIC_STATUS.positiontup or ())
    )
    if row is None:
        return None
    full = bool(
        (
            id_number
            and row["applicant_id_number"]
            and secrets.compare_digest(id_number.strip(), row["applicant_id_number"])
        )
        or (secret and secrets.compare_digest(secret, row["lookup_secret"]))
    )
    return PublicStatus(
        row["dossier_id"],
        row["code"],
        DossierStatus(row["status"]),
        row["received_at"],
        row["appointment_at"],
        row["finished_at"],
        row["procedure_name"],
        row["agency_name"],
        full,
    )


@dataclass(frozen=True)
class DossierFilter:
    code: str | None = None
    applicant: str | None = None  # name part or ID number
    procedure_code: str | None = None
    status: DossierStatus | None = None
    overdue: bool | None = None
    near_deadline: bool | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None
    agency_id: uuid.UUID | None = None


def _filtered(stmt: Select[Dossier], flt: DossierFilter, now: datetime) -> Select[Dossier]:
    if flt.code:
        stmt = stmt.where(Dossier.code.startswith(flt.code.strip(), autoescape=True))
    if flt.applicant:
        term = flt.applicant.strip()
        stmt = stmt.where(
            or_(Dossier.applicant_id_number == term, Dossier.applicant_name.icontains(term, autoescape=True))
        )
    if flt.procedure_code:
        stmt = stmt.where(
            Dossier.procedure_id.in_(select(Procedure.id).where(Procedure.code == flt.procedure_code))
        )
    if flt.status is not None:
        stmt = stmt.where(Dossier.status == flt.status)
    if flt.overdue is not None:
        late = and_(Dossier.status.in_(OPEN), Dossier.paused_at.is_(None), Dossier.due_at < now)
        stmt = stmt.where(late if flt.overdue else ~late)
    if flt.near_deadline:
        stmt = stmt.where(
            Dossier.status.in_(OPEN), Dossier.due_at >= now, Dossier.due_at < now + timedelta(days=1)
        )
    if flt.received_from is not None:
        stmt = stmt.where(Dossier.received_at >= flt.received_from)
    if flt.received_to is not None:
        stmt = stmt.where(Dossier.received_at < flt.received_to)
    if flt.agency_id is not None:
        stmt = stmt.where(Dossier.receiving_agency_id == flt.agency_id)
    return stmt


async def search(
    session: AsyncSession, actor: Actor, flt: DossierFilter, *, now: datetime, first: int, after: str | None
) -> Page[Dossier]:
    """Newest first, keyset-paginated on (created_at, id)."""
    first = check_first(first)
    check_search(flt.code, ("filter", "code"))
    check_search(flt.applicant, ("filter", "applicant"))
    cursor = decode(after)
    stmt = _filtered(readable_dossiers(actor), flt, now)
    if cursor.key:
        created, _, ident = cursor.key.partition("|")
        stmt = stmt.where(
            or_(
                Dossier.created_at < datetime.fromisoformat(created),
                and_(Dossier.created_at == datetime.fromisoformat(created), Dossier.id < uuid.UUID(ident)),
            )
        )
    rows = list(
        await session.scalars(stmt.order_by(Dossier.created_at.desc(), Dossier.id.desc()).limit(first + 1))
    )
    items = [(d, encode_key(f"{d.created_at.isoformat()}|{d.id}")) for d in rows[:first]]
    return Page(items, len(rows) > first, cursor.key is not None, -1)


def inbox_condition(actor: Actor) -> ColumnElement[bool]:
    """What the caller may act on now: steps they hold (or may take) and, for one-stop
    officers, dossiers waiting for reception or for their result to be returned.

    The candidates come first, from the open steps' partial indexes and the reception index
    (`Dossier.id IN (…)`): a handful of rows among a million. Without them PostgreSQL walks the
    `due_at` index through every dossier to find the few that match (seconds, not milliseconds,
    on the benchmark's data set); the exact conditions are then checked on the candidates."""
    conditions: list[ColumnElement[bool]] = []
    candidates: list[Select[Any]] = []
    open_step = (DossierStep.dossier_id == Dossier.id, DossierStep.position == Dossier.current_step)
    if actor.id is not None:
        mine = (DossierStep.finished_at.is_(None), DossierStep.assignee_id == actor.id)
        conditions.append(exists().where(*open_step, *mine))
        candidates.append(select(DossierStep.dossier_id).where(*mine))
    for role in (StaffRole.SPECIALIST, StaffRole.LEADER, StaffRole.RECEPTION_OFFICER):
        agencies = actor.agencies_with(role)
        if agencies == frozenset():
            continue
        at_agency = DossierStep.agency_id.in_(agencies) if agencies is not None else true()
        free = (
            DossierStep.finished_at.is_(None),
            DossierStep.assignee_id.is_(None),
            DossierStep.role == role.value,
            at_agency,
        )
        conditions.append(exists().where(*open_step, *free))
        candidates.append(select(DossierStep.dossier_id).where(*free))
    reception = actor.agencies_with(StaffRole.RECEPTION_OFFICER)
    if reception != frozenset():
        at_unit = Dossier.receiving_agency_id.in_(reception) if reception is not None else true()
        waiting = and_(
            at_unit,
            Dossier.status.in_([DossierStatus.SUBMITTED, DossierStatus.RESULT_READY, DossierStatus.REFUSED]),
        )
        conditions.append(waiting)
        candidates.append(select(Dossier.id).where(waiting))
    if not conditions:
        return false()
    return and_(Dossier.id.in_(union_all(*candidates)), Dossier.status.in_(OPEN), or_(*conditions))


def inbox_rows(actor: Actor, *, offset: Any, limit: Any) -> Select[Dossier]:
    """The inbox's rows, most urgent first (nearest deadline): `limit` of them after `offset`
    (values, or bound parameters for the compiled read path)."""
    stmt = readable_dossiers(actor).where(inbox_condition(actor))
    return stmt.order_by(Dossier.due_at.asc().nulls_last(), Dossier.id).offset(offset).limit(limit)


async def inbox(session: AsyncSession, actor: Actor, *, first: int, after: str | None) -> Page[Dossier]:
    """The inbox changes under the reader's feet, so an offset cursor is as good as any and
    simpler."""
    first = check_first(first)
    offset = decode(after).offset or 0
    rows = list(await session.scalars(inbox_rows(actor, offset=offset, limit=first + 1)))
    items = [(d, encode_offset(offset + i + 1)) for i, d in enumerate(rows[:first])]
    return Page(items, len(rows) > first, offset > 0, -1)


async def trail_of(session: AsyncSession, dossier_id: uuid.UUID) -> list[DossierEvent]:
    return list(
        await session.scalars(
            select(DossierEvent).where(DossierEvent.dossier_id == dossier_id).order_by(DossierEvent.seq)
        )
    )


async def check_trail(session: AsyncSession, dossier: Dossier) -> trail.ChainCheck:
    """The dossier's chain, from its first event — or, when its first years were detached for
    the archive (docs/operations.md, "Partitions by year"), from the anchor kept at the detach."""
    events = await trail_of(session, dossier.id)
    detached = events[0].prev_hash != trail.GENESIS if events else dossier.trail_head is not None
    anchor = await session.get(DossierTrailAnchor, dossier.id) if detached else None
    if anchor is None:
        return trail.verify(events, dossier.trail_head)
    return trail.verify(events, dossier.trail_head, start=anchor.hash, before=anchor.events)


# --- batch lookups for dataloaders -------------------------------------------------------------------


async def steps_by_dossier_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[list[DossierStep]]:
    grouped: dict[uuid.UUID, list[DossierStep]] = defaultdict(list)
    for row in await session.scalars(
        select(DossierStep).where(DossierStep.dossier_id.in_(ids)).order_by(DossierStep.position)
    ):
        grouped[row.dossier_id].append(row)
    return [grouped[i] for i in ids]


async def events_by_dossier_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[list[DossierEvent]]:
    grouped: dict[uuid.UUID, list[DossierEvent]] = defaultdict(list)
    for row in await session.scalars(
        select(DossierEvent).where(DossierEvent.dossier_id.in_(ids)).order_by(DossierEvent.seq)
    ):
        grouped[row.dossier_id].append(row)
    return [grouped[i] for i in ids]


async def attachments_by_dossier_ids(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> list[list[DossierAttachment]]:
    grouped: dict[uuid.UUID, list[DossierAttachment]] = defaultdict(list)
    for row in await session.scalars(
        select(DossierAttachment)
        .where(DossierAttachment.dossier_id.in_(ids), DossierAttachment.removed_at.is_(None))
        .order_by(DossierAttachment.added_at)
    ):
        grouped[row.dossier_id].append(row)
    return [grouped[i] for i in ids]
