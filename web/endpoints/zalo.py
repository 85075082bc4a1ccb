"""`POST /zalo/webhook`: a citizen looks a dossier up by writing `TRA <mã hồ sơ>` (or `TRACUU
<mã>`) to the province's Zalo Official Account (Kon Tum regulation art. 11.1.c; Quảng Ngãi art.
14.1). Zalo posts the OA's events here, signed `X-ZEvent-Signature: mac=<SHA-256 of app_id +
body + timestamp + OA secret key>` (`services.zalo.webhook_signature`); the reply — the public
status, as the SMS lookup answers it, nothing personal — is queued in the notification outbox as
a `ZALO_OA` message to the sender's Zalo user id, so it is retried like any message. A message Zalo
sends again (same `msg_id`) queues one reply. Other events are acknowledged and ignored. Rate
limited per Zalo user like the SMS lookup (SMS_LOOKUP_RATE_LIMIT per SMS_LOOKUP_RATE_WINDOW_SECONDS).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from models.accounts import Notification
from services.accounts.journal import Journal, RequestMeta
from services.lookup_limits import RateLimit, within
from services.zalo import ZALO_OA, moment, webhook_signed
from web.endpoints.sms import HELP, reply_for
from web.runtime import Runtime

COMMAND = re.compile(r"^\s*TRA(?:\s*CUU)?\s+(\S+)\s*$", re.IGNORECASE)
SKEW = timedelta(minutes=10)  # how old (or early) a webhook may be
REPLIES = uuid.UUID("6f1c2a52-54b5-4f0e-9d61-0e6a3c1c7a10")  # namespace of the replies' ids
REPLY_LOCK = 4242101  # pg advisory lock class of a Zalo message's reply (with the reply id's hash)
ZALO_HELP = HELP.replace("TRACUU", "TRA")
CHALLENGE = {"WWW-Authenticate": 'ZEVENT-SHA256 realm="zalo", header="X-ZEvent-Signature"'}


@dataclass(frozen=True)
class ZaloEvent:
    app_id: str
    timestamp: str
    name: str
    sender: str
    text: str
    msg_id: str


def _parse(body: bytes) -> ZaloEvent | None:
    """The parts of a webhook event used here; None when it is not one."""
    try:
        event = json.loads(body)
        message = event.get("message") or {}
        return ZaloEvent(
            app_id=str(event["app_id"]),
            timestamp=str(event["timestamp"]),
            name=str(event["event_name"]),
            sender=str((event.get("sender") or {}).get("id") or ""),
            text=str(message.get("text") or ""),
            msg_id=str(message.get("msg_id") or ""),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


async def zalo_webhook(rt: Runtime, request: Request) -> Response:  # noqa: PLR0911 — one answer per outcome
    """`POST /zalo/webhook`."""
    s, now = rt.settings, rt.clock.now()
    if not (s.zalo_oa_secret_key and s.zalo_app_id):
        return JSONResponse({"error": "Zalo not configured"}, status_code=404)
    body = await request.body()
    parsed = _parse(body)
    if parsed is None:
        return JSONResponse({"error": "not a Zalo event"}, status_code=400)
    event = parsed
    signature = request.headers.get("x-zevent-signature")
    signed = webhook_signed(event.app_id, body, event.timestamp, s.zalo_oa_secret_key, signature)
    if event.app_id != s.zalo_app_id or not signed:
        return JSONResponse({"error": "bad signature"}, status_code=401, headers=CHALLENGE)
    at = moment(event.timestamp)
    if at is None or abs(now - at) > SKEW:
        return JSONResponse({"error": "stale"}, status_code=401, headers=CHALLENGE)
    sender, msg_id = event.sender, event.msg_id
    if event.name != "user_send_text" or not sender or not msg_id:
        return JSONResponse({"ok": True})
    rate = RateLimit(s.sms_lookup_rate_limit, timedelta(seconds=s.sms_lookup_rate_window_seconds))
    journal = Journal(rt.session_factory, RequestMeta(), now)
    if not await within(journal, [f"lookup:zalo:{sender[:64]}"], rate, rt.lookups):
        return JSONResponse({"ok": True, "limited": True})  # no reply: each one is a message sent
    match = COMMAND.match(event.text)
    reply = await reply_for(rt.session_factory, f"TRACUU {match.group(1)}", s.zone) if match else ZALO_HELP
    reply = reply.replace(HELP, ZALO_HELP)
    reply_id = uuid.uuid5(REPLIES, msg_id)
    async with rt.session_factory() as session:
        # Once per message, also when Zalo calls again: the outbox is partitioned by time, so its
        # key holds `created_at` too and cannot catch a retry made later; the message's own lock
        # orders two deliveries of it, and the second finds the first's reply.
        await session.execute(select(func.pg_advisory_xact_lock(REPLY_LOCK, func.hashtext(str(reply_id)))))
        if await session.scalar(select(Notification.id).where(Notification.id == reply_id)) is None:
            session.add(
                Notification(
                    id=reply_id,
                    channel=ZALO_OA,
                    destination=sender[:320],
                    template="zalo_lookup",
                    subject="Tra cứu hồ sơ",
                    body=reply,
                    created_at=now,
                    attempts=0,
                )
            )
        await session.commit()
    return JSONResponse({"ok": True})
