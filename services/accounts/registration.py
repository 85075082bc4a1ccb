"""Registration (đăng ký tài khoản) and contact verification.

Trà Vinh rules art. 6–7, Kon Tum art. 7–8, 13: citizens and organisations register themselves
and verify a contact; every account gets its data vault at once. Whether a citizen ID, tax code,
e-mail or phone already has an account is never disclosed: its owner is told instead.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth import passwords
from auth.actor import Actor, ActorKind
from models.accounts import (
    Account,
    AccountKind,
    AccountStatus,
    CitizenProfile,
    CodePurpose,
    OrganisationProfile,
    Vault,
)
from services.accounts import messages, rules
from services.accounts.codes import issue_code, normalise_destination, use_code
from services.accounts.journal import Journal, RequestMeta, security_event
from services.accounts.owners import person, tell_owner
from services.accounts.policy import AccountPolicy
from services.errors import Issues, RateLimited, Refused


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
        told = await journal.hit(f"notice:register:{account.id}", window=policy.code_window)
        if told <= policy.codes_per_destination:
            subject, body = messages.registration_attempt(
                [TAKEN_WHAT[f] for f in fields], system=policy.system_name
            )
            tell_owner(session, account, "registration_attempt", subject, body, now=journal.now)
    await session.flush()


async def _registration_allowed(journal: Journal, policy: AccountPolicy) -> None:
    key = f"register:addr:{journal.meta.address or '-'}"
    if wait := await journal.over_limit(
        key, window=policy.registration_window, limit=policy.registration_per_address
    ):
        raise RateLimited("Quá nhiều lượt đăng ký từ địa chỉ này, vui lòng thử lại sau.", retry_after=wait)


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


async def verify_contact(
    session: AsyncSession, destination: str, code: str, *, journal: Journal, policy: AccountPolicy
) -> Account:
    dest = normalise_destination(destination)
    row = await use_code(session, dest, code, CodePurpose.VERIFY_CONTACT, journal=journal, policy=policy)
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
    dest = normalise_destination(destination)
    if wait := await journal.over_limit(
        f"code:{dest}", window=policy.code_window, limit=policy.codes_per_destination
    ):
        raise RateLimited("Đã gửi quá nhiều mã tới địa chỉ này, vui lòng thử lại sau.", retry_after=wait)
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
