"""Deleting an account registered with false data (xoá tài khoản): personal data erased, the
audit trail kept; a system admin's act.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from models.accounts import Account, AccountStatus, CitizenProfile, OrganisationProfile
from services.accounts.admin.reach import manageable
from services.accounts.journal import Journal, security_event
from services.accounts.sessions import revoke_everything
from services.errors import FieldIssue, Forbidden, ValidationFailed


async def delete_false_account(
    session: AsyncSession, actor: Actor, account_id: uuid.UUID, reason: str, *, journal: Journal
) -> Account:
    """An account registered with false data: personal data erased, audit trail kept."""
    if not actor.is_system_admin:
        raise Forbidden("Chỉ quản trị hệ thống được xoá tài khoản.")
    if not reason.strip():
        raise ValidationFailed([FieldIssue(("reason",), "REQUIRED", "Nêu lý do xoá tài khoản.")])
    account = await manageable(session, actor, account_id)
    await revoke_everything(session, account, now=journal.now)
    account.status = AccountStatus.DELETED
    account.lock_reason = None
    account.display_name = "(tài khoản đã xoá)"
    account.email = account.phone = account.password_hash = None
    citizen = await session.get(CitizenProfile, account.id)
    if citizen is not None:
        citizen.citizen_id = citizen.national_identity_subject = citizen.address = citizen.birth_date = None
        citizen.full_name = "(đã xoá)"
    organisation = await session.get(OrganisationProfile, account.id)
    if organisation is not None:
        organisation.tax_code = organisation.representative_citizen_id = organisation.address = None
        organisation.name = organisation.representative_name = "(đã xoá)"
    session.add(
        security_event(
            "ACCOUNT_DELETE",
            "SUCCESS",
            actor=actor,
            now=journal.now,
            meta=journal.meta,
            subject_id=account.id,
            detail={"reason": reason.strip()[:500]},
        )
    )
    await session.flush()
    return account
