"""Registration, contact verification, sign-in, tokens, passwords and locks.

Trà Vinh rules art. 6–7, Kon Tum art. 7–8, 13: citizens and organisations register themselves
and verify a contact; every account gets its data vault at once; an account is locked after 5
consecutive wrong passwords, after a year without signing in (the owner warned first), on
request, on death or dissolution, and (staff) when no longer assigned; unlocking and password
resets for locked accounts are admin acts — trying harder never unlocks — except that the owner
may lift a lock for wrong passwords (which anyone can cause) with a code sent to a verified contact.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth import passwords, tokens
from auth.actor import SYSTEM, Actor, ActorKind
from models.accounts import (
    Account,
    AccountKind,
    AccountStatus,
    CitizenProfile,
    CodePurpose,
    LockReason,
    OneTimeCode,
    OrganisationProfile,
    RefreshToken,
    Vault,
)
from services.accounts import messages, rules
from services.accounts.journal import Journal, RequestMeta, notification, security_event
from services.accounts.policy import AccountPolicy
from services.errors import FieldIssue, Issues, NotFound, Refused, ValidationFailed
from services.system import SYSTEM_META

GENERIC_SIGN_IN_FAILURE = "Thông tin đăng nhập không đúng."


# --- inputs and outputs ---------------------------------------------------------------------


@dataclass(frozen=True)
class CitizenRegistration:
    citizen_id: str
    full_name: str
    birth_date: date
    password: str
    phone: str | None = None
    email: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class OrganisationRegistration:
    tax_code: str
    name: str
    representative_name: str
    password: str
    representative_citizen_id: str | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class Registration:
    """What a registration answers, the same whether or not an account was created: where the
    codes go (the contacts typed). `account` is None when the citizen ID, tax code, e-mail or
    phone already had an account; its owner was told instead."""

    email: str | None
    phone: str | None
    account: Account | None


@dataclass(frozen=True)
class Session:
    """What a successful sign-in (or refresh) hands the client."""

    account: Account
    access_token: str
    refresh_token: str
    access_expires_at: datetime


def person(account: Account) -> Actor:
    kind = {
        AccountKind.CITIZEN: ActorKind.CITIZEN,
        AccountKind.ORGANISATION: ActorKind.ORGANISATION,
        AccountKind.STAFF: ActorKind.STAFF,
    }[account.kind]
    return Actor(kind, account.id, account.display_name)


# --- registration ---------------------------------------------------------------------------


def _contacts(issues: Issues, email: str | None, phone: str | None) -> tuple[str | None, str | None]:
    email_n = rules.normalise_email(email) if email else None
    phone_n = None
    if email_n is not None:
        rules.check_email(issues, ("email",), email_n)
    if phone:
        rules.check_phone(issues, ("phone",), phone)
        phone_n = rules.normalise_phone(phone)
    if not email_n and not phone:
        issues.add(("email",), "REQUIRED", "Cần ít nhất một thư điện tử hoặc số điện thoại để xác thực.")
    return email_n, phone_n


TAKEN_WHAT = {
    "citizenId": "số định danh cá nhân",
    "taxCode": "mã số thuế",
    "email": "địa chỉ thư điện tử",
    "phone": "số điện thoại",
}


async def _taken(
    session: AsyncSession, email: str | None, phone: str | None, key: tuple[str, ColumnElement[bool]]
) -> dict[uuid.UUID, tuple[Account, list[str]]]:
    """The live accounts that already hold the citizen ID / tax code, e-mail or phone typed, each
    with what of theirs was typed."""
    live = Account.status != AccountStatus.DELETED
    found: dict[uuid.UUID, tuple[Account, list[str]]] = {}
    field, clause = key
    profile = CitizenProfile if field == "citizenId" else OrganisationProfile
    queries = [(field, select(Account).join(profile, profile.account_id == Account.id).where(clause, live))]
    if email:
        queries.append(("email", select(Account).where(Account.email == email, live)))
    if phone:
        queries.append(("phone", select(Account).where(Account.phone == phone, live)))
    for field, query in queries:
        account = await session.scalar(query)
        if account is not None:
            found.setdefault(account.id, (account, []))[1].append(field)
    return found


async def _tell_taken(
    session: AsyncSession,
    taken: dict[uuid.UUID, tuple[Account, list[str]]],
    *,
    journal: Journal,
    policy: AccountPolicy,
) -> None:
    """Someone registered with what is already an owner's: tell the owner (a few times an hour at
    most) and keep a trace; the registrant is answered as if the account had been created."""
    for account, fields in taken.values():
        session.add(
            security_event(
                "REGISTER",
                "DENIED",
                actor=Actor(ActorKind.ANONYMOUS),
                now=journal.now,
                meta=journal.meta,
                subject_id=account.id,
                detail={"reason": "taken", "fields": fields},
            )
        )
        told = await journal.hit(f"notice:register:{account.id}", window=timedelta(hours=1))
        if told <= policy.codes_per_destination:
            subject, body = messages.registration_attempt([TAKEN_WHAT[f] for f in fields])
            tell_owner(session, account, "registration_attempt", subject, body, now=journal.now)
    await session.flush()


async def _registration_allowed(journal: Journal, policy: AccountPolicy) -> None:
    key = f"register:addr:{journal.meta.address or '-'}"
    if await journal.hit(key, window=policy.registration_window) > policy.registration_per_address:
        raise Refused("RATE_LIMITED", "Quá nhiều lượt đăng ký từ địa chỉ này, vui lòng thử lại sau.")


def _new_account(
    kind: AccountKind, name: str, email: str | None, phone: str | None, password_hash: str
) -> Account:
    return Account(
        id=uuid.uuid4(),
        kind=kind,
        status=AccountStatus.PENDING,
        display_name=name,
        email=email,
        phone=phone,
        password_hash=password_hash,
        failed_sign_ins=0,
        token_version=1,
    )


async def _created(
    session: AsyncSession, account: Account, *, now: datetime, meta: RequestMeta, policy: AccountPolicy
) -> None:
    """Everything every new account gets: its vault, verification codes, an audit record."""
    session.add(Vault(account_id=account.id, created_at=now))
    for channel, destination in (("EMAIL", account.email), ("SMS", account.phone)):
        if destination:
            await issue_code(
                session, account, CodePurpose.VERIFY_CONTACT, channel, destination, now=now, policy=policy
            )
    session.add(
        security_event(
            "REGISTER", "SUCCESS", actor=person(account), now=now, meta=meta, subject_id=account.id
        )
    )
    await session.flush()


async def register_citizen(
    session: AsyncSession,
    data: CitizenRegistration,
    *,
    journal: Journal,
    policy: AccountPolicy,
    today: date,
) -> Registration:
    await _registration_allowed(journal, policy)
    issues = Issues()
    rules.check_citizen_id(issues, ("citizenId",), data.citizen_id)
    rules.check_name(issues, ("fullName",), data.full_name)
    rules.check_birth_date(issues, ("birthDate",), data.birth_date, today=today)
    email, phone = _contacts(issues, data.email, data.phone)
    rules.check_password(
        issues, ("password",), data.password, personal=(data.citizen_id, phone or "", email or "")
    )
    issues.raise_if_any()
    password_hash = passwords.hash_password(data.password)  # before the branch: both cost the same
    taken = await _taken(session, email, phone, ("citizenId", CitizenProfile.citizen_id == data.citizen_id))
    if taken:
        await _tell_taken(session, taken, journal=journal, policy=policy)
        return Registration(email, phone, None)
    name = rules.normalise_name(data.full_name)
    account = _new_account(AccountKind.CITIZEN, name, email, phone, password_hash)
    session.add(account)
    await session.flush()
    session.add(
        CitizenProfile(
            account_id=account.id,
            citizen_id=data.citizen_id,
            full_name=name,
            birth_date=data.birth_date,
            address=data.address,
        )
    )
    await _created(session, account, now=journal.now, meta=journal.meta, policy=policy)
    return Registration(email, phone, account)


async def register_organisation(
    session: AsyncSession,
    data: OrganisationRegistration,
    *,
    journal: Journal,
    policy: AccountPolicy,
) -> Registration:
    await _registration_allowed(journal, policy)
    issues = Issues()
    tax_code = data.tax_code.replace(" ", "")
    rules.check_tax_code(issues, ("taxCode",), tax_code)
    rules.check_name(issues, ("name",), data.name, max_len=300)
    rules.check_name(issues, ("representativeName",), data.representative_name)
    if data.representative_citizen_id:
        rules.check_citizen_id(issues, ("representativeCitizenId",), data.representative_citizen_id)
    email, phone = _contacts(issues, data.email, data.phone)
    rules.check_password(issues, ("password",), data.password, personal=(tax_code, phone or "", email or ""))
    issues.raise_if_any()
    password_hash = passwords.hash_password(data.password)
    taken = await _taken(session, email, phone, ("taxCode", OrganisationProfile.tax_code == tax_code))
    if taken:
        await _tell_taken(session, taken, journal=journal, policy=policy)
        return Registration(email, phone, None)
    name = rules.normalise_name(data.name)
    account = _new_account(AccountKind.ORGANISATION, name, email, phone, password_hash)
    session.add(account)
    await session.flush()
    session.add(
        OrganisationProfile(
            account_id=account.id,
            tax_code=tax_code,
            name=name,
            representative_name=rules.normalise_name(data.representative_name),
            representative_citizen_id=data.representative_citizen_id,
            address=data.address,
        )
    )
    await _created(session, account, now=journal.now, meta=journal.meta, policy=policy)
    return Registration(email, phone, account)


# --- one-time codes -------------------------------------------------------------------------


def _code_hash(account_id: uuid.UUID, code: str) -> str:
    return tokens.hash_token(f"{account_id}:{code}")


async def issue_code(
    session: AsyncSession,
    account: Account,
    purpose: CodePurpose,
    channel: str,
    destination: str,
    *,
    now: datetime,
    policy: AccountPolicy,
    ttl: timedelta | None = None,
    welcome: bool = False,
) -> None:
    """A fresh 6-digit code replaces any earlier one for the same purpose and destination."""
    ttl = ttl or policy.code_ttl
    await session.execute(
        update(OneTimeCode)
        .where(
            OneTimeCode.account_id == account.id,
            OneTimeCode.purpose == purpose,
            OneTimeCode.destination == destination,
            OneTimeCode.used_at.is_(None),
        )
        .values(used_at=now)
    )
    code = f"{secrets.randbelow(10**6):06d}"
    session.add(
        OneTimeCode(
            account_id=account.id,
            purpose=purpose,
            channel=channel,
            destination=destination,
            code_hash=_code_hash(account.id, code),
            created_at=now,
            expires_at=now + ttl,
            attempts=0,
        )
    )
    minutes = int(ttl.total_seconds() // 60)
    if welcome:
        subject, body = messages.staff_welcome(code, minutes)
    elif purpose is CodePurpose.VERIFY_CONTACT:
        subject, body = messages.verification_code(code, minutes)
    elif purpose is CodePurpose.UNLOCK_ACCOUNT:
        subject, body = messages.unlock_code(code, minutes)
    else:
        subject, body = messages.reset_code(code, minutes)
    session.add(
        notification(
            account_id=account.id,
            channel=channel,
            destination=destination,
            template=f"{purpose.value.lower()}{'_welcome' if welcome else ''}",
            subject=subject,
            body=body,
            now=now,
        )
    )


def _normalise_destination(value: str) -> str:
    return rules.normalise_phone(value) or rules.normalise_email(value)


async def _use_code(
    session: AsyncSession,
    destination: str,
    code: str,
    purpose: CodePurpose,
    *,
    journal: Journal,
    policy: AccountPolicy,
) -> OneTimeCode:
    """The matching live code, marked used. A wrong guess costs one of few attempts, and that
    cost is kept (the refusal commits it)."""
    row = await session.scalar(
        select(OneTimeCode)
        .where(
            OneTimeCode.destination == destination,
            OneTimeCode.purpose == purpose,
            OneTimeCode.used_at.is_(None),
            OneTimeCode.expires_at > journal.now,
        )
        .order_by(OneTimeCode.created_at.desc())
        .limit(1)
        .with_for_update()
    )
    if row is None or row.attempts >= policy.code_attempts:
        raise Refused("BAD_CODE", "Mã xác thực không đúng hoặc đã hết hạn.")
    if not secrets.compare_digest(row.code_hash, _code_hash(row.account_id, code.strip())):
        row.attempts += 1
        await session.flush()
        raise Refused("BAD_CODE", "Mã xác thực không đúng hoặc đã hết hạn.", keep_writes=True)
    row.used_at = journal.now
    return row


async def verify_contact(
    session: AsyncSession, destination: str, code: str, *, journal: Journal, policy: AccountPolicy
) -> Account:
    dest = _normalise_destination(destination)
    row = await _use_code(session, dest, code, CodePurpose.VERIFY_CONTACT, journal=journal, policy=policy)
    account = await session.get_one(Account, row.account_id, with_for_update=True)
    if row.channel == "EMAIL" and account.email == dest:
        account.email_verified_at = journal.now
    elif row.channel == "SMS" and account.phone == dest:
        account.phone_verified_at = journal.now
    else:
        raise Refused("BAD_CODE", "Mã xác thực không đúng hoặc đã hết hạn.")
    if account.status is AccountStatus.PENDING:
        account.status = AccountStatus.ACTIVE
    session.add(
        security_event(
            "CONTACT_VERIFIED",
            "SUCCESS",
            actor=person(account),
            now=journal.now,
            meta=journal.meta,
            subject_id=account.id,
            detail={"channel": row.channel},
        )
    )
    await session.flush()
    return account


async def resend_verification(
    session: AsyncSession, destination: str, *, journal: Journal, policy: AccountPolicy
) -> None:
    """Always answers the same way: whether the address has an account is not disclosed."""
    dest = _normalise_destination(destination)
    if await journal.hit(f"code:{dest}", window=timedelta(hours=1)) > policy.codes_per_destination:
        raise Refused("RATE_LIMITED", "Đã gửi quá nhiều mã tới địa chỉ này, vui lòng thử lại sau.")
    account = await session.scalar(
        select(Account).where(
            or_(
                (Account.email == dest) & Account.email_verified_at.is_(None),
                (Account.phone == dest) & Account.phone_verified_at.is_(None),
            ),
            Account.status.in_([AccountStatus.PENDING, AccountStatus.ACTIVE]),
        )
    )
    if account is not None:
        channel = "SMS" if dest.startswith("+") else "EMAIL"
        await issue_code(
            session, account, CodePurpose.VERIFY_CONTACT, channel, dest, now=journal.now, policy=policy
        )


# --- sign-in and sessions ---------------------------------------------------------------------


async def find_by_identifier(session: AsyncSession, identifier: str) -> Account | None:
    """An e-mail, phone number, citizen ID or tax code. A 10-digit number may be a tax code or a
    mobile number (tax codes of Hà Nội start with 01): the tax code is tried first."""
    ident = identifier.strip()
    live = Account.status != AccountStatus.DELETED
    if rules.CITIZEN_ID.match(ident):
        return await session.scalar(
            select(Account)
            .join(CitizenProfile, CitizenProfile.account_id == Account.id)
            .where(CitizenProfile.citizen_id == ident, live)
        )
    if rules.TAX_CODE.match(ident):
        found = await session.scalar(
            select(Account)
            .join(OrganisationProfile, OrganisationProfile.account_id == Account.id)
            .where(OrganisationProfile.tax_code == ident, live)
        )
        if found is not None:
            return found
    phone = rules.normalise_phone(ident)
    if phone is not None:
        return await session.scalar(select(Account).where(Account.phone == phone, live))
    return await session.scalar(select(Account).where(Account.email == rules.normalise_email(ident), live))


async def _start_session(
    session: AsyncSession,
    account: Account,
    *,
    policy: AccountPolicy,
    journal: Journal,
    family: uuid.UUID | None = None,
) -> Session:
    now = journal.now
    raw, digest = tokens.new_refresh_token()
    row_id = uuid.uuid4()
    session.add(
        RefreshToken(
            id=row_id,
            account_id=account.id,
            family_id=family or uuid.uuid4(),
            token_hash=digest,
            created_at=now,
            expires_at=now + policy.tokens.refresh_ttl,
            user_agent=(journal.meta.user_agent or "")[:300] or None,
            address=journal.meta.address,
        )
    )
    access = tokens.issue_access(
        policy.tokens, account_id=account.id, token_version=account.token_version, now=now, session_id=row_id
    )
    await session.flush()
    return Session(account, access, raw, now + policy.tokens.access_ttl)


async def _record_failure(
    session: AsyncSession, journal: Journal, policy: AccountPolicy, account: Account | None, identifier: str
) -> None:
    """Count a wrong password; the fifth in a row locks the account (and tells its owner)."""
    anonymous = Actor(ActorKind.ANONYMOUS)
    if account is None:
        session.add(
            security_event(
                "SIGN_IN",
                "FAILURE",
                actor=anonymous,
                now=journal.now,
                meta=journal.meta,
                detail={"identifier": identifier[:100]},
            )
        )
        return
    failures = (
        await session.execute(
            update(Account)
            .where(Account.id == account.id)
            .values(failed_sign_ins=Account.failed_sign_ins + 1)
            .returning(Account.failed_sign_ins)
        )
    ).scalar_one()
    session.add(
        security_event(
            "SIGN_IN",
            "FAILURE",
            actor=anonymous,
            now=journal.now,
            meta=journal.meta,
            subject_id=account.id,
            detail={"consecutiveFailures": failures},
        )
    )
    await session.refresh(account, with_for_update=True)
    if failures >= policy.lock_after_failures and account.status is AccountStatus.ACTIVE:
        await lock(
            session, account, LockReason.FAILED_SIGN_INS, actor=anonymous, now=journal.now, meta=journal.meta
        )


def _lock_text(account: Account) -> str:
    return messages.LOCK_REASONS[account.lock_reason.value if account.lock_reason else "ADMIN"]


def _denied(session: AsyncSession, journal: Journal, account: Account | None, reason: str) -> None:
    actor = person(account) if account else Actor(ActorKind.ANONYMOUS)
    session.add(
        security_event(
            "SIGN_IN",
            "DENIED",
            actor=actor,
            now=journal.now,
            meta=journal.meta,
            subject_id=account.id if account else None,
            detail={"reason": reason},
        )
    )


async def sign_in(
    session: AsyncSession, identifier: str, password: str, *, journal: Journal, policy: AccountPolicy
) -> Session:
    # Each attempt takes a place in both windows at once (so parallel guesses cannot overrun
    # them) and a successful sign-in gives its places back: only failures count.
    by_address = f"signin:addr:{journal.meta.address or '-'}"
    if await journal.hit(by_address, window=policy.sign_in_window) > policy.sign_in_per_address:
        _denied(session, journal, None, "rate")
        raise Refused(
            "RATE_LIMITED", "Quá nhiều lần đăng nhập từ địa chỉ này, vui lòng thử lại sau.", keep_writes=True
        )
    by_identifier = f"signin:id:{identifier.strip().lower()[:100]}"
    if await journal.hit(by_identifier, window=policy.sign_in_window) > policy.sign_in_per_identifier:
        _denied(session, journal, None, "rate")
        raise Refused(
            "RATE_LIMITED",
            "Quá nhiều lần đăng nhập vào tài khoản này, vui lòng thử lại sau.",
            keep_writes=True,
        )
    account = await find_by_identifier(session, identifier)
    if not passwords.verify_password(account.password_hash if account else None, password) or account is None:
        await _record_failure(session, journal, policy, account, identifier)
        raise Refused("BAD_CREDENTIALS", GENERIC_SIGN_IN_FAILURE, keep_writes=True)
    await session.refresh(account, with_for_update=True)
    if account.status is AccountStatus.LOCKED:
        _denied(session, journal, account, "locked")
        raise Refused(
            "ACCOUNT_LOCKED",
            f"Tài khoản đã bị khoá do {_lock_text(account)}. "
            + (
                messages.SELF_UNLOCK
                if account.lock_reason is LockReason.FAILED_SIGN_INS
                else "Vui lòng liên hệ quản trị hệ thống để mở khoá."
            ),
            keep_writes=True,
        )
    if account.status is AccountStatus.PENDING:
        raise Refused(
            "NOT_VERIFIED", "Tài khoản chưa được xác thực; nhập mã đã gửi tới thư điện tử hoặc điện thoại."
        )
    await journal.give_back(by_address, by_identifier, window=policy.sign_in_window)
    account.failed_sign_ins = 0
    account.last_sign_in_at = journal.now
    account.inactivity_warned_at = None
    if account.password_hash and passwords.needs_rehash(account.password_hash):
        account.password_hash = passwords.hash_password(password)
    session.add(
        security_event(
            "SIGN_IN",
            "SUCCESS",
            actor=person(account),
            now=journal.now,
            meta=journal.meta,
            subject_id=account.id,
        )
    )
    return await _start_session(session, account, policy=policy, journal=journal)


async def refresh(session: AsyncSession, token: str, *, journal: Journal, policy: AccountPolicy) -> Session:
    """Rotate: the presented token is spent and a new one issued. A spent token presented again
    means it was copied: the whole session family is revoked."""
    invalid = Refused("INVALID_REFRESH_TOKEN", "Phiên đăng nhập đã hết hạn, vui lòng đăng nhập lại.")
    row = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == tokens.hash_token(token)).with_for_update()
    )
    if row is None:
        raise invalid
    if row.rotated_at is not None or row.revoked_at is not None:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == row.family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=journal.now)
        )
        session.add(
            security_event(
                "REFRESH_TOKEN_REUSE",
                "DENIED",
                actor=Actor(ActorKind.ANONYMOUS),
                now=journal.now,
                meta=journal.meta,
                subject_id=row.account_id,
            )
        )
        raise Refused(invalid.code, invalid.message, keep_writes=True)
    if row.expires_at <= journal.now:
        raise invalid
    account = await session.get_one(Account, row.account_id)
    if account.status is not AccountStatus.ACTIVE:
        raise invalid
    row.rotated_at = journal.now
    return await _start_session(session, account, policy=policy, journal=journal, family=row.family_id)


async def sign_out(session: AsyncSession, token: str, *, journal: Journal) -> None:
    row = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == tokens.hash_token(token))
    )
    if row is None:
        return
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == row.family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=journal.now)
    )
    session.add(
        security_event(
            "SIGN_OUT",
            "SUCCESS",
            actor=Actor(ActorKind.ANONYMOUS),
            now=journal.now,
            meta=journal.meta,
            subject_id=row.account_id,
        )
    )


async def revoke_everything(session: AsyncSession, account: Account, *, now: datetime) -> None:
    """Every refresh token revoked and every access token invalidated (token version bump)."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.account_id == account.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    account.token_version += 1


