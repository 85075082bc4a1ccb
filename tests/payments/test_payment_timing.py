"""A procedure whose fees are paid "before the result": the result is not returned while the fees
owed online are unpaid; once paid, it is."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog import PaymentTiming, Procedure, ProcedureVersion
from models.dossiers import Dossier
from services.payments import orders
from storage.s3 import ObjectStore
from tests.catalog.factories import CREATE, procedure_input
from tests.conftest import NOW, admin_gql, gql
from tests.dossiers.helpers import act
from tests.payments.helpers import ACCOUNT, GATEWAY, ipn, submitted, to_result

RETURN = ("dossierReturn", "method: $method")


async def _timing(session: AsyncSession, dossier_id: uuid.UUID, timing: PaymentTiming) -> None:
    dossier = await session.get_one(Dossier, dossier_id)
    version = await session.get_one(ProcedureVersion, dossier.procedure_version_id)
    version.payment_timing = timing
    await session.commit()


async def test_fees_owed_before_the_result_hold_the_result_back_until_paid(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    s, dossier_id = await submitted(client, session, store)
    procedure = await session.scalar(select(Procedure).where(Procedure.code == s.code))
    assert procedure is not None
    version = await session.get_one(ProcedureVersion, procedure.published_version_id)
    assert version.payment_timing is PaymentTiming.AT_SUBMISSION  # the default
    await _timing(session, dossier_id, PaymentTiming.BEFORE_RESULT)
    await to_result(client, session, store, s, dossier_id)

    held = await act(client, s.reception, RETURN[0], RETURN[1], id=str(dossier_id), method="ONLINE")
    assert held["__typename"] == "InvalidTransition"
    assert "trước khi nhận kết quả" in held["message"]
    dossier = await session.get_one(Dossier, dossier_id)
    await session.refresh(dossier)
    assert dossier.status.value == "RESULT_READY"  # nothing half-done

    payment, _ = await orders.start(session, dossier_id, GATEWAY, ACCOUNT, now=NOW, client_ip="127.0.0.1")
    await session.commit()
    paid = await client.get("/payments/vnpay/ipn", params=ipn(payment.txn_ref, payment.amount))
    assert paid.json()["RspCode"] == "00"
    returned = await act(client, s.reception, RETURN[0], RETURN[1], id=str(dossier_id), method="ONLINE")
    assert returned["dossier"]["status"] == "CLOSED"


async def test_fees_owed_at_submission_do_not_hold_the_result_back(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    s, dossier_id = await submitted(client, session, store)
    await to_result(client, session, store, s, dossier_id)
    returned = await act(client, s.reception, RETURN[0], RETURN[1], id=str(dossier_id), method="ONLINE")
    assert returned["dossier"]["status"] == "CLOSED"
    assert returned["dossier"]["paymentStatus"] == "UNPAID"


async def test_payment_timing_is_set_in_the_catalog_and_payments_are_listed_on_the_dossier(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    created = await admin_gql(
        client, CREATE, {"input": procedure_input("9.999777", paymentTiming="BEFORE_RESULT")}
    )
    assert created["procedureCreate"]["__typename"] == "ProcedureSaved", created
    read = await admin_gql(client, '{ procedure(code: "9.999777", version: 1) { paymentTiming } }')
    assert read["procedure"]["paymentTiming"] == "BEFORE_RESULT"

    s, dossier_id = await submitted(client, session, store)
    payment, _ = await orders.start(session, dossier_id, GATEWAY, ACCOUNT, now=NOW, client_ip="127.0.0.1")
    await session.commit()
    assert (await client.get("/payments/vnpay/ipn", params=ipn(payment.txn_ref, payment.amount))).json()[
        "RspCode"
    ] == "00"
    query = "query($id: ID!) { dossier(id: $id) { paymentStatus payments { orderRef amount state refund { state } } } }"
    mine = (await gql(client, query, {"id": str(dossier_id)}, token=s.citizen))["data"]["dossier"]
    assert mine["paymentStatus"] == "PAID"
    assert mine["payments"] == [
        {"orderRef": payment.txn_ref, "amount": payment.amount, "state": "PAID", "refund": None}
    ]
