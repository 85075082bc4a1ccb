"""GraphQL types of the outside consumers of dossier events (webhooks, the national portal)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from models.dossiers import EventConsumer as ConsumerRow


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
