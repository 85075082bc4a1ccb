"""Paying a dossier's fees online (thanh toán trực tuyến). The gateway's notification endpoint
is in `resolvers.payment_gateway`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from models import payments as m
from resolvers.common import parse_id, run_command
from resolvers.context import Context
from resolvers.payment_gateway import gateway_config
from schema.errors import NotFound, Refused, ValidationFailed
from schema.permissions import PERSON
from services.payments import orders, refunds

strawberry.enum(
    m.RefundReason,
    description="Lý do hoàn trả: người nộp rút hồ sơ; cơ quan không thể giải quyết (hồ sơ bị từ chối); "
    "thanh toán trùng.",
)
strawberry.enum(
    m.RefundState,
    description="Trạng thái hoàn trả: chờ cổng thanh toán thực hiện (có thử lại), đã hoàn, cổng từ chối.",
)


@strawberry.type(description="Giao dịch thanh toán đã tạo: chuyển người nộp sang cổng thanh toán.")
class PaymentStarted:
    payment_url: str = strawberry.field(description="Địa chỉ trang thanh toán của cổng (đã ký).")
    amount: int = strawberry.field(description="Số tiền (VND).")
    expires_at: datetime = strawberry.field(description="Hạn của liên kết thanh toán.")
    reference: str = strawberry.field(description="Mã giao dịch tại cổng thanh toán.")


@strawberry.type(description="Khoản hoàn trả một giao dịch thanh toán trực tuyến (mỗi giao dịch một lần).")
class PaymentRefund:
    id: strawberry.ID = strawberry.field(description="Mã khoản hoàn trả.")
    amount: int = strawberry.field(description="Số tiền hoàn trả (VND).")
    reason: m.RefundReason = strawberry.field(description="Lý do hoàn trả.")
    state: m.RefundState = strawberry.field(description="Trạng thái hoàn trả.")
    requested_at: datetime = strawberry.field(description="Thời điểm yêu cầu hoàn trả.")
    requested_by: str = strawberry.field(description="Người (hoặc hệ thống) yêu cầu hoàn trả.")
    attempts: int = strawberry.field(description="Số lần đã gửi yêu cầu sang cổng thanh toán.")
    settled_at: datetime | None = strawberry.field(description="Thời điểm cổng hoàn tiền hoặc từ chối.")

    @classmethod
    def of(cls, r: m.Refund) -> PaymentRefund:
        return cls(
            id=strawberry.ID(str(r.id)),
            amount=r.amount,
            reason=r.reason,
            state=r.state,
            requested_at=r.requested_at,
            requested_by=r.requested_by,
            attempts=r.attempts,
            settled_at=r.settled_at,
        )


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

    @strawberry.mutation(
        description="Lãnh đạo cơ quan có thẩm quyền (chủ tài khoản thu phí) yêu cầu hoàn trả phí, lệ phí đã "
        "nộp trực tuyến: khi người nộp rút hồ sơ, khi hồ sơ bị từ chối vì cơ quan không thể giải quyết (nêu "
        "lý do), hoặc khoản thanh toán trùng. Không hoàn trả khi hồ sơ đã có kết quả mà người nộp không đến "
        "nhận. Gọi lại trả về cùng khoản hoàn trả.",
        extensions=PERSON,
    )
    async def dossier_refund(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        reason: m.RefundReason,
        comment: str | None = None,
    ) -> RefundResult:
        ctx = info.context

        async def command(session: AsyncSession) -> RefundRequested:
            done = await refunds.request(
                session,
                ctx.actor,
                parse_id(id, "id"),
                refunds.RefundRequest(reason, comment),
                now=ctx.now,
            )
            return RefundRequested(refunds=[PaymentRefund.of(r) for r in done])

        return await run_command(info, command)  # type: ignore[return-value]
