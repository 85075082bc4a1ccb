"""`dvc` — operate the administrative-procedure system.

Every sub-command works on the configured servers, or starts the embedded ones under
DATA_DIR when DATABASE_URL / S3_ENDPOINT are not set (see docs/configuration.md).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from sqlalchemy.ext.asyncio import AsyncSession

from core import environment, migrate
from core.clock import SystemClock
from core.db import make_engine, make_session_factory
from core.settings import Settings, get_settings, proxy_list

if TYPE_CHECKING:
    from auth.actor import Actor

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
        loaded = await load_document(
            session, doc, actor="system:demo", now=now, today=now.astimezone(settings.zone).date()
        )
        lines = await _demo_accounts(session, now, settings)
        path = settings.data_dir / "demo-accounts.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return {**loaded, "accounts": len(lines) - 1}

    return _in_session(settings, work, commit=True)


async def _demo_accounts(session: AsyncSession, now: datetime, settings: Settings) -> list[str]:
    """Three accounts to explore with, with random passwords: a system admin, a one-stop
    officer of the provincial service centre, and a citizen."""
    import secrets

    from sqlalchemy import update
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from app import policy_from_settings
    from auth import passwords
    from auth.actor import SYSTEM, Actor, ActorKind
    from auth.roles import StaffRole
    from models.accounts import Account, AccountStatus
    from services.accounts.admin.assignments import AssignmentData
    from services.accounts.admin.staff import StaffData, create_staff, create_system_admin
    from services.accounts.journal import Journal, RequestMeta
    from services.accounts.registration import CitizenRegistration, register_citizen

    def password() -> str:
        return "Demo-" + secrets.token_urlsafe(9)

    lines = ["# Tài khoản mẫu (chỉ dùng để thử; tắt bằng LOAD_DEMO_DATA=false)"]
    admin_pw = password()
    await create_system_admin(
        session,
        email="admin@demo.dvc.local",
        full_name="Quản trị Hệ thống",
        password=admin_pw,
        now=now,
        actor=SYSTEM,
    )
    lines.append(f"quản trị hệ thống: admin@demo.dvc.local / {admin_pw}")
    journal = Journal(async_sessionmaker(bind=session.bind), RequestMeta(user_agent="demo"), now)
    policy = policy_from_settings(settings)
    staff = await create_staff(
        session,
        Actor(ActorKind.SYSTEM, name="demo", roles={StaffRole.SYSTEM_ADMIN: None}),
        StaffData(
            full_name="Trần Thị Một Cửa",
            email="motcua@demo.dvc.local",
            phone=None,
            assignments=(AssignmentData(StaffRole.RECEPTION_OFFICER, "H44.99"),),
        ),
        journal=journal,
        policy=policy,
    )
    officer_pw = password()
    staff.password_hash = passwords.hash_password(officer_pw)
    staff.status = AccountStatus.ACTIVE
    staff.email_verified_at = now
    lines.append(f"cán bộ một cửa (H44.99): motcua@demo.dvc.local / {officer_pw}")
    citizen_pw = password()
    registered = await register_citizen(
        session,
        CitizenRegistration(
            citizen_id="025190000123",
            full_name="Nguyễn Văn Dân",
            birth_date=date(1990, 5, 17),
            password=citizen_pw,
            email="congdan@demo.dvc.local",
            phone="0912345678",
            address="Phường Việt Trì, Phú Thọ",
        ),
        journal=journal,
        policy=policy,
        today=now.date(),
    )
    citizen = registered.account
    if citizen is None:
        raise RuntimeError("the demo citizen's ID or contacts already have an account")
    await session.execute(
        update(Account)
        .where(Account.id == citizen.id)
        .values(status=AccountStatus.ACTIVE, email_verified_at=now, phone_verified_at=now)
    )
    lines.append(f"công dân: congdan@demo.dvc.local (hoặc 025190000123) / {citizen_pw}")
    return lines


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
    """Import procedures from CSV (columns in docs/domain.md). Any bad row: nothing is imported."""
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


@app.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(help="Thư điện tử của quản trị hệ thống.")],
    name: Annotated[str, typer.Option(help="Họ và tên.")],
    password_stdin: Annotated[bool, typer.Option(help="Đọc mật khẩu từ đầu vào chuẩn.")] = False,
) -> None:
    """Create a system administrator (the first account of a new installation)."""
    from auth.actor import SYSTEM
    from services.accounts.admin.staff import create_system_admin
    from services.errors import ValidationFailed

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Mật khẩu", hide_input=True, confirmation_prompt="Nhập lại mật khẩu")
    clock = SystemClock()
    with environment.prepared() as settings:
        migrate.upgrade(settings.database_url or "")

        async def work(session: AsyncSession) -> list[str]:
            try:
                await create_system_admin(
                    session, email=email, full_name=name, password=password, now=clock.now(), actor=SYSTEM
                )
            except ValidationFailed as error:
                return [f"{'.'.join(map(str, i.path))}: {i.message}" for i in error.issues]
            await session.commit()
            return []

        errors = _in_session(settings, work, commit=False)
    if errors:
        for line in errors:
            console.print(f"[red]• {line}[/red]")
        raise typer.Exit(1)
    console.print(f"Đã tạo quản trị hệ thống {email}.")


@app.command("run-jobs")
def run_jobs() -> None:
    """Run the scheduled jobs once (inactivity warnings and locks, abandoned uploads, the stored
    files' integrity check, payment reconciliation and refunds); schedule it daily."""
    from services.accounts.inactivity import run_inactivity

    clock = SystemClock()
    with environment.prepared() as settings:
        from app import policy_from_settings, runtime_from_settings
        from services.uploads import clean_expired, sweep_staging, verify_stored

        policy = policy_from_settings(settings)

        runtime = runtime_from_settings(settings)

        async def work(session: AsyncSession) -> str:
            result = await run_inactivity(session, now=clock.now(), policy=policy)
            cleaned = await clean_expired(session, runtime.store, now=clock.now()) if runtime.store else 0
            return (
                f"cảnh báo {result.warned} tài khoản, khoá {result.locked} tài khoản; "
                f"xoá {cleaned} tệp tải lên dở dang"
            )

        async def files(session: AsyncSession) -> str:
            if runtime.store is None:
                return "không có kho lưu trữ"
            swept = await sweep_staging(session, runtime.store)
            checked = await verify_stored(
                session, runtime.store, now=clock.now(), limit=settings.file_verify_batch
            )
            return (
                f"xoá {swept} bản tải lên thừa; đọc lại {checked.checked} tệp, "
                f"{len(checked.damaged)} tệp hỏng, {len(checked.restored)} tệp khớp lại"
            )

        console.print(f"Không hoạt động 01 năm: {_in_session(settings, work, commit=True)}.")
        console.print(f"Kiểm tra tệp lưu trữ: {_in_session(settings, files, commit=True)}.")
    payments_settle()


@app.command("payments-settle")
def payments_settle() -> None:
    """Settle pending online payments by asking the gateway, and send the refunds due (đối soát)."""
    from services.payments.settlement import run_configured

    clock = SystemClock()
    with environment.prepared() as settings:
        from app import runtime_from_settings

        async def work() -> str:
            runtime = runtime_from_settings(settings)
            try:
                now = clock.now()
                calendar = await runtime.calendars.get(now) if runtime.calendars else runtime.calendar
                run = await run_configured(runtime.session_factory, settings, calendar, now)
            finally:
                if runtime.engine is not None:
                    await runtime.engine.dispose()
            return "chưa cấu hình thanh toán trực tuyến" if run is None else run.summary()

        console.print(f"Đối soát thanh toán: {asyncio.run(work())}.")


@app.command("export-schema")
def export_schema(
    output: Annotated[Path, typer.Option(help="Tệp đích.")] = ROOT / "schema.graphql",
    check: Annotated[bool, typer.Option(help="Chỉ kiểm tra tệp có khớp không.")] = False,
) -> None:
    """Write the GraphQL schema (SDL) to schema.graphql, or check that it is current."""
    from resolvers.root import schema

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


@app.command("outbox")
def outbox_cmd(
    replay_consumer: Annotated[
        str | None, typer.Option(help="Gửi lại cho bên nhận này (cùng --from-seq).")
    ] = None,
    from_seq: Annotated[int | None, typer.Option(min=1, help="Gửi lại từ sự kiện số này.")] = None,
) -> None:
    """Show each event consumer's backlog; with --replay-consumer and --from-seq, send again."""
    from services import outbox
    from services.errors import NotFound

    if (replay_consumer is None) != (from_seq is None):
        console.print("[red]Dùng --replay-consumer cùng với --from-seq.[/red]")
        raise typer.Exit(2)
    with environment.prepared() as settings:
        migrate.upgrade(settings.database_url or "")

        async def work(session: AsyncSession) -> tuple[int | None, list[outbox.ConsumerBacklog]]:
            moved = None
            if replay_consumer is not None and from_seq is not None:
                moved = await outbox.replay(session, replay_consumer, from_seq)
            return moved, await outbox.backlog(session)

        try:
            moved, rows = _in_session(settings, work, commit=True)
        except NotFound as error:
            console.print(f"[red]{error.message}[/red]")
            raise typer.Exit(1) from None
    if moved is not None:
        console.print(f"Gửi lại cho {replay_consumer} từ sự kiện {from_seq}: {moved} hồ sơ.")
    print("consumer\tactive\tpending_events\tpending_dossiers\tretrying_dossiers\toldest_pending_at")
    for b in rows:
        oldest = b.oldest_pending_at.isoformat() if b.oldest_pending_at else "-"
        print(
            f"{b.name}\t{'yes' if b.active else 'no'}\t{b.pending_events}\t{b.pending_dossiers}"
            f"\t{b.retrying_dossiers}\t{oldest}"
        )


@app.command("reconcile-portal")
def reconcile_portal(
    day: Annotated[
        str | None,
        typer.Option("--date", help="Ngày đối soát (YYYY-MM-DD, giờ địa phương); mặc định hôm qua."),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Chỉ báo cáo, không gửi lại.")] = False,
) -> None:
    """Reconcile a day's dossiers with the national public service portal: ask it which status it
    holds for each, print the differences, and re-queue those dossiers (all their events)."""
    from datetime import timedelta

    import httpx

    from services.errors import NotFound
    from services.national_portal.feed import PortalClient, ensure_portal_consumer, portal_config
    from services.national_portal.reconcile import PortalUnavailable, Reconciliation, reconcile

    clock = SystemClock()
    config = portal_config(get_settings())  # checked before any server is started
    if config is None:
        console.print("[red]Chưa cấu hình NATIONAL_PORTAL_URL.[/red]")
        raise typer.Exit(2)
    try:
        target = (
            date.fromisoformat(day)
            if day
            else (clock.now().astimezone(config.zone) - timedelta(days=1)).date()
        )
    except ValueError:
        console.print("[red]--date theo dạng YYYY-MM-DD.[/red]")
        raise typer.Exit(2) from None
    with environment.prepared() as settings:
        migrate.upgrade(settings.database_url or "")

        async def work(session: AsyncSession) -> Reconciliation:
            await ensure_portal_consumer(session, config, now=clock.now())
            async with httpx.AsyncClient(timeout=30.0) as http:
                return await reconcile(
                    session,
                    http,
                    PortalClient(config, clock),
                    day=target,
                    now=clock.now(),
                    requeue=not dry_run,
                )

        try:
            report = _in_session(settings, work, commit=True)
        except (NotFound, PortalUnavailable) as error:
            console.print(f"[red]Không đối soát được: {error}[/red]")
            raise typer.Exit(1) from None
    console.print(
        f"Đối soát {report.day}: {report.checked} hồ sơ đã so, {report.queued} đang chờ gửi, "
        f"{len(report.differences)} sai lệch, {report.requeued} hồ sơ gửi lại."
    )
    print("dossier_id\tcode\treason\tours\ttheirs\tour_event\ttheir_event")
    for d in report.differences:
        print(
            f"{d.dossier_id}\t{d.code or '-'}\t{d.reason}\t{d.ours}\t{d.theirs}"
            f"\t{d.our_event}\t{d.their_event}"
        )


@app.command("statistics-rebuild")
def statistics_rebuild() -> None:
    """Recompute the statistics facts of every dossier from scratch (they are kept current by
    triggers; this repairs them after a bulk load that bypassed them)."""
    from services.statistics.facts import rebuild

    with environment.prepared() as settings:
        migrate.upgrade(settings.database_url or "")
        done = _in_session(settings, rebuild, commit=True)
    console.print(f"Đã tính lại {done.rows} hồ sơ; {done.differed} dòng đã khác trước khi tính lại.")


@app.command("statistics-export")
def statistics_export(
    start: Annotated[str, typer.Option("--from", help="Ngày đầu kỳ (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--to", help="Ngày cuối kỳ (YYYY-MM-DD).")],
    output: Annotated[Path, typer.Option(help="Tệp đích: .csv hoặc .xlsx.")],
    agency: Annotated[str | None, typer.Option(help="Mã cơ quan (gồm đơn vị trực thuộc).")] = None,
    group_by: Annotated[
        str, typer.Option(help="TOTAL, AGENCY, LEVEL, FIELD, PROCEDURE, MONTH, QUARTER, YEAR.")
    ] = "TOTAL",
) -> None:
    """Write the handling statistics of a period to a CSV or XLSX file."""
    from services.errors import ValidationFailed
    from services.statistics import exports
    from services.statistics import figures as stats

    if output.suffix not in (".csv", ".xlsx"):
        console.print("[red]Tệp đích phải là .csv hoặc .xlsx.[/red]")
        raise typer.Exit(2)
    try:
        scope = stats.Scope(date.fromisoformat(start), date.fromisoformat(end), agency)
        grouping = stats.GroupBy(group_by.upper())
    except ValueError:
        console.print(
            "[red]Ngày theo dạng YYYY-MM-DD; cách nhóm là một trong "
            "TOTAL, AGENCY, LEVEL, FIELD, PROCEDURE, MONTH, QUARTER, YEAR.[/red]"
        )
        raise typer.Exit(2) from None
    now = SystemClock().now()
    with environment.prepared() as settings:
        migrate.upgrade(settings.database_url or "")

        async def work(session: AsyncSession) -> tuple[stats.Figures, list[stats.Row]]:
            r = await stats.resolve(session, scope, now=now, zone=settings.zone)
            total = await stats.figures(session, r)
            rows = (
                []
                if grouping is stats.GroupBy.TOTAL
                else await stats.breakdown(session, r, grouping, now=now, zone=settings.zone)
            )
            return total, rows

        try:
            total, rows = _in_session(settings, work, commit=False)
        except ValidationFailed as error:
            for issue in error.issues:
                console.print(f"[red]{issue.message}[/red]")
            raise typer.Exit(1) from None
    if output.suffix == ".csv":
        output.write_bytes(exports.to_csv(rows, total))
    else:
        title = "Thống kê tình hình giải quyết thủ tục hành chính"
        output.write_bytes(exports.to_xlsx(rows, total, title=title, start=scope.start, end=scope.end))
    console.print(f"Đã ghi {output}.")


def _minio(settings: Settings) -> Any:
    from minio import Minio

    return Minio(
        settings.s3_endpoint or "",
        access_key=settings.s3_access_key or "",
        secret_key=settings.s3_secret_key or "",
        secure=settings.s3_secure,
        region=settings.s3_region,
    )


def _copying_objects(description: str, work: Callable[[Callable[[int], None]], T]) -> T:
    """Runs a backup or restore with a progress bar counting objects; a BackupError exits 1."""
    from cli import backup

    with _progress() as bar:
        task = bar.add_task(description, total=None)
        try:
            return work(lambda n: bar.advance(task, n))
        except backup.BackupError as error:
            console.print(f"[red]{error}[/red]")
            raise typer.Exit(1) from None


@app.command("backup")
def backup_cmd(
    target: Annotated[Path, typer.Argument(help="Thư mục (trống) để ghi bản sao lưu.")],
) -> None:
    """Back up the database (pg_dump) and then every object of the store, with a manifest of
    SHA-256 digests. Restore with `dvc restore`."""
    from cli import backup

    with environment.prepared() as settings:
        revision = _in_session(settings, _revision, commit=False)
        manifest = _copying_objects(
            "Sao chép đối tượng",
            lambda progress: backup.backup(
                settings.database_url or "",
                _minio(settings),
                settings.s3_bucket,
                target,
                revision=revision,
                progress=progress,
            ),
        )
    size = manifest["database"]["size"] + sum(o["size"] for o in manifest["objects"])
    console.print(
        f"Đã sao lưu vào {target}: cơ sở dữ liệu (migration {manifest['migration']}) và "
        f"{len(manifest['objects'])} đối tượng, {size / 1e6:.1f} MB."
    )


@app.command("restore")
def restore_cmd(
    source: Annotated[Path, typer.Argument(help="Thư mục bản sao lưu (do `dvc backup` tạo).")],
) -> None:
    """Restore a backup into an empty database and bucket, checking every digest, then verify
    that every file the database names is in the store and every trail checks."""
    from cli import backup

    with environment.prepared() as settings:
        empty = _in_session(settings, _database_is_empty, commit=False)
        manifest = _copying_objects(
            "Khôi phục đối tượng",
            lambda progress: backup.restore(
                settings.database_url or "",
                _minio(settings),
                settings.s3_bucket,
                source,
                database_is_empty=empty,
                progress=progress,
            ),
        )
        migrate.upgrade(settings.database_url or "")  # a backup from an older release moves forward
        found = _verify(settings, deep=True)
    console.print(f"Đã khôi phục {len(manifest['objects'])} đối tượng và cơ sở dữ liệu từ {source}.")
    _report(found)


@app.command("verify")
def verify_cmd(
    deep: Annotated[bool, typer.Option(help="Đọc lại từng tệp và so SHA-256 (chậm hơn).")] = False,
) -> None:
    """Check that every READY file the database names is in the object store (size, and with
    --deep its digest) and that every dossier's process trail checks. Exit 1 on any problem."""
    with environment.prepared() as settings:
        found = _verify(settings, deep=deep)
    _report(found)


async def _revision(session: AsyncSession) -> str | None:
    from sqlalchemy import text

    found = await session.scalar(text("SELECT version_num FROM alembic_version"))
    return str(found) if found is not None else None


async def _database_is_empty(session: AsyncSession) -> bool:
    from sqlalchemy import text

    count = await session.scalar(
        text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
    )
    return not count


def _verify(settings: Settings, *, deep: bool) -> Any:
    from cli import backup
    from storage.s3 import ObjectStore, S3Config

    store = ObjectStore(
        S3Config(
            endpoint=settings.s3_endpoint or "",
            access_key=settings.s3_access_key or "",
            secret_key=settings.s3_secret_key or "",
            bucket=settings.s3_bucket,
            secure=settings.s3_secure,
            region=settings.s3_region,
        )
    )

    async def work(session: AsyncSession) -> backup.Verification:
        return await backup.verify(session, store, deep=deep)

    return _in_session(settings, work, commit=False)


def _report(found: Any) -> None:
    console.print(
        f"Kiểm tra: {found.files} tệp, {found.dossiers} hồ sơ; thiếu {len(found.missing)}, sai "
        f"{len(found.different)}, chuỗi nhật ký hỏng {len(found.broken_trails)}."
    )
    for key in found.missing:
        console.print(f"[red]thiếu tệp {key}[/red]")
    for key in found.different:
        console.print(f"[red]tệp khác bản ghi {key}[/red]")
    for code in found.broken_trails:
        console.print(f"[red]nhật ký xử lý hồ sơ {code} không khớp[/red]")
    if not found.ok:
        raise typer.Exit(1)


# --- operator commands with progress ------------------------------------------------------------

CLI_ADMIN_NAME = "cli"


def _progress() -> Progress:
    """A progress bar on stderr (stdout stays for machine-readable output)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _fail(message: str, code: int = 1) -> NoReturn:
    console.print(f"[red]{message}[/red]")
    raise typer.Exit(code)


def _cli_admin() -> Actor:
    """The command line acts as a system administrator (whoever runs it holds the server)."""
    from auth.actor import Actor, ActorKind
    from auth.roles import StaffRole

    return Actor(ActorKind.SYSTEM, name=CLI_ADMIN_NAME, roles={StaffRole.SYSTEM_ADMIN: None})


def _issues(error: Exception) -> list[str]:
    from services.errors import DomainError, ValidationFailed

    if isinstance(error, ValidationFailed):
        return [f"{'.'.join(map(str, i.path))}: {i.message}" if i.path else i.message for i in error.issues]
    if isinstance(error, DomainError):
        return [error.message]
    return [str(error)]


@app.command("export-catalog")
def export_catalog(
    output: Annotated[Path, typer.Argument(dir_okay=False, help="Tệp CSV đích (UTF-8) / target CSV file.")],
) -> None:
    """Xuất danh mục thủ tục ra CSV đúng định dạng `import-catalog` đọc được.

    Export every procedure (its published version, or its latest draft) to CSV in the columns
    `import-catalog` reads, with the publishing decision, so the file can be imported again.
    """
    from services.catalog import exporter

    if not output.parent.is_dir():
        _fail(f"Thư mục {output.parent} không tồn tại.", 2)
    with environment.prepared() as settings:
        migrate.upgrade(settings.database_url or "")

        async def work(session: AsyncSession) -> int:
            total = await exporter.count_procedures(session)
            written = 0
            with _progress() as progress, output.open("w", encoding="utf-8", newline="") as out:
                task = progress.add_task("Xuất danh mục", total=total)
                out.write(exporter.header())
                async for row in exporter.rows(session):
                    out.write(exporter.line(row))
                    written += 1
                    progress.advance(task)
            return written

        written = _in_session(settings, work, commit=False)
    console.print(f"Đã xuất {written} thủ tục vào {output}.")


holidays_app = typer.Typer(
    help="Lịch ngày nghỉ, ngày làm bù (tính thời hạn giải quyết) / the working-day calendar.",
    no_args_is_help=True,
)
app.add_typer(holidays_app, name="holidays")


def _parse_day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        _fail(f"{option} theo dạng YYYY-MM-DD (nhận được “{value}”).", 2)


@holidays_app.command("list")
def holidays_list(
    year: Annotated[
        int | None, typer.Option(min=2000, max=2100, help="Năm (mặc định năm nay) / year.")
    ] = None,
) -> None:
    """Liệt kê ngày nghỉ lễ, ngày nghỉ bù và ngày làm bù của một năm (kể cả điều chỉnh).

    List a year's days off (Vietnam's public holidays and the admins' overrides) and the
    weekend days worked in exchange; tab-separated on stdout: day, kind, source, name.
    """
    from datetime import timedelta

    from services import holidays

    with environment.prepared() as settings:
        migrate.upgrade(settings.database_url or "")
        rows = _in_session(settings, holidays.overrides, commit=False)
    target = year or SystemClock().now().astimezone(settings.zone).year
    calendar = holidays.build(settings.zone, rows, around=target)
    names = {r.day: r.name for r in rows}
    print("day\tkind\tsource\tname")
    day, end, off, worked = date(target, 1, 1), date(target + 1, 1, 1), 0, 0
    while day < end:
        weekend = day.weekday() >= 5
        working = calendar.is_working_day(day)
        if not weekend and not working:
            off += 1
            print(f"{day}\tday-off\t{'override' if day in names else 'law'}\t{names.get(day, '')}")
        elif weekend and working:
            worked += 1
            print(f"{day}\tworking\toverride\t{names.get(day, '')}")
        day += timedelta(days=1)
    console.print(f"Năm {target}: {off} ngày nghỉ trong tuần, {worked} ngày làm bù cuối tuần.")


@holidays_app.command("set")
def holidays_set(
    day: Annotated[str, typer.Option(help="Ngày (YYYY-MM-DD) / the day.")],
    name: Annotated[str, typer.Option(help="Căn cứ, ví dụ số văn bản / the legal basis.")],
    working: Annotated[
        bool, typer.Option("--working/--day-off", help="Ngày làm bù (thứ Bảy, Chủ nhật) hay ngày nghỉ thêm.")
    ] = False,
) -> None:
    """Điều chỉnh lịch: thêm một ngày nghỉ, hoặc đặt thứ Bảy/Chủ nhật là ngày làm bù.

    Set an override (the same rule as the `holidayOverrideSet` mutation); every app process
    rebuilds its calendar at once.
    """
    from services import holidays
    from services.errors import DomainError

    target = _parse_day(day, "--day")
    with environment.prepared() as settings:
        migrate.upgrade(settings.database_url or "")

        async def work(session: AsyncSession) -> list[str]:
            try:
                await holidays.set_override(session, _cli_admin(), target, working, name)
            except DomainError as error:
                return _issues(error)
            await session.commit()
            return []

        errors = _in_session(settings, work, commit=False)
    if errors:
        _fail("\n".join(f"• {e}" for e in errors))
    console.print(f"Đã đặt {target} là {'ngày làm việc bù' if working else 'ngày nghỉ'} ({name.strip()}).")


@holidays_app.command("remove")
def holidays_remove(day: Annotated[str, typer.Option(help="Ngày (YYYY-MM-DD) / the day.")]) -> None:
    """Gỡ một điều chỉnh lịch / remove an override (the law's holidays stay)."""
    from services import holidays
    from services.errors import DomainError

    target = _parse_day(day, "--day")
    with environment.prepared() as settings:
        migrate.upgrade(settings.database_url or "")

        async def work(session: AsyncSession) -> list[str]:
            try:
                await holidays.remove_override(session, _cli_admin(), target)
            except DomainError as error:
                return _issues(error)
            await session.commit()
            return []

        errors = _in_session(settings, work, commit=False)
    if errors:
        _fail("\n".join(f"• {e}" for e in errors))
    console.print(f"Đã gỡ điều chỉnh ngày {target}.")


@app.command("unlock-account")
def unlock_account(
    email: Annotated[str | None, typer.Option(help="Thư điện tử của tài khoản / account e-mail.")] = None,
    citizen_id: Annotated[
        str | None, typer.Option(help="Số định danh cá nhân (12 chữ số) / citizen ID.")
    ] = None,
) -> None:
    """Mở khoá một tài khoản (theo thư điện tử hoặc số định danh cá nhân).

    Unlock an account found by e-mail or citizen ID, through the same rule as the
    `accountUnlock` mutation (journalled; the owner is told).
    """
    from sqlalchemy import func, select
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from models.accounts import Account, AccountStatus, CitizenProfile
    from services.accounts.admin.locks import admin_unlock
    from services.accounts.journal import Journal, RequestMeta
    from services.errors import DomainError

    if (email is None) == (citizen_id is None):
        _fail("Dùng đúng một trong --email hoặc --citizen-id.", 2)
    if citizen_id is not None and not (len(citizen_id) == 12 and citizen_id.isdigit()):
        _fail("--citizen-id là số định danh cá nhân gồm 12 chữ số.", 2)
    clock = SystemClock()
    with environment.prepared() as settings:
        migrate.upgrade(settings.database_url or "")

        async def work(session: AsyncSession) -> tuple[str | None, list[str]]:
            stmt = select(Account.id, Account.status).where(Account.status != AccountStatus.DELETED)
            if email is not None:
                stmt = stmt.where(func.lower(Account.email) == email.strip().lower())
            else:
                stmt = stmt.join(CitizenProfile, CitizenProfile.account_id == Account.id).where(
                    CitizenProfile.citizen_id == citizen_id
                )
            found = (await session.execute(stmt)).first()
            if found is None:
                return None, ["Không tìm thấy tài khoản."]
            if found.status is not AccountStatus.LOCKED:
                return "NOT_LOCKED", []
            now = clock.now()
            journal = Journal(async_sessionmaker(bind=session.bind), RequestMeta(user_agent="dvc cli"), now)
            try:
                await admin_unlock(session, _cli_admin(), found.id, journal=journal)
            except DomainError as error:
                return None, _issues(error)
            await session.commit()
            return "UNLOCKED", []

        outcome, errors = _in_session(settings, work, commit=False)
    who = email or citizen_id
    if errors:
        _fail("\n".join(f"• {e}" for e in errors))
    if outcome == "NOT_LOCKED":
        console.print(f"Tài khoản {who} không bị khoá; không có gì thay đổi.")
        return
    console.print(f"Đã mở khoá tài khoản {who}.")


@app.command("archive-export")
def archive_export(
    agency: Annotated[str, typer.Option(help="Mã cơ quan tiếp nhận / receiving agency code.")],
    closed_before: Annotated[
        str, typer.Option(help="Hồ sơ kết thúc trước ngày này (YYYY-MM-DD) / closed before this day.")
    ],
    output: Annotated[Path, typer.Option(dir_okay=False, help="Tệp zip đích / target zip file.")],
) -> None:
    """Xuất gói lưu trữ các hồ sơ đã kết thúc của một cơ quan, ghi tệp zip ra đĩa.

    Export the dossiers of an agency that closed before a day into an archive package (files,
    metadata, trail, hash manifest — as the `archiveExport` mutation), mark them archived, keep
    the package in the object store and write it to OUTPUT.
    """
    from datetime import time

    from services import archive
    from services.errors import DomainError

    day = _parse_day(closed_before, "--closed-before")
    if not output.parent.is_dir():
        _fail(f"Thư mục {output.parent} không tồn tại.", 2)
    clock = SystemClock()
    with environment.prepared() as settings:
        migrate.upgrade(settings.database_url or "")
        from app import runtime_from_settings

        async def work() -> tuple[int, int, list[str]]:
            runtime = runtime_from_settings(settings)
            store = runtime.store
            if store is None:
                return 0, 0, ["Chưa cấu hình kho lưu trữ tệp (S3_ENDPOINT)."]
            await store.ensure_bucket()
            before = datetime.combine(day, time(0), tzinfo=settings.zone)
            try:
                with _progress() as progress:
                    task = progress.add_task("Đóng gói hồ sơ", total=None)
                    async with runtime.session_factory() as session:
                        try:
                            done = await archive.export(
                                session,
                                store,
                                _cli_admin(),
                                agency_code=agency,
                                closed_before=before,
                                now=clock.now(),
                                retention_years=settings.retention_years,
                            )
                        except DomainError as error:
                            return 0, 0, _issues(error)
                        await session.commit()
                    progress.update(task, total=1, completed=1)
                    copy = progress.add_task("Ghi tệp zip", total=done.file.size)
                    with output.open("wb") as out:
                        async for chunk in store.chunks(done.file.object_key):
                            out.write(chunk)
                            progress.advance(copy, len(chunk))
                return done.export.dossiers, done.file.size, []
            finally:
                if runtime.engine is not None:
                    await runtime.engine.dispose()

        dossiers, size, errors = asyncio.run(work())
    if errors:
        _fail("\n".join(f"• {e}" for e in errors))
    console.print(f"Đã lưu trữ {dossiers} hồ sơ; gói {size} byte ghi vào {output}.")


@app.command("generate-data")
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
                with _progress() as progress:
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
                                return total, _issues(error)
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
        _fail("\n".join(f"• {e}" for e in errors))
    console.print(
        f"Đã tạo {made.registered} hồ sơ ({made.received} đã tiếp nhận, "
        f"{made.registered - made.received} chờ tiếp nhận) trên {made.procedures} thủ tục."
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
