"""What the event-consumer mutations answer; a signing key is shown only here, once."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.errors import NotFound, ValidationFailed
from schema.types.outbox import EventConsumer


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


@strawberry.type(
    description=(
        "Nơi nhận đã xoá cùng vị trí giao của nó. Các sự kiện nó chưa nhận không còn được gửi cho ai, "
        "nhưng vẫn nằm trong nhật ký của từng hồ sơ."
    )
)
class EventConsumerRemoved:
    name: str = strawberry.field(description="Tên nơi nhận đã xoá.")
    undelivered_events: int = strawberry.field(description="Số sự kiện nơi nhận chưa nhận khi bị xoá.")
    synced_dossiers: int = strawberry.field(
        description="Luôn 0: chỉ việc gửi tới Cổng DVC quốc gia làm hồ sơ thành đã đồng bộ; xoá một "
        "webhook không thay đổi trạng thái đồng bộ của hồ sơ nào."
    )
    replayed: bool = strawberry.field(
        description="true: yêu cầu lặp lại với cùng `idempotencyKey`; đây là kết quả của lần đầu."
    )


RemoveResult = Annotated[
    EventConsumerRemoved | ValidationFailed | NotFound,
    strawberry.union("EventConsumerRemoveResult", description="Kết quả xoá nơi nhận."),
]
