"""The payment gateway's server-to-server notification endpoint (IPN): plain HTTP, outside
GraphQL, answered in the gateway's JSON."""

from __future__ import annotations

import logging
from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from auth.actor import Actor, ActorKind
from core.db import SessionFactory
from core.settings import Settings
from services.calendar import WorkingCalendar
from services.dossiers.commands import ActContext
from services.payments import orders, vnpay

log = logging.getLogger(__name__)
_GATEWAY_ACTOR = Actor(ActorKind.SYSTEM, name="Cổng thanh toán")


def gateway_config(settings: Settings) -> orders.GatewayConfig | None:
    if not (settings.vnpay_pay_url and settings.vnpay_return_url):
        return None
    return orders.GatewayConfig(
        settings.vnpay_pay_url, settings.vnpay_return_url, settings.vnpay_merchant_map
    )


async def handle_ipn(
    request: Request, factory: SessionFactory, settings: Settings, calendar: WorkingCalendar, now: datetime
) -> Response:
    """The gateway's server-to-server notification (GET with the signed parameters). The answer
    is JSON {RspCode, Message}; the gateway retries until it reads 00 or 02."""
    config = gateway_config(settings)
    if config is None:
        return JSONResponse({"error": "online payment is not configured"}, status_code=404)
    params = dict(request.query_params)
    ctx = ActContext(actor=_GATEWAY_ACTOR, now=now, calendar=calendar)
    async with factory() as session:
        try:
            answer = await orders.apply_notification(session, params, config.merchants(), ctx)
            await session.commit()
        except Exception:  # the gateway must get its JSON answer; it will retry
            log.exception("payment notification failed")
            await session.rollback()
            answer = vnpay.IPN_UNKNOWN_ERROR
    return JSONResponse(vnpay.ipn_answer(answer))
