"""What the payment mutations answer (thanh toán trực tuyến, hoàn trả)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from schema.errors import NotFound, Refused, ValidationFailed
from schema.types.dossiers import PaymentRefund


@strawberry.type(description="Giao dịch thanh toán đã tạo: chuyển người nộp sang cổng thanh toán.")
class PaymentStarted:
    payment_url: str = strawberry.field(description="Địa chỉ trang thanh toán của cổng (đã ký).")
    amount: int = strawberry.field(description="Số tiền (VND).")
    expires_at: datetime = strawberry.field(description="Hạn của liên kết thanh toán.")
    reference: str = strawberry.field(description="Mã giao dịch tại cổng thanh toán.")


@strawberry.type(
    description="Yêu cầu hoàn trả đã ghi nhận; hệ thống gửi sang cổng thanh toán và thử lại khi lỗi."
)
class RefundRequested:
    refunds: list[PaymentRefund] = strawberry.field(description="Các khoản hoàn trả của hồ sơ theo lý do.")


RefundResult = Annotated[
    RefundRequested | ValidationFailed | NotFound | Refused,
    strawberry.union("DossierRefundResult", description="Kết quả yêu cầu hoàn trả phí, lệ phí."),
]

PayResult = Annotated[
    PaymentStarted | ValidationFailed | NotFound | Refused,
    strawberry.union("DossierPayResult", description="Kết quả yêu cầu thanh toán."),
]
