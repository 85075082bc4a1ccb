"""A dossier that owes fees, and what the payment gateway sends, signed as it signs."""

from __future__ import annotations

import hashlib
import hmac
import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from services.payments import vnpay
from services.payments.gateway import Account, GatewaySettings
from services.payments.vnpay_gateway import VNPayGateway
from storage.s3 import ObjectStore
from tests.conftest import gql
from tests.dossiers.helpers import DRAFT_RESULT, Scene, act, scene, upload

SECRET = "GATEWAYSECRET0123456789"
PAY_URL = "http://127.0.0.1:9/pay"
RETURN_URL = "http://127.0.0.1:8000/payments/return"
MERCHANT = vnpay.Merchant("PTHO0001", SECRET, PAY_URL, RETURN_URL)
ACCOUNT = Account(MERCHANT.tmn_code, SECRET)
ACCOUNTS = {ACCOUNT.merchant: ACCOUNT}
GATEWAY = VNPayGateway(GatewaySettings(PAY_URL, RETURN_URL, api_url=None))
MERCHANTS_SETTING = f"H44.19={MERCHANT.tmn_code}:{SECRET}"  # the competent agency's fee account
SAVE = """mutation($input: DossierDraftInput!) { r: dossierSaveDraft(input: $input) { %s } }""" % DRAFT_RESULT


async def submitted(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> tuple[Scene, uuid.UUID]:
    """An online dossier owing 50 000 đ (the charge's online amount)."""
    s = await scene(client, session)
    return s, await submit_one(client, session, store, s)


async def submit_one(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore, s: Scene
) -> uuid.UUID:
    """Another dossier of the scene's citizen, submitted online."""
    form = await upload(session, store, s.citizen_id)
    draft_input = {
        "procedureCode": s.code,
        "receivingAgencyCode": "H44.99",
        "formData": {"hoTen": "Nguyễn Thị Lan"},
        "components": [{"componentId": s.components["Tờ khai theo mẫu"], "fileIds": [form]}],
        "deliveryMethod": "ONLINE",
    }
    draft = (await gql(client, SAVE, {"input": draft_input}, token=s.citizen))["data"]["r"]
    submitted = await act(client, s.citizen, "dossierSubmit", id=draft["dossier"]["id"])
    assert submitted["dossier"]["status"] == "SUBMITTED"
    return uuid.UUID(submitted["dossier"]["id"])


async def to_result(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore, s: Scene, dossier_id: uuid.UUID
) -> None:
    """Through the workflow to an approved result waiting to be collected."""
    for token, mutation in (
        (s.reception, "dossierReceive"),
        (s.specialist, "dossierForward"),
        (s.tax, "dossierForward"),
    ):
        done = await act(client, token, mutation, id=str(dossier_id))
        assert done["__typename"] == "DossierChanged", done
    result = await upload(session, store, None, "giay-phep.pdf")
    approved = await act(
        client, s.leader, "dossierApprove", "resultFileIds: $files", id=str(dossier_id), files=[result]
    )
    assert approved["dossier"]["status"] == "RESULT_READY", approved


def ipn(txn_ref: str, amount: int, *, code: str = "00", secret: str = SECRET, **extra: str) -> dict[str, str]:
    """What the gateway sends, signed as it signs (computed here, not by the code under test)."""
    params = {
        "vnp_Amount": str(amount * 100),
        "vnp_BankCode": "NCB",
        "vnp_PayDate": "20261126091203",
        "vnp_ResponseCode": code,
        "vnp_TmnCode": MERCHANT.tmn_code,
        "vnp_TransactionNo": "14226112",
        "vnp_TransactionStatus": code,
        "vnp_TxnRef": txn_ref,
        **extra,
    }
    signed = "&".join(f"{k}={v}" for k, v in sorted(params.items()))  # no value here needs escaping
    params["vnp_SecureHash"] = hmac.new(secret.encode(), signed.encode(), hashlib.sha512).hexdigest()
    return params
