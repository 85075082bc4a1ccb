"""Small server-rendered pages the printed QR codes open: the public lookup of a dossier and the
verification of a paper conversion. Vietnamese, readable on a phone, no JavaScript, no personal
data beyond what the public lookup allows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from auth.actor import ANONYMOUS
from core.db import SessionFactory
from models.catalog import Agency, ProcedureVersion
from services.accounts.journal import Journal, RequestMeta
from services.documents.paper import verify
from services.dossiers.queries import lookup, steps_by_dossier_ids
from services.dossiers.workflow import STATUS_LABELS
from services.lookup_limits import LOOKUP_REFUSED, LookupLimiter, RateLimit, lookup_keys, within
from web.runtime import Runtime, caller_key

STYLE = """body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;padding:1rem;
max-width:40rem;margin:auto;color:#1b1b1b;line-height:1.5}h1{font-size:1.3rem;color:#a3120f}
dl{display:grid;grid-template-columns:minmax(6.5rem,max-content) minmax(0,1fr);gap:.3rem 1rem}
dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
.ok{color:#176b2c}.no{color:#a3120f}h2{font-size:1.1rem;margin-top:1.5rem}
ol{padding-left:1.3rem}li{margin-bottom:.5rem}small{color:#555}footer{margin-top:2rem;font-size:.85rem;color:#555}"""


def _page(title: str, body: str, status: int = 200, *, system: str) -> HTMLResponse:
    """A public page; its footer names the system (`Settings.system_name`, with the province)."""
    html = (
        f'<!doctype html><html lang="vi"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>{body}"
        f"<footer>{escape(system)}</footer></body></html>"
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def _when(value: datetime | None, zone: ZoneInfo) -> str:
    if value is None:
        return "—"
    return value.astimezone(zone).strftime("%H:%M ngày %d/%m/%Y")


Page = Callable[[Request], Awaitable[HTMLResponse]]


def lookup_page(
    factory: SessionFactory,
    zone: ZoneInfo,
    rate: RateLimit | None = None,
    now: datetime | None = None,
    limiter: LookupLimiter | None = None,
    *,
    system_name: str,
    reads: SessionFactory | None = None,
) -> Page:
    """`reads`: the sessions the lookup itself reads through (a replica's; default `factory`)."""

    async def page(request: Request) -> HTMLResponse:
        code = request.path_params["code"]
        if rate is not None and now is not None:
            address = request.client.host if request.client else None
            journal = Journal(factory, RequestMeta(address=address), now)
            if not await within(journal, lookup_keys(ANONYMOUS, address), rate, limiter):
                refused = _page(
                    "Tạm dừng tra cứu", f"<p>{escape(LOOKUP_REFUSED)}</p>", 429, system=system_name
                )
                refused.headers["Retry-After"] = str(rate.retry_after(now))
                return refused
        async with (reads or factory)() as session:
            found = await lookup(session, code)
            if found is None or found.dossier.code is None:
                return _page(
                    "Không tìm thấy hồ sơ",
                    f"<p>Không có hồ sơ mã <b>{escape(code)}</b>.</p>",
                    404,
                    system=system_name,
                )
            d = found.dossier
            version = await session.get(ProcedureVersion, d.procedure_version_id)
            agency = await session.get(Agency, d.receiving_agency_id)
            (steps,) = await steps_by_dossier_ids(session, [d.id])
        rows = [
            ("Mã hồ sơ", d.code),
            ("Thủ tục", version.name if version else ""),
            ("Nơi tiếp nhận", agency.name if agency else ""),
            ("Trạng thái", STATUS_LABELS[d.status]),
            ("Ngày tiếp nhận", _when(d.received_at, zone)),
            ("Ngày hẹn trả", _when(d.appointment_at, zone)),
            ("Ngày kết thúc", _when(d.finished_at, zone)),
        ]
        body = "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in rows) + "</dl>"
        if steps:
            items = []
            for step in steps:
                if step.finished_at is not None:
                    state = f'<span class="ok">đã xong</span> lúc {_when(step.finished_at, zone)}'
                elif step.started_at is not None:
                    state = f"đang xử lý, hạn {_when(step.due_at, zone)}"
                else:
                    state = "chưa đến bước này"
                items.append(f"<li>{escape(step.name)}<br><small>{state}</small></li>")
            body += "<h2>Quá trình giải quyết</h2><ol>" + "".join(items) + "</ol>"
        return _page("Tra cứu hồ sơ", body, system=system_name)

    return page


def verification_page(factory: SessionFactory, zone: ZoneInfo, *, system_name: str) -> Page:
    async def page(request: Request) -> HTMLResponse:
        code = request.path_params["code"]
        async with factory() as session:
            found = await verify(session, code)
        if found is None:
            body = f'<p class="no">Không có bản chuyển đổi nào mang mã <b>{escape(code)}</b>.</p>'
            return _page("Xác minh bản chuyển đổi", body, 404, system=system_name)
        row, agency = found
        rows = [
            ("Mã xác minh", row.verification_code),
            ("Văn bản gốc", row.title),
            ("Hệ thống", system_name),
            ("Cơ quan chuyển đổi", agency or "—"),
            ("Thời điểm chuyển đổi", _when(row.converted_at, zone)),
            ("SHA-256 văn bản gốc", row.source_checksum),
        ]
        body = (
            '<p class="ok">Bản giấy này được chuyển đổi từ văn bản điện tử lưu trên hệ thống.</p><dl>'
            + "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in rows)
            + "</dl>"
        )
        return _page("Xác minh bản chuyển đổi", body, system=system_name)

    return page


async def lookup_endpoint(rt: Runtime, request: Request) -> Response:
    """`GET /tra-cuu/{code}`, rate limited like the public lookup."""
    s = rt.settings
    rate = RateLimit(s.lookup_rate_limit, timedelta(seconds=s.lookup_rate_window_seconds))
    reads = await rt.read_factory(caller_key(ANONYMOUS, request.client.host if request.client else None))
    handler = lookup_page(
        rt.session_factory, s.zone, rate, rt.clock.now(), rt.lookups, system_name=s.system_name, reads=reads
    )
    return await handler(request)


async def verification_endpoint(rt: Runtime, request: Request) -> Response:
    """`GET /xac-minh/{code}`."""
    s = rt.settings
    return await verification_page(rt.session_factory, s.zone, system_name=s.system_name)(request)
