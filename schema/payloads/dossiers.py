"""What the dossier mutations answer: the dossier after the act (or the rating recorded), or a
typed error."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from schema.errors import Conflict, InvalidTransition, NotFound, Refused, ValidationFailed
from schema.types.dossiers import Dossier


@strawberry.type(description="Hồ sơ sau thao tác.")
class DossierChanged:
    dossier: Dossier = strawberry.field(description="Hồ sơ.")
    replayed: bool = strawberry.field(
        description="Yêu cầu lặp lại với cùng khoá: không làm lại, trả kết quả cũ."
    )


DossierActResult = Annotated[
    DossierChanged | ValidationFailed | InvalidTransition | Conflict | NotFound,
    strawberry.union("DossierActResult", description="Kết quả một thao tác trên hồ sơ."),
]


DraftResult = Annotated[
    DossierChanged | ValidationFailed | NotFound,
    strawberry.union("DossierDraftResult", description="Kết quả lưu hồ sơ nháp."),
]


@strawberry.type(description="Đánh giá đã ghi nhận.")
class DossierRated:
    overall: float = strawberry.field(description="Điểm trung bình.")
    at: datetime = strawberry.field(description="Thời điểm đánh giá.")


RateResult = Annotated[
    DossierRated | ValidationFailed | NotFound | Refused,
    strawberry.union("DossierRateResult", description="Kết quả đánh giá."),
]
