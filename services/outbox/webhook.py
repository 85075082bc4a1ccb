"""The generic signed webhook (consumers of kind WEBHOOK): `POST <consumer url>` with a compact
JSON object

    {"id": seq, "dossierId": "…", "dossierCode": "…" | null, "action": "RECEIVE",
     "fromStatus": "SUBMITTED" | null, "toStatus": "IN_PROGRESS", "at": "<ISO 8601>",
     "hash": "<this event's trail hash>", "prevHash": "<the previous event's hash>"}

and headers `X-DVC-Event-Id: <seq>`, `X-DVC-Timestamp: <unix seconds of the round's now>`,
`X-DVC-Signature: sha256=…` (see `services.outbox.signing`). No personal data travels: no
applicant name, ID number or contact, no comment, actor or form data — a consumer re-reads what
it needs through the API. `prevHash` lets a consumer see that it holds an unbroken chain. Only the
status code of the answer counts (2xx: acknowledged); its body is never read.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime

import httpx

from services.outbox.signing import signed_headers
from services.outbox.transport import REQUEST_TIMEOUT, Outgoing, Target, failure


def webhook_body(
    *,
    seq: int,
    dossier_id: uuid.UUID,
    code: str | None,
    action: str,
    from_status: str | None,
    to_status: str,
    at: datetime,
    hash_: str,
    prev_hash: str,
) -> bytes:
    """The request body for one event (the shape in the module docstring)."""
    document = {
        "id": seq,
        "dossierId": str(dossier_id),
        "dossierCode": code,
        "action": action,
        "fromStatus": from_status,
        "toStatus": to_status,
        "at": at.isoformat(),
        "hash": hash_,
        "prevHash": prev_hash,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


class Webhook:
    """The generic signed webhook: our JSON body, HMAC-signed with the consumer's secret."""

    async def post(
        self, client: httpx.AsyncClient, target: Target, event: Outgoing, timestamp: str
    ) -> str | None:
        headers = signed_headers(target, str(event.seq), timestamp, event.body)
        try:
            async with (
                asyncio.timeout(REQUEST_TIMEOUT),
                client.stream("POST", target.url, content=event.body, headers=headers) as response,
            ):
                # The response body is never read.
                if 200 <= response.status_code < 300:
                    return None
                return f"HTTP {response.status_code}"
        except Exception as error:  # noqa: BLE001 — any failure is the consumer's to be retried
            return failure(error)


WEBHOOK = Webhook()