async def sign_out_everywhere(session: AsyncSession, actor: Actor, *, journal: Journal) -> None:
    account = await _own_account(session, actor)
    await revoke_everything(session, account, now=journal.now)
    session.add(
        security_event(
            "SIGN_OUT_EVERYWHERE",
            "SUCCESS",
            actor=actor,
            now=journal.now,
            meta=journal.meta,
            subject_id=account.id,
        )
    )


async def _own_account(session: AsyncSession, actor: Actor) -> Account:
    if actor.id is None or not actor.is_person:
        raise NotFound("tài khoản", "me")
    return await session.get_one(Account, actor.id, with_for_update=True)


async def change_password(
    session: AsyncSession, actor: Actor, current: str, new: str, *, journal: Journal, policy: AccountPolicy
) -> Session:
    account = await _own_account(session, actor)
    if not passwords.verify_password(account.password_hash, current):
        raise ValidationFailed(
            [FieldIssue(("currentPassword",), "WRONG_PASSWORD", "Mật khẩu hiện tại không đúng.")]
        )
    issues = Issues()
    rules.check_password(issues, ("newPassword",), new, personal=(account.email or "", account.phone or ""))
    issues.raise_if_any()
    account.password_hash = passwords.hash_password(new)
    await revoke_everything(session, account, now=journal.now)
    session.add(
        security_event(
            "PASSWORD_CHANGE",
            "SUCCESS",
            actor=actor,
            now=journal.now,
            meta=journal.meta,
            subject_id=account.id,
        )
    )
    return await _start_session(session, account, policy=policy, journal=journal)


