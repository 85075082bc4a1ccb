"""Reconciliation and refunds against a local gateway that speaks the merchant web API (querydr,
refund) with real signatures: pending attempts settled by query, a race with the notification
applied once, forged or late answers not trusted, refunds by the rules, sent once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.settings import Settings
from models.dossiers import Dossier, DossierEvent, PaymentStatus
from models.payments import Payment, PaymentState, Refund, RefundReason, RefundState
from services.dossiers.transition import ActContext
from services.payments import orders, settlement
from services.payments.gateway import GatewayConfig, GatewaySettings
from services.payments.vnpay_gateway import VNPayGateway
from storage.s3 import ObjectStore
from tests.conftest import CALENDAR, NOW, gql
from tests.dossiers.helpers import act
from tests.payments.gateway_server import Gateway, running
from tests.payments.helpers import ACCOUNT, MERCHANT, RETURN_URL, SECRET, submit_one, submitted, to_result

LATER = NOW + timedelta(minutes=30)  # past the link's 15 minutes and the 20 before reconciling
AFTER = timedelta(minutes=20)
REFUND = """mutation($id: ID!, $reason: RefundReason!, $comment: String) {
  r: dossierRefund(id: $id, reason: $reason, comment: $comment) {
    __typename
    ... on RefundRequested { refunds { id amount reason state attempts } }
    ... on UserError { code message }
    ... on ValidationFailed { errors { field code } } } }"""


@pytest_asyncio.fixture
async def gw() -> AsyncIterator[Gateway]:
    async with running(Gateway(MERCHANT.tmn_code, SECRET)) as gateway:
        yield gateway


def _config(gw: Gateway) -> GatewayConfig:
    settings = GatewaySettings(gw.pay_url, RETURN_URL, gw.api_url, timeout_seconds=0.5)
    return GatewayConfig(VNPayGateway(settings), {"H44.19": ACCOUNT})


def _ctx(now: Any = LATER) -> ActContext:
    return ActContext(actor=settlement.JOB_ACTOR, now=now, calendar=CALENDAR)


async def _run(
    factory: async_sessionmaker[AsyncSession], gw: Gateway, now: Any = LATER
) -> settlement.SettleRun:
    return await settlement.run(factory, _config(gw), _ctx(now), settle_after=AFTER)


async def _start(session: AsyncSession, gw: Gateway, dossier_id: uuid.UUID) -> Payment:
    config = _config(gw)
    payment, _ = await orders.start(
        session, dossier_id, config.gateway, ACCOUNT, now=NOW, client_ip="127.0.0.1"
    )
    await session.commit()
    return payment


async def _events(session: AsyncSession, dossier_id: uuid.UUID, action: str) -> int:
    count = await session.scalar(
        select(func.count()).where(DossierEvent.dossier_id == dossier_id, DossierEvent.action == action)
    )
    return int(count or 0)


async def _paid(
    client: httpx.AsyncClient, session: AsyncSession, gw: Gateway, dossier_id: uuid.UUID
) -> Payment:
    """The dossier paid at the gateway, confirmed by its IPN."""
    payment = await _start(session, gw, dossier_id)
    gw.settle(payment.txn_ref, payment.amount, "00")
    answer = await client.get("/payments/vnpay/ipn", params=gw.ipn_params(payment.txn_ref, "00"))
    assert answer.json()["RspCode"] == "00"
    await session.refresh(payment)
    assert payment.state is PaymentState.PAID
    return payment


async def test_reconciliation_settles_pending_attempts_by_query(
    client: httpx.AsyncClient,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    store: ObjectStore,
    gw: Gateway,
) -> None:
    s, paid_id = await submitted(client, session, store)
    failed_id = await submit_one(client, session, store, s)
    gone_id = await submit_one(client, session, store, s)
    paid, failed, gone = [await _start(session, gw, d) for d in (paid_id, failed_id, gone_id)]
    gw.settle(paid.txn_ref, paid.amount, "00")  # paid at the gateway; its IPN never arrived
    gw.settle(failed.txn_ref, failed.amount, "24")  # the payer cancelled
    # `gone` never reached the gateway.

    early = await _run(session_factory, gw, NOW + timedelta(minutes=5))
    assert (early.paid, early.failed, early.expired) == (0, 0, 0)  # too early to ask
    assert gw.calls == []

    done = await _run(session_factory, gw)
    assert (done.paid, done.failed, done.expired, done.errors) == (1, 1, 1, [])
    assert {c["vnp_Command"] for c in gw.calls} == {"querydr"}
    for p in (paid, failed, gone):
        await session.refresh(p)
    assert (paid.state, failed.state, gone.state) == (
        PaymentState.PAID,
        PaymentState.FAILED,
        PaymentState.EXPIRED,
    )
    assert paid.transaction_no == gw.txns[paid.txn_ref].number
    dossier = await session.get_one(Dossier, paid_id)
    await session.refresh(dossier)
    assert dossier.payment_status is PaymentStatus.PAID
    assert await _events(session, paid_id, "PAY") == 1

    calls = len(gw.calls)
    again = await _run(session_factory, gw, LATER + timedelta(minutes=5))
    assert (again.paid, again.failed, again.expired) == (0, 0, 0)
    assert len(gw.calls) == calls  # nothing pending is left to ask about
    # The IPN arriving after all that is answered "already confirmed" and changes nothing.
    late = await client.get("/payments/vnpay/ipn", params=gw.ipn_params(paid.txn_ref, "00"))
    assert late.json()["RspCode"] == "02"
    assert await _events(session, paid_id, "PAY") == 1


async def test_the_notification_and_reconciliation_racing_apply_once(
    client: httpx.AsyncClient,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    store: ObjectStore,
    gw: Gateway,
) -> None:
    _, dossier_id = await submitted(client, session, store)
    payment = await _start(session, gw, dossier_id)
    gw.settle(payment.txn_ref, payment.amount, "00")
    ipn_answers = []

    async def notify_meanwhile(_: dict[str, str]) -> None:
        # The gateway's IPN lands while reconciliation waits for the query's answer.
        answer = await client.get("/payments/vnpay/ipn", params=gw.ipn_params(payment.txn_ref, "00"))
        ipn_answers.append(answer.json()["RspCode"])

    gw.before_query = notify_meanwhile
    run = await _run(session_factory, gw)
    assert ipn_answers == ["00"]
    assert (run.paid, run.errors) == (0, [])  # the notification got there first
    await session.refresh(payment)
    assert payment.state is PaymentState.PAID
    assert await _events(session, dossier_id, "PAY") == 1


async def test_an_answer_not_signed_by_the_gateway_is_not_trusted(
    client: httpx.AsyncClient,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    store: ObjectStore,
    gw: Gateway,
) -> None:
    _, dossier_id = await submitted(client, session, store)
    payment = await _start(session, gw, dossier_id)
    gw.settle(payment.txn_ref, payment.amount, "00")
    for mode in ("bad-signature", "timeout", "error"):
        gw.mode = mode
        run = await _run(session_factory, gw)
        assert run.paid == 0, mode
        assert len(run.errors) == 1, mode
        await session.refresh(payment)
        assert payment.state is PaymentState.PENDING, mode
    assert "untrusted" in (await _run_mode(session_factory, gw, "bad-signature")).errors[0]
    gw.mode = "normal"
    assert (await _run(session_factory, gw)).paid == 1


async def _run_mode(
    factory: async_sessionmaker[AsyncSession], gw: Gateway, mode: str
) -> settlement.SettleRun:
    gw.mode = mode
    return await _run(factory, gw)


async def test_a_withdrawn_dossier_is_refunded_once(
    client: httpx.AsyncClient,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    store: ObjectStore,
    gw: Gateway,
) -> None:
    s, dossier_id = await submitted(client, session, store)
    payment = await _paid(client, session, gw, dossier_id)
    withdrawn = await act(client, s.citizen, "dossierWithdraw", id=str(dossier_id))
    assert withdrawn["dossier"]["status"] == "WITHDRAWN"

    run = await _run(session_factory, gw)
    assert (run.refunds_requested, run.refunded, run.errors) == (1, 1, [])
    (sent,) = gw.refunds
    assert (sent["vnp_TxnRef"], sent["vnp_Amount"], sent["vnp_TransactionType"]) == (
        payment.txn_ref,
        "5000000",
        "02",
    )
    assert sent["vnp_TransactionNo"] == payment.transaction_no
    refund = await session.scalar(select(Refund).where(Refund.payment_id == payment.id))
    assert refund is not None
    await session.refresh(refund)
    assert (refund.reason, refund.state, refund.attempts) == (RefundReason.WITHDRAWN, RefundState.REFUNDED, 1)
    dossier = await session.get_one(Dossier, dossier_id)
    await session.refresh(dossier)
    assert dossier.payment_status is PaymentStatus.REFUNDED
    trail = (
        await gql(
            client,
            "query($id: ID!) { dossier(id: $id) { trail { action data } } }",
            {"id": str(dossier_id)},
            token=s.citizen,
        )
    )["data"]["dossier"]["trail"]
    refunds = [e for e in trail if e["action"] == "REFUND"]
    assert len(refunds) == 1
    assert refunds[0]["data"]["amount"] == 50000

    again = await _run(session_factory, gw, LATER + timedelta(hours=1))
    assert (again.refunds_requested, again.refunded) == (0, 0)
    assert len(gw.refunds) == 1
    # Asking by hand afterwards gives the same refund.
    asked = (await gql(client, REFUND, {"id": str(dossier_id), "reason": "WITHDRAWN"}, token=s.leader))[
        "data"
    ]["r"]
    assert asked["refunds"] == [
        {"id": str(refund.id), "amount": 50000, "reason": "WITHDRAWN", "state": "REFUNDED", "attempts": 1}
    ]


async def test_no_refund_when_a_ready_result_is_not_collected(
    client: httpx.AsyncClient,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    store: ObjectStore,
    gw: Gateway,
) -> None:
    s, dossier_id = await submitted(client, session, store)
    await _paid(client, session, gw, dossier_id)
    await to_result(client, session, store, s, dossier_id)
    for reason, code in (("AGENCY_UNABLE", "RESULT_ISSUED"), ("WITHDRAWN", "NOT_WITHDRAWN")):
        asked = await gql(
            client,
            REFUND,
            {"id": str(dossier_id), "reason": reason, "comment": "Không đến nhận"},
            token=s.leader,
        )
        assert asked["data"]["r"]["code"] == code
    run = await _run(session_factory, gw, LATER + timedelta(days=30))
    assert (run.refunds_requested, run.refunded) == (0, 0)
    assert gw.refunds == []
    assert await session.scalar(select(func.count()).select_from(Refund)) == 0


async def test_a_refusal_because_the_agency_cannot_act_is_refunded_on_request(
    client: httpx.AsyncClient,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    store: ObjectStore,
    gw: Gateway,
) -> None:
    s, dossier_id = await submitted(client, session, store)
    await _paid(client, session, gw, dossier_id)
    variables = {"id": str(dossier_id), "reason": "AGENCY_UNABLE", "comment": "Cơ quan không thể thực hiện"}
    early = (await gql(client, REFUND, variables, token=s.leader))["data"]["r"]
    assert early["code"] == "NOT_REFUSED"  # still being handled
    refused = await act(
        client,
        s.reception,
        "dossierRefuseReceipt",
        "reasons: $reasons",
        id=str(dossier_id),
        reasons=["Cơ quan không còn thẩm quyền giải quyết"],
    )
    assert refused["dossier"]["status"] == "REJECTED"
    no_reason = (await gql(client, REFUND, {**variables, "comment": " "}, token=s.leader))["data"]["r"]
    assert no_reason["errors"] == [{"field": ["comment"], "code": "REQUIRED"}]
    asked = (await gql(client, REFUND, variables, token=s.leader))["data"]["r"]
    assert asked["__typename"] == "RefundRequested"
    assert asked["refunds"][0]["state"] == "PENDING"
    twice = (await gql(client, REFUND, variables, token=s.leader))["data"]["r"]
    assert twice["refunds"] == asked["refunds"]
    run = await _run(session_factory, gw)
    assert (run.refunds_requested, run.refunded) == (0, 1)
    assert len(gw.refunds) == 1


async def test_only_a_leader_of_the_competent_agency_can_ask_for_a_refund(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore, gw: Gateway
) -> None:
    s, dossier_id = await submitted(client, session, store)
    await _paid(client, session, gw, dossier_id)
    await act(client, s.citizen, "dossierWithdraw", id=str(dossier_id))
    variables = {"id": str(dossier_id), "reason": "WITHDRAWN"}
    for token in (s.citizen, s.reception, s.specialist, s.tax):  # the applicant, other roles, other agencies
        other = (await gql(client, REFUND, variables, token=token))["data"]["r"]
        assert other["code"] == "NOT_FOUND"
    anonymous = await gql(client, REFUND, variables, expect_errors=True)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await session.scalar(select(func.count()).select_from(Refund)) == 0
    leader = (await gql(client, REFUND, variables, token=s.leader))["data"]["r"]
    assert leader["__typename"] == "RefundRequested"
    unknown = (await gql(client, REFUND, {**variables, "id": str(uuid.uuid4())}, token=s.leader))["data"]["r"]
    assert unknown["code"] == "NOT_FOUND"


async def test_a_duplicate_payment_is_refunded_and_the_dossier_stays_paid(
    client: httpx.AsyncClient,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    store: ObjectStore,
    gw: Gateway,
) -> None:
    _, dossier_id = await submitted(client, session, store)
    first = await _start(session, gw, dossier_id)
    first.state = PaymentState.EXPIRED  # given up on; its late success still arrives
    await session.commit()
    second = await _paid(client, session, gw, dossier_id)
    gw.settle(first.txn_ref, first.amount, "00")
    late = await client.get("/payments/vnpay/ipn", params=gw.ipn_params(first.txn_ref, "00"))
    assert late.json()["RspCode"] == "00"
    await session.refresh(first)
    assert first.state is PaymentState.DUPLICATE

    run = await _run(session_factory, gw)
    assert (run.refunds_requested, run.refunded) == (1, 1)
    assert [r["vnp_TxnRef"] for r in gw.refunds] == [first.txn_ref]
    dossier = await session.get_one(Dossier, dossier_id)
    await session.refresh(dossier)
    assert dossier.payment_status is PaymentStatus.PAID
    await session.refresh(second)
    assert second.state is PaymentState.PAID
    assert await _events(session, dossier_id, "REFUND") == 1


@pytest.mark.parametrize("failure", ["error", "lose-refund-answer"])
async def test_a_refund_retried_after_a_gateway_failure_applies_once(
    client: httpx.AsyncClient,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    store: ObjectStore,
    gw: Gateway,
    failure: str,
) -> None:
    s, dossier_id = await submitted(client, session, store)
    payment = await _paid(client, session, gw, dossier_id)
    await act(client, s.citizen, "dossierWithdraw", id=str(dossier_id))
    gw.mode = failure
    first = await _run(session_factory, gw)
    assert (first.refunds_requested, first.refunded, len(first.errors)) == (1, 0, 1)
    refund = await session.scalar(select(Refund).where(Refund.payment_id == payment.id))
    assert refund is not None
    await session.refresh(refund)
    assert (refund.state, refund.attempts) == (RefundState.PENDING, 1)
    assert refund.last_error
    gw.mode = "normal"
    soon = await _run(session_factory, gw, LATER + timedelta(seconds=10))  # before the back-off ends
    assert soon.refunded == 0
    retried = await _run(session_factory, gw, LATER + timedelta(minutes=5))
    assert (retried.refunded, retried.errors) == (1, [])
    assert len(gw.refunds) == 1  # the money went back once
    refund_calls = [c for c in gw.calls if c["vnp_Command"] == "refund"]
    assert len(refund_calls) == (2 if failure == "error" else 1)
    await session.refresh(refund)
    assert (refund.state, refund.attempts) == (RefundState.REFUNDED, 2)
    assert await _events(session, dossier_id, "REFUND") == 1


async def test_the_job_runs_with_the_configured_gateway(
    client: httpx.AsyncClient,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    store: ObjectStore,
    settings: Settings,
    gw: Gateway,
) -> None:
    _, dossier_id = await submitted(client, session, store)
    payment = await _start(session, gw, dossier_id)
    gw.settle(payment.txn_ref, payment.amount, "00")
    configured = settings.model_copy(update={"vnpay_pay_url": gw.pay_url, "vnpay_api_url": gw.api_url})
    run = await settlement.run_configured(session_factory, configured, CALENDAR, LATER)
    assert run is not None
    assert (run.paid, run.errors) == (1, [])
    assert "1 đã thanh toán" in run.summary()
    off = settings.model_copy(update={"vnpay_pay_url": None})
    assert await settlement.run_configured(session_factory, off, CALENDAR, LATER) is None
