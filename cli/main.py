"""`dvc` — operate the administrative-procedure system.

Every sub-command works on the configured servers, or starts the embedded ones under
DATA_DIR when DATABASE_URL / S3_ENDPOINT are not set (see README, "Configuration").
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from core import environment, migrate
from core.clock import SystemClock
from core.db import make_engine, make_session_factory
from core.settings import Settings, get_settings

app = typer.Typer(help="Hệ thống giải quyết thủ tục hành chính — công cụ vận hành.", no_args_is_help=True)
console = Console(stderr=True)
ROOT = Path(__file__).resolve().parent.parent
DEMO_CATALOG = ROOT / "seed" / "demo_catalog.json"
T = TypeVar("T")


@app.callback()
def _check_configuration() -> None:
    """Validate every setting before doing anything; a wrong value is named, not a traceback."""
    from pydantic import ValidationError

    try:
        get_settings()
    except ValidationError as error:
        console.print("[red]Cấu hình không hợp lệ:[/red]")
        for item in error.errors():
            name = ".".join(str(p) for p in item["loc"]).upper()
            console.print(f"  • {name}: {item['msg']}")
        raise typer.Exit(2) from None


def _in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]], *, commit: bool) -> T:
    async def run() -> T:
        assert settings.database_url
        engine = make_engine(settings.database_url, pool_size=2)
        try:
            async with make_session_factory(engine)() as session:
                result = await work(session)
                if commit:
                    await session.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(run())


def load_demo(settings: Settings) -> dict[str, int] | None:
    """Load the demo catalog if the catalog is empty; None when it was already there."""
    from services.catalog.importer import catalog_is_empty, load_document

    doc = json.loads(DEMO_CATALOG.read_text(encoding="utf-8"))
    clock = SystemClock()

    async def work(session: AsyncSession) -> dict[str, int] | None:
        if not await catalog_is_empty(session):
            return None
        now = clock.now()
        return await load_document(
            session, doc, actor="system:demo", now=now, today=now.astimezone(settings.zone).date()
        )

    return _in_session(settings, work, commit=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Địa chỉ lắng nghe (mặc định HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Cổng (mặc định PORT).")] = None,
    workers: Annotated[int, typer.Option(help="Số tiến trình ứng dụng.")] = 1,
) -> None:
    """Start the service: servers (embedded if not configured), migrations, demo data, HTTP."""
    import uvicorn

    with environment.prepared() as settings:
        console.print("[bold]Áp dụng migration…[/bold]")
        migrate.upgrade(settings.database_url or "")
        if settings.load_demo_data:
            loaded = load_demo(settings)
            if loaded:
                console.print(f"Đã nạp dữ liệu mẫu: {loaded}")
        bind_host, bind_port = host or settings.host, port or settings.port
        console.print(f"GraphQL: [bold]http://{bind_host}:{bind_port}/graphql[/bold]")
        console.print(f"Mã quản trị khởi tạo (Bearer): {settings.data_dir / 'admin-token'}")
        uvicorn.run(
            "app:app",
            host=bind_host,
            port=bind_port,
            workers=workers,
            log_level=settings.log_level.lower(),
            loop="uvloop",
            http="httptools",
        )


@app.command("migrate")
def migrate_cmd() -> None:
    """Apply database migrations up to the latest revision."""
    with environment.prepared() as settings:
        migrate.upgrade(settings.database_url or "")
        console.print("Đã cập nhật cơ sở dữ liệu.")


@app.command("demo-load")
def demo_load() -> None:
    """Load the demo catalog (one province's agencies and procedures) if the catalog is empty."""
    with environment.prepared() as settings:
        migrate.upgrade(settings.database_url or "")
        loaded = load_demo(settings)
        console.print(f"Đã nạp: {loaded}" if loaded else "Danh mục đã có dữ liệu; bỏ qua.")


@app.command("import-catalog")
def import_catalog(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Tệp CSV (UTF-8).")],
    dry_run: Annotated[bool, typer.Option(help="Chỉ kiểm tra, không ghi.")] = False,
) -> None:
    """Import procedures from CSV (columns in README). Any bad row: nothing is imported."""
    from services.catalog.importer import import_csv
    from services.errors import DomainError

    text = file.read_text(encoding="utf-8")
    clock = SystemClock()
    with environment.prepared() as settings:
        migrate.upgrade(settings.database_url or "")

        async def work(session: AsyncSession) -> tuple[int, int, list[str]]:
            now = clock.now()
            try:
                created, amended, errors = await import_csv(
                    session, text, actor="cli:import", now=now, today=now.astimezone(settings.zone).date()
                )
            except DomainError as error:
                return 0, 0, [error.message]
            if not errors and not dry_run:
                await session.commit()
            return created, amended, [str(e) for e in errors]

        created, amended, errors = _in_session(settings, work, commit=False)
    if errors:
        console.print(f"[red]Tệp có {len(errors)} lỗi; không nhập dòng nào:[/red]")
        for line in errors:
            console.print(f"  • {line}")
        raise typer.Exit(1)
    verb = "Hợp lệ (chạy thử)" if dry_run else "Đã nhập"
    console.print(f"{verb}: {created} thủ tục mới, {amended} thủ tục sửa đổi.")


@app.command("export-schema")
def export_schema(
    output: Annotated[Path, typer.Option(help="Tệp đích.")] = ROOT / "schema.graphql",
    check: Annotated[bool, typer.Option(help="Chỉ kiểm tra tệp có khớp không.")] = False,
) -> None:
    """Write the GraphQL schema (SDL) to schema.graphql, or check that it is current."""
    from schema import schema

    sdl = schema.as_str() + "\n"
    if check:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != sdl:
            console.print(f"[red]{output} đã cũ: chạy `dvc export-schema`.[/red]")
            raise typer.Exit(1)
        console.print(f"{output} khớp với schema.")
        return
    output.write_text(sdl, encoding="utf-8")
    console.print(f"Đã ghi {output}.")


@app.command()
def servers() -> None:
    """Start only the embedded servers and print their settings (for tools); Ctrl-C stops."""
    import signal

    with environment.prepared() as settings:
        print(f"DATABASE_URL={settings.database_url}")
        print(f"S3_ENDPOINT={settings.s3_endpoint}")
        print(f"S3_ACCESS_KEY={settings.s3_access_key}")
        print(f"S3_SECRET_KEY={settings.s3_secret_key}")
        sys.stdout.flush()
        signals = {signal.SIGINT, signal.SIGTERM}
        signal.pthread_sigmask(signal.SIG_BLOCK, signals)
        signal.sigwait(signals)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
