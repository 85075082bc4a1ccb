"""The payment gateway's server-to-server notification endpoint (IPN): plain HTTP, outside
GraphQL, answered in the gateway's JSON."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from auth.actor import Actor, ActorKind
from services.dossiers.transition import ActContext
from services.payments import orders
from services.payments.gateway import Outcome, config_from_settings
from web.runtime import Runtime

log = logging.getLogger(__name__)
_GATEWAY_ACTOR = Actor(ActorKind.SYSTEM, name="Cổng thanh toán")


async def ipn_endpoint(rt: Runtime, request: Request) -> Response:
    """The gateway's server-to-server notification (GET with the signed parameters). The answer
    is JSON {RspCode, Message}; the gateway retries until it reads 00 or 02."""
    now = rt.clock.now()
    calendar = await rt.calendar_at(now)
    config = config_from_settings(rt.settings)
    if config is None:
        return JSONResponse({"error": "online payment is not configured"}, status_code=404)
    params = dict(request.query_params)
    ctx = ActContext(actor=_GATEWAY_ACTOR, now=now, calendar=calendar)
    async with rt.session_factory() as session:
        try:
            outcome = await orders.apply_notification(
                session, params, config.gateway, config.by_merchant(), ctx
            )
            await session.commit()
        except Exception:  # the gateway must get its JSON answer; it will retry
            log.exception("payment notification failed")
            await session.rollback()
            outcome = Outcome.UNKNOWN_ERROR
    return JSONResponse(config.gateway.answer(outcome))
