"""Admin acts on accounts: staff creation and roles, locks and unlocks, resets, deletion, apps.

Who may act on whom is a query (`manageable_accounts`), used for reads and writes alike: a
system admin manages every account; an agency admin manages staff of the agencies where they
hold that role. An account outside the actor's reach is "not found".
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth import passwords, tokens
from auth.actor import Actor, ActorKind
from auth.roles import StaffRole
from models.accounts import (
    Account,
    AccountKind,
    AccountStatus,
    CitizenProfile,
    CodePurpose,
    LockReason,
    OAuthClient,
    OrganisationProfile,
    StaffAssignment,
    Vault,
)
from models.catalog import Agency
from models.dossiers import DossierStep
from services.accounts import rules
from services.accounts.journal import Journal, security_event
from services.accounts.policy import AccountPolicy
from services.accounts.service import issue_code, lock, revoke_everything, unlock
from services.errors import FieldIssue, Forbidden, Issues, NotFound, Refused, ValidationFailed
from services.system import SYSTEM_META

# Roles an agency admin may grant within their agencies.
AGENCY_GRANTABLE = frozenset(StaffRole) - {StaffRole.SYSTEM_ADMIN, StaffRole.AGENCY_ADMIN}
ADMIN_LOCK_REASONS = frozenset({LockReason.DECEASED, LockReason.DISSOLVED, LockReason.ADMIN})


def manageable_accounts(actor: Actor) -> Select[Account]:
    """The accounts `actor` may administer, as a query."""
    stmt = select(Account).where(Account.status != AccountStatus.DELETED)
    if actor.is_system_admin:
        return stmt
    agencies = actor.agencies_with(StaffRole.AGENCY_ADMIN)
    if not agencies:
        return stmt.where(Account.id.is_(None))  # nothing
    return stmt.where(
        Account.kind == AccountKind.STAFF,
        exists().where(
            StaffAssignment.account_id == Account.id,
            StaffAssignment.ended_at.is_(None),
            StaffAssignment.agency_id.in_(agencies),
        ),
    )


async def manageable(
    session: AsyncSession, actor: Actor, account_id: uuid.UUID, *, lock_row: bool = True
) -> Account:
    stmt = manageable_accounts(actor).where(Account.id == account_id)
    if lock_row:
        stmt = stmt.with_for_update(of=Account)
    account = await session.scalar(stmt)
    if account is None:
        raise NotFound("tài khoản", str(account_id))
    return account


def _require_admin(actor: Actor) -> None:
    if not (actor.is_system_admin or actor.agencies_with(StaffRole.AGENCY_ADMIN)):
        raise Forbidden()


# --- staff --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssignmentData:
    role: StaffRole
    agency_code: str | None
    include_sub_agencies: bool = False


@dataclass(frozen=True)
class StaffData:
    full_name: str
    email: str
    phone: str | None
    assignments: tuple[AssignmentData, ...]


async def _check_assignments(
    session: AsyncSession, actor: Actor, assignments: Sequence[AssignmentData], issues: Issues, path: str
) -> dict[str, uuid.UUID]:
    codes = [a.agency_code for a in assignments if a.agency_code]
    agencies = dict(
        (await session.execute(select(Agency.code, Agency.id).where(Agency.code.in_(codes)))).all()
    )
    managed = actor.agencies_with(StaffRole.AGENCY_ADMIN)
    for i, a in enumerate(assignments):
        where = (path, i)
        if a.agency_code is None:
            if a.role is not StaffRole.SYSTEM_ADMIN:
                issues.add((*where, "agencyCode"), "REQUIRED", "Vai trò này phải gắn với một cơ quan.")
        elif a.agency_code not in agencies:
            issues.add((*where, "agencyCode"), "UNKNOWN", f"Cơ quan “{a.agency_code}” không tồn tại.")
        if actor.is_system_admin:
            continue
        if a.role not in AGENCY_GRANTABLE:
            raise Forbidden("Quản trị cơ quan không được cấp vai trò này.")
        agency_id = agencies.get(a.agency_code or "")
        if agency_id is not None and (managed is not None and agency_id not in managed):
            raise Forbidden("Bạn chỉ được phân công cán bộ trong cơ quan mình quản trị.")
    return agencies


async def create_staff(
    session: AsyncSession, actor: Actor, data: StaffData, *, journal: Journal, policy: AccountPolicy
) -> Account:
    """A staff account, at an agency's request; the person sets a password from the e-mailed code."""
    _require_admin(actor)
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
    agencies = await _check_assignments(session, actor, data.assignments, issues, "assignments")
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
        session.add(_assignment(account.id, a, agencies, actor, journal.now))
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


