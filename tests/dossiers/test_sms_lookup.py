"""`TRACUU <mã hồ sơ>` by SMS: the public status, signed by the gateway, nothing personal."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from storage.s3 import ObjectStore
from tests.conftest import SMS_KEY
from tests.dossiers.helpers import act
from tests.dossiers.test_access_and_integrity import submitted


async def sms(client: httpx.AsyncClient, text: str, key: str = SMS_KEY) -> httpx.Response:
    body = json.dumps({"from": "+84912300001", "text": text}).encode()
    signature = "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    return await client.post(
        "/sms/inbound",
        content=body,
        headers={"X-DVC-Signature": signature, "Content-Type": "application/json"},
    )


async def test_tracuu(client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore) -> None:
    s, dossier_id = await submitted(client, session, store)
    code = (await act(client, s.reception, "dossierReceive", id=dossier_id))["dossier"]["code"]
    answer = await sms(client, f"tracuu {code.lower()}")
    assert answer.status_code == 200
    reply = answer.json()["reply"]
    assert reply.startswith(f"Hồ sơ {code} (Thủ tục cấp giấy phép thử nghiệm): đang giải quyết; hẹn trả ")
    assert "Lan" not in reply
    assert (
        (await sms(client, "TRA CUU 000.00.99.H44-261127-9999"))
        .json()["reply"]
        .startswith("Không tìm thấy hồ sơ")
    )
    assert (await sms(client, "xin chao")).json()[
        "reply"
    ] == "Soạn TRACUU <mã hồ sơ> để tra cứu tình trạng hồ sơ."
    assert (await sms(client, f"TRACUU {code}", key="forged-key")).status_code == 401
    unsigned = await client.post("/sms/inbound", json={"from": "x", "text": f"TRACUU {code}"})
    assert unsigned.status_code == 401
