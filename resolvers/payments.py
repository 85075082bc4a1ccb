"""Paying a dossier's fees online (thanh toán trực tuyến). The gateway's notification endpoint
is in `web.endpoints.payments`."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from models import payments as m
from resolvers.common import parse_id, run_command
from schema.context import Context
from schema.payloads.payments import PaymentStarted, PayResult, RefundRequested, RefundResult
from schema.permissions import PERSON
from schema.types.dossiers import PaymentRefund
from services.payments import orders, refunds
from services.payments.gateway import config_from_settings


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
                config_from_settings(ctx.settings),
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