def _assignment(
    account_id: uuid.UUID, a: AssignmentData, agencies: dict[str, uuid.UUID], actor: Actor, now: datetime
) -> StaffAssignment:
    return StaffAssignment(
        account_id=account_id,
        agency_id=agencies[a.agency_code] if a.agency_code else None,
        role=a.role.value,
        include_sub_agencies=a.include_sub_agencies,
        created_at=now,
        created_by=actor.label,
    )


async def assign_role(
    session: AsyncSession, actor: Actor, account_id: uuid.UUID, data: AssignmentData, *, journal: Journal
) -> StaffAssignment:
    _require_admin(actor)
    account = await manageable(session, actor, account_id)
    if account.kind is not AccountKind.STAFF:
        raise ValidationFailed(
            [FieldIssue(("accountId",), "NOT_STAFF", "Chỉ phân công vai trò cho tài khoản cán bộ.")]
        )
    issues = Issues()
    agencies = await _check_assignments(session, actor, [data], issues, "assignment")
    issues.raise_if_any()
    agency_id = agencies[data.agency_code] if data.agency_code else None
    existing = await session.scalar(
        select(StaffAssignment).where(
            StaffAssignment.account_id == account.id,
            StaffAssignment.role == data.role.value,
            StaffAssignment.agency_id.is_(None)
            if agency_id is None
            else StaffAssignment.agency_id == agency_id,
            StaffAssignment.ended_at.is_(None),
        )
    )
    if existing is not None:
        return existing  # assigning twice is applied once
    row = _assignment(account.id, data, agencies, actor, journal.now)
    session.add(row)
    session.add(
        security_event(
            "ROLE_GRANT",
            "SUCCESS",
            actor=actor,
            now=journal.now,
            meta=journal.meta,
            subject_id=account.id,
            detail={"role": data.role.value, "agency": data.agency_code},
        )
    )
    await session.flush()
    return row


async def end_assignment(
    session: AsyncSession, actor: Actor, assignment_id: uuid.UUID, *, journal: Journal
) -> Account:
    """End a role. A staff member left with no role is no longer assigned: the account locks."""
    _require_admin(actor)
    row = await session.scalar(
        select(StaffAssignment).where(StaffAssignment.id == assignment_id).with_for_update()
    )
    if row is None or row.ended_at is not None:
        raise NotFound("phân công", str(assignment_id))
    account = await manageable(session, actor, row.account_id)
    if not actor.is_system_admin:
        managed = actor.agencies_with(StaffRole.AGENCY_ADMIN)
        if row.agency_id is None or (managed is not None and row.agency_id not in managed):
            raise Forbidden("Bạn chỉ được thu hồi phân công trong cơ quan mình quản trị.")
    row.ended_at = journal.now
    session.add(
        security_event(
            "ROLE_REVOKE",
            "SUCCESS",
            actor=actor,
            now=journal.now,
            meta=journal.meta,
            subject_id=account.id,
            detail={"role": row.role},
        )
    )
    await session.flush()
    remaining = await session.scalar(
        select(StaffAssignment.id)
        .where(StaffAssignment.account_id == account.id, StaffAssignment.ended_at.is_(None))
        .limit(1)
    )
    if remaining is None and account.status is not AccountStatus.LOCKED:
        await lock(session, account, LockReason.UNASSIGNED, actor=actor, now=journal.now, meta=journal.meta)
    else:
        account.token_version += 1  # the old roles must not live on in issued tokens
    await session.flush()
    return account


# --- locks, resets, deletion ------------------------------------------------------------------


async def admin_lock(
    session: AsyncSession, actor: Actor, account_id: uuid.UUID, reason: LockReason, *, journal: Journal
) -> Account:
    _require_admin(actor)
    if reason not in ADMIN_LOCK_REASONS:
        raise ValidationFailed(
            [FieldIssue(("reason",), "NOT_ADMIN_REASON", "Lý do này do hệ thống tự áp dụng.")]
        )
    account = await manageable(session, actor, account_id)
    if reason is LockReason.DECEASED and account.kind is not AccountKind.CITIZEN:
        raise ValidationFailed([FieldIssue(("reason",), "WRONG_KIND", "Chỉ áp dụng cho tài khoản công dân.")])
    if reason is LockReason.DISSOLVED and account.kind is not AccountKind.ORGANISATION:
        raise ValidationFailed([FieldIssue(("reason",), "WRONG_KIND", "Chỉ áp dụng cho tài khoản tổ chức.")])
    if account.status is AccountStatus.LOCKED:
        return account
    await lock(session, account, reason, actor=actor, now=journal.now, meta=journal.meta)
    return account


