"""Paying a dossier's fees online: the attempt, and the gateway's signed answer applied once.

An attempt (`Payment`) is created when the applicant chooses to pay; its id is the order
reference at the gateway. The gateway's server-to-server notification (IPN) settles it: the
signature, the merchant, the order and the amount are checked, a replayed notification is
answered "already confirmed" without effect, and a late success for an attempt already given up
still records the money. A second attempt that succeeds after another one paid the dossier is
kept as DUPLICATE, to be refunded.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from models.catalog import Agency, ProcedureVersion
from models.dossiers import DossierStatus, PaymentStatus
from models.payments import Payment, PaymentState
from services.catalog.queries import fees_by_version_ids
from services.dossiers import recording, transition
from services.dossiers.fees import fees_due
from services.dossiers.routing import competent_agency_id
from services.dossiers.workflow import FINAL
from services.errors import NotFound, Refused
from services.payments.gateway import (
    Account,
    BadCallback,
    GatewayConfig,
    Order,
    Outcome,
    PaymentGateway,
    Report,
)

LINK_TTL = timedelta(minutes=15)
REUSE_MARGIN = timedelta(minutes=2)  # a link about to expire is not handed out again
SETTLED = frozenset({PaymentState.PAID, PaymentState.FAILED, PaymentState.DUPLICATE})


async def agency_of(session: AsyncSession, dossier_id: uuid.UUID) -> Agency:
    """The agency whose fee account a dossier is paid into: the competent one (the one it was
    routed to, services.dossiers.routing)."""
    dossier = await transition.lock(session, dossier_id)
    version = await session.get_one(ProcedureVersion, dossier.procedure_version_id)
    return await session.get_one(Agency, competent_agency_id(dossier, version))


async def pay(
    session: AsyncSession,
    actor: Actor,
    dossier_id: uuid.UUID,
    config: GatewayConfig | None,
    *,
    now: datetime,
    client_ip: str,
) -> tuple[Payment, str]:
    """The applicant pays their dossier: into the fee account of the competent agency (or, if the
    procedure names none, of the receiving one)."""
    dossier = await transition.lock(session, dossier_id)
    if actor.id is None or dossier.applicant_account_id != actor.id:
        raise NotFound("hồ sơ", str(dossier_id))
    if config is None:
        raise Refused("PAYMENT_OFF", "Chưa hỗ trợ thanh toán trực tuyến; vui lòng nộp tại Bộ phận Một cửa.")
    agency = await agency_of(session, dossier.id)
    account = config.account(agency.code)
    if account is None:
        raise Refused(
            "NO_FEE_ACCOUNT",
            f"{agency.name} chưa có tài khoản thu phí trực tuyến; vui lòng nộp tại Bộ phận Một cửa.",
        )
    return await start(session, dossier.id, config.gateway, account, now=now, client_ip=client_ip)


async def start(
    session: AsyncSession,
    dossier_id: uuid.UUID,
    gateway: PaymentGateway,
    account: Account,
    *,
    now: datetime,
    client_ip: str,
) -> tuple[Payment, str]:
    """A new attempt for what the dossier owes, and the signed URL sending the payer there."""
    dossier = await transition.lock(session, dossier_id)
    if dossier.payment_status is not PaymentStatus.UNPAID:
        raise Refused("NOTHING_TO_PAY", "Hồ sơ không có khoản phí, lệ phí nào phải nộp.")
    if dossier.status is DossierStatus.DRAFT or dossier.status in FINAL:
        raise Refused("NOT_PAYABLE", "Hồ sơ ở trạng thái này không thanh toán được.")
    (fees,) = await fees_by_version_ids(session, [dossier.procedure_version_id])
    due = fees_due(fees, dossier.channel)
    if due.total <= 0:
        raise Refused("NOTHING_TO_PAY", "Hồ sơ không có khoản phí, lệ phí nào phải nộp.")
    label = dossier.code or str(dossier.id)
    reusable = await session.scalar(
        select(Payment)
        .where(
            Payment.dossier_id == dossier.id,
            Payment.state == PaymentState.PENDING,
            Payment.gateway == gateway.name,
            Payment.merchant == account.merchant,
            Payment.amount == due.total,
            Payment.expires_at > now + REUSE_MARGIN,
        )
        .order_by(Payment.created_at.desc())
        .limit(1)
    )
    if reusable is not None:  # a retry, or the payer coming back: the same order, the same link
        return reusable, gateway.checkout_url(account, _order(reusable, label, client_ip))
    payment_id = uuid.uuid4()
    payment = Payment(
        id=payment_id,
        txn_ref=payment_id.hex,
        dossier_id=dossier.id,
        gateway=gateway.name,
        merchant=account.merchant,
        amount=due.total,
        state=PaymentState.PENDING,
        created_at=now,
        expires_at=now + LINK_TTL,
    )
    session.add(payment)
    await session.flush()
    return payment, gateway.checkout_url(account, _order(payment, label, client_ip))


def _order(payment: Payment, label: str, client_ip: str) -> Order:
    return Order(
        txn_ref=payment.txn_ref,
        amount=payment.amount,
        order_info=f"Thanh toan phi, le phi ho so {label}",
        created_at=payment.created_at,
        expires_at=payment.expires_at,
        client_ip=client_ip,
    )


async def apply_notification(
    session: AsyncSession,
    params: Mapping[str, str],
    gateway: PaymentGateway,
    accounts: Mapping[str, Account],
    ctx: transition.ActContext,
) -> Outcome:
    """Apply the gateway's server-to-server notification (IPN); the outcome tells the gateway
    whether to retry."""
    try:
        report = gateway.read_callback(params, accounts)
    except BadCallback as bad:
        return bad.outcome
    payment = await locked_payment(session, gateway.name, report.merchant, report.txn_ref)
    if payment is None:
        return Outcome.ORDER_NOT_FOUND
    if report.amount != payment.amount:
        return Outcome.INVALID_AMOUNT
    return await settle(session, payment, report, ctx)


async def locked_payment(session: AsyncSession, gateway: str, merchant: str, txn_ref: str) -> Payment | None:
    return await session.scalar(
        select(Payment)
        .where(Payment.gateway == gateway, Payment.txn_ref == txn_ref, Payment.merchant == merchant)
        .with_for_update()
    )


async def settle(
    session: AsyncSession, payment: Payment, report: Report, ctx: transition.ActContext
) -> Outcome:
    """The one way an attempt is settled by what the gateway says (its callback, or its answer to
    our query): under the attempt's row lock, once. A success for a dossier already paid is kept
    as DUPLICATE, to be refunded."""
    if payment.state in SETTLED:
        return Outcome.ALREADY_CONFIRMED
    payment.settled_at = ctx.now
    payment.paid_at = report.paid_at
    payment.transaction_no = report.transaction_no or None
    payment.bank_code = report.bank_code or None
    payment.response_code = report.response_code
    payment.notification = dict(report.raw)
    dossier = await transition.lock(session, payment.dossier_id)
    if not report.succeeded:
        payment.state = PaymentState.FAILED
    elif dossier.payment_status is not PaymentStatus.UNPAID:
        payment.state = PaymentState.DUPLICATE
    else:
        payment.state = PaymentState.PAID
        await session.flush()
        data = {"amount": payment.amount, "gateway": payment.gateway, "transactionNo": report.transaction_no}
        await recording.record_payment(session, dossier, ctx, data)
    await session.flush()
    return Outcome.CONFIRMED
