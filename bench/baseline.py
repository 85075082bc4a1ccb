"""Baseline (a): the least a Python service can do for the same answers — a minimal Starlette
app, raw asyncpg (a pool of 10, prepared statements), orjson. No GraphQL, no ORM, no auth.

Run by the benchmarks with uvicorn (uvloop, httptools, one process); BENCH_DSN names the database.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

# What the public lookup shows: the dossier's public status with its procedure and agency names.
LOOKUP = """
SELECT d.code, d.status::text AS status, d.received_at, d.appointment_at, d.finished_at,
       v.name AS procedure_name, a.name AS agency_name
FROM dossiers d
JOIN procedure_versions v ON v.id = d.procedure_version_id
JOIN agencies a ON a.id = d.receiving_agency_id
WHERE d.code = $1
"""

POOL: dict[str, asyncpg.Pool] = {}


@asynccontextmanager
async def lifespan(_app: Starlette) -> AsyncIterator[None]:
    POOL["pool"] = await asyncpg.create_pool(os.environ["BENCH_DSN"], min_size=10, max_size=10)
    yield
    await POOL["pool"].close()


def _json(data: Any) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


async def lookup(request: Request) -> Response:
    code = orjson.loads(await request.body())["code"]
    row = await POOL["pool"].fetchrow(LOOKUP, code)
    if row is None:
        return _json({"data": None})
    found = dict(row)
    for key in ("received_at", "appointment_at", "finished_at"):
        if found[key] is not None:
            found[key] = found[key].isoformat()
    return _json({"data": found})


async def ready(_request: Request) -> Response:
    return _json({"ok": True})


app = Starlette(
    routes=[Route("/lookup", lookup, methods=["POST"]), Route("/readyz", ready)],
    lifespan=lifespan,
)
