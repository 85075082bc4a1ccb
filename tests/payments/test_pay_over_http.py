"""Paying through the API: the applicant asks to pay over GraphQL, the gateway notifies over
HTTP, and the dossier shows it paid. Nobody else can start a payment for the dossier."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import create_app
from core.clock import FixedClock
from core.settings import Settings
from devservers import EmbeddedClamd
from models.catalog import Procedure, ProcedureComponent
from storage.clamav import ClamAV
from storage.s3 import ObjectStore
from tests.accounts.helpers import token_for
from tests.catalog.factories import CREATE, PUBLISH, procedure_input
from tests.conftest import admin_gql, app_runtime, gql
from tests.dossiers.helpers import scene, upload
from tests.payments.gateway_server import Gateway, running
from tests.payments.helpers import MERCHANT, PAY_URL, RETURN_URL, SAVE, SECRET, ipn, submit_one, submitted

PAY = """mutation($id: ID!) { r: dossierPay(id: $id) {
  __typename
  ... on PaymentStarted { paymentUrl amount expiresAt reference }
  ... on UserError { code message }
  ... on ValidationFailed { errors { field code } } } }"""
STATUS = "query($id: ID!) { dossier(id: $id) { paymentStatus trail { action data } } }"


async def test_the_applicant_pays_and_the_gateway_confirms(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    s, dossier_id = await submitted(client, session, store)
    started = (await gql(client, PAY, {"id": str(dossier_id)}, token=s.citizen))["data"]["r"]
    assert started["__typename"] == "PaymentStarted"
    assert started["amount"] == 50000
    url = urlsplit(started["paymentUrl"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == PAY_URL
    sent = dict(parse_qsl(url.query))
    assert (sent["vnp_TmnCode"], sent["vnp_TxnRef"]) == (MERCHANT.tmn_code, started["reference"])
    # Asking again while the link is valid gives the same order.
    again = (await gql(client, PAY, {"id": str(dossier_id)}, token=s.citizen))["data"]["r"]
    assert again["reference"] == started["reference"]

    tampered = {**ipn(started["reference"], 50000), "vnp_Amount": "100"}
    refused = await client.get("/payments/vnpay/ipn", params=tampered)
    assert refused.json() == {"RspCode": "97", "Message": "Invalid signature"}
    before = (await gql(client, STATUS, {"id": str(dossier_id)}, token=s.citizen))["data"]["dossier"]
    assert before["paymentStatus"] == "UNPAID"

    confirmed = await client.get("/payments/vnpay/ipn", params=ipn(started["reference"], 50000))
    assert confirmed.json() == {"RspCode": "00", "Message": "Confirm Success"}
    replayed = await client.get("/payments/vnpay/ipn", params=ipn(started["reference"], 50000))
    assert replayed.json()["RspCode"] == "02"
    after = (await gql(client, STATUS, {"id": str(dossier_id)}, token=s.citizen))["data"]["dossier"]
    assert after["paymentStatus"] == "PAID"
    paid = [e for e in after["trail"] if e["action"] == "PAY"]
    assert len(paid) == 1
    assert paid[0]["data"]["amount"] == 50000
    done = (await gql(client, PAY, {"id": str(dossier_id)}, token=s.citizen))["data"]["r"]
    assert done["code"] == "NOTHING_TO_PAY"


async def test_only_the_applicant_can_start_a_payment(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    s, dossier_id = await submitted(client, session, store)
    stranger = await token_for(client, session, 2)  # another citizen
    for token in (stranger, s.reception, s.specialist):
        other = (await gql(client, PAY, {"id": str(dossier_id)}, token=token))["data"]["r"]
        assert other["code"] == "NOT_FOUND"
    anonymous = await gql(client, PAY, {"id": str(dossier_id)}, expect_errors=True)
    assert anonymous["data"] is None
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    bad = (await gql(client, PAY, {"id": "not-an-id"}, token=s.citizen))["data"]["r"]
    assert bad["errors"] == [{"field": ["id"], "code": "BAD_ID"}]


async def test_a_fee_waived_online_is_owed_only_at_the_counter(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    s = await scene(client, session)
    fees = [{"kind": "CHARGE", "name": "Lệ phí", "amount": 20000, "onlineAmount": 0}]
    created = await admin_gql(client, CREATE, {"input": procedure_input("9.999002", fees=fees)})
    assert created["procedureCreate"]["__typename"] == "ProcedureSaved"
    published = await admin_gql(
        client, PUBLISH, {"code": "9.999002", "number": "2/QĐ-UBND", "date": "2026-11-01"}
    )
    assert published["procedurePublish"]["__typename"] == "ProcedurePublished"
    draft_input = {
        "procedureCode": "9.999002",
        "receivingAgencyCode": "H44.99",
        "formData": {},
        "components": [],
    }
    online = (await gql(client, SAVE, {"input": draft_input}, token=s.citizen))["data"]["r"]["dossier"]
    assert online["paymentStatus"] == "NOT_REQUIRED"
    assert online["feesDue"]["total"] == 0

    procedure = await session.scalar(select(Procedure).where(Procedure.code == "9.999002"))
    assert procedure is not None
    form = await session.scalar(
        select(ProcedureComponent.id).where(
            ProcedureComponent.version_id == procedure.published_version_id,
            ProcedureComponent.name == "Tờ khai theo mẫu",
        )
    )
    reception_id = (await gql(client, "{ me { id } }", token=s.reception))["data"]["me"]["id"]
    scan = await upload(session, store, uuid.UUID(reception_id))
    register = """mutation($c: [ComponentFilesInput!]!) {
      r: dossierRegisterAtCounter(procedureCode: "9.999002", receivingAgencyCode: "H44.99",
        applicant: {name: "Trần Văn Nam"}, formData: {hoTen: "Trần Văn Nam"}, components: $c) {
        ... on DossierChanged { dossier { paymentStatus feesDue { total } } } } }"""
    counter = await gql(
        client, register, {"c": [{"componentId": str(form), "fileIds": [scan]}]}, token=s.reception
    )
    assert counter["data"]["r"]["dossier"] == {"paymentStatus": "UNPAID", "feesDue": {"total": 20000}}


@pytest_asyncio.fixture
async def gateway_client(
    clamd: EmbeddedClamd,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    store: ObjectStore,
    clock: FixedClock,
) -> AsyncIterator[tuple[httpx.AsyncClient, Gateway]]:
    """The app configured with a local gateway that calls the app's IPN the way the gateway does."""
    gateway = Gateway(MERCHANT.tmn_code, SECRET)
    async with running(gateway):
        configured = settings.model_copy(
            update={"vnpay_pay_url": gateway.pay_url, "vnpay_api_url": gateway.api_url}
        )
        runtime = app_runtime(
            configured, session_factory, store, clock=clock, scanner=ClamAV(clamd.socket_path)
        )
        transport = httpx.ASGITransport(app=create_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as app_client:

            async def deliver(params: dict[str, str]) -> dict[str, Any]:
                answer: dict[str, Any] = (await app_client.get("/payments/vnpay/ipn", params=params)).json()
                return answer

            gateway.deliver = deliver
            yield app_client, gateway


async def test_paying_through_the_gateway_end_to_end(
    gateway_client: tuple[httpx.AsyncClient, Gateway], session: AsyncSession, store: ObjectStore
) -> None:
    client, gw = gateway_client
    s, dossier_id = await submitted(client, session, store)
    cancelled_id = await submit_one(client, session, store, s)

    # The payer gives up at the gateway: the attempt fails, the dossier still owes.
    gw.outcome = "24"
    started = (await gql(client, PAY, {"id": str(cancelled_id)}, token=s.citizen))["data"]["r"]
    async with httpx.AsyncClient() as browser:
        back = await browser.get(started["paymentUrl"])
    assert back.status_code == 302
    assert gw.ipn_answers == [{"RspCode": "00", "Message": "Confirm Success"}]
    cancelled = (await gql(client, STATUS, {"id": str(cancelled_id)}, token=s.citizen))["data"]["dossier"]
    assert cancelled["paymentStatus"] == "UNPAID"

    # The payer pays: the browser follows the signed URL to the gateway, which notifies the app
    # server to server and sends the browser back with the signed result.
    gw.outcome = "00"
    started = (await gql(client, PAY, {"id": str(dossier_id)}, token=s.citizen))["data"]["r"]
    assert started["paymentUrl"].startswith(gw.pay_url + "?")
    async with httpx.AsyncClient() as browser:
        back = await browser.get(started["paymentUrl"])
    assert back.status_code == 302
    location = urlsplit(back.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == RETURN_URL
    returned = dict(parse_qsl(location.query))
    assert (returned["vnp_TxnRef"], returned["vnp_ResponseCode"]) == (started["reference"], "00")
    assert gw.ipn_answers[-1] == {"RspCode": "00", "Message": "Confirm Success"}
    paid = (await gql(client, STATUS, {"id": str(dossier_id)}, token=s.citizen))["data"]["dossier"]
    assert paid["paymentStatus"] == "PAID"

    ref, deliver = started["reference"], gw.deliver
    assert deliver is not None
    replayed = await deliver(gw.ipn_params(ref, "00"))
    reordered = await deliver(gw.ipn_params(ref, "24"))
    tampered = await deliver({**gw.ipn_params(ref, "00"), "vnp_TransactionNo": "99999999"})
    wrong_amount = await deliver(gw.ipn_params(ref, "00", vnp_Amount="500000"))
    assert [replayed["RspCode"], reordered["RspCode"], tampered["RspCode"], wrong_amount["RspCode"]] == [
        "02",
        "02",
        "97",
        "04",
    ]
    after = (await gql(client, STATUS, {"id": str(dossier_id)}, token=s.citizen))["data"]["dossier"]
    assert after["paymentStatus"] == "PAID"
    assert len([e for e in after["trail"] if e["action"] == "PAY"]) == 1
