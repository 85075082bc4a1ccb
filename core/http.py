"""HTTP hardening as pure ASGI middleware: security headers on every response, and a bounded,
timed request body.

`SecurityHeaders` adds nosniff, no referrer (lookup codes travel in URLs), no framing, a
Content-Security-Policy — a strict one everywhere an answer does not bring its own (the GraphiQL
page does: web.graphiql) — and HSTS when the public address is HTTPS.

`BodyLimit` refuses a body larger than the limit with 413: a declared Content-Length over it is
refused before reading, and the bytes are counted while the app reads, so a chunked body or one
that lies about its length is stopped too. A client that stops sending half-way gets 408 after
the read timeout instead of holding a worker. Both answer JSON shaped like a GraphQL error.

`RefuseNul` answers 400 `BAD_CHARACTER` to a path or query string holding U+0000 (`%00`), which
PostgreSQL text cannot store: every REST route is covered in one place, before any handler runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from urllib.parse import unquote_to_bytes

import orjson

from core.db import is_database_unavailable
from core.observability import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("dvc")

STRICT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts
        common = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if hsts:
            common.append((b"strict-transport-security", HSTS.encode()))
        # Built once: the headers every answer gets, unless it set its own (GraphiQL's policy).
        self._strict = [*common, (b"content-security-policy", STRICT_CSP.encode())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [pair for pair in self._strict if pair[0] not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _BodyTooLarge(Exception):
    pass


class _BodyTooSlow(Exception):
    pass


async def _refuse(
    send: Send, status: int, message: str, code: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        read_timeout: float,
        exempt: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout = read_timeout
        self.exempt = tuple(exempt)  # paths with a limit of their own (the national portal's files)

    def _too_large(self) -> str:
        return f"Nội dung yêu cầu quá lớn: tối đa {self.max_bytes} byte."

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                await _refuse(send, 413, self._too_large(), "BODY_TOO_LARGE")
                return
        received = 0
        finished = False
        started = False

        async def counted() -> Message:
            nonlocal received, finished
            if finished:
                return await receive()  # after the body: waiting for a disconnect is not slow
            try:
                async with asyncio.timeout(self.read_timeout):
                    message = await receive()
            except TimeoutError:
                raise _BodyTooSlow from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
                finished = not message.get("more_body", False)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _BodyTooLarge:
            if started:
                raise
            await _refuse(send, 413, self._too_large(), "BODY_TOO_LARGE")
        except _BodyTooSlow:
            if started:
                raise
            await _refuse(
                send,
                408,
                f"Gửi nội dung yêu cầu quá chậm (quá {self.read_timeout:g} giây không nhận được dữ liệu).",
                "BODY_TIMEOUT",
            )


NUL_MESSAGE = "Dữ liệu chứa ký tự NUL (U+0000), không được chấp nhận."


class RefuseNul:
    """A NUL in the path or the query string (percent-encoded or not) is a 400 `BAD_CHARACTER`
    for every HTTP route; JSON bodies are checked where they are decoded (app.py)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            "\x00" in scope["path"] or b"\x00" in unquote_to_bytes(scope.get("query_string", b""))
        ):
            await _refuse(send, 400, NUL_MESSAGE, "BAD_CHARACTER")
            return
        await self.app(scope, receive, send)


DATABASE_UNAVAILABLE_MESSAGE = (
    "Hệ thống tạm thời không kết nối được cơ sở dữ liệu; vui lòng thử lại sau ít phút."
)


class DatabaseUnavailable:
    """While PostgreSQL restarts or is unreachable, answer 503 `DATABASE_UNAVAILABLE` with
    `Retry-After` — a clear "try again" — instead of an internal error, when nothing was sent yet.
    A mutation answered this way committed nothing (the commit is the last step of the request)."""

    def __init__(self, app: ASGIApp, *, retry_after: int = 5) -> None:
        self.app = app
        self.retry_after = retry_after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as error:
            if started or not is_database_unavailable(error):
                raise
            log.warning("database unavailable: %s", error.__class__.__name__)
            await _refuse(
                send,
                503,
                DATABASE_UNAVAILABLE_MESSAGE,
                "DATABASE_UNAVAILABLE",
                headers=[(b"retry-after", str(self.retry_after).encode())],
            )
