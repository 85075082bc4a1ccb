"""Paying a dossier online: the attempt, and every kind of notification the gateway may send —
genuine, replayed, reordered, tampered, for another amount, order or merchant — against the real
database."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor, ActorKind
from models.dossiers import Dossier, DossierEvent, PaymentStatus
from models.payments import Payment, PaymentState
from services.dossiers.transition import ActContext
from services.errors import Refused
from services.payments import orders
from services.payments.gateway import Outcome
from storage.s3 import ObjectStore
from tests.conftest import CALENDAR, NOW
from tests.payments.helpers import ACCOUNT, ACCOUNTS, GATEWAY, ipn, submitted

SYSTEM = ActContext(actor=Actor(ActorKind.SYSTEM, name="Cổng thanh toán"), now=NOW, calendar=CALENDAR)


async def _apply(session: AsyncSession, params: Mapping[str, str]) -> Outcome:
    answer = await orders.apply_notification(session, params, GATEWAY, ACCOUNTS, SYSTEM)
    await session.commit()
    return answer


async def _start(session: AsyncSession, dossier_id: uuid.UUID) -> tuple[Payment, str]:
    payment, url = await orders.start(session, dossier_id, GATEWAY, ACCOUNT, now=NOW, client_ip="127.0.0.1")
    await session.commit()
    return payment, url


async def test_a_genuine_notification_pays_the_dossier_once(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    dossier_id = (await submitted(client, session, store))[1]
    payment, url = await _start(session, dossier_id)
    assert (payment.amount, payment.state) == (50000, PaymentState.PENDING)
    sent = dict(parse_qsl(urlsplit(url).query))
    assert (sent["vnp_TxnRef"], sent["vnp_Amount"]) == (payment.txn_ref, "5000000")

    genuine = ipn(payment.txn_ref, 50000)
    assert await _apply(session, genuine) == Outcome.CONFIRMED
    await session.refresh(payment)
    dossier = await session.get_one(Dossier, dossier_id)
    await session.refresh(dossier)
    assert payment.state is PaymentState.PAID
    assert payment.transaction_no == "14226112"
    assert dossier.payment_status is PaymentStatus.PAID
    paid_events = await session.scalar(
        select(func.count()).where(DossierEvent.dossier_id == dossier_id, DossierEvent.action == "PAY")
    )
    assert paid_events == 1

    # The gateway retries: answered "already confirmed", nothing applied twice.
    assert await _apply(session, genuine) == Outcome.ALREADY_CONFIRMED
    # A failure arriving after the success (reordered) changes nothing.
    assert await _apply(session, ipn(payment.txn_ref, 50000, code="24")) == Outcome.ALREADY_CONFIRMED
    await session.refresh(payment)
    assert payment.state is PaymentState.PAID
    assert (
        await session.scalar(
            select(func.count()).where(DossierEvent.dossier_id == dossier_id, DossierEvent.action == "PAY")
        )
        == 1
    )
    # Nothing is left to pay.
    with pytest.raises(Refused) as refused:
        await orders.start(session, dossier_id, GATEWAY, ACCOUNT, now=NOW, client_ip="127.0.0.1")
    assert refused.value.code == "NOTHING_TO_PAY"
    await session.rollback()


async def test_bad_notifications_change_nothing(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    dossier_id = (await submitted(client, session, store))[1]
    payment, _ = await _start(session, dossier_id)
    good = ipn(payment.txn_ref, 50000)
    tampered = {**good, "vnp_Amount": "100"}
    cases = {
        "tampered": (tampered, Outcome.INVALID_SIGNATURE),
        "other secret": (ipn(payment.txn_ref, 50000, secret="WRONG"), Outcome.INVALID_SIGNATURE),
        "unknown merchant": ({**good, "vnp_TmnCode": "NOBODY"}, Outcome.INVALID_SIGNATURE),
        "wrong amount": (ipn(payment.txn_ref, 5000), Outcome.INVALID_AMOUNT),
        "unknown order": (ipn(uuid.uuid4().hex, 50000), Outcome.ORDER_NOT_FOUND),
    }
    for name, (params, answer) in cases.items():
        assert await _apply(session, params) == answer, name
    await session.refresh(payment)
    dossier = await session.get_one(Dossier, dossier_id)
    await session.refresh(dossier)
    assert payment.state is PaymentState.PENDING
    assert payment.notification is None
    assert dossier.payment_status is PaymentStatus.UNPAID
    # The genuine one still goes through afterwards.
    assert await _apply(session, good) == Outcome.CONFIRMED


async def test_failures_late_successes_and_double_payments(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    dossier_id = (await submitted(client, session, store))[1]
    cancelled, _ = await _start(session, dossier_id)
    assert await _apply(session, ipn(cancelled.txn_ref, 50000, code="24")) == Outcome.CONFIRMED
    await session.refresh(cancelled)
    assert cancelled.state is PaymentState.FAILED
    # The payer tries again, twice (two tabs); both are paid at the gateway.
    first, first_url = await _start(session, dossier_id)
    again, again_url = await _start(session, dossier_id)  # a retry: the same order and link
    assert (again.id, again_url) == (first.id, first_url)
    first.state = PaymentState.EXPIRED  # given up on before its late answer arrives
    await session.commit()
    second, _ = await _start(session, dossier_id)
    assert second.id != first.id
    assert await _apply(session, ipn(first.txn_ref, 50000)) == Outcome.CONFIRMED
    assert await _apply(session, ipn(second.txn_ref, 50000)) == Outcome.CONFIRMED
    for p in (first, second):
        await session.refresh(p)
    assert (first.state, second.state) == (PaymentState.PAID, PaymentState.DUPLICATE)
    dossier = await session.get_one(Dossier, dossier_id)
    await session.refresh(dossier)
    assert dossier.payment_status is PaymentStatus.PAID


async def test_a_dossier_with_nothing_to_pay_cannot_be_paid(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    dossier_id = (await submitted(client, session, store))[1]
    dossier = await session.get_one(Dossier, dossier_id)
    dossier.payment_status = PaymentStatus.NOT_REQUIRED
    await session.commit()
    with pytest.raises(Refused) as refused:
        await orders.start(
            session, dossier_id, GATEWAY, ACCOUNT, now=NOW + timedelta(minutes=1), client_ip="::1"
        )
    assert refused.value.code == "NOTHING_TO_PAY"
    await session.rollback()
    assert await session.scalar(select(func.count()).select_from(Payment)) == 0