async def request_password_reset(
    session: AsyncSession, destination: str, *, journal: Journal, policy: AccountPolicy
) -> None:
    """Send a reset code to a verified contact. The answer never says whether it exists."""
    dest = _normalise_destination(destination)
    if await journal.hit(f"code:{dest}", window=timedelta(hours=1)) > policy.codes_per_destination:
        raise Refused("RATE_LIMITED", "Đã gửi quá nhiều mã tới địa chỉ này, vui lòng thử lại sau.")
    account = await session.scalar(
        select(Account).where(
            or_(Account.email == dest, Account.phone == dest), Account.status != AccountStatus.DELETED
        )
    )
    if account is None:
        return
    verified = (account.email == dest and account.email_verified_at) or (
        account.phone == dest and account.phone_verified_at
    )
    if verified:
        channel = "SMS" if dest.startswith("+") else "EMAIL"
        await issue_code(
            session, account, CodePurpose.RESET_PASSWORD, channel, dest, now=journal.now, policy=policy
        )


async def reset_password(
    session: AsyncSession, destination: str, code: str, new: str, *, journal: Journal, policy: AccountPolicy
) -> Account:
    """Set a new password with a code. A locked account stays locked: unlocking is an admin act."""
    dest = _normalise_destination(destination)
    issues = Issues()
    rules.check_password(issues, ("newPassword",), new, personal=(dest,))
    issues.raise_if_any()
    row = await _use_code(session, dest, code, CodePurpose.RESET_PASSWORD, journal=journal, policy=policy)
    account = await session.get_one(Account, row.account_id, with_for_update=True)
    account.password_hash = passwords.hash_password(new)
    if row.channel == "EMAIL" and account.email_verified_at is None:
        account.email_verified_at = journal.now  # a staff member setting a first password
    if account.status is AccountStatus.PENDING:
        account.status = AccountStatus.ACTIVE
    await revoke_everything(session, account, now=journal.now)
    session.add(
        security_event(
            "PASSWORD_RESET",
            "SUCCESS",
            actor=person(account),
            now=journal.now,
            meta=journal.meta,
            subject_id=account.id,
        )
    )
    await session.flush()
    return account


