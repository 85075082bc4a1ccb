"""Outside consumers of dossier events (webhooks; the national portal adapter) and the backlog."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from models.dossiers import ConsumerKind
from resolvers.common import run_command
from schema.context import Context
from schema.payloads.outbox import (
    EventConsumerRegistered,
    EventConsumerRemoved,
    EventConsumerSaved,
    EventConsumerSecretRotated,
    RegisterResult,
    RemoveResult,
    RotateResult,
    SetActionsResult,
    SetActiveResult,
)
from schema.permissions import SYSTEM_ADMIN
from schema.types.outbox import ConsumerBacklog, EventConsumer
from services import idempotency, outbox


@strawberry.type
class OutboxQuery:
    @strawberry.field(description="Hàng đợi sự kiện hồ sơ theo nơi nhận.", extensions=SYSTEM_ADMIN)
    async def outbox_backlog(self, info: Info[Context, None]) -> list[ConsumerBacklog]:
        async with info.context.db.session() as session:
            rows = await outbox.backlog(session)
        return [ConsumerBacklog.from_row(r) for r in rows]

    @strawberry.field(
        description=(
            "Các nơi nhận sự kiện hồ sơ theo tên, với trạng thái, bộ lọc thao tác và hàng đợi "
            "(khoá ký không bao giờ hiển thị lại)."
        ),
        extensions=SYSTEM_ADMIN,
    )
    async def event_consumers(self, info: Info[Context, None]) -> list[EventConsumer]:
        async with info.context.db.session() as session:
            rows = await outbox.list_consumers(session, info.context.actor)
            queues = {b.name: ConsumerBacklog.from_row(b) for b in await outbox.backlog(session)}
        # a consumer missing from `queues` (registered in between) reads its own backlog
        return [EventConsumer.from_row(r, backlog=queues.get(r.name)) for r in rows]


@strawberry.type
class OutboxMutation:
    @strawberry.mutation(description="Đăng ký nơi nhận sự kiện hồ sơ.", extensions=SYSTEM_ADMIN)
    async def event_consumer_register(self, info: Info[Context, None], name: str, url: str) -> RegisterResult:
        ctx = info.context

        async def command(session: AsyncSession) -> EventConsumerRegistered:
            row, secret = await outbox.register_consumer(session, ctx.actor, name, url, now=ctx.now)
            return EventConsumerRegistered(consumer=EventConsumer.from_row(row), secret=secret)

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(
        description=(
            "Tạm dừng (`active: false`) hoặc tiếp tục (`true`) một nơi nhận. Khi tạm dừng không có yêu "
            "cầu nào được gửi, các sự kiện vẫn được giữ; khi tiếp tục, nơi nhận nhận lần lượt mọi sự kiện "
            "còn thiếu, đúng thứ tự từng hồ sơ, từ chỗ đã dừng."
        ),
        extensions=SYSTEM_ADMIN,
    )
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

    @strawberry.mutation(
        description=(
            "Xoá một webhook cùng vị trí giao của nó: các sự kiện nó chưa nhận không còn được gửi, "
            "nhưng vẫn nằm trong nhật ký hồ sơ; đăng ký lại cùng tên là một nơi nhận mới, nhận lại từ "
            "sự kiện đầu tiên. Gửi lại với cùng `idempotencyKey` (8–100 ký tự) chỉ xoá một lần."
        ),
        extensions=SYSTEM_ADMIN,
    )
    async def event_consumer_remove(
        self, info: Info[Context, None], name: str, idempotency_key: str | None = None
    ) -> RemoveResult:
        ctx = info.context

        async def command(session: AsyncSession) -> EventConsumerRemoved:
            retry = idempotency.Retry.of(
                idempotency_key,
                actor=ctx.actor.label,
                operation="eventConsumerRemove",
                arguments={"name": name},
            )

            async def replay(answer: dict[str, Any]) -> outbox.Removal:
                return outbox.Removal(
                    answer["name"],
                    ConsumerKind(answer["kind"]),
                    answer["undeliveredEvents"],
                    answer["syncedDossiers"],
                )

            removal, replayed = await idempotency.once(
                session,
                retry,
                lambda: outbox.remove_consumer(session, ctx.actor, name),
                answer=lambda r: {
                    "name": r.name,
                    "kind": r.kind.value,
                    "undeliveredEvents": r.undelivered_events,
                    "syncedDossiers": r.synced_dossiers,
                },
                replay=replay,
                now=ctx.now,
            )
            return EventConsumerRemoved(
                name=removal.name,
                undelivered_events=removal.undelivered_events,
                synced_dossiers=removal.synced_dossiers,
                replayed=replayed,
            )

        return await run_command(info, command)  # type: ignore[return-value]
