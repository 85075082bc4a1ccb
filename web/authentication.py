"""Who is calling: the bearer token of a request (or a websocket's `connection_init`) turned
into an actor, with the registered applications' per-minute limit."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from cross_web import HTTPException
from starlette.requests import Request
from starlette.websockets import WebSocket

from auth.actor import ANONYMOUS, Actor
from auth.tokens import AccessClaims, InvalidToken, verify_access
from core.db import RequestDb
from services.accounts.actors import actor_for
from services.accounts.journal import Journal, RequestMeta
from web.runtime import Runtime


class Unauthorized(Exception):
    pass


def bearer(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer …` header; None without one; any other is refused."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized
    return token.strip()


def request_meta(request: Request | WebSocket) -> RequestMeta:
    return RequestMeta(
        address=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


async def authenticate(rt: Runtime, db: RequestDb, token: str | None, meta: RequestMeta) -> Actor:
    """The actor behind a bearer token; a presented but bad token is refused, never anonymous."""
    if token is None:
        return ANONYMOUS
    now = rt.clock.now()
    try:
        claims = verify_access(rt.policy.tokens, token, now=now)
        async with db.session() as session:
            actor, per_minute = await actor_for(session, claims)
    except InvalidToken:
        raise Unauthorized from None
    actor = dataclasses.replace(actor, credential=claims)
    if per_minute:
        used = await Journal(rt.session_factory, meta, now).hit(
            f"app:{actor.client_id}", window=timedelta(minutes=1)
        )
        if used > per_minute:
            raise HTTPException(429, "Ứng dụng đã vượt giới hạn số lượt gọi mỗi phút.")
    return actor


async def still_admitted(rt: Runtime, claims: AccessClaims) -> bool:
    """Whether the account or app behind a token verified earlier is still let in: its session not
    revoked, the account neither locked nor signed out everywhere, the app not revoked. A websocket
    asks this before it delivers an event; the token's expiry is not asked again (a socket opened
    with a valid token lives on; what is revoked is cut)."""
    try:
        async with rt.session_factory() as session:
            await actor_for(session, claims)
    except InvalidToken:
        return False
    return True
