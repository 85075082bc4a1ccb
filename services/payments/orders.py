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
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from models.catalog import Agency, ProcedureVersion
from models.dossiers import DossierStatus, PaymentStatus
from models.payments import Payment, PaymentState
from services.catalog.queries import fees_by_version_ids
from services.dossiers import commands
from services.dossiers.fees import fees_due
from services.dossiers.workflow import FINAL
from services.errors import NotFound, Refused
from services.payments import vnpay

GATEWAY = "vnpay"
LINK_TTL = timedelta(minutes=15)
REUSE_MARGIN = timedelta(minutes=2)  # a link about to expire is not handed out again
SETTLED = frozenset({PaymentState.PAID, PaymentState.FAILED, PaymentState.DUPLICATE})


@dataclass(frozen=True)
class GatewayConfig:
    """The gateway and each agency's fee-account merchant there (agency code -> code, secret)."""

    pay_url: str
    return_url: str
    accounts: Mapping[str, tuple[str, str]]

    def merchant(self, agency_code: str) -> vnpay.Merchant | None:
        account = self.accounts.get(agency_code)
        return vnpay.Merchant(account[0], account[1], self.pay_url, self.return_url) if account else None

    def merchants(self) -> dict[str, vnpay.Merchant]:
        """By merchant code, to check what the gateway sends."""
        return {
            tmn: vnpay.Merchant(tmn, secret, self.pay_url, self.return_url)
            for tmn, secret in self.accounts.values()
        }


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
    dossier = await commands.lock(session, dossier_id)
    if actor.id is None or dossier.applicant_account_id != actor.id:
        raise NotFound("hồ sơ", str(dossier_id))
    if config is None:
        raise Refused("PAYMENT_OFF", "Chưa hỗ trợ thanh toán trực tuyến; vui lòng nộp tại Bộ phận Một cửa.")
    version = await session.get_one(ProcedureVersion, dossier.procedure_version_id)
    agency = await session.get_one(Agency, version.competent_agency_id or dossier.receiving_agency_id)
    merchant = config.merchant(agency.code)
    if merchant is None:
        raise Refused(
            "NO_FEE_ACCOUNT",
            f"{agency.name} chưa có tài khoản thu phí trực tuyến; vui lòng nộp tại Bộ phận Một cửa.",
        )
    return await start(session, dossier.id, merchant=merchant, now=now, client_ip=client_ip)


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
    reusable = await session.scalar(
        select(Payment)
        .where(
            Payment.dossier_id == dossier.id,
            Payment.state == PaymentState.PENDING,
            Payment.merchant == merchant.tmn_code,
            Payment.amount == due.total,
            Payment.expires_at > now + REUSE_MARGIN,
        )
        .order_by(Payment.created_at.desc())
        .limit(1)
    )
    if reusable is not None:  # a retry, or the payer coming back: the same order, the same link
        return reusable, _url(merchant, reusable, dossier.code or str(dossier.id), client_ip)
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
    return payment, _url(merchant, payment, dossier.code or str(dossier.id), client_ip)


def _url(merchant: vnpay.Merchant, payment: Payment, label: str, client_ip: str) -> str:
    return vnpay.payment_url(
        merchant,
        vnpay.PaymentRequest(
            txn_ref=payment.txn_ref,
            amount=payment.amount,
            order_info=f"Thanh toan phi, le phi ho so {label}",
            created_at=payment.created_at,
            expires_at=payment.expires_at,
            client_ip=client_ip,
        ),
    )


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
