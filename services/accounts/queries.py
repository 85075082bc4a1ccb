"""Account reads: batch lookups for the dataloaders, admin lists and the audit trail."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from models.accounts import (
    Account,
    AccountKind,
    AccountStatus,
    CitizenProfile,
    OAuthClient,
    OrganisationProfile,
    SecurityEvent,
    StaffAssignment,
    Vault,
)
from services.accounts.admin.reach import manageable_accounts
from services.text import check_search


async def citizens_by_account_ids(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> list[CitizenProfile | None]:
    rows = {
        p.account_id: p
        for p in await session.scalars(select(CitizenProfile).where(CitizenProfile.account_id.in_(ids)))
    }
    return [rows.get(i) for i in ids]


async def organisations_by_account_ids(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> list[OrganisationProfile | None]:
    rows = {
        p.account_id: p
        for p in await session.scalars(
            select(OrganisationProfile).where(OrganisationProfile.account_id.in_(ids))
        )
    }
    return [rows.get(i) for i in ids]


async def assignments_by_account_ids(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> list[list[StaffAssignment]]:
    grouped: dict[uuid.UUID, list[StaffAssignment]] = defaultdict(list)
    for row in await session.scalars(
        select(StaffAssignment)
        .where(StaffAssignment.account_id.in_(ids), StaffAssignment.ended_at.is_(None))
        .order_by(StaffAssignment.created_at, StaffAssignment.role)
    ):
        grouped[row.account_id].append(row)
    return [grouped[i] for i in ids]


async def vaults_by_account_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[Vault | None]:
    rows = {v.account_id: v for v in await session.scalars(select(Vault).where(Vault.account_id.in_(ids)))}
    return [rows.get(i) for i in ids]


async def list_accounts(
    session: AsyncSession,
    actor: Actor,
    *,
    kind: AccountKind | None,
    status: AccountStatus | None,
    search: str | None,
    offset: int,
    limit: int,
) -> tuple[list[Account], bool]:
    """Accounts the actor may administer, newest first."""
    check_search(search, ("search",))
    stmt = manageable_accounts(actor)
    if kind is not None:
        stmt = stmt.where(Account.kind == kind)
    if status is not None:
        stmt = stmt.where(Account.status == status)
    if search:
        term = search.strip().lower()
        stmt = stmt.where(
            or_(
                Account.email == term,
                Account.phone.contains(term.lstrip("0"), autoescape=True),
                Account.id.in_(select(CitizenProfile.account_id).where(CitizenProfile.citizen_id == term)),
                Account.id.in_(
                    select(OrganisationProfile.account_id).where(OrganisationProfile.tax_code == term)
                ),
                Account.display_name.icontains(search.strip(), autoescape=True),
            )
        )
    rows = list(
        await session.scalars(
            stmt.order_by(Account.created_at.desc(), Account.id).offset(offset).limit(limit + 1)
        )
    )
    return rows[:limit], len(rows) > limit


async def account_for(session: AsyncSession, actor: Actor, account_id: uuid.UUID) -> Account | None:
    if actor.id == account_id:
        return await session.get(Account, account_id)
    return await session.scalar(manageable_accounts(actor).where(Account.id == account_id))


async def security_events(
    session: AsyncSession,
    actor: Actor,
    *,
    subject_id: uuid.UUID | None,
    event: str | None,
    before_seq: int | None,
    limit: int,
) -> tuple[list[SecurityEvent], bool]:
    """The audit trail: everything for system admins; for agency admins, the accounts they
    administer; for anyone else, their own account."""
    stmt = select(SecurityEvent)
    if not actor.is_system_admin:
        reachable = manageable_accounts(actor).with_only_columns(Account.id)
        stmt = stmt.where(or_(SecurityEvent.subject_id == actor.id, SecurityEvent.subject_id.in_(reachable)))
    if subject_id is not None:
        stmt = stmt.where(SecurityEvent.subject_id == subject_id)
    if event is not None:
        stmt = stmt.where(SecurityEvent.event == event)
    if before_seq is not None:
        stmt = stmt.where(SecurityEvent.seq < before_seq)
    rows = list(await session.scalars(stmt.order_by(SecurityEvent.seq.desc()).limit(limit + 1)))
    return rows[:limit], len(rows) > limit


async def apps(session: AsyncSession) -> list[OAuthClient]:
    return list(await session.scalars(select(OAuthClient).order_by(OAuthClient.created_at)))
