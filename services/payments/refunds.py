"""Giving back fees paid online (hoàn trả phí, lệ phí), by the rules:

- the applicant withdrew the dossier (rút hồ sơ) after paying: refunded automatically;
- the dossier was refused (từ chối tiếp nhận / từ chối giải quyết) because the agency could not
  carry the procedure out: a leader of the competent agency asks for it, with the reason;
- a second payment for a dossier already paid (DUPLICATE): refunded automatically;
- not when a result was ready and the applicant simply did not collect it: the work was done.

A refund is a row (`Refund`), one per payment, so asking twice gives the same refund. It is sent
to the gateway by the payment job (`settlement`), retried with back-off; before sending again
after a call whose outcome is unknown, the gateway is asked whether the first one went through,
so the money goes back once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from auth.roles import StaffRole
from models.dossiers import Dossier, DossierEvent, DossierStatus
from models.payments import Payment, PaymentState, Refund, RefundReason, RefundState
from services.dossiers import recording, transition
from services.errors import FieldIssue, NotFound, Refused, ValidationFailed
from services.payments.orders import agency_of
from services.retry import Backoff

SYSTEM_LABEL = "Hệ thống (tự động)"
REFUNDABLE = frozenset({PaymentState.PAID, PaymentState.DUPLICATE})
REFUSALS = frozenset({DossierStatus.REFUSED, DossierStatus.REJECTED})
# Wait before the next try of a refund: 1, 2, 4… minutes, at most six hours; never given up.
backoff = Backoff(first=timedelta(minutes=1), cap=timedelta(hours=6))


@dataclass(frozen=True)
class RefundRequest:
    reason: RefundReason
    comment: str | None = None


async def request(
    session: AsyncSession, actor: Actor, dossier_id: uuid.UUID, ask: RefundRequest, *, now: datetime
) -> list[Refund]:
    """A leader of the competent agency (the fee account's owner) asks to give the dossier's
    payment back. Anyone else is told the dossier does not exist. Asking again gives the same
    refund."""
    dossier = await session.get(Dossier, dossier_id)
    if dossier is None:
        raise NotFound("hồ sơ", str(dossier_id))
    agency = await agency_of(session, dossier.id)  # locks the dossier
    if actor.id is None or not actor.has_role(StaffRole.LEADER, agency.id):
        raise NotFound("hồ sơ", str(dossier_id))
    payments = list(
        await session.scalars(
            select(Payment)
            .where(Payment.dossier_id == dossier.id, Payment.state.in_(REFUNDABLE))
            .order_by(Payment.created_at)
            .with_for_update()
        )
    )
    wanted = PaymentState.DUPLICATE if ask.reason is RefundReason.DUPLICATE else PaymentState.PAID
    targets = [p for p in payments if p.state is wanted]
    if not targets:
        raise Refused("NOTHING_TO_REFUND", "Hồ sơ không có khoản thanh toán trực tuyến nào để hoàn trả.")
    await _check_rule(session, dossier, ask)
    refunds = []
    for payment in targets:
        existing = await session.scalar(select(Refund).where(Refund.payment_id == payment.id))
        refunds.append(existing or _new(session, payment, ask, now, actor))
    await session.flush()
    return refunds


async def _check_rule(session: AsyncSession, dossier: Dossier, ask: RefundRequest) -> None:
    if ask.reason is RefundReason.WITHDRAWN and dossier.status is not DossierStatus.WITHDRAWN:
        raise Refused("NOT_WITHDRAWN", "Hồ sơ chưa được rút; chỉ hoàn trả khi người nộp đã rút hồ sơ.")
    if ask.reason is not RefundReason.AGENCY_UNABLE:
        return
    if not (ask.comment and ask.comment.strip()):
        raise ValidationFailed(
            [FieldIssue(("comment",), "REQUIRED", "Nêu rõ lý do cơ quan không thể giải quyết hồ sơ.")]
        )
    approved = await session.scalar(
        select(exists().where(DossierEvent.dossier_id == dossier.id, DossierEvent.action == "APPROVE"))
    )
    if approved or dossier.status is DossierStatus.RESULT_READY:
        raise Refused(
            "RESULT_ISSUED",
            "Hồ sơ đã có kết quả giải quyết; không hoàn trả phí, lệ phí khi người nộp không đến nhận "
            "kết quả.",
        )
    refused = dossier.status in REFUSALS or (
        dossier.status is DossierStatus.CLOSED
        and await session.scalar(
            select(exists().where(DossierEvent.dossier_id == dossier.id, DossierEvent.action == "REFUSE"))
        )
    )
    if not refused:
        raise Refused(
            "NOT_REFUSED",
            "Chỉ hoàn trả khi hồ sơ bị từ chối vì cơ quan không thể giải quyết, hoặc khi hồ sơ đã được rút.",
        )


def _new(
    session: AsyncSession, payment: Payment, ask: RefundRequest, now: datetime, actor: Actor | None
) -> Refund:
    refund = Refund(
        id=uuid.uuid4(),
        payment_id=payment.id,
        dossier_id=payment.dossier_id,
        amount=payment.amount,
        reason=ask.reason,
        state=RefundState.PENDING,
        comment=ask.comment,
        requested_at=now,
        requested_by_id=actor.id if actor else None,
        requested_by=actor.label if actor else SYSTEM_LABEL,
        attempts=0,
        next_attempt_at=now,
    )
    session.add(refund)
    return refund


async def request_due(session: AsyncSession, *, now: datetime) -> int:
    """The automatic refunds: payments of withdrawn dossiers, and duplicate payments, that have
    no refund yet. Idempotent (one refund per payment)."""
    no_refund = ~exists().where(Refund.payment_id == Payment.id)
    withdrawn = (
        select(Payment)
        .join(Dossier, Dossier.id == Payment.dossier_id)
        .where(Payment.state == PaymentState.PAID, Dossier.status == DossierStatus.WITHDRAWN, no_refund)
    )
    duplicates = select(Payment).where(Payment.state == PaymentState.DUPLICATE, no_refund)
    count = 0
    for query, reason in ((withdrawn, RefundReason.WITHDRAWN), (duplicates, RefundReason.DUPLICATE)):
        for payment in await session.scalars(query.with_for_update(of=Payment, skip_locked=True)):
            _new(session, payment, RefundRequest(reason), now, None)
            count += 1
    await session.flush()
    return count


async def complete(
    session: AsyncSession, refund: Refund, payment: Payment, ctx: transition.ActContext, *, code: str, no: str
) -> None:
    """The gateway gave the money back: the refund is done and the dossier's trail says so."""
    refund.state = RefundState.REFUNDED
    refund.settled_at = ctx.now
    refund.response_code = code
    refund.transaction_no = no or None
    refund.last_error = None
    dossier = await transition.lock(session, refund.dossier_id)
    data = {"amount": refund.amount, "reason": refund.reason.value, "gateway": payment.gateway}
    await recording.record_refund(session, dossier, ctx, data, of_the_fees=payment.state is PaymentState.PAID)


async def payments_by_dossier_ids(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> list[list[tuple[Payment, Refund | None]]]:
    """Each dossier's payment attempts (oldest first) with their refunds, in one statement."""
    found: dict[uuid.UUID, list[tuple[Payment, Refund | None]]] = {i: [] for i in ids}
    rows = await session.execute(
        select(Payment, Refund)
        .outerjoin(Refund, Refund.payment_id == Payment.id)
        .where(Payment.dossier_id.in_(ids))
        .order_by(Payment.created_at, Payment.id)
    )
    for payment, refund in rows:
        found[payment.dossier_id].append((payment, refund))
    return [found[i] for i in ids]