# --- locks ------------------------------------------------------------------------------------


async def lock(
    session: AsyncSession,
    account: Account,
    reason: LockReason,
    *,
    actor: Actor,
    now: datetime,
    meta: RequestMeta,
) -> None:
    """Lock, revoke every session, and tell the owner."""
    account.status = AccountStatus.LOCKED
    account.lock_reason = reason
    account.locked_at = now
    await revoke_everything(session, account, now=now)
    session.add(
        security_event(
            "LOCK",
            "SUCCESS",
            actor=actor,
            now=now,
            meta=meta,
            subject_id=account.id,
            detail={"reason": reason.value},
        )
    )
    subject, body = messages.locked(reason.value)
    tell_owner(session, account, "account_locked", subject, body, now=now)
    await session.flush()


def tell_owner(
    session: AsyncSession, account: Account, template: str, subject: str, body: str, *, now: datetime
) -> None:
    """To every verified contact the owner wants messages on."""
    sent = False
    if account.email and account.email_verified_at and account.notify_email:
        session.add(
            notification(
                account_id=account.id,
                channel="EMAIL",
                destination=account.email,
                template=template,
                subject=subject,
                body=body,
                now=now,
            )
        )
        sent = True
    if account.phone and account.phone_verified_at and (account.notify_sms or not sent):
        session.add(
            notification(
                account_id=account.id,
                channel="SMS",
                destination=account.phone,
                template=template,
                subject=subject,
                body=body,
                now=now,
            )
        )


