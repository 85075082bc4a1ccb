"""The procedure catalog (danh mục thủ tục) in CSV: `dvc import-catalog` and `dvc export-catalog`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from cli.support import console, fail, in_session, progress_bar
from core import environment, migrate
from core.clock import SystemClock


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

        created, amended, errors = in_session(settings, work, commit=False)
    if errors:
        console.print(f"[red]Tệp có {len(errors)} lỗi; không nhập dòng nào:[/red]")
        for line in errors:
            console.print(f"  • {line}")
        raise typer.Exit(1)
    verb = "Hợp lệ (chạy thử)" if dry_run else "Đã nhập"
    console.print(f"{verb}: {created} thủ tục mới, {amended} thủ tục sửa đổi.")


def export_catalog(
    output: Annotated[Path, typer.Argument(dir_okay=False, help="Tệp CSV đích (UTF-8) / target CSV file.")],
) -> None:
    """Xuất danh mục thủ tục ra CSV đúng định dạng `import-catalog` đọc được.

    Export every procedure (its published version, or its latest draft) to CSV in the columns
    `import-catalog` reads, with the publishing decision, so the file can be imported again.
    """
    from services.catalog import exporter

    if not output.parent.is_dir():
        fail(f"Thư mục {output.parent} không tồn tại.", 2)
    with environment.prepared() as settings:
        migrate.upgrade(settings.database_url or "")

        async def work(session: AsyncSession) -> int:
            total = await exporter.count_procedures(session)
            written = 0
            with progress_bar() as progress, output.open("w", encoding="utf-8", newline="") as out:
                task = progress.add_task("Xuất danh mục", total=total)
                out.write(exporter.header())
                async for row in exporter.rows(session):
                    out.write(exporter.line(row))
                    written += 1
                    progress.advance(task)
            return written

        written = in_session(settings, work, commit=False)
    console.print(f"Đã xuất {written} thủ tục vào {output}.")
