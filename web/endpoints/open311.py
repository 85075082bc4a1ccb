"""Feedback through the Open311 GeoReport v2 API (https://wiki.open311.org/GeoReport_v2), so
existing civic apps can list categories, file a feedback and follow it.

- `GET  /open311/v2/discovery.json` — where the endpoint is and what it speaks.
- `GET  /open311/v2/services.json` — the categories: one general service (`CHUNG`) and one per
  field (lĩnh vực) of the catalog; no extra attributes (`metadata: false`).
- `POST /open311/v2/requests.json` — file a feedback (phản ánh, kiến nghị). The caller is a
  registered application: its client-credentials access token as `api_key` (GeoReport's way) or as
  `Authorization: Bearer`, holding the `feedback:submit` scope. Required: `service_code`,
  `description`, a name (`first_name`/`last_name`) and `email` or `phone`. It is received like any
  other feedback (focal point, 3-working-day deadline) and answered with its tracking code as
  `service_request_id`.
- `GET  /open311/v2/requests.json` and `/requests/{id}.json` — public: status (`open`/`closed`),
  dates, the agency responsible; the description, the answer (`status_notes`) and the location
  (`lat`, `long`, and `address`: the `address_string` it was filed with) only once the answer is
  published, redacted of personal data like every published answer. The fields are documented,
  with an example checked by a test, in docs/integrations.md.

Every path also answers in XML (`.xml`), as GeoReport v2 requires; errors are GeoReport errors
(`[{"code": 400, "description": "…"}]`) with that HTTP status. A refused caller gets the status
every endpoint gives (docs/security.md, "One status per failure"): 401 without an `api_key` or
with an invalid, revoked or expired one (with `WWW-Authenticate`), 403 for a valid one that is not
an application's or lacks `feedback:submit`, 429 with `Retry-After` for an application over its
calls per minute.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

import orjson
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from auth.actor import Actor, ActorKind
from core.db import RequestDb
from core.http import NUL_MESSAGE
from models.feedback import Inquiry, InquiryKind, InquiryStatus
from services import open311
from services.calendar import WorkingCalendar
from services.errors import DomainError, Forbidden, ValidationFailed
from services.feedback import lifecycle, submission
from services.feedback.classification import Deadlines
from services.feedback.submission import Submission
from services.redaction import redact
from web.authentication import Refusal, Unauthorized, authenticate, check_presented, request_meta
from web.runtime import Runtime

GENERAL = "CHUNG"
NEEDS_APP_KEY = "Cần api_key của ứng dụng đã đăng ký (phạm vi feedback:submit)."


class GeoReportError(Exception):
    def __init__(self, status: int, description: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.headers = headers or {}


def _render(fmt: str, root: str, item: str, rows: Sequence[dict[str, Any]], status: int = 200) -> Response:
    if fmt == "xml":
        top = ET.Element(root)
        for row in rows:
            node = ET.SubElement(top, item)
            for key, value in row.items():
                child = ET.SubElement(node, key)
                if value is not None:
                    child.text = str(value).lower() if isinstance(value, bool) else str(value)
        body = b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(
            top, encoding="utf-8", xml_declaration=False
        )
        return Response(body, status_code=status, media_type="text/xml; charset=utf-8")
    return Response(orjson.dumps(list(rows)), status_code=status, media_type="application/json")


def _error(fmt: str, status: int, description: str, headers: dict[str, str] | None = None) -> Response:
    answer = _render(fmt, "errors", "error", [{"code": status, "description": description}], status)
    answer.headers.update(headers or {})
    return answer


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _request_row(row: Inquiry, found: open311.Requests) -> dict[str, Any]:
    published = row.status is InquiryStatus.PUBLISHED
    service = found.fields.get(row.field_id) if row.field_id else None
    closed = row.status in (InquiryStatus.PUBLISHED, InquiryStatus.DECLINED)
    notes = row.public_answer if published else lifecycle.STATUS_LABELS[row.status]
    expected = row.answer_due_at if row.status is not InquiryStatus.RECEIVED else row.classify_due_at
    return {
        "service_request_id": row.code,
        "status": "closed" if closed else "open",
        "status_notes": notes,
        "service_name": service[1] if service else "Phản ánh, kiến nghị chung",
        "service_code": service[0] if service else GENERAL,
        "description": row.public_question if published else None,
        "agency_responsible": found.agencies.get(row.competent_agency_id or row.focal_agency_id),
        "service_notice": None,
        "requested_datetime": _iso(row.received_at),
        "updated_datetime": _iso(
            row.published_at or row.closed_at or row.answered_at or row.forwarded_at or row.received_at
        ),
        "expected_datetime": _iso(expected) if not closed else None,
        "address": _public_place(row) if published else None,
        "address_id": None,
        "zipcode": None,
        "lat": row.latitude if published else None,
        "long": row.longitude if published else None,
        "media_url": None,
    }


def _public_place(row: Inquiry) -> str | None:
    """Where it happened (`address_string` when filed), redacted of the submitter's data like the
    published texts."""
    if not row.location_address:
        return None
    return redact(
        row.location_address,
        [row.submitter_name, row.submitter_email, row.submitter_phone, row.submitter_address],
    )


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def _create(
    session: AsyncSession,
    actor: Actor,
    form: dict[str, str],
    *,
    now: datetime,
    calendar: WorkingCalendar,
    rules_: Deadlines,
) -> dict[str, Any]:
    code = form.get("service_code", "").strip()
    if not code:
        raise GeoReportError(400, "service_code: bắt buộc.")
    field_code = None if code == GENERAL else code
    if field_code and not await open311.field_exists(session, field_code):
        raise GeoReportError(404, f"service_code {code}: không có dịch vụ này.")
    description = form.get("description", "").strip()
    coordinates: list[float | None] = []
    for key in ("lat", "long"):
        try:
            coordinates.append(float(form[key]) if form.get(key) else None)
        except ValueError:
            raise GeoReportError(400, f"{key}: số thập phân (WGS84).") from None
    name = " ".join(p for p in (form.get("first_name", "").strip(), form.get("last_name", "").strip()) if p)
    sub = Submission(
        kind=InquiryKind.FEEDBACK,
        title=(form.get("title") or description.split("\n", 1)[0])[:120] or "Phản ánh",
        content=description,
        name=name,
        email=form.get("email") or None,
        phone=form.get("phone") or None,
        location=form.get("address_string") or None,
        latitude=coordinates[0],
        longitude=coordinates[1],
        field_code=field_code,
    )
    row = await submission.submit(session, actor, sub, now=now, calendar=calendar, rules=rules_)
    return {
        "service_request_id": row.code,
        "service_notice": "Đã tiếp nhận, hạn phân loại "
        f"{row.classify_due_at.astimezone(calendar.zone):%d/%m/%Y}.",
        "account_id": None,
    }


async def open311_endpoint(rt: Runtime, request: Request) -> Response:
    """`/open311/v2/{resource}.{format}`: GeoReport's answer, or its error, in its format."""
    resource = request.path_params["resource"]
    fmt = request.path_params["format"]
    if fmt not in ("json", "xml"):
        return _error("json", 404, "Định dạng: json hoặc xml.")
    try:
        return await _dispatch(rt, request, resource, fmt)
    except GeoReportError as error:
        return _error(fmt, error.status, error.description, error.headers)


