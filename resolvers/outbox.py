"""Outside consumers of dossier events (webhooks; the national portal adapter) and the backlog."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import PermissionExtension
from strawberry.types import Info

from models.dossiers import EventConsumer as ConsumerRow
from resolvers.common import run_command
from schema.context import Context
from schema.errors import NotFound, ValidationFailed
from schema.permissions import IsSystemAdmin
from services import outbox

SYSTEM_ADMIN: list[FieldExtension] = [PermissionExtension(permissions=[IsSystemAdmin()])]


@strawberry.type(
    description="Nơi nhận sự kiện hồ sơ (webhook), giao ít nhất một lần, đúng thứ tự từng hồ sơ."
)
class EventConsumer:
    name: str = strawberry.field(description="Tên.")
    kind: str = strawberry.field(
        description="Loại: WEBHOOK (JSON của hệ thống) hoặc NATIONAL_PORTAL (Cổng Dịch vụ công quốc gia)."
    )
    url: str = strawberry.field(description="Địa chỉ nhận (POST, ký HMAC-SHA256 trong X-DVC-Signature).")
    active: bool = strawberry.field(description="Đang nhận.")
    actions: list[str] | None = strawberry.field(
        description="Chỉ gửi các thao tác này (null: mọi thao tác); thao tác khác được bỏ qua theo thứ tự."
    )
    previous_secret_until: datetime | None = strawberry.field(
        description="Khoá ký cũ còn ký song song (X-DVC-Signature-Previous) đến thời điểm này."
    )
    created_at: datetime = strawberry.field(description="Ngày đăng ký.")

    @classmethod
    def from_row(cls, r: ConsumerRow) -> EventConsumer:
        return cls(
            name=r.name,
            kind=r.kind.value,
            url=r.url,
            active=r.active,
            actions=list(r.actions) if r.actions is not None else None,
            previous_secret_until=r.previous_secret_until,
            created_at=r.created_at,
        )


@strawberry.type(description="Hàng đợi của một nơi nhận.")
class ConsumerBacklog:
    name: str = strawberry.field(description="Nơi nhận.")
    active: bool = strawberry.field(description="Đang nhận.")
    pending_events: int = strawberry.field(description="Số sự kiện chưa giao.")
    pending_dossiers: int = strawberry.field(description="Số hồ sơ còn sự kiện chưa giao.")
    oldest_pending_at: datetime | None = strawberry.field(description="Sự kiện chưa giao cũ nhất.")
    retrying_dossiers: int = strawberry.field(description="Số hồ sơ đang thử giao lại.")


@strawberry.type(description="Nơi nhận đã đăng ký; khoá ký chỉ hiển thị một lần.")
class EventConsumerRegistered:
    consumer: EventConsumer = strawberry.field(description="Nơi nhận.")
    secret: str = strawberry.field(description="Khoá ký HMAC — lưu lại ngay.")


@strawberry.type(description="Nơi nhận sau thao tác.")
class EventConsumerSaved:
    consumer: EventConsumer = strawberry.field(description="Nơi nhận.")


RegisterResult = Annotated[
    EventConsumerRegistered | ValidationFailed,
    strawberry.union("EventConsumerRegisterResult", description="Kết quả đăng ký nơi nhận."),
]
SetActiveResult = Annotated[
    EventConsumerSaved | NotFound, strawberry.union("EventConsumerSetActiveResult", description="Kết quả.")
]


@strawberry.type(description="Khoá ký mới của nơi nhận; chỉ hiển thị một lần.")
class EventConsumerSecretRotated:
    consumer: EventConsumer = strawberry.field(description="Nơi nhận.")
    secret: str = strawberry.field(description="Khoá ký HMAC mới — lưu lại ngay.")


RotateResult = Annotated[
    EventConsumerSecretRotated | ValidationFailed | NotFound,
    strawberry.union("EventConsumerRotateSecretResult", description="Kết quả đổi khoá ký."),
]
SetActionsResult = Annotated[
    EventConsumerSaved | ValidationFailed | NotFound,
    strawberry.union("EventConsumerSetActionsResult", description="Kết quả đặt bộ lọc thao tác."),
]


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
