"""Inbound SMS lookup: a citizen texts `TRACUU <mã hồ sơ>` and gets the public status back.

The SMS gateway POSTs `{"from": "+849…", "text": "TRACUU 000.00.99.H44-261127-0001"}` to
`/sms/inbound`, signed like our outgoing messages (`X-DVC-Signature: sha256=<HMAC-SHA256 of the
raw body with SMS_GATEWAY_KEY>`); the answer `{"reply": "…"}` is the text the gateway sends back.
Only what the public lookup shows is answered; nothing personal.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.db import SessionFactory
from models.catalog import ProcedureVersion
from services.accounts.journal import Journal, RequestMeta
from services.dossiers.queries import lookup
from services.dossiers.workflow import STATUS_LABELS
from services.lookup_limits import LOOKUP_REFUSED, RateLimit, within
from web.authentication import signature_challenge
from web.runtime import Runtime

COMMAND = re.compile(r"^\s*TRA\s*CUU\s+(\S+)\s*$", re.IGNORECASE)
HELP = "Soạn TRACUU <mã hồ sơ> để tra cứu tình trạng hồ sơ."


def _signed(key: str, body: bytes, header: str | None) -> bool:
    expected = "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    return header is not None and hmac.compare_digest(expected, header)


async def reply_for(factory: SessionFactory, text: str, zone: ZoneInfo) -> str:
    match = COMMAND.match(text or "")
    if match is None:
        return HELP
    code = match.group(1).upper()
    async with factory() as session:
        found = await lookup(session, code)
        if found is None or found.dossier.code is None:
            return f"Không tìm thấy hồ sơ {code}. {HELP}"
        d = found.dossier
        version = await session.get(ProcedureVersion, d.procedure_version_id)
    reply = f"Hồ sơ {d.code}"
    if version is not None:
        reply += f" ({version.name})"
    reply += f": {STATUS_LABELS[d.status]}"
    if d.appointment_at and d.finished_at is None:
        reply += f"; hẹn trả {d.appointment_at.astimezone(zone):%d/%m/%Y}"
    if d.finished_at:
        reply += f"; kết thúc {d.finished_at.astimezone(zone):%d/%m/%Y}"
    return reply[:320]


async def sms_endpoint(rt: Runtime, request: Request) -> Response:
    """`POST /sms/inbound`: a signed message in, the reply out; rate limited per sender number."""
    s, now = rt.settings, rt.clock.now()
    key = s.sms_gateway_key
    if not key:
        return JSONResponse({"error": "SMS gateway not configured"}, status_code=404)
    body = await request.body()
    if not _signed(key, body, request.headers.get("x-dvc-signature")):
        return JSONResponse({"error": "bad signature"}, status_code=401, headers=signature_challenge("sms"))
    try:
        message = json.loads(body)
        text = str(message["text"])
        sender = str(message.get("from") or "")[:32]
    except (ValueError, KeyError, TypeError, AttributeError):
        return JSONResponse({"error": "expected {from, text}"}, status_code=400)
    rate = RateLimit(s.sms_lookup_rate_limit, timedelta(seconds=s.sms_lookup_rate_window_seconds))
    # Per sender number: no reply at all when over (each reply is a paid message).
    journal = Journal(rt.session_factory, RequestMeta(), now)
    if not await within(journal, [f"lookup:sms:{sender or '-'}"], rate, rt.lookups):
        wait = rate.retry_after(now)
        return JSONResponse(
            {"error": LOOKUP_REFUSED, "code": "RATE_LIMITED", "retryAfterSeconds": wait, "reply": None},
            status_code=429,
            headers={"Retry-After": str(wait)},
        )
    return JSONResponse({"reply": await reply_for(rt.session_factory, text, s.zone)})
