"""Event delivery: the outbox's backlog and replay (`dvc outbox`) and the daily reconciliation with
the national public service portal (`dvc reconcile-portal`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from cli.support import cli_admin, console, error_lines, fail, in_session
from core import environment, migrate
from core.clock import SystemClock
from core.settings import get_settings

if TYPE_CHECKING:
    from services.outbox.operations import ConsumerBacklog


def outbox_cmd(
    replay_consumer: Annotated[
        str | None, typer.Option(help="Gửi lại cho bên nhận này (cùng --from-seq).")
    ] = None,
    from_seq: Annotated[int | None, typer.Option(min=1, help="Gửi lại từ sự kiện số này.")] = None,
    pause: Annotated[
        str | None, typer.Option(help="Tạm dừng gửi cho bên nhận này (sự kiện được giữ lại).")
    ] = None,
    resume: Annotated[str | None, typer.Option(help="Gửi tiếp cho bên nhận đã tạm dừng.")] = None,
    remove: Annotated[
        str | None, typer.Option(help="Xoá bên nhận (webhook) này; sự kiện vẫn còn trong nhật ký hồ sơ.")
    ] = None,
) -> None:
    """Show each event consumer's backlog; with --replay-consumer and --from-seq, send again;
    --pause, --resume or --remove a consumer (as the GraphQL eventConsumerSetActive and
    eventConsumerRemove do, as a system administrator)."""
    from services.errors import DomainError

    if (replay_consumer is None) != (from_seq is None):
        fail("Dùng --replay-consumer cùng với --from-seq.", 2)
    chosen = [o for o in (replay_consumer, pause, resume, remove) if o is not None]
    if len(chosen) > 1:
        fail("Mỗi lần chỉ một thao tác: --replay-consumer, --pause, --resume hoặc --remove.", 2)
    with environment.prepared() as settings:
        migrate.upgrade(settings.database_url or "")
        try:
            done, rows = in_session(
                settings, _outbox_work(replay_consumer, from_seq, pause, resume, remove), commit=True
            )
        except DomainError as error:
            for line in error_lines(error):
                console.print(f"[red]{line}[/red]")
            raise typer.Exit(1) from None
    if done:
        console.print(done)
    print("consumer\tactive\tpending_events\tpending_dossiers\tretrying_dossiers\toldest_pending_at")
    for b in rows:
        oldest = b.oldest_pending_at.isoformat() if b.oldest_pending_at else "-"
        print(
            f"{b.name}\t{'yes' if b.active else 'no'}\t{b.pending_events}\t{b.pending_dossiers}"
            f"\t{b.retrying_dossiers}\t{oldest}"
        )


def _outbox_work(
    replay_consumer: str | None,
    from_seq: int | None,
    pause: str | None,
    resume: str | None,
    remove: str | None,
) -> Callable[[AsyncSession], Awaitable[tuple[str | None, list[ConsumerBacklog]]]]:
    """The one operation asked for, then every consumer's backlog, in one transaction."""
    from services import outbox
    from services.outbox import consumers

    async def work(session: AsyncSession) -> tuple[str | None, list[ConsumerBacklog]]:
        done = None
        if replay_consumer is not None and from_seq is not None:
            moved = await outbox.replay(session, replay_consumer, from_seq)
            done = f"Gửi lại cho {replay_consumer} từ sự kiện {from_seq}: {moved} hồ sơ."
        elif pause is not None or resume is not None:
            name = pause or resume or ""
            await consumers.set_active(session, cli_admin(), name, resume is not None)
            done = f"Đã {'gửi tiếp cho' if resume else 'tạm dừng'} {name}."
        elif remove is not None:
            removal = await consumers.remove_consumer(session, cli_admin(), remove)
            done = f"Đã xoá {removal.name}: {removal.undelivered_events} sự kiện chưa gửi cho bên nhận này."
        return done, await outbox.backlog(session)

    return work


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
            report = in_session(settings, work, commit=True)
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