async def request_own_lock(session: AsyncSession, actor: Actor, *, journal: Journal) -> Account:
    account = await _own_account(session, actor)
    await lock(session, account, LockReason.OWNER_REQUEST, actor=actor, now=journal.now, meta=journal.meta)
    return account


async def unlock(
    session: AsyncSession,
    account: Account,
    *,
    actor: Actor,
    now: datetime,
    meta: RequestMeta,
    via: str | None = None,
) -> None:
    account.status = (
        AccountStatus.ACTIVE
        if (account.email_verified_at or account.phone_verified_at)
        else AccountStatus.PENDING
    )
    previous = account.lock_reason
    account.lock_reason = None
    account.locked_at = None
    account.failed_sign_ins = 0
    account.inactivity_warned_at = None
    account.last_sign_in_at = account.last_sign_in_at and max(account.last_sign_in_at, now)
    session.add(
        security_event(
            "UNLOCK",
            "SUCCESS",
            actor=actor,
            now=now,
            meta=meta,
            subject_id=account.id,
            detail={"previousReason": previous.value if previous else None} | ({"via": via} if via else {}),
        )
    )
    await session.execute(  # codes asked for this lock are spent with it
        update(OneTimeCode)
        .where(
            OneTimeCode.account_id == account.id,
            OneTimeCode.purpose == CodePurpose.UNLOCK_ACCOUNT,
            OneTimeCode.used_at.is_(None),
        )
        .values(used_at=now)
    )
    subject, body = messages.unlocked()
    tell_owner(session, account, "account_unlocked", subject, body, now=now)
    await session.flush()


