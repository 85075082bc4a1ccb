"""Who is calling: the bearer token of a request (or a websocket's `connection_init`) turned
into an actor, with the registered applications' per-minute limit.

A caller refused here is refused the same way on every endpoint (docs/security.md, "One status
per failure"): `Unauthorized` (401, `UNAUTHENTICATED`, with a `WWW-Authenticate: Bearer`
challenge) for a missing, malformed, invalid, revoked or expired token; `AppRateLimited` (429,
`RATE_LIMITED`, with `Retry-After`) for an application over its calls per minute. Each endpoint
renders them in its own protocol's body (GraphQL errors, GeoReport errors).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from starlette.requests import Request
from starlette.websockets import WebSocket

from auth.actor import ANONYMOUS, Actor
from auth.tokens import AccessClaims, InvalidToken, verify_access
from core.db import RequestDb
from services.accounts import actors
from services.accounts.journal import Journal, RequestMeta
from web.runtime import Runtime

APP_RATE_WINDOW = timedelta(minutes=1)


class Refusal(Exception):
    """A caller refused before anything is served: the HTTP status, a stable code, a Vietnamese
    message and the headers that go with them."""

    status = 400
    code = "BAD_REQUEST"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def headers(self) -> dict[str, str]:
        return {}

    @property
    def extensions(self) -> dict[str, object]:
        """The GraphQL error's `extensions` (and the fields a JSON body carries besides the message)."""
        return {"code": self.code}


class Unauthorized(Refusal):
    """No usable credentials where they are required, or a presented token that is malformed,
    forged, revoked or expired."""

    status = 401
    code = "UNAUTHENTICATED"

    def __init__(
        self, message: str = "Thông tin xác thực không hợp lệ hoặc đã hết hạn.", *, presented: bool = True
    ) -> None:
        super().__init__(message)
        self.presented = presented

    @property
    def headers(self) -> dict[str, str]:
        # RFC 6750 §3.1: no error code when the request carried no credentials at all.
        return {"WWW-Authenticate": 'Bearer error="invalid_token"' if self.presented else "Bearer"}


class AppRateLimited(Refusal):
    """A registered application over its calls per minute; `retry_after`: seconds until its
    minute ends."""

    status = 429
    code = "RATE_LIMITED"

    def __init__(self, retry_after: int) -> None:
        super().__init__("Ứng dụng đã vượt giới hạn số lượt gọi mỗi phút.")
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}

    @property
    def extensions(self) -> dict[str, object]:
        return {"code": self.code, "retryAfterSeconds": self.retry_after}


def signature_challenge(realm: str) -> dict[str, str]:
    """The challenge of an endpoint whose callers sign the request (HMAC-SHA256 in
    `X-DVC-Signature`) instead of sending a token: a 401 carries it like a bearer challenge."""
    return {"WWW-Authenticate": f'DVC-HMAC-SHA256 realm="{realm}", header="X-DVC-Signature"'}


async def check_presented(rt: Runtime, request: Request, token: str | None) -> None:
    """On a public endpoint: a token the caller did present must be good (a bad one is refused
    with `Unauthorized`, never served as anonymous); none is fine."""
    if token is None:
        return
    db = RequestDb(rt.session_factory)
    try:
        await authenticate(rt, db, token, request_meta(request))
    finally:
        await db.finish(commit=True)


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
            actor, per_minute = await actors.actor_for(session, claims)
    except InvalidToken:
        raise Unauthorized from None
    actor = dataclasses.replace(actor, credential=claims)
    if per_minute:
        journal = Journal(rt.session_factory, meta, now)
        key = f"app:{actor.client_id}"
        if wait := await journal.over_limit(key, window=APP_RATE_WINDOW, limit=per_minute):
            raise AppRateLimited(wait)
    return actor


async def still_admitted(rt: Runtime, claims: AccessClaims) -> bool:
    """Whether the account or app behind a token verified earlier is still let in: its session not
    revoked, the account neither locked nor signed out everywhere, the app not revoked. A websocket
    asks this before it delivers an event; the token's expiry is not asked again (a socket opened
    with a valid token lives on; what is revoked is cut)."""
    async with rt.session_factory() as session:
        return await actors.still_admitted(session, claims)