async def admin_unlock(
    session: AsyncSession, actor: Actor, account_id: uuid.UUID, *, journal: Journal
) -> Account:
    _require_admin(actor)
    account = await manageable(session, actor, account_id)
    if account.status is not AccountStatus.LOCKED:
        return account
    if account.lock_reason in (LockReason.DECEASED, LockReason.DISSOLVED) and not actor.is_system_admin:
        raise Forbidden("Chỉ quản trị hệ thống được mở khoá tài khoản này.")
    await unlock(session, account, actor=actor, now=journal.now, meta=journal.meta)
    return account


async def admin_reset_password(
    session: AsyncSession, actor: Actor, account_id: uuid.UUID, *, journal: Journal, policy: AccountPolicy
) -> Account:
    """Send the owner a reset code on their contact; the admin never sees or sets the password."""
    _require_admin(actor)
    account = await manageable(session, actor, account_id)
    sent = False
    for channel, destination in (("EMAIL", account.email), ("SMS", account.phone)):
        if destination:
            await issue_code(
                session,
                account,
                CodePurpose.RESET_PASSWORD,
                channel,
                destination,
                now=journal.now,
                policy=policy,
            )
            sent = True
    if not sent:
        raise Refused("NO_CONTACT", "Tài khoản không có thư điện tử hay số điện thoại để gửi mã.")
    await revoke_everything(session, account, now=journal.now)
    session.add(
        security_event(
            "PASSWORD_RESET_ISSUED",
            "SUCCESS",
            actor=actor,
            now=journal.now,
            meta=journal.meta,
            subject_id=account.id,
        )
    )
    await session.flush()
    return account


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


# --- third-party applications -----------------------------------------------------------------


@dataclass(frozen=True)
class RegisteredApp:
    app: OAuthClient
    client_secret: str  # shown once


async def register_app(
    session: AsyncSession,
    actor: Actor,
    name: str,
    contact_email: str,
    scopes: Sequence[str],
    *,
    journal: Journal,
    policy: AccountPolicy,
    rate_limit_per_minute: int = 600,
) -> RegisteredApp:
    if not actor.is_system_admin:
        raise Forbidden("Chỉ quản trị hệ thống được đăng ký ứng dụng.")
    issues = Issues()
    if not name.strip():
        issues.add(("name",), "REQUIRED", "Tên ứng dụng không được để trống.")
    email = rules.normalise_email(contact_email)
    rules.check_email(issues, ("contactEmail",), email)
    if not scopes:
        issues.add(("scopes",), "REQUIRED", "Chọn ít nhất một phạm vi truy cập.")
    for i, scope in enumerate(scopes):
        if scope not in policy.app_scopes:
            issues.add(("scopes", i), "UNKNOWN", f"Phạm vi “{scope}” không tồn tại.")
    if not 1 <= rate_limit_per_minute <= 100_000:
        issues.add(("rateLimitPerMinute",), "OUT_OF_RANGE", "Giới hạn từ 1 đến 100000 lượt mỗi phút.")
    issues.raise_if_any()
    secret = secrets.token_urlsafe(32)
    app = OAuthClient(
        client_id=f"app_{secrets.token_hex(8)}",
        secret_hash=passwords.hash_password(secret),
        name=name.strip(),
        contact_email=email,
        scopes=sorted(set(scopes)),
        rate_limit_per_minute=rate_limit_per_minute,
        created_at=journal.now,
        created_by=actor.label,
    )
    session.add(app)
    session.add(
        security_event(
            "APP_REGISTER",
            "SUCCESS",
            actor=actor,
            now=journal.now,
            meta=journal.meta,
            detail={"clientId": app.client_id},
        )
    )
    await session.flush()
    return RegisteredApp(app, secret)


async def revoke_app(session: AsyncSession, actor: Actor, client_id: str, *, journal: Journal) -> OAuthClient:
    if not actor.is_system_admin:
        raise Forbidden("Chỉ quản trị hệ thống được thu hồi ứng dụng.")
    app = await session.scalar(
        select(OAuthClient).where(OAuthClient.client_id == client_id).with_for_update()
    )
    if app is None:
        raise NotFound("ứng dụng", client_id)
    if app.revoked_at is None:
        app.revoked_at = journal.now
        session.add(
            security_event(
                "APP_REVOKE",
                "SUCCESS",
                actor=actor,
                now=journal.now,
                meta=journal.meta,
                detail={"clientId": client_id},
            )
        )
    await session.flush()
    return app


@dataclass(frozen=True)
class AppToken:
    access_token: str
    expires_in: int
    scopes: list[str]


