"""`GET /healthz` (the process answers) and `GET /readyz` (its database, object store and malware
scanner answer; the scanner's signature age reported)."""

from __future__ import annotations

import logging

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from storage import signatures
from storage.clamav import ClamAV
from web.runtime import Runtime

log = logging.getLogger("dvc")


async def healthz(_rt: Runtime, _request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(rt: Runtime, _request: Request) -> Response:
    checks: dict[str, bool] = {}
    try:
        async with rt.session_factory() as session:
            await session.execute(text("SELECT 1"))
        checks["database"] = True
    except Exception:
        log.warning("readiness: database unreachable", exc_info=True)
        checks["database"] = False
    checks["objectStore"] = await rt.store.ping() if rt.store is not None else False
    body: dict[str, object] = {"checks": checks}
    if rt.scanner is not None:
        checks["malwareScanner"] = await rt.scanner.ping()
        if checks["malwareScanner"] and isinstance(rt.scanner, ClamAV):
            # Reported, not a readiness condition: old signatures still catch known malware.
            found = await signatures.age(rt.scanner, signatures.signature_folder(rt.settings))
            now = rt.clock.now()
            age = found.age_seconds(now)
            body["signatures"] = {
                "version": found.version,
                "builtAt": found.built_at.isoformat() if found.built_at else None,
                "ageHours": round(age / 3600, 2) if age is not None else None,
                "datedBy": found.dated_by,
                "stale": signatures.stale(rt.settings, found, now),
                "updates": bool(rt.settings.clamav_mirror_url),
            }
    ready = all(checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", **body},
        status_code=200 if ready else 503,
    )
