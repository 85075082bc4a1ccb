"""GET /exports/statistics.csv and .xlsx: the public statistics as files, with the filter of the
`statistics` query as URL parameters (`from`, `to` as YYYY-MM-DD; `agencyCode`, `levelCode`,
`fieldCode`, `procedureCode`, `groupBy`, `attribution`). Aggregated figures only, so public like the query; a
bearer token sent anyway is checked (a bad one answers 401 with `WWW-Authenticate`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from auth.actor import ANONYMOUS
from core.db import SessionFactory
from services.errors import FieldIssue, ValidationFailed
from services.statistics import exports
from services.statistics import figures as stats
from web.authentication import Refusal, bearer, check_presented
from web.runtime import Runtime, caller_key

MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _scope(request: Request) -> tuple[stats.Scope, stats.GroupBy]:
    q = request.query_params
    issues = []
    days: dict[str, date] = {}
    for name in ("from", "to"):
        try:
            days[name] = date.fromisoformat(q.get(name, ""))
        except ValueError:
            issues.append(FieldIssue((name,), "BAD_DATE", "Ngày theo dạng YYYY-MM-DD."))
    try:
        group_by = stats.GroupBy(q.get("groupBy", "TOTAL").upper())
    except ValueError:
        issues.append(FieldIssue(("groupBy",), "UNKNOWN", "Cách nhóm không hợp lệ."))
        group_by = stats.GroupBy.TOTAL
    try:
        attribution = stats.Attribution(q.get("attribution", "RECEIVING").upper())
    except ValueError:
        issues.append(FieldIssue(("attribution",), "UNKNOWN", "Cách tính cơ quan không hợp lệ."))
        attribution = stats.Attribution.RECEIVING
    if issues:
        raise ValidationFailed(issues)
    scope = stats.Scope(
        days["from"],
        days["to"],
        q.get("agencyCode") or None,
        q.get("levelCode") or None,
        q.get("fieldCode") or None,
        q.get("procedureCode") or None,
        attribution,
    )
    return scope, group_by


def statistics_export(
    factory: SessionFactory, zone: ZoneInfo, now: Callable[[], datetime]
) -> Callable[[Request], Awaitable[Response]]:
    async def handler(request: Request) -> Response:
        kind = request.path_params["kind"]
        if kind not in MEDIA:
            return JSONResponse({"code": "NOT_FOUND", "message": "Không có định dạng này."}, status_code=404)
        moment = now()
        try:
            scope, group_by = _scope(request)
            async with factory() as session:
                r = await stats.resolve(session, scope, now=moment, zone=zone)
                total = await stats.figures(session, r)
                rows = (
                    await stats.breakdown(session, r, group_by, now=moment, zone=zone)
                    if group_by is not stats.GroupBy.TOTAL
                    else []
                )
        except ValidationFailed as error:
            return JSONResponse(
                {
                    "code": error.code,
                    "message": error.message,
                    "errors": [
                        {"field": list(i.path), "code": i.code, "message": i.message} for i in error.issues
                    ],
                },
                status_code=400,
            )
        name = f"thong-ke-{scope.start:%Y%m%d}-{scope.end:%Y%m%d}.{kind}"
        if kind == "csv":
            body = exports.to_csv(rows, total)
        else:
            title = "Thống kê tình hình giải quyết thủ tục hành chính"
            body = exports.to_xlsx(rows, total, title=title, start=scope.start, end=scope.end)
        return Response(
            body,
            media_type=MEDIA[kind],
            headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
        )

    return handler


async def statistics_export_endpoint(rt: Runtime, request: Request) -> Response:
    """`GET /exports/statistics.{kind}`: public; a token sent anyway must be good (docs/security.md,
    "One status per failure")."""
    try:
        await check_presented(rt, request, bearer(request.headers.get("authorization")))
    except Refusal as refusal:
        return JSONResponse(
            {"code": refusal.code, "message": refusal.message},
            status_code=refusal.status,
            headers=refusal.headers,
        )
    # lag-tolerant: a read replica's sessions when one is usable (core.replicas)
    reads = await rt.read_factory(caller_key(ANONYMOUS, request.client.host if request.client else None))
    return await statistics_export(reads, rt.settings.zone, rt.clock.now)(request)
