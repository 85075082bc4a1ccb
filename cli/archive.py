"""`dvc archive-export`: an agency's closed dossiers into an archive package (gói lưu trữ)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from cli.support import cli_admin, console, error_lines, fail, parse_day, progress_bar
from core import environment, migrate
from core.clock import SystemClock


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

    day = parse_day(closed_before, "--closed-before")
    if not output.parent.is_dir():
        fail(f"Thư mục {output.parent} không tồn tại.", 2)
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
                with progress_bar() as progress:
                    task = progress.add_task("Đóng gói hồ sơ", total=None)
                    async with runtime.session_factory() as session:
                        try:
                            done = await archive.export(
                                session,
                                store,
                                cli_admin(),
                                agency_code=agency,
                                closed_before=before,
                                now=clock.now(),
                                retention_years=settings.retention_years,
                            )
                        except DomainError as error:
                            return 0, 0, error_lines(error)
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
        fail("\n".join(f"• {e}" for e in errors))
    console.print(f"Đã lưu trữ {dossiers} hồ sơ; gói {size} byte ghi vào {output}.")
