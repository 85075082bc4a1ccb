"""Sign-in with the national e-identity (VNeID / the national public-service portal account).

Kon Tum art. 7, Trà Vinh art. 6: citizens may use an account of the national portal or the
national e-identity instead of registering. We act as an OpenID Connect relying party
(`auth.oidc`); the account is found by the provider's subject, else linked by citizen ID, else
created — already verified, since the identity provider vouches for the person.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import ANONYMOUS
from auth.oidc import IdentityClaims, OidcClient, OidcError
from models.accounts import Account, AccountKind, AccountStatus, CitizenProfile, OidcLogin, Vault
from services.accounts import rules
from services.accounts.journal import Journal, security_event
from services.accounts.locks import lock_text
from services.accounts.owners import person
from services.accounts.policy import AccountPolicy
from services.accounts.sessions import Session, revoke_everything, start_session
from services.errors import Refused

LOGIN_TTL = timedelta(minutes=10)


async def start(session: AsyncSession, client: OidcClient, *, journal: Journal) -> str:
    """The provider URL to send the browser to; state, nonce and PKCE verifier stay with us."""
    try:
        request = await client.authorization_request()
    except OidcError as error:
        raise Refused(
            "IDENTITY_PROVIDER_UNAVAILABLE", "Không kết nối được hệ thống định danh quốc gia."
        ) from error
    await session.execute(delete(OidcLogin).where(OidcLogin.expires_at < journal.now))
    session.add(
        OidcLogin(
            state=request.state,
            nonce=request.nonce,
            code_verifier=request.code_verifier,
            created_at=journal.now,
            expires_at=journal.now + LOGIN_TTL,
        )
    )
    await session.flush()
    return request.url


async def complete(
    session: AsyncSession,
    client: OidcClient,
    state: str,
    code: str,
    *,
    journal: Journal,
    policy: AccountPolicy,
) -> Session:
    # A state is good for one attempt, even a failed one: it is spent before anything else.
    login = await session.scalar(select(OidcLogin).where(OidcLogin.state == state).with_for_update())
    if login is not None:
        await session.delete(login)
        await session.flush()
    if login is None or login.expires_at <= journal.now:
        raise Refused(
            "BAD_STATE",
            "Phiên đăng nhập bằng định danh điện tử không hợp lệ hoặc đã hết hạn.",
            keep_writes=True,
        )
    try:
        claims = await client.complete(
            code=code, code_verifier=login.code_verifier, nonce=login.nonce, now=journal.now
        )
    except OidcError as error:
        session.add(
            security_event(
                "NATIONAL_ID_SIGN_IN",
                "FAILURE",
                actor=ANONYMOUS,
                now=journal.now,
                meta=journal.meta,
                detail={"error": error.code},
            )
        )
        raise Refused(
            "IDENTITY_REJECTED",
            "Không xác thực được thông tin từ hệ thống định danh quốc gia.",
            keep_writes=True,
        ) from error

    profile = await session.scalar(
        select(CitizenProfile)
        .where(CitizenProfile.national_identity_subject == claims.subject)
        .with_for_update()
    ) or await session.scalar(
        select(CitizenProfile).where(CitizenProfile.citizen_id == claims.citizen_id).with_for_update()
    )
    if profile is None:
        account = await _create(
            session,
            citizen_id=claims.citizen_id,
            full_name=claims.full_name,
            birth_date=claims.birth_date,
            subject=claims.subject,
            journal=journal,
        )
    else:
        account = await session.get_one(Account, profile.account_id, with_for_update=True)
        if account.status is AccountStatus.LOCKED:
            raise Refused("ACCOUNT_LOCKED", f"Tài khoản đã bị khoá do {lock_text(account)}.")
        if profile.national_identity_subject is None:
            await _first_link(session, account, profile, claims, journal)
    if account.status is AccountStatus.PENDING:
        account.status = AccountStatus.ACTIVE  # the identity provider vouches for the person
    account.failed_sign_ins = 0
    account.last_sign_in_at = journal.now
    account.inactivity_warned_at = None
    session.add(
        security_event(
            "NATIONAL_ID_SIGN_IN",
            "SUCCESS",
            actor=person(account),
            now=journal.now,
            meta=journal.meta,
            subject_id=account.id,
        )
    )
    return await start_session(session, account, policy=policy, journal=journal)


async def _first_link(
    session: AsyncSession, account: Account, profile: CitizenProfile, claims: IdentityClaims, journal: Journal
) -> None:
    """First sign-in with the national identity into a self-registered account.

    Whoever registered it only claimed the citizen ID; the identity provider proves it. So the
    registrant's credentials are not trusted to follow: the password is removed, contacts are
    marked unverified, every session is revoked, and the name and birth date come from the
    provider. The person can verify a contact and set a password again afterwards.
    """
    profile.national_identity_subject = claims.subject
    if claims.full_name:
        profile.full_name = account.display_name = rules.normalise_name(claims.full_name)
    if claims.birth_date:
        profile.birth_date = claims.birth_date
    account.password_hash = None
    account.email_verified_at = account.phone_verified_at = None
    await revoke_everything(session, account, now=journal.now)
    session.add(
        security_event(
            "NATIONAL_ID_LINK",
            "SUCCESS",
            actor=person(account),
            now=journal.now,
            meta=journal.meta,
            subject_id=account.id,
            detail={"credentialsReset": True},
        )
    )


async def _create(
    session: AsyncSession,
    *,
    citizen_id: str,
    full_name: str | None,
    birth_date: date | None,
    subject: str,
    journal: Journal,
) -> Account:
    name = rules.normalise_name(full_name or "") or f"Công dân {citizen_id[-4:]}"
    account = Account(
        id=uuid.uuid4(),
        kind=AccountKind.CITIZEN,
        status=AccountStatus.ACTIVE,
        display_name=name,
        failed_sign_ins=0,
        token_version=1,
    )
    session.add(account)
    await session.flush()
    session.add(
        CitizenProfile(
            account_id=account.id,
            citizen_id=citizen_id,
            full_name=name,
            birth_date=birth_date,
            national_identity_subject=subject,
        )
    )
    session.add(Vault(account_id=account.id, created_at=journal.now))
    session.add(
        security_event(
            "REGISTER",
            "SUCCESS",
            actor=person(account),
            now=journal.now,
            meta=journal.meta,
            subject_id=account.id,
            detail={"via": "national-identity"},
        )
    )
    await session.flush()
    return account
