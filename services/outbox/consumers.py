"""The receivers of dossier events (nơi nhận sự kiện, `EventConsumer`): registering a webhook and
switching it on or off, rotating its signing secret, choosing the actions it receives, and the
consumer of a built-in adapter (the national portal). Only system administrators change them.

After `rotate_secret` the old key signs every request too (`X-DVC-Signature-Previous`) until
`previous_secret_until`. A consumer that takes only some actions has the others acknowledged in
order without a request.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from models.dossiers import ConsumerKind, EventConsumer
from services.errors import Forbidden, Issues, NotFound

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


async def set_active(session: AsyncSession, actor: Actor, name: str, active: bool) -> EventConsumer:
    """Switch a consumer on or off."""
    consumer = await _admin_consumer(session, actor, name)
    consumer.active = active
    await session.flush()
    return consumer


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
