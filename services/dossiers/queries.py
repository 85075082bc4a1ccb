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

from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from auth.actor import Actor
from auth.roles import StaffRole
from models.catalog import Procedure
from models.dossiers import Dossier, DossierAttachment, DossierEvent, DossierStatus, DossierStep
from services import visibility
from services.dossiers import trail
from services.dossiers.workflow import FINAL
from services.pagination import Page, check_first, decode, encode_key, encode_offset
from services.text import check_search

OPEN = [s for s in DossierStatus if s not in FINAL and s is not DossierStatus.DRAFT]


def readable_dossiers(actor: Actor) -> Select[Dossier]:
    return select(Dossier).where(visibility.dossiers(actor))


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


# Raw SQL on the driver's connection (its prepared-statement cache): on the hottest public path
# SQLAlchemy's statement handling and result processing cost more than the query itself.
_PUBLIC_STATUS = """
SELECT d.id, d.code, d.status::text, d.received_at, d.appointment_at, d.finished_at, v.name, a.name,
       d.applicant_id_number, d.lookup_secret
FROM dossiers d
JOIN procedure_versions v ON v.id = d.procedure_version_id
JOIN agencies a ON a.id = d.receiving_agency_id
WHERE d.code = $1 OR d.code = $2
ORDER BY d.code = $1 DESC
LIMIT 1
"""


async def public_status(
    connection: AsyncConnection, code: str, *, id_number: str | None = None, secret: str | None = None
) -> PublicStatus | None:
    """`lookup` for the public status in one statement: the dossier's public columns with its
    procedure's and agency's names (codes are issued upper-case; the code as typed also counts)."""
    typed = code.strip()
    driver: Any = (await connection.get_raw_connection()).driver_connection  # asyncpg's
    row = await driver.fetchrow(_PUBLIC_STATUS, typed.upper(), typed)
    if row is None:
        return None
    full = bool(
        (id_number and row[8] and secrets.compare_digest(id_number.strip(), row[8]))
        or (secret and secrets.compare_digest(secret, row[9]))
    )
    status = DossierStatus(row[2])
    return PublicStatus(row[0], row[1], status, row[3], row[4], row[5], row[6], row[7], full)


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
    officers, dossiers waiting for reception or for their result to be returned."""
    conditions: list[ColumnElement[bool]] = []
    if actor.id is not None:
        conditions.append(
            exists().where(
                DossierStep.dossier_id == Dossier.id,
                DossierStep.position == Dossier.current_step,
                DossierStep.finished_at.is_(None),
                DossierStep.assignee_id == actor.id,
            )
        )
    for role in (StaffRole.SPECIALIST, StaffRole.LEADER, StaffRole.RECEPTION_OFFICER):
        agencies = actor.agencies_with(role)
        if agencies == frozenset():
            continue
        at_agency = DossierStep.agency_id.in_(agencies) if agencies is not None else true()
        conditions.append(
            exists().where(
                DossierStep.dossier_id == Dossier.id,
                DossierStep.position == Dossier.current_step,
                DossierStep.finished_at.is_(None),
                DossierStep.assignee_id.is_(None),
                DossierStep.role == role.value,
                at_agency,
            )
        )
    reception = actor.agencies_with(StaffRole.RECEPTION_OFFICER)
    if reception != frozenset():
        at_unit = Dossier.receiving_agency_id.in_(reception) if reception is not None else true()
        conditions.append(
            and_(
                at_unit,
                Dossier.status.in_(
                    [DossierStatus.SUBMITTED, DossierStatus.RESULT_READY, DossierStatus.REFUSED]
                ),
            )
        )
    if not conditions:
        return false()
    return and_(Dossier.status.in_(OPEN), or_(*conditions))


async def inbox(session: AsyncSession, actor: Actor, *, first: int, after: str | None) -> Page[Dossier]:
    """Most urgent first (nearest deadline). The inbox changes under the reader's feet, so an
    offset cursor is as good as any and simpler."""
    first = check_first(first)
    offset = decode(after).offset or 0
    stmt = readable_dossiers(actor).where(inbox_condition(actor))
    rows = list(
        await session.scalars(
            stmt.order_by(Dossier.due_at.asc().nulls_last(), Dossier.id).offset(offset).limit(first + 1)
        )
    )
    items = [(d, encode_offset(offset + i + 1)) for i, d in enumerate(rows[:first])]
    return Page(items, len(rows) > first, offset > 0, -1)


async def trail_of(session: AsyncSession, dossier_id: uuid.UUID) -> list[DossierEvent]:
    return list(
        await session.scalars(
            select(DossierEvent).where(DossierEvent.dossier_id == dossier_id).order_by(DossierEvent.seq)
        )
    )


async def check_trail(session: AsyncSession, dossier: Dossier) -> trail.ChainCheck:
    return trail.verify(await trail_of(session, dossier.id), dossier.trail_head)


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
