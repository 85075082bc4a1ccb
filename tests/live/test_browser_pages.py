"""The public pages and GraphiQL in a real headless Chromium (Debian's `chromium`, driven by
Playwright through its executable path — no Playwright browser download), against a live app
process. Screenshots go to tests/artifacts/ for a person to look at.

`make test` installs Chromium (scripts/install-chromium.sh); run on their own, the tests call the
same script when it is missing, and fail if it still is — they never skip. GraphiQL needs nothing
fetched: its files ship with the service (assets/graphiql/), and its test runs with every other
host unreachable.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route, ViewportSize, expect, sync_playwright
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from core.settings import DEFAULT_PROVINCE, system_name
from tests.conftest import CALENDAR, Servers
from tests.live.conftest import LiveSite

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _ensure(present: Callable[[], bool], script: str, what: str) -> None:
    """A browser test never skips (a test that did not run proves nothing): what it needs is
    installed by the project's own script when missing, as the clamd fixture does, else it fails."""
    if present():
        return
    subprocess.run(["bash", str(ROOT / "scripts" / script)], check=False, timeout=900)
    if not present():
        pytest.fail(f"{what}: scripts/{script} could not install it (`make test-deps` does the same)")


def _chromium() -> bool:
    return Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is not None


PHONE: ViewportSize = {"width": 375, "height": 667}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}


@dataclass(frozen=True)
class PublicWorld:
    dossier_code: str
    step_names: list[str]
    procedure_name: str
    verification_code: str
    checksum: str
    procedure_code: str


@pytest.fixture(scope="module")
def world(live_site: LiveSite, servers: Servers) -> PublicWorld:
    """A dossier received at a counter (through the real acts) and a paper conversion of its scan."""

    async def make() -> PublicWorld:
        from auth.actor import Actor, ActorKind
        from auth.roles import StaffRole
        from models.catalog import Procedure, ProcedureVersion
        from models.dossiers import Dossier, DossierAttachment, DossierStep, StoredFile
        from services.documents.paper import convert
        from services.dossiers import generator
        from storage.s3 import ObjectStore

        store = ObjectStore(servers.s3)
        await store.ensure_bucket()
        engine = create_async_engine(live_site.database_url)
        now = datetime.now(UTC)
        try:
            async with AsyncSession(engine, expire_on_commit=False) as session:
                await generator.generate(
                    session, store, count=1, seed=11, now=now, calendar=CALENDAR, received_share=1.0
                )
                dossier = (
                    await session.scalars(select(Dossier).order_by(Dossier.received_at.desc()))
                ).first()
                assert dossier is not None
                assert dossier.code is not None
                steps = list(
                    await session.scalars(
                        select(DossierStep.name)
                        .where(DossierStep.dossier_id == dossier.id)
                        .order_by(DossierStep.position)
                    )
                )
                version = await session.get_one(ProcedureVersion, dossier.procedure_version_id)
                procedure = await session.get_one(Procedure, version.procedure_id)
                scan = await session.scalar(
                    select(StoredFile)
                    .join(DossierAttachment, DossierAttachment.file_id == StoredFile.id)
                    .where(DossierAttachment.dossier_id == dossier.id)
                    .limit(1)
                )
                assert scan is not None
                admin = Actor(ActorKind.SYSTEM, name="kiểm thử", roles={StaffRole.SYSTEM_ADMIN: None})
                paper, _ = await convert(
                    session,
                    store,
                    admin,
                    scan.id,
                    now=now,
                    zone=CALENDAR.zone,
                    base_url="http://127.0.0.1",
                    system_name=system_name(DEFAULT_PROVINCE),
                )
                await session.commit()
                return PublicWorld(
                    dossier.code, steps, version.name, paper.verification_code, scan.sha256, procedure.code
                )
        finally:
            await engine.dispose()

    return asyncio.run(make())


@pytest.fixture(scope="module")
def browser(world: PublicWorld) -> Iterator[Browser]:
    """Started after the data is made: Playwright's sync API runs an event loop in this thread,
    so no asyncio.run() may happen while it lives."""
    _ensure(_chromium, "install-chromium.sh", f"Chromium not installed at {CHROMIUM}")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _shot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"browser-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5_000
    return path


