"""Delivering the notification outbox: e-mail over SMTP, SMS through an HTTP gateway, with retries.

Account rules write `Notification` rows (`notification_outbox`) in the transaction of the change
they report (see `services.accounts.journal.notification`). Here they are sent, **at least
once**: a row is marked sent in the transaction that sent it, so a crash between the send and
the commit sends it again.

One round — `deliver_round(session, mailer=…, sms=…, now=…)`, inside the caller's transaction:

1. Up to `batch` rows that are unsent (`sent_at IS NULL`), not given up (`attempts < 10`), due,
   and of a channel that has a sender are locked with `SELECT … ORDER BY seq LIMIT batch FOR
   UPDATE SKIP LOCKED`. The locks are held until the caller commits, so several sender
   processes never send the same row at once: each takes the rows the others have not.
2. E-mails and SMS are sent concurrently (the two channels do not hold each other up), but
   within a channel one after the other in `seq` order. After `MAX_CONSECUTIVE_FAILURES`
   failures in a row a channel stops for the round (its server is most likely down: no point
   waiting out a timeout per row while the locks are held); its remaining rows are left as
   they were — not an attempt.
3. Each attempted row is updated: success sets `sent_at = now`; a failure increments
   `attempts` and stores a short `last_error`. The 10th failure gives up: `sent_at` stays null,
   `last_error` starts with "gave up" and the row is never picked again — it stays visible for
   operators (`SELECT … WHERE sent_at IS NULL AND attempts >= 10`). A destination that can never
   work (not an e-mail address, not a Vietnamese mobile number) gives up at once: `attempts`
   jumps to 10.

Retries without a "next attempt" column: a row with `attempts = n > 0` is due when
`created_at + backoff(n) <= now`, `backoff(n) = min(2**n minutes, 6 hours)`. Measured from the
row's creation (not from the last attempt), so with a sender running continuously the attempts
come at about 0, 2, 4, 8, 16 … 256 minutes and 6 hours after the row was written, and the row is
given up about 6 hours after it was written. Consequence of the anchor: after a long stop of
every sender, rows whose schedule has passed are retried in consecutive rounds until they catch
up with it (a row gives up at once when its destination server is still down then).

In development a channel with no SMTP server (resp. SMS gateway) gets the catcher of
`services.caught` as its sender: the message is kept in `caught_messages` and the row is marked
sent exactly as here. A channel with no sender at all (`mailer=None` or `sms=None`) is skipped: its rows are
neither locked nor attempted and stay in the outbox, and they take no place in the batch.
`DeliveryRound.skipped` counts how many of them are due (at most `batch`; counted only in a round
that lacks a sender). Zalo rows (`ZALO`: ZNS to a phone; `ZALO_OA`: a lookup reply to a Zalo
user) are sent by the `zalo` sender of `services.zalo`, with the same retries and giving up as
SMS; with no Zalo sender they wait like any channel without one. A channel value other than
these is never picked.

Time is passed in (`now`); nothing here reads a clock except `run_sender`, through the one it is
given. `deliver_round` never commits: `run_sender` runs each round in a session of its own and
commits it.

E-mail (`SmtpMailer`): one SMTP connection per message (aiosmtplib), a `text/plain; charset=
utf-8` message (8bit, or base64 for a relay without 8BITMIME) with the UTF-8 subject (RFC 2047
encoded words), `From: <SMTP sender>`, `To: <destination>`, `Date: <the row's created_at>`,
`Message-ID: <<row id in hex>@<sender's domain>>` (the same on every retry, so a receiving system
can drop a duplicate) and `Auto-Submitted: auto-generated` (RFC 3834: no vacation auto-replies).

SMS (`HttpSmsSender`) — the gateway protocol, in the shape of the usual Vietnamese brandname-SMS
HTTP APIs:

    POST <SMS_GATEWAY_URL>
    Content-Type: application/json; charset=utf-8
    Authorization: Bearer <api key>
    X-DVC-Signature: sha256=<hex HMAC-SHA256 of the raw request body, keyed with the api key>

    {"to": "+84912345678", "from": "<brandname>", "text": "<body>", "ref": "<notification seq>"}

`to` is the destination normalised to +84…; `text` is the notification body (not the subject),
NFC-normalised, kept in Unicode (the gateway sends UCS-2) and cut to 320 characters (the last
one "…"). `ref` lets the gateway deduplicate a retried message. Success is a 2xx response with
the JSON body `{"status": "accepted", "id": "<gateway message id>"}`; anything else — another
status, another body, a timeout, a connection error — is a failure, and the gateway's `message`
(or `error`, or the start of the body) is kept in `last_error`.

Cost: step 1 walks `notification_outbox` in `seq` order skipping sent rows; it wants a partial
index `ON notification_outbox (seq) WHERE sent_at IS NULL` once the table holds many sent rows.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import unicodedata
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Protocol

import aiosmtplib
import httpx
from sqlalchemy import ColumnElement, DateTime, case, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.observability import request_id as current_request_id
from models.accounts import Notification
from services.accounts import rules
from services.retry import Backoff, run_rounds

log = logging.getLogger(__name__)

EMAIL = "EMAIL"
SMS = "SMS"
ZALO = "ZALO"  # Zalo Notification Service to a phone number (services.zalo)
ZALO_OA = "ZALO_OA"  # a reply from the Official Account to a Zalo user (lookup by Zalo)
MAX_ATTEMPTS = 10
MAX_CONSECUTIVE_FAILURES = 3  # per channel and round
SEND_TIMEOUT = 60.0  # hard cap per message (seconds), whatever the sender's own timeouts
SMS_MAX_CHARS = 320
ERROR_LENGTH = 300
GAVE_UP = "gave up"
USER_AGENT = "dvc-notifications/1"


SECRET_TEMPLATES = ("verify_contact", "reset_password", "reset_password_welcome")


# How long after its creation a row that failed `attempts` times is tried again: 2**attempts
# minutes, at most 6 hours; the 10th failure gives up.
backoff = Backoff(first=timedelta(minutes=2), cap=timedelta(hours=6), max_attempts=MAX_ATTEMPTS)


# --- what is sent, and by what ------------------------------------------------------------------


@dataclass(frozen=True)
class NotificationMessage:
    """One outbox row as the senders see it."""

    id: uuid.UUID
    seq: int
    channel: str
    destination: str
    template: str
    subject: str
    body: str
    created_at: datetime
    request_id: str | None = None  # of the request that queued it, for the log lines
    account_id: uuid.UUID | None = None  # the account it is about, when there is one
    dossier_id: uuid.UUID | None = None  # the dossier a notice is about


class DeliveryFailed(Exception):
    """A send that did not work; the message (short, no secrets) goes to `last_error`."""


class PermanentFailure(DeliveryFailed):
    """A send that can never work (a malformed destination): the row gives up at once."""


class Mailer(Protocol):
    async def send(self, message: NotificationMessage) -> None:
        """Return when the server accepted the message; raise (preferably `DeliveryFailed`)."""
        ...


class SmsSender(Protocol):
    async def send(self, message: NotificationMessage) -> None:
        """Return when the gateway accepted the message; raise (preferably `DeliveryFailed`)."""
        ...


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str  # "no-reply@dichvucong.example.gov.vn" or "Cổng dịch vụ công <no-reply@…>"
    username: str | None = None
    password: str | None = None
    starttls: bool = False  # upgrade the plain connection with STARTTLS (required when True)
    use_tls: bool = False  # implicit TLS from the first byte (usually port 465)
    timeout: float = 20

    def __post_init__(self) -> None:
        if self.starttls and self.use_tls:
            raise ValueError("SMTP: choose STARTTLS or implicit TLS, not both")
        if not sender_domain(self.sender):
            raise ValueError("SMTP sender must be an e-mail address with a domain")
        if (self.username is None) != (self.password is None):
            raise ValueError("SMTP username and password go together")


def sender_domain(sender: str) -> str:
    """The domain of an address ("Name <a@b.vn>" → "b.vn"), "" if there is none."""
    _, address = parseaddr(sender)
    local, at, domain = address.rpartition("@")
    return domain.strip().lower() if at and local and domain and " " not in domain else ""


def email_message(message: NotificationMessage, sender: str) -> EmailMessage:
    """The e-mail for a notification (see the module docstring)."""
    if not rules.EMAIL.match(message.destination) or len(message.destination) > 320:
        raise PermanentFailure("not an e-mail address")
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = message.destination
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(message.created_at)
    mail["Message-ID"] = f"<{message.id.hex}@{sender_domain(sender)}>"  # short: stays on one line
    mail["Auto-Submitted"] = "auto-generated"
    mail["Content-Language"] = "vi"
    mail.set_content(message.body)
    return mail


class SmtpMailer:
    """Sends each message over its own SMTP connection (aiosmtplib)."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    async def send(self, message: NotificationMessage) -> None:
        mail = email_message(message, self.config.sender)
        config = self.config
        try:
            await aiosmtplib.send(
                mail,
                hostname=config.host,
                port=config.port,
                username=config.username,
                password=config.password,
                use_tls=config.use_tls,
                start_tls=config.starttls,
                timeout=config.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0] if exc.recipients else None
            detail = f"{refused.code} {refused.message}" if refused else "recipient refused"
            raise DeliveryFailed(f"SMTP {detail}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryFailed(f"SMTP {exc.code} {exc.message}") from exc
        except aiosmtplib.SMTPException as exc:
            raise DeliveryFailed(f"SMTP {type(exc).__name__}: {exc.message}") from exc
        except OSError as exc:
            raise DeliveryFailed(f"SMTP {type(exc).__name__}: {exc}") from exc


@dataclass(frozen=True)
class SmsConfig:
    url: str
    api_key: str
    sender: str = "DVC"  # the registered brandname
    timeout: float = 10

    def __post_init__(self) -> None:
        if not self.url.startswith(("https://", "http://")):
            raise ValueError("SMS gateway URL must be http(s)")
        if not self.api_key:
            raise ValueError("SMS gateway key is empty")


def sms_text(body: str) -> str:
    """The SMS text: NFC, Unicode kept, at most 320 characters (cut with "…")."""
    text = unicodedata.normalize("NFC", body).strip()
    return text if len(text) <= SMS_MAX_CHARS else text[: SMS_MAX_CHARS - 1] + "…"


def sms_signature(api_key: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of the raw body>`, the `X-DVC-Signature` header."""
    return "sha256=" + hmac.new(api_key.encode(), body, hashlib.sha256).hexdigest()


def verify_sms_signature(api_key: str, body: bytes, signature: str) -> bool:
    """What the gateway does with the header (constant-time comparison)."""
    return hmac.compare_digest(sms_signature(api_key, body), signature)


def sms_request_body(message: NotificationMessage, sender: str) -> bytes:
    to = rules.normalise_phone(message.destination)
    if to is None:
        raise PermanentFailure("not a Vietnamese mobile number")
    document = {"to": to, "from": sender, "text": sms_text(message.body), "ref": str(message.seq)}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


class HttpSmsSender:
    """Posts each message to the SMS gateway (protocol in the module docstring)."""

    def __init__(self, config: SmsConfig, client: httpx.AsyncClient) -> None:
        self.config = config
        self.client = client

    async def send(self, message: NotificationMessage) -> None:
        body = sms_request_body(message, self.config.sender)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
            "Authorization": f"Bearer {self.config.api_key}",
            "X-DVC-Signature": sms_signature(self.config.api_key, body),
        }
        try:
            response = await self.client.post(
                self.config.url, content=body, headers=headers, timeout=self.config.timeout
            )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"SMS {type(exc).__name__}: {exc}") from exc
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if (
            response.is_success
            and isinstance(answer, dict)
            and answer.get("status") == "accepted"
            and answer.get("id")
        ):
            log.debug("notifications: SMS %s accepted by the gateway as %s", message.seq, answer["id"])
            return
        reason = None
        if isinstance(answer, dict):
            reason = answer.get("message") or answer.get("error") or answer.get("status")
        if not reason:
            reason = " ".join(response.text.split())[:200] or "no body"
        raise DeliveryFailed(f"SMS gateway {response.status_code}: {reason}")


# --- one round ----------------------------------------------------------------------------------


@dataclass
class DeliveryRound:
    """What one round did."""

    sent: int = 0  # accepted by the server or gateway
    failed: int = 0  # attempts that failed (including the ones that gave up)
    skipped: int = 0  # due rows of a channel without a sender (at most `batch`), left alone
    gave_up: int = 0  # rows that failed for the last time this round
    more: bool = False  # `batch` rows were due: run again soon
    errors: dict[int, str] = field(default_factory=dict)  # seq → last_error of this round


@dataclass
class _Attempt:
    message: NotificationMessage
    attempts: int
    done: bool = False
    error: str | None = None
    permanent: bool = False


def _due(now: datetime) -> ColumnElement[bool]:
    """Unsent, not given up, and past its backoff (see `backoff`)."""
    waited = case(
        {n: literal(now - backoff(n), DateTime(timezone=True)) for n in range(1, MAX_ATTEMPTS)},
        value=Notification.attempts,
        else_=literal(now, DateTime(timezone=True)),
    )
    return (
        Notification.sent_at.is_(None)
        & (Notification.attempts < MAX_ATTEMPTS)
        & ((Notification.attempts <= 0) | (Notification.created_at <= waited))
    )


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= ERROR_LENGTH else text[: ERROR_LENGTH - 1] + "…"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, DeliveryFailed):
        return str(exc) or type(exc).__name__
    if isinstance(exc, TimeoutError):
        return f"no answer within {SEND_TIMEOUT:g} s"
    return f"{type(exc).__name__}: {exc}"


async def _send_channel(sender: Mailer | SmsSender, attempts: Sequence[_Attempt]) -> bool:
    """Send in order; stop after `MAX_CONSECUTIVE_FAILURES` failures in a row. True when stopped
    early."""
    streak = 0
    for attempt in attempts:
        if streak >= MAX_CONSECUTIVE_FAILURES:
            return True
        token = current_request_id.set(attempt.message.request_id)  # on this send's log lines
        try:
            async with asyncio.timeout(SEND_TIMEOUT):
                await sender.send(attempt.message)
        except Exception as exc:  # noqa: BLE001 — any failure is recorded on the row and retried
            log.info("notification %s not sent: %s", attempt.message.seq, _short(_describe(exc)))
            attempt.error = _short(_describe(exc))
            attempt.permanent = isinstance(exc, PermanentFailure)
            if not attempt.permanent:  # a bad address says nothing about the server
                streak += 1
        else:
            attempt.done = True
            streak = 0
        finally:
            current_request_id.reset(token)
    return False


async def deliver_round(
    session: AsyncSession,
    *,
    mailer: Mailer | None,
    sms: SmsSender | None,
    now: datetime,
    batch: int = 100,
    zalo: SmsSender | None = None,
) -> DeliveryRound:
    """One delivery round (see the module docstring). Never commits; the caller does. `zalo`
    sends the ZALO and ZALO_OA rows (`services.zalo`), retried and given up like SMS."""
    result = DeliveryRound()
    channels = ((EMAIL, mailer), (SMS, sms), (ZALO, zalo), (ZALO_OA, zalo))
    senders: dict[str, Mailer | SmsSender] = {
        channel: sender for channel, sender in channels if sender is not None
    }
    if len(senders) < len(channels):
        result.skipped = await _count_skipped(session, senders, now=now, batch=batch)
    if not senders:
        return result
    per_channel = await _lock_due(session, senders, now=now, batch=batch)
    if not per_channel:
        return result
    async with asyncio.TaskGroup() as tasks:
        stops = [
            tasks.create_task(_send_channel(senders[channel], attempts))
            for channel, attempts in per_channel.items()
        ]
    locked = sum(len(attempts) for attempts in per_channel.values())
    result.more = locked >= batch and not any(stop.result() for stop in stops)
    attempts = [a for items in per_channel.values() for a in items]
    result.sent = await _record_sent(session, [a.message.id for a in attempts if a.done], now=now)
    await _record_failures(session, sorted(attempts, key=lambda a: a.message.seq), result)
    return result


async def _count_skipped(
    session: AsyncSession, senders: Mapping[str, object], *, now: datetime, batch: int
) -> int:
    """How many due rows (at most `batch`) are of a channel without a sender."""
    missing = select(literal(1)).where(_due(now))
    if senders:
        missing = missing.where(Notification.channel.not_in(list(senders)))
    return int(await session.scalar(select(func.count()).select_from(missing.limit(batch).subquery())) or 0)


async def _lock_due(
    session: AsyncSession, senders: Mapping[str, object], *, now: datetime, batch: int
) -> dict[str, list[_Attempt]]:
    """Lock up to `batch` due rows of the channels with a sender, in `seq` order, per channel."""
    rows = (
        await session.execute(
            select(
                Notification.id,
                Notification.seq,
                Notification.channel,
                Notification.destination,
                Notification.template,
                Notification.subject,
                Notification.body,
                Notification.created_at,
                Notification.attempts,
                Notification.request_id,
                Notification.account_id,
                Notification.dossier_id,
            )
            .where(_due(now), Notification.channel.in_(list(senders)))
            .order_by(Notification.seq)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
    ).all()
    per_channel: dict[str, list[_Attempt]] = {}
    for r in rows:
        message = NotificationMessage(
            id=r.id,
            seq=int(r.seq),
            channel=r.channel,
            destination=r.destination,
            template=r.template,
            subject=r.subject,
            body=r.body,
            created_at=r.created_at,
            request_id=r.request_id,
            account_id=r.account_id,
            dossier_id=r.dossier_id,
        )
        per_channel.setdefault(r.channel, []).append(_Attempt(message, int(r.attempts)))
    return per_channel


async def _record_sent(session: AsyncSession, sent_ids: Sequence[uuid.UUID], *, now: datetime) -> int:
    """Mark the sent rows sent, and forget the secrets they carried. The number of rows."""
    if not sent_ids:
        return 0
    await session.execute(
        update(Notification)
        .where(Notification.id.in_(sent_ids))
        .values(sent_at=now, last_error=None)
        .execution_options(synchronize_session=False)
    )
    # A sent code lives only in the person's inbox: the outbox keeps no usable copy of it.
    await session.execute(
        update(Notification)
        .where(Notification.id.in_(sent_ids), Notification.template.in_(SECRET_TEMPLATES))
        .values(body="(đã gửi mã; nội dung không lưu)")
        .execution_options(synchronize_session=False)
    )
    return len(sent_ids)


async def _record_failures(
    session: AsyncSession, attempts: Sequence[_Attempt], result: DeliveryRound
) -> None:
    """Count each failed attempt on its row; the last allowed one (or a permanent failure) gives up."""
    for attempt in attempts:
        if attempt.error is None:
            continue
        count = MAX_ATTEMPTS if attempt.permanent else attempt.attempts + 1
        error = attempt.error
        if backoff.exhausted(count):
            tried = attempt.attempts + 1
            error = _short(f"{GAVE_UP} after {tried} attempt{'s' if tried > 1 else ''}: {error}")
            result.gave_up += 1
        await session.execute(
            update(Notification)
            .where(Notification.id == attempt.message.id)
            .values(attempts=count, last_error=error)
            .execution_options(synchronize_session=False)
        )
        result.failed += 1
        result.errors[attempt.message.seq] = error


# --- the loop -----------------------------------------------------------------------------------


async def run_sender(
    session_factory: Callable[[], AsyncSession],
    mailer: Mailer | None,
    sms: SmsSender | None,
    clock: Clock,
    *,
    interval: float,
    stop: asyncio.Event,
    batch: int = 100,
    zalo: SmsSender | None = None,
) -> None:
    """Deliver until `stop` is set: a round, a commit, then a sleep of `interval` seconds (cut
    short by `stop`; none at all when the round had `batch` rows). A failed round is logged and
    the loop goes on."""
    if mailer is None and sms is None and zalo is None:
        log.warning("notifications: neither SMTP nor an SMS gateway is configured; nothing is sent")
        return
    for channel, sender in ((EMAIL, mailer), (SMS, sms)):
        if sender is None:
            log.warning("notifications: no %s sender configured; those messages stay in the outbox", channel)

    async def one_round() -> bool:
        async with session_factory() as session:
            done = await deliver_round(
                session, mailer=mailer, sms=sms, zalo=zalo, now=clock.now(), batch=batch
            )
            await session.commit()
        if done.sent or done.failed:
            log.info("notifications: %s sent, %s failed (%s given up)", done.sent, done.failed, done.gave_up)
        for seq, error in done.errors.items():
            log.warning("notifications: #%s not sent: %s", seq, error)
        return done.more

    await run_rounds(one_round, interval=interval, stop=stop, log=log, name="notifications")
