"""Admin password resets (cấp lại mật khẩu): a code sent to the owner's contact; the admin never
sees or sets the password.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from models.accounts import Account, CodePurpose
from services.accounts.admin.reach import manageable, require_admin
from services.accounts.codes import issue_code
from services.accounts.journal import Journal, security_event
from services.accounts.policy import AccountPolicy
from services.accounts.sessions import revoke_everything
from services.errors import Refused


async def admin_reset_password(
    session: AsyncSession, actor: Actor, account_id: uuid.UUID, *, journal: Journal, policy: AccountPolicy
) -> Account:
    """Send the owner a reset code on their contact; the admin never sees or sets the password."""
    require_admin(actor)
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
