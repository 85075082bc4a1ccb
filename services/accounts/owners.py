"""The owner of an account (chủ tài khoản): the account as an actor, finding an account by
what its owner types, the signed-in owner's own account, and telling the owner on the channels
they chose.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor, ActorKind
from models.accounts import Account, AccountKind, AccountStatus, CitizenProfile, OrganisationProfile
from services.accounts import rules
from services.accounts.journal import notification
from services.errors import FieldIssue, NotFound, Refused, ValidationFailed


def person(account: Account) -> Actor:
    kind = {
        AccountKind.CITIZEN: ActorKind.CITIZEN,
        AccountKind.ORGANISATION: ActorKind.ORGANISATION,
        AccountKind.STAFF: ActorKind.STAFF,
    }[account.kind]
    return Actor(kind, account.id, account.display_name)


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


async def own_account(session: AsyncSession, actor: Actor) -> Account:
    if actor.id is None or not actor.is_person:
        raise NotFound("tài khoản", "me")
    return await session.get_one(Account, actor.id, with_for_update=True)


def tell_owner(
    session: AsyncSession,
    account: Account,
    template: str,
    subject: str,
    body: str,
    *,
    now: datetime,
    dossier_id: uuid.UUID | None = None,
) -> None:
    """To every verified contact the owner wants messages on (about `dossier_id`, if given)."""
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
                dossier_id=dossier_id,
            )
        )
        sent = True
    phone_channels = []
    if account.phone and account.phone_verified_at and (account.notify_sms or not sent):
        phone_channels.append("SMS")
    if account.phone and account.phone_verified_at and account.notify_zalo:
        phone_channels.append("ZALO")  # beside SMS (Kon Tum art. 11; Quảng Ngãi art. 14)
    for channel in phone_channels:
        assert account.phone is not None
        session.add(
            notification(
                account_id=account.id,
                channel=channel,
                destination=account.phone,
                template=template,
                subject=subject,
                body=body,
                now=now,
                dossier_id=dossier_id,
            )
        )


async def set_preferences(
    session: AsyncSession,
    actor: Actor,
    *,
    email: bool,
    sms: bool,
    zalo: bool | None = None,
    zalo_available: bool = True,
) -> Account:
    """The channels the owner wants messages on; e-mail or SMS stays on (locks and results must
    reach them: not everyone has Zalo); Zalo beside them (None: as it was), only where the system
    is connected to Zalo (`zalo_available`)."""
    if zalo and not zalo_available:
        raise Refused("ZALO_OFF", "Hệ thống chưa kết nối Zalo; vui lòng chọn thư điện tử hoặc SMS.")
    if not (email or sms):
        raise ValidationFailed(
            [FieldIssue(("email",), "ONE_REQUIRED", "Cần giữ ít nhất một kênh nhận thông báo.")]
        )
    account = await own_account(session, actor)
    account.notify_email, account.notify_sms = email, sms
    if zalo is not None:
        account.notify_zalo = zalo
    await session.flush()
    return account
