"""The payment job (đối soát giao dịch): settle attempts still pending by asking the gateway, ask
for the automatic refunds, and send the refunds due.

No database lock is held while the gateway is called: the gateway is asked first, then the
attempt is locked and settled through the same path as the gateway's notification
(`orders.settle`), which does nothing if the notification got there first. Every step is
idempotent; a failed call is tried again at the next run.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth.actor import Actor, ActorKind
from core.settings import Settings
from models.payments import Payment, PaymentState, Refund, RefundState
from services.calendar import WorkingCalendar
from services.dossiers.transition import ActContext
from services.payments import orders, refunds
from services.payments.gateway import (
    GatewayConfig,
    GatewayError,
    QueryStatus,
    RefundOrder,
    RefundStatus,
    config_from_settings,
)

log = logging.getLogger(__name__)
JOB_ACTOR = Actor(ActorKind.SYSTEM, name="Đối soát thanh toán")
BATCH = 200
JOB_LOCK = 4242005  # pg advisory lock: one payment job at a time across processes (its own)


@dataclass
class SettleRun:
    """What one run did."""

    paid: int = 0
    failed: int = 0
    expired: int = 0
    still_pending: int = 0
    refunds_requested: int = 0
    refunded: int = 0
    refunds_rejected: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.paid} đã thanh toán, {self.failed} không thành công, {self.expired} hết hạn, "
            f"{self.still_pending} còn chờ; {self.refunds_requested} yêu cầu hoàn tiền mới, "
            f"{self.refunded} đã hoàn, {self.refunds_rejected} bị cổng từ chối; {len(self.errors)} lỗi"
        )


async def run(
    factory: async_sessionmaker[AsyncSession],
    config: GatewayConfig,
    ctx: ActContext,
    *,
    settle_after: timedelta,
) -> SettleRun:
    """One run of the payment job: reconciliation, automatic refunds, refunds due."""
    result = SettleRun()
    await reconcile(factory, config, ctx, settle_after=settle_after, result=result)
    async with factory() as session:
        result.refunds_requested = await refunds.request_due(session, now=ctx.now)
        await session.commit()
    await send_refunds(factory, config, ctx, result=result)
    return result


async def reconcile(
    factory: async_sessionmaker[AsyncSession],
    config: GatewayConfig,
    ctx: ActContext,
    *,
    settle_after: timedelta,
    result: SettleRun,
) -> None:
    """Attempts pending for longer than `settle_after` are settled by the gateway's query."""
    accounts = config.by_merchant()
    gateway = config.gateway
    async with factory() as session:
        pending = list(
            await session.execute(
                select(Payment.id, Payment.merchant, Payment.txn_ref, Payment.created_at)
                .where(
                    Payment.state == PaymentState.PENDING,
                    Payment.gateway == gateway.name,
                    Payment.created_at <= ctx.now - settle_after,
                )
                .order_by(Payment.created_at)
                .limit(BATCH)
            )
        )
    for payment_id, merchant, txn_ref, created_at in pending:
        account = accounts.get(merchant)
        if account is None:
            result.errors.append(f"{txn_ref}: no account for merchant {merchant}")
            continue
        try:
            answer = await gateway.query(account, txn_ref, created_at, now=ctx.now)
        except GatewayError as error:
            log.warning("payment %s: query failed: %s", txn_ref, error)
            result.errors.append(f"{txn_ref}: {error}")
            continue
        async with factory() as session:
            payment = await session.scalar(select(Payment).where(Payment.id == payment_id).with_for_update())
            if payment is None or payment.state is not PaymentState.PENDING:
                continue  # the notification got there first
            if answer.status in (QueryStatus.PAID, QueryStatus.FAILED) and answer.report is not None:
                if answer.report.amount != payment.amount:
                    result.errors.append(f"{txn_ref}: the gateway reports another amount")
                    continue
                await orders.settle(session, payment, answer.report, ctx)
                if answer.status is QueryStatus.FAILED:
                    result.failed += 1
                else:
                    result.paid += 1
            elif answer.status is QueryStatus.NOT_FOUND and payment.expires_at <= ctx.now:
                payment.state = PaymentState.EXPIRED  # a late success still counts (orders.settle)
                payment.settled_at = ctx.now
                result.expired += 1
            else:
                result.still_pending += 1
            await session.commit()


