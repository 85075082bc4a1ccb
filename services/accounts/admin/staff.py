"""Creating staff accounts (tạo tài khoản cán bộ): at an agency's request, the person setting a
password from an e-mailed code; and a system administrator created from the command line.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth import passwords
from auth.actor import Actor
from auth.roles import StaffRole
from models.accounts import Account, AccountKind, AccountStatus, CodePurpose, StaffAssignment, Vault
from services.accounts import rules
from services.accounts.admin.assignments import AssignmentData, check_assignments, new_assignment
from services.accounts.admin.reach import require_admin
from services.accounts.codes import issue_code
from services.accounts.journal import Journal, security_event
from services.accounts.policy import AccountPolicy
from services.errors import Issues
from services.system import SYSTEM_META


@dataclass(frozen=True)
class StaffData:
    full_name: str
    email: str
    phone: str | None
    assignments: tuple[AssignmentData, ...]


async def create_staff(
    session: AsyncSession, actor: Actor, data: StaffData, *, journal: Journal, policy: AccountPolicy
) -> Account:
    """A staff account, at an agency's request; the person sets a password from the e-mailed code."""
    require_admin(actor)
    issues = Issues()
    rules.check_name(issues, ("fullName",), data.full_name)
    email = rules.normalise_email(data.email)
    rules.check_email(issues, ("email",), email)
    phone = None
    if data.phone:
        rules.check_phone(issues, ("phone",), data.phone)
        phone = rules.normalise_phone(data.phone)
    if not data.assignments:
        issues.add(("assignments",), "REQUIRED", "Cán bộ phải được phân công ít nhất một vai trò.")
    agencies = await check_assignments(session, actor, data.assignments, issues, "assignments")
    live = Account.status != AccountStatus.DELETED
    if await session.scalar(select(Account.id).where(Account.email == email, live)):
        issues.add(("email",), "DUPLICATE", "Thư điện tử này đã được dùng cho một tài khoản khác.")
    if phone and await session.scalar(select(Account.id).where(Account.phone == phone, live)):
        issues.add(("phone",), "DUPLICATE", "Số điện thoại này đã được dùng cho một tài khoản khác.")
    issues.raise_if_any()
    account = Account(
        id=uuid.uuid4(),
        kind=AccountKind.STAFF,
        status=AccountStatus.PENDING,
        display_name=rules.normalise_name(data.full_name),
        email=email,
        phone=phone,
        password_hash=None,
        failed_sign_ins=0,
        token_version=1,
    )
    session.add(account)
    await session.flush()
    session.add(Vault(account_id=account.id, created_at=journal.now))
    for a in data.assignments:
        session.add(new_assignment(account.id, a, agencies, actor, journal.now))
    await issue_code(
        session,
        account,
        CodePurpose.RESET_PASSWORD,
        "EMAIL",
        email,
        now=journal.now,
        policy=policy,
        ttl=policy.staff_code_ttl,
        welcome=True,
    )
    session.add(
        security_event(
            "STAFF_CREATE",
            "SUCCESS",
            actor=actor,
            now=journal.now,
            meta=journal.meta,
            subject_id=account.id,
            detail={"roles": [f"{a.role.value}@{a.agency_code or '*'}" for a in data.assignments]},
        )
    )
    await session.flush()
    return account


async def create_system_admin(
    session: AsyncSession,
    *,
    email: str,
    full_name: str,
    password: str,
    now: datetime,
    actor: Actor,
    account_id: uuid.UUID | None = None,
) -> Account:
    """A system administrator created from the command line (the first one, typically).

    Whoever runs the command on the server vouches for the address, so it is verified at once.
    """
    issues = Issues()
    rules.check_name(issues, ("name",), full_name)
    address = rules.normalise_email(email)
    rules.check_email(issues, ("email",), address)
    rules.check_password(issues, ("password",), password, personal=(address,))
    if await session.scalar(
        select(Account.id).where(Account.email == address, Account.status != AccountStatus.DELETED)
    ):
        issues.add(("email",), "DUPLICATE", "Thư điện tử này đã được dùng cho một tài khoản khác.")
    issues.raise_if_any()
    account = Account(
        id=account_id or uuid.uuid4(),
        kind=AccountKind.STAFF,
        status=AccountStatus.ACTIVE,
        display_name=rules.normalise_name(full_name),
        email=address,
        email_verified_at=now,
        password_hash=passwords.hash_password(password),
        failed_sign_ins=0,
        token_version=1,
    )
    session.add(account)
    await session.flush()
    session.add(Vault(account_id=account.id, created_at=now))
    session.add(
        StaffAssignment(
            account_id=account.id,
            agency_id=None,
            role=StaffRole.SYSTEM_ADMIN.value,
            include_sub_agencies=False,
            created_at=now,
            created_by=actor.label,
        )
    )
    session.add(
        security_event(
            "ADMIN_CREATE", "SUCCESS", actor=actor, now=now, meta=SYSTEM_META, subject_id=account.id
        )
    )
    await session.flush()
    return account
