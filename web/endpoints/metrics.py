"""`GET /metrics`: the Prometheus text exposition of this process's metrics, with the figures
that live in the database read at scrape time (see core/observability.py).

When `METRICS_TOKEN` is set the scraper must send `Authorization: Bearer <token>`; otherwise keep
the path on the internal network (the reverse proxy should not route it).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response

from core.db import SessionFactory
from core.observability import (
    CLAMAV_SIGNATURE_AGE,
    DB_POOL,
    NOTIFICATIONS_AGE,
    NOTIFICATIONS_BACKLOG,
    OUTBOX_AGE,
    OUTBOX_BACKLOG,
    OVERDUE,
    PARTITION_DEFAULT_ROWS,
    REGISTRY,
)
from services import monitoring
from storage import signatures
from storage.clamav import ClamAV
from storage.signatures import SignatureAge
from web.runtime import Runtime

log = logging.getLogger(__name__)


def _pool(engine: AsyncEngine | None) -> None:
    pool = engine.pool if engine is not None else None
    if pool is None:
        return
    for state, read in (
        ("size", "size"),
        ("checked_out", "checkedout"),
        ("checked_in", "checkedin"),
        ("overflow", "overflow"),
    ):
        method = getattr(pool, read, None)
        if callable(method):
            DB_POOL.labels(state).set(float(method()))


async def metrics(
    request: Request,
    factory: SessionFactory,
    engine: AsyncEngine | None,
    now: datetime,
    token: str | None,
    *,
    signature_age: Callable[[], Awaitable[SignatureAge]] | None = None,
) -> Response:
    if token:
        offered = request.headers.get("authorization", "")
        if not hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
            # Plain text like the exposition format a scraper reads; the challenge says how to pass.
            challenge = 'Bearer error="invalid_token"' if offered else "Bearer"
            return Response(
                "unauthorized\n",
                status_code=401,
                media_type="text/plain",
                headers={"WWW-Authenticate": challenge},
            )
    _pool(engine)
    try:
        async with factory() as session:
            found = await monitoring.figures(session, now)
    except Exception:  # the metrics still answer (without these) while the database is down
        log.warning("metrics: database figures unavailable", exc_info=True)
    else:
        OUTBOX_BACKLOG.clear()
        OUTBOX_AGE.clear()
        for name, (events, age) in found.outbox.items():
            OUTBOX_BACKLOG.labels(name).set(events)
            OUTBOX_AGE.labels(name).set(age)
        NOTIFICATIONS_BACKLOG.set(found.notifications_pending)
        NOTIFICATIONS_AGE.set(found.notifications_oldest_seconds)
        OVERDUE.clear()
        for agency, count in found.overdue_by_agency.items():
            OVERDUE.labels(agency).set(count)
        PARTITION_DEFAULT_ROWS.clear()
        for table, rows in found.partition_default_rows.items():
            PARTITION_DEFAULT_ROWS.labels(table).set(rows)
    CLAMAV_SIGNATURE_AGE.clear()
    if signature_age is not None:
        dated = await signature_age()
        seconds = dated.age_seconds(now)
        if seconds is not None and dated.dated_by is not None:
            CLAMAV_SIGNATURE_AGE.labels(dated.dated_by).set(seconds)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


async def metrics_endpoint(rt: Runtime, request: Request) -> Response:
    scanner = rt.scanner if isinstance(rt.scanner, ClamAV) else None
    return await metrics(
        request,
        rt.session_factory,
        rt.engine,
        rt.clock.now(),
        rt.settings.metrics_token,
        signature_age=(
            (lambda: signatures.age(scanner, signatures.signature_folder(rt.settings)))
            if scanner is not None
            else None
        ),
    )
