"""Outside consumers of dossier events (webhooks; the national portal adapter) and the backlog."""

from __future__ import annotations

from datetime import timedelta

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from resolvers.common import run_command
from schema.context import Context
from schema.payloads.outbox import (
    EventConsumerRegistered,
    EventConsumerSaved,
    EventConsumerSecretRotated,
    RegisterResult,
    RotateResult,
    SetActionsResult,
    SetActiveResult,
)
from schema.permissions import SYSTEM_ADMIN
from schema.types.outbox import ConsumerBacklog, EventConsumer
from services import outbox


@strawberry.type
class OutboxQuery:
    @strawberry.field(description="Hàng đợi sự kiện hồ sơ theo nơi nhận.", extensions=SYSTEM_ADMIN)
    async def outbox_backlog(self, info: Info[Context, None]) -> list[ConsumerBacklog]:
        async with info.context.db.session() as session:
            rows = await outbox.backlog(session)
        return [
            ConsumerBacklog(
                name=r.name,
                active=r.active,
                pending_events=r.pending_events,
                pending_dossiers=r.pending_dossiers,
                oldest_pending_at=r.oldest_pending_at,
                retrying_dossiers=r.retrying_dossiers,
            )
            for r in rows
        ]


@strawberry.type
class OutboxMutation:
    @strawberry.mutation(description="Đăng ký nơi nhận sự kiện hồ sơ.", extensions=SYSTEM_ADMIN)
    async def event_consumer_register(self, info: Info[Context, None], name: str, url: str) -> RegisterResult:
        ctx = info.context

        async def command(session: AsyncSession) -> EventConsumerRegistered:
            row, secret = await outbox.register_consumer(session, ctx.actor, name, url, now=ctx.now)
            return EventConsumerRegistered(consumer=EventConsumer.from_row(row), secret=secret)

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(description="Bật hoặc tắt một nơi nhận.", extensions=SYSTEM_ADMIN)
    async def event_consumer_set_active(
        self, info: Info[Context, None], name: str, active: bool
    ) -> SetActiveResult:
        ctx = info.context

        async def command(session: AsyncSession) -> EventConsumerSaved:
            return EventConsumerSaved(
                consumer=EventConsumer.from_row(await outbox.set_active(session, ctx.actor, name, active))
            )

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Đổi khoá ký của một webhook; khoá cũ vẫn ký song song trong `graceHours` giờ.",
        extensions=SYSTEM_ADMIN,
    )
    async def event_consumer_rotate_secret(
        self, info: Info[Context, None], name: str, grace_hours: int = 24
    ) -> RotateResult:
        ctx = info.context

        async def command(session: AsyncSession) -> EventConsumerSecretRotated:
            row, secret = await outbox.rotate_secret(
                session, ctx.actor, name, grace=timedelta(hours=grace_hours), now=ctx.now
            )
            return EventConsumerSecretRotated(consumer=EventConsumer.from_row(row), secret=secret)

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Chỉ gửi cho nơi nhận các thao tác này (null: mọi thao tác).", extensions=SYSTEM_ADMIN
    )
    async def event_consumer_set_actions(
        self, info: Info[Context, None], name: str, actions: list[str] | None
    ) -> SetActionsResult:
        ctx = info.context

        async def command(session: AsyncSession) -> EventConsumerSaved:
            row = await outbox.set_actions(session, ctx.actor, name, actions)
            return EventConsumerSaved(consumer=EventConsumer.from_row(row))

        return await run_command(info, command)  # type: ignore[return-value]