def _self_unlockable(account: Account | None) -> bool:
    """Only the lock for wrong passwords (the one anyone can cause) is the owner's to lift."""
    return (
        account is not None
        and account.status is AccountStatus.LOCKED
        and account.lock_reason is LockReason.FAILED_SIGN_INS
    )


async def request_unlock_code(
    session: AsyncSession, identifier: str, *, journal: Journal, policy: AccountPolicy
) -> None:
    """Send an unlock code to each verified contact of an account locked for wrong passwords.
    The answer is the same whether the identifier has an account, is locked, or not."""
    ident = identifier.strip()
    key = f"code:unlock:{(rules.normalise_phone(ident) or ident.lower())[:100]}"
    if await journal.hit(key, window=timedelta(hours=1)) > policy.codes_per_destination:
        raise Refused("RATE_LIMITED", "Đã gửi quá nhiều mã cho tài khoản này, vui lòng thử lại sau.")
    account = await find_by_identifier(session, ident)
    if account is None or not _self_unlockable(account):
        return
    for channel, destination, verified in (
        ("EMAIL", account.email, account.email_verified_at),
        ("SMS", account.phone, account.phone_verified_at),
    ):
        if not (destination and verified):
            continue
        # The same per-destination budget as every other code: several identifiers of one
        # account cannot multiply the messages its owner gets.
        if await journal.hit(f"code:{destination}", window=timedelta(hours=1)) > policy.codes_per_destination:
            continue
        await issue_code(
            session, account, CodePurpose.UNLOCK_ACCOUNT, channel, destination, now=journal.now, policy=policy
        )


