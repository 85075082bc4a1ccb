"""Plain HTTP endpoints outside GraphQL: each is `async (runtime, request) -> response`, bound to
the app's runtime by `bind`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from web.runtime import Runtime, RuntimeRef

Endpoint = Callable[[Runtime, Request], Awaitable[Response]]


def bind(ref: RuntimeRef, endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    """A starlette endpoint that answers with `endpoint` and the app's runtime."""

    async def handle(request: Request) -> Response:
        return await endpoint(ref.runtime, request)

    handle.__name__ = handle.__qualname__ = endpoint.__name__  # the route's name
    return handle