def _fits_the_width(page: Page, width: int) -> None:
    """Nothing on the page is wider than the screen: no sideways scrolling on a phone."""
    for element in page.locator("h1, dt, dd, li, footer, p").all():
        box = element.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= width + 0.5, (element.inner_text(), box)
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_lookup_page_on_a_phone_without_javascript(
    browser: Browser, live_site: LiveSite, world: PublicWorld
) -> None:
    context = browser.new_context(
        viewport=PHONE, java_script_enabled=False, locale="vi-VN", device_scale_factor=2
    )
    page = context.new_page()
    response = page.goto(f"{live_site.bases[0]}/tra-cuu/{world.dossier_code}")
    assert response is not None
    assert response.status == 200
    expect(page).to_have_title("Tra cứu hồ sơ")
    expect(page.locator("h1")).to_have_text("Tra cứu hồ sơ")
    terms = page.locator("dt").all_inner_texts()
    values = page.locator("dd").all_inner_texts()
    shown = dict(zip(terms, values, strict=True))
    assert shown["Mã hồ sơ"] == world.dossier_code
    assert shown["Thủ tục"] == world.procedure_name
    assert shown["Trạng thái"] == "đang giải quyết"
    assert re.fullmatch(r"\d\d:\d\d ngày \d\d/\d\d/\d{4}", shown["Ngày hẹn trả"])
    # The history of steps: each step of the workflow, the reception step already done.
    expect(page.locator("h2")).to_have_text("Quá trình giải quyết")
    items = page.locator("ol > li").all_inner_texts()
    assert [i.splitlines()[0] for i in items] == world.step_names
    assert "đã xong" in items[0]
    assert any("đang xử lý, hạn" in i for i in items)
    # The footer names the system with its province (PROVINCE_NAME, the demo's by default).
    expect(page.locator("footer")).to_have_text(system_name(DEFAULT_PROVINCE))
    # Nothing personal on the public page.
    assert "09" not in "".join(values[3:])
    _fits_the_width(page, PHONE["width"])
    _shot(page, "tra-cuu-phone-nojs")
    context.close()


def test_lookup_page_unknown_code(live_site: LiveSite, browser: Browser) -> None:
    page = browser.new_page(viewport=PHONE, java_script_enabled=False)
    response = page.goto(f"{live_site.bases[0]}/tra-cuu/KHONG-CO-MA")
    assert response is not None
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("Không tìm thấy hồ sơ")
    expect(page.locator("body")).to_contain_text("Không có hồ sơ mã KHONG-CO-MA.")
    page.close()


def test_verification_page_on_a_phone_and_a_desktop(
    browser: Browser, live_site: LiveSite, world: PublicWorld
) -> None:
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = browser.new_page(viewport=viewport, java_script_enabled=False)
        response = page.goto(f"{live_site.bases[1]}/xac-minh/{world.verification_code.lower()}")
        assert response is not None
        assert response.status == 200
        expect(page.locator("h1")).to_have_text("Xác minh bản chuyển đổi")
        expect(page.locator("p.ok")).to_have_text(
            "Bản giấy này được chuyển đổi từ văn bản điện tử lưu trên hệ thống."
        )
        shown = dict(
            zip(page.locator("dt").all_inner_texts(), page.locator("dd").all_inner_texts(), strict=True)
        )
        assert shown["Mã xác minh"] == world.verification_code
        assert shown["SHA-256 văn bản gốc"] == world.checksum
        assert shown["Văn bản gốc"] == "ban-quet.pdf"
        if name == "phone":
            _fits_the_width(page, PHONE["width"])
        _shot(page, f"xac-minh-{name}")
        page.close()
    missing = browser.new_page(java_script_enabled=False)
    response = missing.goto(f"{live_site.bases[1]}/xac-minh/KHONGCO")
    assert response is not None
    assert response.status == 404
    expect(missing.locator("p.no")).to_contain_text("Không có bản chuyển đổi nào mang mã")
    missing.close()


LOCAL_HOSTS = {"127.0.0.1", "localhost"}
_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
    window.__violations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def test_graphiql_offline_runs_a_query_and_a_subscription(
    browser: Browser, live_site: LiveSite, world: PublicWorld
) -> None:
    """With every request to another host refused, GraphiQL loads from this server alone (its
    policy refuses nothing it needs), answers a query over HTTP and a subscription over the
    websocket, and never tried to reach another host."""
    context = browser.new_context(viewport=DESKTOP)
    outside: list[str] = []

    def only_local(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", only_local)
    context.add_init_script(_VIOLATIONS)
    page = context.new_page()
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    query = f'{{ dossierStatus(code: "{world.dossier_code}") {{ public {{ code status }} }} }}'
    page.goto(f"{live_site.bases[0]}/graphql?q={quote(query)}")
    expect(page.get_by_test_id("graphiql-container")).to_be_visible(timeout=20_000)
    page.locator(".graphiql-execute-button").click()
    result = page.locator(".result-window")
    expect(result).to_contain_text(world.dossier_code, timeout=20_000)
    expect(result).to_contain_text('"status": "IN_PROGRESS"')
    _shot(page, "graphiql")

    subscription = f'subscription {{ procedureChanged(code: "{world.procedure_code}") {{ code name }} }}'
    page.goto(f"{live_site.bases[0]}/graphql?q={quote(subscription)}")
    expect(page.get_by_test_id("graphiql-container")).to_be_visible(timeout=20_000)
    page.locator(".graphiql-execute-button").click()
    expect(result).to_contain_text(world.procedure_name, timeout=20_000)
    assert sockets  # the subscription went over a websocket, to this server
    assert all(urlsplit(url).hostname in LOCAL_HOSTS for url in sockets), sockets
    assert page.evaluate("window.__violations") == []
    assert outside == []
    assert seen
    assert all(urlsplit(url).hostname in LOCAL_HOSTS or url.startswith("data:") for url in seen)
    assert any("/graphiql/assets/graphiql@3.8.3/graphiql.min.js" in url for url in seen)
    context.close()
