"""GraphiQL served entirely by this service: its page (in place of strawberry's, which loads
React and GraphiQL from unpkg.com), the pinned files it loads (`assets/graphiql/`, checked
against their SHA256SUMS, refreshed by scripts/fetch-graphiql-assets.sh) and the page's security
policy, which names no other host.

The page's one inline script and one inline style are allowed by their SHA-256 in the policy,
the files by 'self' and each by its subresource-integrity hash (sha384) in the page; queries go
to the page's own address and subscriptions over a websocket to the same address
(connect-src 'self' covers ws: and wss: to this origin).
"""

from __future__ import annotations

import base64
import hashlib
from html import escape
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

ASSETS_DIR = Path(__file__).resolve().parents[1] / "assets" / "graphiql"
ASSETS_PATH = "/graphiql/assets"
# The versions are in the paths: a file never changes under its name, caches may keep it.
ASSETS_CACHE_CONTROL = "public, max-age=31536000, immutable"

STYLES = (
    "graphiql@3.8.3/graphiql.min.css",
    "@graphiql/plugin-explorer@1.0.2/dist/style.css",
)
SCRIPTS = (
    "react@18.2.0/umd/react.production.min.js",
    "react-dom@18.2.0/umd/react-dom.production.min.js",
    "graphiql@3.8.3/graphiql.min.js",
    "@graphiql/plugin-explorer@1.0.2/dist/index.umd.js",
)

_START = (Path(__file__).with_name("graphiql.js")).read_text(encoding="utf-8")
_STYLE = (
    "body{height:100%;margin:0;width:100%;overflow:hidden}"
    "#graphiql{height:100vh;display:flex}"
    ".graphiql-explorer-actions select{margin-left:4px}"
)


def _digest(algorithm: str, data: bytes) -> str:
    return f"{algorithm}-{base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


def integrity(relative: str) -> str:
    """The subresource-integrity value (sha384) of a shipped file."""
    return _digest("sha384", (ASSETS_DIR / relative).read_bytes())


def _page() -> str:
    styles = "".join(
        f'<link rel="stylesheet" href="{ASSETS_PATH}/{escape(f)}" integrity="{integrity(f)}">' for f in STYLES
    )
    scripts = "".join(
        f'<script src="{ASSETS_PATH}/{escape(f)}" integrity="{integrity(f)}"></script>' for f in SCRIPTS
    )
    return (
        '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>GraphiQL — Dịch vụ công</title><style>{_STYLE}</style>{styles}</head>"
        f'<body><div id="graphiql" class="graphiql-container">Đang tải GraphiQL…</div>{scripts}'
        f"<script>{_START}</script></body></html>"
    )


PAGE = _page()
# No other host anywhere: the fonts GraphiQL's stylesheet embeds are data: URLs; images likewise.
POLICY = (
    "default-src 'none'; "
    f"script-src 'self' '{_digest('sha256', _START.encode())}'; "
    f"style-src 'self' '{_digest('sha256', _STYLE.encode())}'; "
    "font-src 'self' data:; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def graphiql_page() -> Response:
    """The page, with its own policy (the security-headers middleware keeps it)."""
    return Response(
        PAGE,
        media_type="text/html",
        headers={"Content-Security-Policy": POLICY, "Cache-Control": "no-cache"},
    )


class GraphiQLAssets(StaticFiles):
    """The shipped files under ASSETS_PATH, with long-lived caching."""

    def __init__(self) -> None:
        super().__init__(directory=ASSETS_DIR)

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in {200, 304}:
            response.headers["Cache-Control"] = ASSETS_CACHE_CONTROL
        return response
