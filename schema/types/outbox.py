"""GraphQL types of the outside consumers of dossier events (webhooks, the national portal)."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry
from strawberry.types import Info

from models.dossiers import ConsumerKind
from models.dossiers import EventConsumer as ConsumerRow
from schema.context import Context
from services import outbox

strawberry.enum(
    ConsumerKind,
    name="EventConsumerKind",
    description="Loại nơi nhận: WEBHOOK (JSON của hệ thống), NATIONAL_PORTAL (Cổng Dịch vụ công quốc gia).",
)


@strawberry.enum(description="Trạng thái nơi nhận.")
class EventConsumerState(enum.Enum):
    ACTIVE = strawberry.enum_value("ACTIVE", description="Đang nhận.")
    PAUSED = strawberry.enum_value(
        "PAUSED",
        description=(
            "Tạm dừng: không gửi gì, sự kiện vẫn được giữ; khi tiếp tục, được giao lần lượt theo thứ tự."
        ),
    )


@strawberry.type(description="Hàng đợi của một nơi nhận.")
class ConsumerBacklog:
    name: str = strawberry.field(description="Nơi nhận.")
    active: bool = strawberry.field(description="Đang nhận.")
    pending_events: int = strawberry.field(description="Số sự kiện chưa giao.")
    pending_dossiers: int = strawberry.field(description="Số hồ sơ còn sự kiện chưa giao.")
    oldest_pending_at: datetime | None = strawberry.field(description="Sự kiện chưa giao cũ nhất.")
    retrying_dossiers: int = strawberry.field(description="Số hồ sơ đang thử giao lại.")

    @classmethod
    def from_row(cls, r: outbox.ConsumerBacklog) -> ConsumerBacklog:
        return cls(
            name=r.name,
            active=r.active,
            pending_events=r.pending_events,
            pending_dossiers=r.pending_dossiers,
            oldest_pending_at=r.oldest_pending_at,
            retrying_dossiers=r.retrying_dossiers,
        )


@strawberry.type(
    description="Nơi nhận sự kiện hồ sơ (webhook), giao ít nhất một lần, đúng thứ tự từng hồ sơ."
)
class EventConsumer:
    name: str = strawberry.field(description="Tên.")
    kind: ConsumerKind = strawberry.field(description="Loại nơi nhận.")
    url: str = strawberry.field(description="Địa chỉ nhận (POST, ký HMAC-SHA256 trong X-DVC-Signature).")
    active: bool = strawberry.field(description="Đang nhận (false: tạm dừng).")
    actions: list[str] | None = strawberry.field(
        description="Chỉ gửi các thao tác này (null: mọi thao tác); thao tác khác được bỏ qua theo thứ tự."
    )
    previous_secret_until: datetime | None = strawberry.field(
        description="Khoá ký cũ còn ký song song (X-DVC-Signature-Previous) đến thời điểm này."
    )
    created_at: datetime = strawberry.field(description="Ngày đăng ký.")
    _backlog: strawberry.Private[ConsumerBacklog | None] = None

    @strawberry.field(description="Đang nhận hay tạm dừng.")
    def state(self) -> EventConsumerState:
        return EventConsumerState.ACTIVE if self.active else EventConsumerState.PAUSED

    @strawberry.field(description="Hàng đợi: các sự kiện nơi nhận này chưa nhận.")
    async def backlog(self, info: Info[Context, None]) -> ConsumerBacklog:
        if self._backlog is not None:
            return self._backlog
        async with info.context.db.session() as session:
            rows = await outbox.backlog(session, name=self.name)
        if not rows:  # removed meanwhile: nothing left to deliver to it
            return ConsumerBacklog.from_row(outbox.ConsumerBacklog(self.name, self.active, 0, 0, None, 0))
        return ConsumerBacklog.from_row(rows[0])

    @classmethod
    def from_row(cls, r: ConsumerRow, *, backlog: ConsumerBacklog | None = None) -> EventConsumer:
        return cls(
            name=r.name,
            kind=r.kind,
            url=r.url,
            active=r.active,
            actions=list(r.actions) if r.actions is not None else None,
            previous_secret_until=r.previous_secret_until,
            created_at=r.created_at,
            _backlog=backlog,
        )