async def _dispatch(rt: Runtime, request: Request, resource: str, fmt: str) -> Response:
    if request.method == "GET":
        await _check_reader(rt, request)
    if resource == "discovery" and request.method == "GET":
        return _discovery(fmt, rt.settings.public_base_url)
    if resource == "services" and request.method == "GET":
        async with rt.session_factory() as session:
            fields = await open311.fields(session)
        rows = [
            _service(GENERAL, "Phản ánh, kiến nghị chung", "Phản ánh, kiến nghị không thuộc lĩnh vực cụ thể.")
        ]
        rows += [_service(f.code, f.name, f"Phản ánh, kiến nghị về lĩnh vực {f.name}.") for f in fields]
        return _render(fmt, "services", "service", rows)
    if resource == "requests" and request.method == "GET":
        wanted = _filter(request.query_params)
        async with rt.session_factory() as session:
            found = await open311.find(session, wanted)
        return _render(fmt, "service_requests", "request", [_request_row(r, found) for r in found.rows])
    if resource.startswith("requests/") and request.method == "GET":
        code = resource.removeprefix("requests/")
        async with rt.session_factory() as session:
            one = await open311.by_code(session, code)
        if one is None:
            raise GeoReportError(404, f"Không có yêu cầu {code}.")
        return _render(fmt, "service_requests", "request", [_request_row(one.rows[0], one)])
    if resource == "requests" and request.method == "POST":
        return await _post(rt, request, fmt)
    raise GeoReportError(404, "Không có tài nguyên này.")


