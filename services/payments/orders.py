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

from models.dossiers import DossierStatus, PaymentStatus
from models.payments import Payment, PaymentState
from services.catalog.queries import fees_by_version_ids
from services.dossiers import commands
from services.dossiers.fees import fees_due
from services.dossiers.workflow import FINAL
from services.errors import Refused
from services.payments import vnpay

GATEWAY = "vnpay"
LINK_TTL = timedelta(minutes=15)
SETTLED = frozenset({PaymentState.PAID, PaymentState.FAILED, PaymentState.DUPLICATE})


async def start(
    session: AsyncSession,
    dossier_id: uuid.UUID,
    *,
    merchant: vnpay.Merchant,
    now: datetime,
    client_ip: str,
) -> tuple[Payment, str]:
    """A new attempt for what the dossier owes, and the signed URL sending the payer there."""
    dossier = await commands.lock(session, dossier_id)
    if dossier.payment_status is not PaymentStatus.UNPAID:
        raise Refused("NOTHING_TO_PAY", "Hồ sơ không có khoản phí, lệ phí nào phải nộp.")
    if dossier.status is DossierStatus.DRAFT or dossier.status in FINAL:
        raise Refused("NOT_PAYABLE", "Hồ sơ ở trạng thái này không thanh toán được.")
    (fees,) = await fees_by_version_ids(session, [dossier.procedure_version_id])
    due = fees_due(fees, dossier.channel)
    if due.total <= 0:
        raise Refused("NOTHING_TO_PAY", "Hồ sơ không có khoản phí, lệ phí nào phải nộp.")
    payment_id = uuid.uuid4()
    payment = Payment(
        id=payment_id,
        txn_ref=payment_id.hex,
        dossier_id=dossier.id,
        gateway=GATEWAY,
        merchant=merchant.tmn_code,
        amount=due.total,
        state=PaymentState.PENDING,
        created_at=now,
        expires_at=now + LINK_TTL,
    )
    session.add(payment)
    await session.flush()
    label = dossier.code or str(dossier.id)
    url = vnpay.payment_url(
        merchant,
        vnpay.PaymentRequest(
            txn_ref=payment.txn_ref,
            amount=payment.amount,
            order_info=f"Thanh toan phi, le phi ho so {label}",
            created_at=now,
            expires_at=payment.expires_at,
            client_ip=client_ip,
        ),
    )
    return payment, url


async def apply_notification(
    session: AsyncSession,
    params: Mapping[str, str],
    merchants: Mapping[str, vnpay.Merchant],
    ctx: commands.ActContext,
) -> tuple[str, str]:
    """Apply the gateway's IPN; the answer (RspCode, Message) tells the gateway whether to retry."""
    try:
        payment, n = await _verified(session, params, merchants)
    except vnpay.BadNotification as bad:
        return bad.answer
    if payment.state in SETTLED:
        return vnpay.IPN_ALREADY_CONFIRMED
    payment.settled_at = ctx.now
    payment.paid_at = n.paid_at
    payment.transaction_no = n.transaction_no or None
    payment.bank_code = n.bank_code or None
    payment.response_code = n.response_code
    payment.notification = dict(params)
    dossier = await commands.lock(session, payment.dossier_id)
    if not n.succeeded:
        payment.state = PaymentState.FAILED
    elif dossier.payment_status is PaymentStatus.PAID:
        payment.state = PaymentState.DUPLICATE
    else:
        payment.state = PaymentState.PAID
        await session.flush()
        data = {"amount": payment.amount, "gateway": payment.gateway, "transactionNo": n.transaction_no}
        await commands.record_payment(session, dossier, ctx, data)
    return vnpay.IPN_CONFIRMED


async def _verified(
    session: AsyncSession, params: Mapping[str, str], merchants: Mapping[str, vnpay.Merchant]
) -> tuple[Payment, vnpay.Notification]:
    """The attempt a genuine notification is about (locked); BadNotification carries the answer
    refusing it."""
    merchant = merchants.get(params.get("vnp_TmnCode", ""))
    if merchant is None:
        raise vnpay.BadNotification(vnpay.IPN_INVALID_SIGNATURE)  # nothing to check it against
    n = vnpay.read_notification(params, merchant)
    payment = await session.scalar(
        select(Payment)
        .where(Payment.txn_ref == n.txn_ref, Payment.merchant == merchant.tmn_code)
        .with_for_update()
    )
    if payment is None:
        raise vnpay.BadNotification(vnpay.IPN_ORDER_NOT_FOUND)
    if n.amount != payment.amount:
        raise vnpay.BadNotification(vnpay.IPN_INVALID_AMOUNT)
    return payment, n
