"""`GET /dev/messages`: the e-mails and SMS caught in development (`services.caught`), newest
first, as a plain HTML page (or JSON with `?format=json` or `Accept: application/json`).

Mounted by `app.create_app` only when ENVIRONMENT=development: in production the route does not
exist (404). Filters: `?to=` (part of the address or a mobile number in any spelling) and
`?limit=` (1–500, default 50). The page has no script and no outside resource (the strict
security policy applies); it shows each message's code on its own line so it can be copied."""

from __future__ import annotations

from html import escape
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from services.caught import Caught, caught_messages
from web.endpoints.pages import STYLE
from web.runtime import Runtime

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
TITLE = "Thư và tin nhắn giữ lại (môi trường phát triển)"
EXTRA_STYLE = (
    "body{max-width:52rem}article{border-top:1px solid #ccc;padding:.6rem 0}"
    "pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f5f5f5;padding:.5rem;margin:.3rem 0}"
    ".code{font-size:1.4rem;font-family:ui-monospace,monospace;letter-spacing:.15rem}"
    "form{margin:.5rem 0 1rem}input{font:inherit}"
)


def _limit(request: Request) -> int | None:
    raw = request.query_params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if 1 <= value <= MAX_LIMIT else None


def _wants_json(request: Request) -> bool:
    if request.query_params.get("format") == "json":
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _article(m: Caught, zone: ZoneInfo) -> str:
    when = m.caught_at.astimezone(zone).strftime("%H:%M:%S ngày %d/%m/%Y")
    who = f" — tài khoản {escape(m.account_name)}" if m.account_name else ""
    if m.dossier_id is not None:
        who += f" — hồ sơ {escape(m.dossier_code or str(m.dossier_id))}"
    code = f'<p>Mã: <span class="code">{escape(m.code)}</span></p>' if m.code else ""
    return (
        f"<article><small>#{m.seq} · {escape(when)} · {escape(m.channel)} tới "
        f"<b>{escape(m.destination)}</b>{who} · {escape(m.template)}</small>"
        f"<h2>{escape(m.subject)}</h2>{code}<pre>{escape(m.body)}</pre></article>"
    )


def _html(messages: list[Caught], zone: ZoneInfo, to: str) -> HTMLResponse:
    form = (
        '<form method="get" action="/dev/messages"><label>Người nhận: '
        f'<input name="to" value="{escape(to)}"></label> <button>Lọc</button> '
        '<a href="/dev/messages">Tất cả</a> · <a href="?format=json">JSON</a></form>'
    )
    intro = (
        "<p><small>Chưa cấu hình SMTP_HOST / SMS_GATEWAY_URL: thư và tin nhắn không được gửi mà giữ "
        "lại ở đây (cũng xem bằng <code>dvc messages</code>). Trang này chỉ có khi "
        "ENVIRONMENT=development.</small></p>"
    )
    items = "".join(_article(m, zone) for m in messages) or "<p>Chưa có thư hay tin nhắn nào.</p>"
    html = (
        '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(TITLE)}</title><style>{STYLE}{EXTRA_STYLE}</style></head>"
        f"<body><h1>{escape(TITLE)}</h1>{intro}{form}{items}</body></html>"
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


async def dev_messages_endpoint(rt: Runtime, request: Request) -> Response:
    """`GET /dev/messages` (development only)."""
    limit = _limit(request)
    if limit is None:
        return JSONResponse({"error": f"limit: 1–{MAX_LIMIT}"}, status_code=400)
    to = request.query_params.get("to", "").strip()
    async with rt.session_factory() as session:
        messages = await caught_messages(session, to=to or None, limit=limit)
    if _wants_json(request):
        return JSONResponse(
            {"messages": [m.as_json() for m in messages]}, headers={"Cache-Control": "no-store"}
        )
    return _html(messages, rt.settings.zone, to)
