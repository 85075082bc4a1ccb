"""`POST /national-portal/feedback`: messages of the national feedback system (new feedback for
this province, withdrawals, answers given there) — see `services.national_portal.pakn_inbound`.

Answers: 201 `{"IdPAKN", "MaPAKN", "MaPAKNQG", "TrangThai"}` for a new inquiry, 200 with the
same for an update or for a retry of a message already applied; 400 with field problems (the
national system's field names); 401 for a missing, wrong or stale signature; 404 for an update
of feedback it never handed us; 409 for another message under a used id, or a change the
inquiry's status does not allow; 413 over the size limit; 503 when not configured.
"""

from __future__ import annotations

import hashlib
import logging

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from services.errors import DomainError, InvalidTransition, NotFound, ValidationFailed
from services.feedback.classification import Deadlines
from services.national_portal import pakn_inbound
from web.endpoints.national_portal import _error, signed_body
from web.runtime import Runtime

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 256 * 1024


async def feedback_endpoint(rt: Runtime, request: Request) -> Response:  # noqa: PLR0911 — one answer per outcome
    """`POST /national-portal/feedback`."""
    now = rt.clock.now()
    settings = rt.settings
    body = await signed_body(rt, request, now, limit=MAX_BODY_BYTES)
    if isinstance(body, Response):
        return body
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _error(400, "BAD_JSON", "Nội dung không phải JSON hợp lệ.")
    # The message's identity is its content, not its bytes: a retry re-serialised is the same.
    digest = hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()
    rules = Deadlines(settings.feedback_answer_days, settings.feedback_focal_agency)
    calendar = await rt.calendar_at(now)
    async with rt.session_factory() as session:
        try:
            applied = await pakn_inbound.apply(
                session, document, digest, now=now, calendar=calendar, rules=rules
            )
            answer = pakn_inbound.inquiry_ref(applied.inquiry)
            await session.commit()
        except ValidationFailed as error:
            await session.rollback()
            fields = [
                {"field": ".".join(map(str, i.path)), "code": i.code, "message": i.message}
                for i in error.issues
            ]
            return _error(400, error.code, error.message, fields)
        except NotFound as error:
            await session.rollback()
            return _error(404, error.code, error.message)
        except (pakn_inbound.DuplicateMessage, InvalidTransition) as error:
            await session.rollback()
            return _error(409, error.code, error.message)
        except DomainError as error:
            await session.rollback()
            return _error(400, error.code, error.message)
        except Exception:
            log.exception("national feedback message not applied")
            await session.rollback()
            return _error(500, "INTERNAL", "Lỗi hệ thống; vui lòng gửi lại sau.")
    return JSONResponse(answer, status_code=201 if applied.created else 200)