class OAuthError(Exception):
    """An RFC 6749 §5.2 error: `error` code, description, HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


async def client_credentials(
    session: AsyncSession,
    client_id: str,
    secret: str,
    requested: Sequence[str] | None,
    *,
    journal: Journal,
    policy: AccountPolicy,
) -> AppToken:
    """RFC 6749 §4.4: a token for the app itself, with at most the scopes it was granted."""
    app = await session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))
    valid = passwords.verify_password(app.secret_hash if app else None, secret)
    if app is None or not valid or app.revoked_at is not None:
        session.add(
            security_event(
                "APP_TOKEN",
                "FAILURE",
                actor=Actor(ActorKind.APP, client_id=client_id[:64]),
                now=journal.now,
                meta=journal.meta,
            )
        )
        await session.commit()  # the token endpoint's own transaction: keep the failure on record
        raise OAuthError("invalid_client", "Client authentication failed.", 401)
    granted = set(app.scopes)
    scopes = sorted(set(requested) if requested else granted)
    if not set(scopes) <= granted:
        raise OAuthError("invalid_scope", "The requested scope exceeds what was granted.")
    token = tokens.issue_app_access(policy.tokens, client_id=app.client_id, scopes=scopes, now=journal.now)
    return AppToken(token, int(policy.tokens.access_ttl.total_seconds()), scopes)


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


async def hand_over(
    session: AsyncSession, actor: Actor, from_id: uuid.UUID, to_id: uuid.UUID, *, journal: Journal
) -> Account:
    """Bàn giao: a departing staff member's roles pass to a successor, the departing account
    hands its roles back and locks (no longer assigned).

    Open dossier steps held by the departing member pass to the successor too, so no dossier is
    left waiting on someone who has gone.
    """
    _require_admin(actor)
    if from_id == to_id:
        raise ValidationFailed(
            [FieldIssue(("toAccountId",), "SAME_ACCOUNT", "Không thể bàn giao cho chính mình.")]
        )
    departing = await manageable(session, actor, from_id)
    successor = await manageable(session, actor, to_id)
    issues = Issues()
    if departing.kind is not AccountKind.STAFF:
        issues.add(("fromAccountId",), "NOT_STAFF", "Chỉ bàn giao giữa các tài khoản cán bộ.")
    if successor.kind is not AccountKind.STAFF:
        issues.add(("toAccountId",), "NOT_STAFF", "Chỉ bàn giao giữa các tài khoản cán bộ.")
    elif successor.status not in (AccountStatus.ACTIVE, AccountStatus.PENDING):
        issues.add(("toAccountId",), "NOT_ACTIVE", "Cán bộ nhận bàn giao phải đang hoạt động.")
    issues.raise_if_any()
    roles = list(
        await session.scalars(
            select(StaffAssignment)
            .where(StaffAssignment.account_id == departing.id, StaffAssignment.ended_at.is_(None))
            .with_for_update()
        )
    )
    held = {
        (a.role, a.agency_id)
        for a in await session.scalars(
            select(StaffAssignment).where(
                StaffAssignment.account_id == successor.id, StaffAssignment.ended_at.is_(None)
            )
        )
    }
    managed = actor.agencies_with(StaffRole.AGENCY_ADMIN)
    for row in roles:
        if not actor.is_system_admin and (
            row.agency_id is None or (managed is not None and row.agency_id not in managed)
        ):
            raise Forbidden("Bạn chỉ được bàn giao vai trò trong cơ quan mình quản trị.")
        if (row.role, row.agency_id) not in held:
            session.add(
                StaffAssignment(
                    account_id=successor.id,
                    agency_id=row.agency_id,
                    role=row.role,
                    include_sub_agencies=row.include_sub_agencies,
                    created_at=journal.now,
                    created_by=actor.label,
                )
            )
        row.ended_at = journal.now
    moved = (
        (
            await session.execute(
                update(DossierStep)
                .where(DossierStep.assignee_id == departing.id, DossierStep.finished_at.is_(None))
                .values(assignee_id=successor.id)
                .returning(DossierStep.dossier_id)
            )
        )
        .scalars()
        .all()
    )
    successor.token_version += 1
    session.add(
        security_event(
            "STAFF_HAND_OVER",
            "SUCCESS",
            actor=actor,
            now=journal.now,
            meta=journal.meta,
            subject_id=departing.id,
            detail={"to": str(successor.id), "roles": sorted(r.role for r in roles), "openSteps": len(moved)},
        )
    )
    await session.flush()
    if departing.status is not AccountStatus.LOCKED:
        await lock(session, departing, LockReason.UNASSIGNED, actor=actor, now=journal.now, meta=journal.meta)
    await session.flush()
    return successor
