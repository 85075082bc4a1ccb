"""Messages caught in development: e-mails and SMS kept and shown instead of sent.

With `ENVIRONMENT=development` and no `SMTP_HOST` (resp. `SMS_GATEWAY_URL`), the notification
sender (`services.notifications.run_sender`) is given a `MessageCatcher` for that channel. The
catcher "sends" by writing a copy of the message into `caught_messages` (recipient, channel,
template, subject, full body, when it was queued and caught, the account and the dossier it is
about) and logging one line; the outbox row is then marked sent exactly as a real send marks it (and the
outbox forgets the code it carried, as in production). The copy is in PostgreSQL, so every app
process catches into the same table and `dvc messages` or `GET /dev/messages` shows them all.

The copy is written in a transaction of its own, before the round that marks the outbox row sent
commits: a round that fails to commit is retried and the copy is kept once (`notification_id` is
unique). The catcher serialises its own writes (one at a time), so e-mails and SMS caught in the
same round never share a connection concurrently.

Production never catches: the production checklist (`core.checklist`, check `message-channels`)
refuses `ENVIRONMENT=production` without a real SMTP server and SMS gateway, and `web.workers`
only builds a catcher in development.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from models.accounts import Account, CaughtMessage
from models.dossiers import Dossier
from services.accounts import rules
from services.notifications import NotificationMessage

log = logging.getLogger(__name__)

# Templates whose body carries a one-time code (see services.accounts.codes).
CODE_TEMPLATES = ("verify_contact", "reset_password", "reset_password_welcome", "unlock_account")
CODE = re.compile(r"\b(\d{6})\b")


class MessageCatcher:
    """The sender, in development, of a channel with no real one (see the module docstring).
    One instance can serve both channels."""

    def __init__(self, session_factory: Callable[[], AsyncSession], clock: Clock) -> None:
        self._factory = session_factory
        self._clock = clock
        self._lock = asyncio.Lock()

    async def send(self, message: NotificationMessage) -> None:
        row = {
            "notification_id": message.id,
            "account_id": message.account_id,
            "dossier_id": message.dossier_id,
            "channel": message.channel,
            "destination": message.destination,
            "template": message.template,
            "subject": message.subject,
            "body": message.body,
            "queued_at": message.created_at,
            "caught_at": self._clock.now(),
        }
        statement = (
            insert(CaughtMessage).values(row).on_conflict_do_nothing(index_elements=["notification_id"])
        )
        async with self._lock, self._factory() as session:
            await session.execute(statement)
            await session.commit()
        log.warning(
            "caught %s #%s to %s (no %s configured): %s — see `dvc messages` or /dev/messages",
            message.channel,
            message.seq,
            message.destination,
            {"EMAIL": "SMTP_HOST", "SMS": "SMS_GATEWAY_URL"}.get(message.channel, "ZALO_REFRESH_TOKEN"),
            message.subject,
        )


@dataclass(frozen=True)
class Caught:
    """One caught message, as `dvc messages` and the development page show it."""

    seq: int
    notification_id: uuid.UUID
    channel: str
    destination: str
    template: str
    subject: str
    body: str
    queued_at: datetime
    caught_at: datetime
    account_id: uuid.UUID | None
    account_name: str | None
    dossier_id: uuid.UUID | None = None
    dossier_code: str | None = None  # None also before the dossier is received

    @property
    def code(self) -> str | None:
        """The one-time code the message carries (verification, password, unlock), if any."""
        if self.template not in CODE_TEMPLATES:
            return None
        found = CODE.search(self.body)
        return found.group(1) if found else None

    def as_json(self) -> dict[str, object]:
        return {
            "seq": self.seq,
            "channel": self.channel,
            "to": self.destination,
            "template": self.template,
            "subject": self.subject,
            "body": self.body,
            "code": self.code,
            "queuedAt": self.queued_at.isoformat(),
            "caughtAt": self.caught_at.isoformat(),
            "accountId": str(self.account_id) if self.account_id else None,
            "accountName": self.account_name,
            "dossierId": str(self.dossier_id) if self.dossier_id else None,
            "dossierCode": self.dossier_code,
        }


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def caught_messages(
    session: AsyncSession, *, to: str | None = None, limit: int = 20, after: int | None = None
) -> list[Caught]:
    """The caught messages, newest first: at most `limit`, to a destination containing `to`
    (case-insensitive; a mobile number also matches in any of its spellings), newer than the
    message `after` when given."""
    query = (
        select(CaughtMessage, Account.display_name, Dossier.code)
        .outerjoin(Account, Account.id == CaughtMessage.account_id)
        .outerjoin(Dossier, Dossier.id == CaughtMessage.dossier_id)
        .order_by(CaughtMessage.seq.desc())
        .limit(limit)
    )
    if to:
        pattern = f"%{_escape_like(to.strip())}%"
        matches: list[ColumnElement[bool]] = [CaughtMessage.destination.ilike(pattern, escape="\\")]
        phone = rules.normalise_phone(to)
        if phone is not None:
            matches.append(CaughtMessage.destination == phone)
        query = query.where(or_(*matches))
    if after is not None:
        query = query.where(CaughtMessage.seq > after)
    rows = (await session.execute(query)).all()
    return [
        Caught(
            seq=int(m.seq),
            notification_id=m.notification_id,
            channel=m.channel,
            destination=m.destination,
            template=m.template,
            subject=m.subject,
            body=m.body,
            queued_at=m.queued_at,
            caught_at=m.caught_at,
            account_id=m.account_id,
            account_name=name,
            dossier_id=m.dossier_id,
            dossier_code=code,
        )
        for m, name, code in rows
    ]