async def send_refunds(
    factory: async_sessionmaker[AsyncSession], config: GatewayConfig, ctx: ActContext, *, result: SettleRun
) -> None:
    async with factory() as session:
        due = list(
            await session.scalars(
                select(Refund.id)
                .where(Refund.state == RefundState.PENDING, Refund.next_attempt_at <= ctx.now)
                .order_by(Refund.next_attempt_at)
                .limit(BATCH)
            )
        )
    for refund_id in due:
        try:
            await send_refund(factory, config, ctx, refund_id, result=result)
        except GatewayError as error:
            log.warning("refund %s: %s", refund_id, error)
            result.errors.append(f"refund {refund_id}: {error}")
            async with factory() as session:
                refund = await session.get_one(Refund, refund_id)
                refund.last_error = str(error)[:2000]
                await session.commit()


async def send_refund(
    factory: async_sessionmaker[AsyncSession],
    config: GatewayConfig,
    ctx: ActContext,
    refund_id: uuid.UUID,
    *,
    result: SettleRun,
) -> None:
    """One try. The try is written down before the call, so a call whose answer was lost is
    known; the next try first asks the gateway whether it went through."""
    async with factory() as session:
        refund = await session.scalar(
            select(Refund).where(Refund.id == refund_id).with_for_update(skip_locked=True)
        )
        if refund is None or refund.state is not RefundState.PENDING:
            return
        payment = await session.get_one(Payment, refund.payment_id)
        tried_before = refund.attempts > 0
        refund.attempts += 1
        refund.next_attempt_at = ctx.now + refunds.backoff(refund.attempts)
        await session.commit()
    account = config.by_merchant().get(payment.merchant)
    if account is None:
        raise GatewayError(f"no account for merchant {payment.merchant}")
    gateway = config.gateway
    if tried_before:
        answer = await gateway.query(account, payment.txn_ref, payment.created_at, now=ctx.now)
        if answer.status is QueryStatus.REFUNDED:
            await _record(factory, refund_id, ctx, code="00", no="", result=result)
            return
    outcome = await gateway.refund(
        account,
        RefundOrder(
            request_id=secrets.token_hex(16),
            txn_ref=payment.txn_ref,
            amount=refund.amount,
            full=refund.amount == payment.amount,
            transaction_no=payment.transaction_no or "",
            order_created_at=payment.created_at,
            created_by=refund.requested_by[:250],
        ),
        now=ctx.now,
    )
    if outcome.status is RefundStatus.DONE:
        await _record(factory, refund_id, ctx, code=outcome.code, no=outcome.transaction_no, result=result)
        return
    async with factory() as session:
        refund = await session.scalar(select(Refund).where(Refund.id == refund_id).with_for_update())
        if refund is not None and refund.state is RefundState.PENDING:
            refund.state = RefundState.FAILED
            refund.settled_at = ctx.now
            refund.response_code = outcome.code
            refund.last_error = outcome.message or None
            result.refunds_rejected += 1
        await session.commit()


async def _record(
    factory: async_sessionmaker[AsyncSession],
    refund_id: uuid.UUID,
    ctx: ActContext,
    *,
    code: str,
    no: str,
    result: SettleRun,
) -> None:
    async with factory() as session:
        refund = await session.scalar(select(Refund).where(Refund.id == refund_id).with_for_update())
        if refund is None or refund.state is not RefundState.PENDING:
            return
        payment = await session.get_one(Payment, refund.payment_id)
        await refunds.complete(session, refund, payment, ctx, code=code, no=no)
        await session.commit()
        result.refunded += 1


async def run_configured(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    calendar: WorkingCalendar,
    now: datetime,
) -> SettleRun | None:
    """One run with the configured gateway (None when online payment is off). An advisory lock
    lets one process at a time do it."""
    async with factory() as session:
        if not await session.scalar(text(f"SELECT pg_try_advisory_lock({JOB_LOCK})")):
            return SettleRun()
        try:
            async with httpx.AsyncClient(timeout=settings.payment_gateway_timeout_seconds) as http:
                config = config_from_settings(settings, http)
                if config is None:
                    return None
                ctx = ActContext(actor=JOB_ACTOR, now=now, calendar=calendar)
                after = timedelta(minutes=settings.payment_settle_after_minutes)
                return await run(factory, config, ctx, settle_after=after)
        finally:
            await session.execute(text(f"SELECT pg_advisory_unlock({JOB_LOCK})"))
            await session.commit()