def _filter(params: QueryParams) -> open311.RequestFilter:
    """GeoReport's query parameters: `service_request_id`, or `start_date`, `end_date` (90 days
    back from now by default), `status`, `service_code`."""
    if params.get("service_request_id"):
        codes = [c.strip().upper() for c in params["service_request_id"].split(",") if c.strip()]
        return open311.RequestFilter(codes=codes[: open311.MAX_LIST])
    try:
        end = _date(params.get("end_date")) or datetime.now(UTC)
        start = _date(params.get("start_date")) or end - timedelta(days=90)
    except ValueError:
        raise GeoReportError(400, "start_date, end_date: ISO 8601 (w3) expected.") from None
    status = params.get("status")
    if status and status not in ("open", "closed"):
        raise GeoReportError(400, "status: open or closed.")
    services = [c.strip() for c in params["service_code"].split(",")] if params.get("service_code") else None
    return open311.RequestFilter(
        start=start,
        end=end,
        closed=(status == "closed") if status else None,
        field_codes=services,
        general=services is not None and GENERAL in services,
    )


async def _post(rt: Runtime, request: Request, fmt: str) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    if any("\x00" in key or "\x00" in value for key, value in form.items()):
        raise GeoReportError(400, NUL_MESSAGE)
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else form.get("api_key") or None
    try:
        actor = await _caller(rt, request, token)
    except Refusal as refusal:
        raise GeoReportError(refusal.status, refusal.message, refusal.headers) from None
    if actor.kind is not ActorKind.APP:
        raise GeoReportError(403, NEEDS_APP_KEY)
    now = rt.clock.now()
    calendar = await rt.calendar_at(now)
    deadlines = Deadlines(rt.settings.feedback_answer_days, rt.settings.feedback_focal_agency)
    async with rt.session_factory() as session:
        try:
            created = await _create(session, actor, form, now=now, calendar=calendar, rules_=deadlines)
        except ValidationFailed as error:
            await session.rollback()
            described = "; ".join(
                f"{_GEOREPORT_NAMES.get(str(i.path[0]), str(i.path[0]))}: {i.message}" for i in error.issues
            )
            raise GeoReportError(400, described) from None
        except Forbidden as error:
            await session.rollback()
            raise GeoReportError(403, error.message) from None
        except DomainError as error:
            await session.rollback()
            raise GeoReportError(400, error.message) from None
        await session.commit()
    return _render(fmt, "service_requests", "request", [created], status=201)


async def _check_reader(rt: Runtime, request: Request) -> None:
    """Reading is public; an `api_key` (or bearer token) sent anyway must be good: a bad one is
    refused with 401 as on every endpoint, never read as anonymous."""
    header = request.headers.get("authorization", "")
    token = (
        header[7:].strip() if header.lower().startswith("bearer ") else request.query_params.get("api_key")
    )
    try:
        await check_presented(rt, request, token or None)
    except Refusal as refusal:
        raise GeoReportError(refusal.status, refusal.message, refusal.headers) from None


async def _caller(rt: Runtime, request: Request, token: str | None) -> Actor:
    if token is None:
        raise Unauthorized(NEEDS_APP_KEY, presented=False)
    db = RequestDb(rt.session_factory)
    try:
        return await authenticate(rt, db, token, request_meta(request))
    finally:
        await db.finish(commit=True)


def _discovery(fmt: str, base_url: str) -> Response:
    endpoint = {
        "specification": "http://wiki.open311.org/GeoReport_v2",
        "url": f"{base_url.rstrip('/')}/open311/v2",
        "changeset": "2026-11-26T00:00:00Z",
        "type": "production",
        "formats": "application/json,text/xml",
    }
    if fmt == "xml":
        return _render("xml", "discovery", "endpoint", [endpoint])
    body = {
        "changeset": endpoint["changeset"],
        "contact": "Hệ thống giải quyết TTHC",
        "endpoints": [{**endpoint, "formats": ["application/json", "text/xml"]}],
    }
    return Response(orjson.dumps(body), media_type="application/json")


_GEOREPORT_NAMES = {
    "content": "description",
    "title": "description",
    "name": "first_name",
    "email": "email",
    "phone": "phone",
    "locationAddress": "address_string",
    "latitude": "lat",
    "longitude": "long",
}


def _service(code: str, name: str, description: str) -> dict[str, Any]:
    return {
        "service_code": code,
        "service_name": name,
        "description": description,
        "metadata": False,
        "type": "realtime",
        "keywords": "phản ánh, kiến nghị",
        "group": "Phản ánh, kiến nghị",
    }
