"""Running the service: `dvc serve` (HTTP with uvicorn's limits) and `dvc servers` (the embedded
servers only, for tools)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from sqlalchemy.exc import DBAPIError

from cli.demo import load_demo
from cli.partitions import ensure_now
from cli.support import console
from core import checklist, environment, migrate
from core.settings import Settings, get_settings, proxy_list


def serve(
    host: Annotated[str | None, typer.Option(help="Địa chỉ lắng nghe (mặc định HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Cổng (mặc định PORT).")] = None,
    workers: Annotated[int, typer.Option(help="Số tiến trình ứng dụng.")] = 1,
) -> None:
    """Start the service: servers (embedded if not configured), migrations, demo data, HTTP."""
    import uvicorn

    refuse_unless_ready(get_settings())
    with environment.prepared() as settings:
        console.print("[bold]Áp dụng migration…[/bold]")
        migrate.upgrade(settings.database_url or "")
        try:  # the yearly partitions (services.partitions), as the daily jobs do
            ensure_now(settings)
        except DBAPIError as error:  # a lock not had in time: the DEFAULT partitions take the rows
            console.print(f"[yellow]Chưa tạo được phân vùng theo năm ({error.orig}).[/yellow]")
        if settings.load_demo_data:
            loaded = load_demo(settings)
            if loaded:
                console.print(f"Đã nạp dữ liệu mẫu: {loaded}")
        bind_host, bind_port = host or settings.host, port or settings.port
        console.print(f"GraphQL: [bold]http://{bind_host}:{bind_port}/graphql[/bold]")
        if (settings.data_dir / "demo-accounts.txt").exists():
            console.print(f"Tài khoản mẫu: {settings.data_dir / 'demo-accounts.txt'}")
        uvicorn.run(
            "app:app",
            host=bind_host,
            port=bind_port,
            workers=workers,
            log_level=settings.log_level.lower(),
            log_config=None,  # the app configures logging (text or JSON, with request ids)
            loop="uvloop",
            http="httptools",
            **server_limits(settings),
        )


def refuse_unless_ready(settings: Settings) -> None:
    """The production checklist's errors stop `dvc serve` before it migrates (exit 2); its
    warnings are logged by every app process at start (app.py)."""
    errors = [f for f in checklist.findings(settings) if f.level is checklist.Level.ERROR]
    if errors:
        console.print("[red]ENVIRONMENT=production: không khởi động (refused to start):[/red]")
        for finding in errors:
            console.print(f"  • {finding.check}: {finding.message}", markup=False)
        console.print("`dvc check-config` liệt kê mọi mục kiểm tra (docs/operations.md).")
        raise typer.Exit(2)


def check_config() -> None:
    """Print the production checklist with each check's outcome (OK, WARNING, ERROR) for the
    current settings; exit 1 when any check is an error (kiểm tra cấu hình trước khi vận hành)."""
    settings = get_settings()
    print(f"ENVIRONMENT={settings.environment}")
    errors = 0
    for check, found in checklist.report(settings):
        if not found:
            print(f"OK       {check.name}: {check.what}")
        for finding in found:
            errors += finding.level is checklist.Level.ERROR
            print(f"{finding.level.value:<8} {check.name}: {finding.message}")
    if errors:
        raise typer.Exit(1)


def server_limits(settings: Settings) -> dict[str, Any]:
    """uvicorn's guards against slow, idle and half-open clients (docs/security.md).

    Idle keep-alive connections close after HTTP_KEEP_ALIVE_SECONDS; websockets are pinged every
    20 s and closed when a pong does not come back within 20 s (a half-open peer); a websocket
    message is at most MAX_BODY_BYTES; beyond HTTP_LIMIT_CONCURRENCY connections new ones get 503.
    Slow request bodies are cut by the app (BODY_READ_TIMEOUT_SECONDS, 408); slow request *headers*
    are not timed by uvicorn: in production a reverse proxy in front (nginx `client_header_timeout`)
    does that.
    """
    proxies = proxy_list(settings.trusted_proxies)
    return {
        # X-Forwarded-For only from TRUSTED_PROXIES (uvicorn's default believes any local process)
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies or [],
        "timeout_keep_alive": settings.http_keep_alive_seconds,
        "limit_concurrency": settings.http_limit_concurrency,
        "ws_max_size": settings.max_body_bytes,
        "ws_ping_interval": 20.0,
        "ws_ping_timeout": 20.0,
        "timeout_graceful_shutdown": 30,
    }


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
