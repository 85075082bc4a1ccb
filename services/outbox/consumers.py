"""The receivers of dossier events (nơi nhận sự kiện, `EventConsumer`): registering a webhook and
switching it on or off, rotating its signing secret, choosing the actions it receives, and the
consumer of a built-in adapter (the national portal). Only system administrators change them.

Pausing (`set_active(False)`) stops the requests and keeps everything else: the events stay in
the trail, the consumer's position in each dossier stays, new events pile up behind it. Resuming
(`set_active(True)`) delivers what piled up, in order per dossier, from where it stopped; the
consumer's position is created at once for the dossiers it never had (the dispatcher would find
them only at its next full pass).

`remove_consumer` deletes a webhook and its positions (`event_deliveries`, the delivery cursor):
the events it had not received are not sent to anyone any more, but they stay in each dossier's
trail (`dossier_events` is the record of the process; nothing is deleted from it). The answer
says how many events it had not received. Registering the same name again makes a new consumer
that, like every new one, receives every dossier's events from the first. The national portal's
consumer is not removed (it is made again from the settings at start): pause it instead.

After `rotate_secret` the old key signs every request too (`X-DVC-Signature-Previous`) until
`previous_secret_until`. A consumer that takes only some actions has the others acknowledged in
order without a request.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from auth.actor import Actor
from models.dossiers import ConsumerKind, Dossier, DossierEvent, EventConsumer, EventDelivery, SyncStatus
from services.errors import Forbidden, Issues, NotFound
from services.outbox.operations import backlog

ROTATION_GRACE_MAX = timedelta(days=30)


async def register_consumer(
    session: AsyncSession, actor: Actor, name: str, url: str, *, now: datetime
) -> tuple[EventConsumer, str]:
    """A new receiver of dossier events; its signing secret is returned once."""
    if not actor.is_system_admin:
        raise Forbidden("Chỉ quản trị hệ thống được đăng ký nơi nhận sự kiện.")
    issues = Issues()
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,99}", name):
        issues.add(("name",), "BAD_FORMAT", "Tên gồm chữ thường, số và “-” (2–100 ký tự).")
    if not url.startswith(("https://", "http://")) or len(url) > 1000:
        issues.add(("url",), "BAD_FORMAT", "Địa chỉ nhận phải là URL http(s).")
    if await session.scalar(select(EventConsumer.id).where(EventConsumer.name == name)):
        issues.add(("name",), "DUPLICATE", "Tên này đã được dùng.")
    issues.raise_if_any()
    secret = secrets.token_urlsafe(32)
    consumer = EventConsumer(name=name, url=url, secret=secret, active=True, created_at=now)
    session.add(consumer)
    await session.flush()
    return consumer, secret


async def list_consumers(session: AsyncSession, actor: Actor) -> list[EventConsumer]:
    """Every consumer, by name (their secrets are never shown again)."""
    if not actor.is_system_admin:
        raise Forbidden("Chỉ quản trị hệ thống được xem nơi nhận sự kiện.")
    return list(await session.scalars(select(EventConsumer).order_by(EventConsumer.name)))


async def set_active(session: AsyncSession, actor: Actor, name: str, active: bool) -> EventConsumer:
    """Pause (False) or resume (True) a consumer; a paused one keeps its events (module docstring)."""
    consumer = await _admin_consumer(session, actor, name)
    resumed = active and not consumer.active
    consumer.active = active
    await session.flush()
    if resumed:
        await _catch_up(session, consumer)
    return consumer


def _behind(consumer: EventConsumer) -> Select[uuid.UUID]:
    """The dossiers with an event this consumer has not acknowledged."""
    return (
        select(DossierEvent.dossier_id)
        .outerjoin(
            EventDelivery,
            and_(
                EventDelivery.dossier_id == DossierEvent.dossier_id, EventDelivery.consumer_id == consumer.id
            ),
        )
        .where(DossierEvent.seq > func.coalesce(EventDelivery.delivered_seq, 0))
        .distinct()
    )


async def _catch_up(session: AsyncSession, consumer: EventConsumer) -> None:
    """A resumed consumer: its missing positions created now, at 0, and — the national portal's —
    the dossiers it is behind on no longer SYNCED (they are not, until it has them)."""
    dossiers = select(DossierEvent.dossier_id).distinct().subquery()
    missing = select(
        literal(consumer.id, EventDelivery.consumer_id.type), dossiers.c.dossier_id, literal(0), literal(0)
    ).where(
        ~exists().where(
            EventDelivery.consumer_id == consumer.id, EventDelivery.dossier_id == dossiers.c.dossier_id
        )
    )
    columns = [
        EventDelivery.consumer_id,
        EventDelivery.dossier_id,
        EventDelivery.delivered_seq,
        EventDelivery.attempts,
    ]
    await session.execute(insert(EventDelivery).from_select(columns, missing).on_conflict_do_nothing())
    if consumer.kind is not ConsumerKind.NATIONAL_PORTAL:
        return  # SYNCED is about the national portal only
    await session.execute(
        update(Dossier)
        .where(Dossier.sync_status == SyncStatus.SYNCED, Dossier.id.in_(_behind(consumer)))
        # A delivery is no change of the dossier: its updated_at stays.
        .values(sync_status=SyncStatus.PENDING, updated_at=Dossier.updated_at)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class Removal:
    """What removing a consumer did."""

    name: str
    kind: ConsumerKind
    undelivered_events: int  # events it had not acknowledged, now sent to no one (still in the trail)
    synced_dossiers: int  # always 0: only the national portal's delivery makes a dossier SYNCED


async def remove_consumer(session: AsyncSession, actor: Actor, name: str) -> Removal:
    """Delete a webhook and its delivery positions (module docstring)."""
    consumer = await _admin_consumer(session, actor, name)
    if consumer.kind is not ConsumerKind.WEBHOOK:
        issues = Issues()
        issues.add(
            ("name",),
            "NOT_WEBHOOK",
            "Nơi nhận của Cổng Dịch vụ công quốc gia được tạo lại từ thiết lập; hãy tạm dừng thay vì xoá.",
        )
        issues.raise_if_any()
    (pending,) = await backlog(session, name=name)
    # The positions go with it (ON DELETE CASCADE). A webhook never held a dossier's SYNCED
    # back (that is the national portal's), so no dossier changes.
    await session.execute(delete(EventConsumer).where(EventConsumer.id == consumer.id))
    return Removal(consumer.name, consumer.kind, pending.pending_events, 0)


async def _admin_consumer(session: AsyncSession, actor: Actor, name: str) -> EventConsumer:
    if not actor.is_system_admin:
        raise Forbidden("Chỉ quản trị hệ thống được thay đổi nơi nhận sự kiện.")
    consumer = await session.scalar(select(EventConsumer).where(EventConsumer.name == name).with_for_update())
    if consumer is None:
        raise NotFound("nơi nhận sự kiện", name)
    return consumer


async def rotate_secret(
    session: AsyncSession, actor: Actor, name: str, *, grace: timedelta, now: datetime
) -> tuple[EventConsumer, str]:
    """A new signing key for a webhook, returned once. For `grace` the old key still signs every
    request too (`X-DVC-Signature-Previous`), so the consumer can switch without losing any."""
    consumer = await _admin_consumer(session, actor, name)
    issues = Issues()
    if consumer.kind is not ConsumerKind.WEBHOOK:
        issues.add(
            ("name",), "NOT_WEBHOOK", "Khoá của Cổng Dịch vụ công quốc gia được cấu hình trong thiết lập."
        )
    if not timedelta(0) <= grace <= ROTATION_GRACE_MAX:
        issues.add(("graceHours",), "OUT_OF_RANGE", "Thời gian dùng song song khoá cũ từ 0 đến 720 giờ.")
    issues.raise_if_any()
    secret = secrets.token_urlsafe(32)
    consumer.previous_secret = consumer.secret if grace > timedelta(0) else None
    consumer.previous_secret_until = now + grace if grace > timedelta(0) else None
    consumer.secret = secret
    await session.flush()
    return consumer, secret


async def set_actions(
    session: AsyncSession, actor: Actor, name: str, actions: Sequence[str] | None
) -> EventConsumer:
    """Send this consumer only these actions (None: all). Events filtered out are acknowledged in
    order without a request, so a consumer never waits on what it did not ask for."""
    consumer = await _admin_consumer(session, actor, name)
    if actions is not None:
        issues = Issues()
        for i, action in enumerate(actions):
            if not re.fullmatch(r"[A-Z][A-Z_]{1,39}", action):
                issues.add(("actions", i), "BAD_FORMAT", "Tên thao tác gồm chữ in hoa và “_”.")
        issues.raise_if_any()
        actions = sorted(set(actions))
    consumer.actions = list(actions) if actions is not None else None
    await session.flush()
    return consumer


async def ensure_consumer(
    session: AsyncSession, *, name: str, kind: ConsumerKind, url: str, now: datetime
) -> EventConsumer:
    """The consumer of a built-in adapter (the national portal), created or pointed at `url`.
    Its credentials stay in settings; `secret` is left empty."""
    consumer = await session.scalar(select(EventConsumer).where(EventConsumer.name == name).with_for_update())
    if consumer is None:
        consumer = EventConsumer(name=name, kind=kind, url=url, secret="", active=True, created_at=now)
        session.add(consumer)
    else:
        consumer.kind = kind
        consumer.url = url
    await session.flush()
    return consumer
