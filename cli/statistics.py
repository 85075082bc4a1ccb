"""Handling statistics (thống kê): `dvc statistics-rebuild` and `dvc statistics-export`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from cli.support import console, in_session
from core import environment, migrate
from core.clock import SystemClock


def statistics_rebuild() -> None:
    """Recompute the statistics facts of every dossier from scratch (they are kept current by
    triggers; this repairs them after a bulk load that bypassed them)."""
    from services.statistics.facts import rebuild

    with environment.prepared() as settings:
        migrate.upgrade(settings.database_url or "")
        done = in_session(settings, rebuild, commit=True)
    console.print(f"Đã tính lại {done.rows} hồ sơ; {done.differed} dòng đã khác trước khi tính lại.")
    console.print(
        f"Đã tính lại {done.months} dòng tổng hợp theo tháng; "
        f"{done.months_differed} dòng đã khác trước khi tính lại."
    )


def statistics_export(
    start: Annotated[str, typer.Option("--from", help="Ngày đầu kỳ (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--to", help="Ngày cuối kỳ (YYYY-MM-DD).")],
    output: Annotated[Path, typer.Option(help="Tệp đích: .csv hoặc .xlsx.")],
    agency: Annotated[str | None, typer.Option(help="Mã cơ quan (gồm đơn vị trực thuộc).")] = None,
    group_by: Annotated[
        str, typer.Option(help="TOTAL, AGENCY, LEVEL, FIELD, PROCEDURE, MONTH, QUARTER, YEAR.")
    ] = "TOTAL",
    *,
    attribution: Annotated[
        str,
        typer.Option(
            help="Hồ sơ tính cho: RECEIVING (đơn vị tiếp nhận), COMPETENT (cơ quan có thẩm quyền), "
            "PROCESSING (mỗi cơ quan xử lý)."
        ),
    ] = "RECEIVING",
) -> None:
    """Write the handling statistics of a period to a CSV or XLSX file."""
    from services.errors import ValidationFailed
    from services.statistics import exports
    from services.statistics import figures as stats

    if output.suffix not in (".csv", ".xlsx"):
        console.print("[red]Tệp đích phải là .csv hoặc .xlsx.[/red]")
        raise typer.Exit(2)
    try:
        scope = stats.Scope(
            date.fromisoformat(start),
            date.fromisoformat(end),
            agency,
            attribution=stats.Attribution(attribution.upper()),
        )
        grouping = stats.GroupBy(group_by.upper())
    except ValueError:
        console.print(
            "[red]Ngày theo dạng YYYY-MM-DD; cách nhóm là một trong "
            "TOTAL, AGENCY, LEVEL, FIELD, PROCEDURE, MONTH, QUARTER, YEAR; cách tính cơ quan là "
            "RECEIVING, COMPETENT hoặc PROCESSING.[/red]"
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
            total, rows = in_session(settings, work, commit=False)
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