async def unlock_with_code(
    session: AsyncSession, identifier: str, code: str, *, journal: Journal, policy: AccountPolicy
) -> None:
    """The owner lifts a lock for wrong passwords with a code sent to a verified contact. A wrong
    code costs an attempt of every live code of the account (few each), and that cost is kept."""
    bad = Refused("BAD_CODE", "Mã xác thực không đúng hoặc đã hết hạn.")
    account = await find_by_identifier(session, identifier)
    if account is None:
        raise bad
    rows = (
        await session.scalars(
            select(OneTimeCode)
            .where(
                OneTimeCode.account_id == account.id,
                OneTimeCode.purpose == CodePurpose.UNLOCK_ACCOUNT,
                OneTimeCode.used_at.is_(None),
                OneTimeCode.expires_at > journal.now,
                OneTimeCode.attempts < policy.code_attempts,
            )
            .with_for_update()
        )
    ).all()
    digest = _code_hash(account.id, code.strip())
    if not any(secrets.compare_digest(row.code_hash, digest) for row in rows):
        for row in rows:
            row.attempts += 1
        await session.flush()
        raise Refused(bad.code, bad.message, keep_writes=bool(rows))
    await session.refresh(account, with_for_update=True)
    if not _self_unlockable(account):
        raise bad
    await unlock(session, account, actor=person(account), now=journal.now, meta=journal.meta, via="code")


