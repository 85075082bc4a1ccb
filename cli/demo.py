"""Demo and sample data: the demo catalog with an account for every role to explore with
(`cli/demo_accounts.py`; `dvc demo-load`, also loaded by `dvc serve`) and realistic dossiers to
measure with (`dvc generate-data`)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from cli.support import ROOT, console, error_lines, fail, in_session, progress_bar
from core import environment, migrate
from core.clock import SystemClock
from core.settings import Settings

DEMO_CATALOG = ROOT / "seed" / "demo_catalog.json"


def load_demo(settings: Settings) -> dict[str, int] | None:
    """Load the demo catalog if the catalog is empty; None when it was already there."""
    from app import policy_from_settings
    from cli.demo_accounts import create_demo_accounts, write_accounts_file
    from services.catalog.importer import catalog_is_empty, load_document

    doc = json.loads(DEMO_CATALOG.read_text(encoding="utf-8"))
    clock = SystemClock()

    async def work(session: AsyncSession) -> dict[str, int] | None:
        if not await catalog_is_empty(session):
            return None
        now = clock.now()
        loaded = await load_document(
            session, doc, actor="system:demo", now=now, today=now.astimezone(settings.zone).date()
        )
        accounts = await create_demo_accounts(session, now, policy_from_settings(settings))
        write_accounts_file(settings, accounts)
        dossiers = await _demo_dossiers(settings, session, now)
        return {**loaded, "accounts": len(accounts), "dossiers": dossiers}

    return in_session(settings, work, commit=True)


async def _demo_dossiers(settings: Settings, session: AsyncSession, now: datetime) -> int:
    """The dossier received at a commune for a provincial procedure (cli/demo_dossiers.py), when
    there is a file store to hold its scan."""
    from cli.demo_dossiers import receive_anywhere_demo
    from storage.s3 import ObjectStore, S3Config
    from web.runtime import default_calendar

    if not settings.s3_endpoint:
        return 0
    store = ObjectStore(S3Config.of(settings))
    await store.ensure_bucket()
    await receive_anywhere_demo(session, store, now=now, calendar=default_calendar(settings))
    return 1


def demo_load() -> None:
    """Load the demo catalog (one province's agencies and procedures) if the catalog is empty."""
    with environment.prepared() as settings:
        migrate.upgrade(settings.database_url or "")
        loaded = load_demo(settings)
        console.print(f"Đã nạp: {loaded}" if loaded else "Danh mục đã có dữ liệu; bỏ qua.")


def generate_data(
    dossiers: Annotated[int, typer.Option(min=1, max=100_000, help="Số hồ sơ cần tạo / how many dossiers.")],
    seed: Annotated[
        int, typer.Option(help="Hạt giống ngẫu nhiên (cùng hạt, cùng dữ liệu) / random seed.")
    ] = 1,
    batch: Annotated[
        int, typer.Option(min=1, max=10_000, help="Số hồ sơ mỗi giao dịch / per transaction.")
    ] = 200,
) -> None:
    """Tạo hồ sơ mẫu giống thật để đo hiệu năng (đăng ký tại Một cửa, phần lớn đã tiếp nhận).

    Create N realistic dossiers through the real acts — registered at a one-stop counter or by
    post for a published procedure, e-form filled from its schema, a scan per required
    component, about 80 % received (code, appointment, steps). Loads the demo catalog first if
    the catalog is empty. Committed in batches.
    """
    from services.dossiers import generator
    from services.errors import DomainError

    clock = SystemClock()
    with environment.prepared() as settings:
        migrate.upgrade(settings.database_url or "")
        if load_demo(settings):
            console.print("Danh mục trống: đã nạp danh mục mẫu.")
        from app import runtime_from_settings

        async def work() -> tuple[generator.Generated, list[str]]:
            runtime = runtime_from_settings(settings)
            total = generator.Generated()
            try:
                if runtime.store is None:
                    return total, ["Chưa cấu hình kho lưu trữ tệp (S3_ENDPOINT)."]
                await runtime.store.ensure_bucket()
                with progress_bar() as progress:
                    task = progress.add_task("Tạo hồ sơ", total=dossiers)
                    left, part = dossiers, 0
                    while left > 0:
                        size = min(batch, left)
                        now = clock.now()
                        calendar = await runtime.calendars.get(now) if runtime.calendars else runtime.calendar
                        async with runtime.session_factory() as session:
                            try:
                                made = await generator.generate(
                                    session,
                                    runtime.store,
                                    count=size,
                                    seed=seed * 1_000_003 + part,
                                    now=now,
                                    calendar=calendar,
                                    progress=lambda: progress.advance(task),
                                )
                            except DomainError as error:
                                return total, error_lines(error)
                            await session.commit()
                        total.registered += made.registered
                        total.received += made.received
                        total.procedures = made.procedures
                        left -= size
                        part += 1
                return total, []
            finally:
                if runtime.engine is not None:
                    await runtime.engine.dispose()

        made, errors = asyncio.run(work())
    if errors:
        fail("\n".join(f"• {e}" for e in errors))
    console.print(
        f"Đã tạo {made.registered} hồ sơ ({made.received} đã tiếp nhận, "
        f"{made.registered - made.received} chờ tiếp nhận) trên {made.procedures} thủ tục."
    )
