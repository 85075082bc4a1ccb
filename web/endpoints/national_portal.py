"""`POST /national-portal/dossiers`: dossiers submitted on the national public service portal,
handed to us server to server — plain HTTP outside GraphQL, answered in JSON.

Answers: 201 `{"IdHoSo", "MaHoSo", "MaHoSoQG", "TrangThai"}` for a new dossier; 200 with the same
for a retry of a request already applied; 400 `{"error": {"code", "message", "errors": [{"field",
"code", "message"}]}}` with field-level problems (Vietnamese messages, stable codes, the portal's
field names); 401 for a missing, wrong or stale signature; 409 when the portal's dossier id was
used for another request; 413 for a body over the limit; 503 when it is not configured or the
malware scanner is down (the portal retries). Never a stack trace.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from services.errors import DomainError, Refused, ValidationFailed
from services.national_portal import inbound
from web.authentication import signature_challenge
from web.runtime import Runtime

log = logging.getLogger(__name__)


def _error(status: int, code: str, message: str, errors: list[dict[str, str]] | None = None) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if errors is not None:
        body["errors"] = errors
    headers = signature_challenge("national-portal") if status == 401 else None
    return JSONResponse({"error": body}, status_code=status, headers=headers)


async def _body(request: Request, limit: int) -> bytes | None:
    """The body, or None when it is larger than `limit` (read no further than that)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return None
    chunks = bytearray()
    async for chunk in request.stream():
        chunks.extend(chunk)
        if len(chunks) > limit:
            return None
    return bytes(chunks)


async def signed_body(
    rt: Runtime, request: Request, now: datetime, *, limit: int = inbound.MAX_BODY_BYTES
) -> bytes | Response:
    """The body of a request the national portal signed (`x-dvc-timestamp`, `x-dvc-signature`), or
    the answer that refuses it: 503 not configured, 413 over `limit`, 401 a wrong or stale
    signature. Both inbound endpoints (dossiers, feedback) take their bodies through it."""
    secret = rt.settings.national_portal_signing_secret
    if secret is None:
        return _error(503, "NOT_CONFIGURED", "Chưa cấu hình kết nối Cổng Dịch vụ công quốc gia.")
    body = await _body(request, limit)
    if body is None:
        return _error(413, "TOO_LARGE", "Nội dung yêu cầu vượt quá dung lượng cho phép.")
    problem = inbound.signature_valid(
        secret,
        request.headers.get("x-dvc-timestamp", ""),
        body,
        request.headers.get("x-dvc-signature", ""),
        now=now,
        skew=rt.settings.national_portal_clock_skew_seconds,
    )
    if problem is not None:
        return _error(401, problem, "Chữ ký hoặc thời điểm của yêu cầu không hợp lệ.")
    return body


async def portal_endpoint(rt: Runtime, request: Request) -> Response:  # noqa: PLR0911 — one answer per outcome
    """`POST /national-portal/dossiers`."""
    now = rt.clock.now()
    calendar = await rt.calendar_at(now)
    settings, store, scanner, factory = rt.settings, rt.store, rt.scanner, rt.session_factory
    if store is None:
        return _error(503, "NOT_CONFIGURED", "Chưa cấu hình kết nối Cổng Dịch vụ công quốc gia.")
    body = await signed_body(rt, request, now)
    if isinstance(body, Response):
        return body
    try:
        document = orjson.loads(body)
        parsed = inbound.parse(document)
    except orjson.JSONDecodeError:
        return _error(400, "BAD_JSON", "Nội dung không phải JSON hợp lệ.")
    except ValidationFailed as error:
        return _invalid(error)
    # The request's identity is its content, not its bytes: a retry re-serialised is the same.
    digest = hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()
    async with factory() as session:
        try:
            accepted = await inbound.accept(
                session,
                store,
                scanner,
                parsed,
                digest,
                now=now,
                calendar=calendar,
                anywhere=settings.reception_anywhere_in_province,
            )
            await session.commit()
        except ValidationFailed as error:
            await session.rollback()
            return _invalid(error)
        except inbound.DuplicateSubmission as error:
            await session.rollback()
            return _error(409, error.code, error.message)
        except Refused as error:
            await session.rollback()
            return _error(503 if error.code == "SCANNER_UNAVAILABLE" else 400, error.code, error.message)
        except DomainError as error:
            await session.rollback()
            return _error(400, error.code, error.message)
        except Exception:
            log.exception("national portal dossier %s not accepted", parsed.portal_id)
            await session.rollback()
            return _error(500, "INTERNAL", "Lỗi hệ thống; vui lòng gửi lại sau.")
        dossier = accepted.dossier
        answer = {
            "IdHoSo": str(dossier.id),
            "MaHoSo": dossier.code,
            "MaHoSoQG": parsed.portal_id,
            "TrangThai": dossier.status.value,
        }
    return JSONResponse(answer, status_code=201 if accepted.created else 200)


def _invalid(error: ValidationFailed) -> Response:
    return _error(
        400,
        error.code,
        error.message,
        [{"field": inbound.portal_path(i.path), "code": i.code, "message": i.message} for i in error.issues],
    )
