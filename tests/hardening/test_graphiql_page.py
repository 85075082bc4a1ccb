"""GraphiQL served by this service alone: the page names only this server, each file it loads
is one of the pinned files shipped in assets/graphiql/ (checked against SHA256SUMS, and the very
bytes strawberry's own page pinned on unpkg.com), served with its content type and long caching;
GraphiQL is on by default only in development. In a browser: tests/live/test_browser_pages.py."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.http.ides import get_graphql_ide_html

from core.settings import Settings
from tests.hardening.helpers import client_with
from web.graphiql import ASSETS_CACHE_CONTROL, ASSETS_DIR, ASSETS_PATH, POLICY

CONTENT_TYPES = {".js": ("text/javascript", "application/javascript"), ".css": ("text/css",)}


def _sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_the_shipped_files_match_their_sums() -> None:
    listed = {}
    for line in (ASSETS_DIR / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    on_disk = {
        str(p.relative_to(ASSETS_DIR))
        for p in ASSETS_DIR.rglob("*")
        if p.is_file() and p.name != "SHA256SUMS"
    }
    assert set(listed) == on_disk
    for name, digest in listed.items():
        assert hashlib.sha256((ASSETS_DIR / name).read_bytes()).hexdigest() == digest, name


def test_the_shipped_files_are_those_strawberry_pinned_on_the_cdn() -> None:
    """strawberry's page carries the integrity of each file it loads from unpkg.com: ours are the
    same bytes (js-cookie aside: our page reads no cookie)."""
    upstream = dict(
        re.findall(r'(?:src|href)="https://unpkg\.com/([^"]+)"\s+integrity="([^"]+)"', get_graphql_ide_html())
    )
    assert len(upstream) == 7
    for name, expected in upstream.items():
        if name.startswith("js-cookie@"):
            continue
        assert _sri((ASSETS_DIR / name).read_bytes()) == expected, name


async def test_the_page_loads_only_our_files_each_checked(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    loaded = re.findall(r'<(?:script|link)[^>]*\s(?:src|href)="([^"]+)"[^>]*integrity="([^"]+)"', page.text)
    assert len(loaded) == 6  # React, ReactDOM, GraphiQL (script, style), the explorer (script, style)
    for url, integrity in loaded:
        assert url.startswith(f"{ASSETS_PATH}/"), url
        answer = await client.get(url)
        assert answer.status_code == 200, url
        assert _sri(answer.content) == integrity, url
        assert answer.headers["cache-control"] == ASSETS_CACHE_CONTROL
        media = answer.headers["content-type"].split(";")[0]
        assert media in CONTENT_TYPES[Path(url).suffix], (url, media)
        assert answer.headers["x-content-type-options"] == "nosniff"
        again = await client.get(url, headers={"If-None-Match": answer.headers["etag"]})
        assert again.status_code == 304
    # The one inline script and the one inline style are allowed by their hashes, nothing else inline.
    (script,) = re.findall(r"<script>(.*?)</script>", page.text, flags=re.S)
    (style,) = re.findall(r"<style>(.*?)</style>", page.text, flags=re.S)
    assert _sha256(script) in POLICY.split("script-src", 1)[1].split(";")[0]
    assert _sha256(style) in POLICY.split("style-src", 1)[1].split(";")[0]
    assert (await client.get(f"{ASSETS_PATH}/graphiql@3.8.3/nope.js")).status_code == 404


async def test_graphiql_by_default_only_in_development(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    unset = settings.model_copy(update={"graphiql": None})
    assert unset.model_copy(update={"environment": "development"}).serves_graphiql
    assert not unset.model_copy(update={"environment": "production"}).serves_graphiql
    assert settings.model_copy(update={"environment": "production", "graphiql": True}).serves_graphiql
    assert not settings.model_copy(update={"environment": "development", "graphiql": False}).serves_graphiql
    assert Settings.model_fields["graphiql"].default is None
    script = f"{ASSETS_PATH}/react@18.2.0/umd/react.production.min.js"
    async with client_with(settings, session_factory, graphiql=False) as c:
        assert (await c.get("/graphql", headers={"Accept": "text/html"})).status_code == 404
        assert (await c.get(script)).status_code == 404
    async with client_with(settings, session_factory, graphiql=None, environment="production") as c:
        assert (await c.get("/graphql", headers={"Accept": "text/html"})).status_code == 404
        assert (await c.get(script)).status_code == 404
