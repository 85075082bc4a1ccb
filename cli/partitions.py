"""`dvc partitions`: the tables partitioned by year (migration 0033, services.partitions) — list
the partitions, create the missing ones ahead, detach old ones for the archive."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from cli.support import console, fail, in_session
from core import environment, migrate
from core.clock import SystemClock
from core.settings import Settings

app = typer.Typer(
    help="Phân vùng theo năm của các bảng lớn dần (nhật ký, hộp thư đi, kiểm toán) / yearly partitions.",
    no_args_is_help=True,
)


def ensure_now(settings: Settings) -> list[str]:
    """Create the partitions due (this year and the next, and any the DEFAULT partitions' rows
    need); called by `dvc run-jobs`, `dvc migrate` and `dvc serve` after the migrations."""
    from services.partitions import ensure_partitions

    async def work(session: AsyncSession) -> list[str]:
        return await ensure_partitions(session, now=SystemClock().now())

    return in_session(settings, work, commit=True)


@app.command("list")
def partitions_list() -> None:
    """Liệt kê phân vùng: bảng, phân vùng, khoảng thời gian, số dòng ước tính.

    List the partitions, tab-separated on stdout: table, partition, range, rows (estimate from
    the statistics; -1 before the first ANALYZE); then the rows waiting in DEFAULT partitions.
    """
    from services.partitions import Partition, default_rows, list_partitions

    async def work(session: AsyncSession) -> tuple[list[Partition], dict[str, int]]:
        return await list_partitions(session), await default_rows(session)

    with environment.prepared() as settings:
        migrate.upgrade(settings.database_url or "")
        partitions, waiting = in_session(settings, work, commit=False)
    print("table\tpartition\trange\trows_estimate")
    for p in partitions:
        print(f"{p.table}\t{p.name}\t{p.bounds}\t{p.rows_estimate}")
    for table, count in waiting.items():
        if count:
            console.print(
                f"[yellow]{table}: {count} dòng trong phân vùng DEFAULT"
                " — chạy `dvc partitions ensure`.[/yellow]"
            )


@app.command("ensure")
def partitions_ensure(
    ahead: Annotated[int, typer.Option(min=0, max=10, help="Số năm tạo trước / years ahead.")] = 1,
) -> None:
    """Tạo trước các phân vùng còn thiếu (năm nay đến `ahead` năm sau; chuyển dòng khỏi DEFAULT).

    Create the missing yearly partitions up to `ahead` years after this one, and those the rows
    waiting in a DEFAULT partition need (the rows move in). Idempotent.
    """
    from services.partitions import ensure_partitions

    async def work(session: AsyncSession) -> list[str]:
        return await ensure_partitions(session, now=SystemClock().now(), ahead_years=ahead)

    with environment.prepared() as settings:
        migrate.upgrade(settings.database_url or "")
        created = in_session(settings, work, commit=True)
    console.print(f"Đã tạo {len(created)} phân vùng{': ' + ', '.join(created) if created else ''}.")


@app.command("detach")
def partitions_detach(
    before: Annotated[
        int, typer.Option(min=2000, max=2100, help="Tách các năm trước năm này / before year.")
    ],
) -> None:
    """Tách các phân vùng năm cũ (trước `--before`) thành bảng riêng để chuyển lưu trữ.

    Detach every yearly partition before the year given, leaving each as a plain table
    `<partition>_detached` for the archive (no longer read through its table). Refused for this
    year and the last, for a trail year with a dossier not archived yet, and for a message
    outbox year with a message still to send.
    """
    from services.errors import Refused
    from services.partitions import detach_before

    async def work(session: AsyncSession) -> list[str]:
        return await detach_before(session, before_year=before, now=SystemClock().now())

    with environment.prepared() as settings:
        migrate.upgrade(settings.database_url or "")
        try:
            detached = in_session(settings, work, commit=True)
        except Refused as refused:
            fail(str(refused))
    console.print(f"Đã tách {len(detached)} phân vùng{': ' + ', '.join(detached) if detached else ''}.")
