"""What the feedback mutations answer: the inquiry after the act, or a typed error."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.errors import Conflict, InvalidTransition, NotFound, Refused, ValidationFailed
from schema.types.feedback import Inquiry


@strawberry.type(description="Phản ánh, câu hỏi sau thao tác.")
class InquiryChanged:
    inquiry: Inquiry = strawberry.field(description="Phản ánh, câu hỏi.")
    replayed: bool = strawberry.field(description="Yêu cầu lặp lại với cùng khoá: không tạo mới.")


InquiryResult = Annotated[
    InquiryChanged | ValidationFailed | NotFound | Refused | InvalidTransition | Conflict,
    strawberry.union("InquiryResult", description="Kết quả thao tác trên phản ánh, câu hỏi."),
]