@dataclass(frozen=True)
class InactivityRun:
    warned: int
    locked: int


async def run_inactivity(session: AsyncSession, *, now: datetime, policy: AccountPolicy) -> InactivityRun:
    """The scheduled job: warn owners a month before the one-year lock, then lock — never
    without a warning given at least `min_warning_notice` earlier."""
    last_seen = Account.last_sign_in_at
    seen = select(Account).where(Account.status == AccountStatus.ACTIVE)
    warn_before = now - (policy.inactivity - policy.warn_before_inactivity_lock)
    to_warn = (
        await session.scalars(
            seen.where(
                Account.inactivity_warned_at.is_(None),
                or_(last_seen < warn_before, (last_seen.is_(None)) & (Account.created_at < warn_before)),
            ).with_for_update(skip_locked=True)
        )
    ).all()
    for account in to_warn:
        reference = account.last_sign_in_at or account.created_at
        lock_on = (reference + policy.inactivity).date()
        subject, body = messages.inactivity_warning(max(lock_on, (now + policy.min_warning_notice).date()))
        tell_owner(session, account, "inactivity_warning", subject, body, now=now)
        account.inactivity_warned_at = now
        session.add(
            security_event(
                "INACTIVITY_WARNING",
                "SUCCESS",
                actor=SYSTEM,
                now=now,
                meta=SYSTEM_META,
                subject_id=account.id,
            )
        )
    lock_before = now - policy.inactivity
    to_lock = (
        await session.scalars(
            seen.where(
                Account.inactivity_warned_at.is_not(None),
                Account.inactivity_warned_at <= now - policy.min_warning_notice,
                or_(last_seen < lock_before, (last_seen.is_(None)) & (Account.created_at < lock_before)),
            ).with_for_update(skip_locked=True)
        )
    ).all()
    for account in to_lock:
        await lock(session, account, LockReason.INACTIVITY, actor=SYSTEM, now=now, meta=SYSTEM_META)
    await session.flush()
    return InactivityRun(len(to_warn), len(to_lock))


async def set_preferences(session: AsyncSession, actor: Actor, *, email: bool, sms: bool) -> Account:
    """The channels the owner wants messages on; at least one stays on (locks and results must reach them)."""
    if not (email or sms):
        raise ValidationFailed(
            [FieldIssue(("email",), "ONE_REQUIRED", "Cần giữ ít nhất một kênh nhận thông báo.")]
        )
    account = await _own_account(session, actor)
    account.notify_email, account.notify_sms = email, sms
    await session.flush()
    return account
