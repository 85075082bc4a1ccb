"""Paying a dossier's fees online (thanh toán trực tuyến). The gateway's notification endpoint
is in `resolvers.payment_gateway`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from resolvers.common import parse_id, run_command
from resolvers.context import Context
from resolvers.payment_gateway import gateway_config
from schema.errors import NotFound, Refused, ValidationFailed
from schema.permissions import PERSON
from services.payments import orders


@strawberry.type(description="Giao dịch thanh toán đã tạo: chuyển người nộp sang cổng thanh toán.")
class PaymentStarted:
    payment_url: str = strawberry.field(description="Địa chỉ trang thanh toán của cổng (đã ký).")
    amount: int = strawberry.field(description="Số tiền (VND).")
    expires_at: datetime = strawberry.field(description="Hạn của liên kết thanh toán.")
    reference: str = strawberry.field(description="Mã giao dịch tại cổng thanh toán.")


PayResult = Annotated[
    PaymentStarted | ValidationFailed | NotFound | Refused,
    strawberry.union("DossierPayResult", description="Kết quả yêu cầu thanh toán."),
]


@strawberry.type
class PaymentMutation:
    @strawberry.mutation(
        description="Người nộp thanh toán phí, lệ phí của hồ sơ qua cổng thanh toán trực tuyến. Gọi lại khi "
        "liên kết còn hạn trả về cùng giao dịch.",
        extensions=PERSON,
    )
    async def dossier_pay(self, info: Info[Context, None], id: strawberry.ID) -> PayResult:
        ctx = info.context

        async def command(session: AsyncSession) -> PaymentStarted:
            payment, url = await orders.pay(
                session,
                ctx.actor,
                parse_id(id, "id"),
                gateway_config(ctx.settings),
                now=ctx.now,
                client_ip=ctx.meta.address or "127.0.0.1",
            )
            return PaymentStarted(
                payment_url=url,
                amount=payment.amount,
                expires_at=payment.expires_at,
                reference=payment.txn_ref,
            )

        return await run_command(info, command)  # type: ignore[return-value]
