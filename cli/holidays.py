"""`dvc holidays`: the working-day calendar (lịch ngày nghỉ, ngày làm bù): a year's days, and the
admins' overrides set and removed."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from cli.support import cli_admin, console, error_lines, fail, in_session, parse_day
from core import environment, migrate
from core.clock import SystemClock

app = typer.Typer(
    help="Lịch ngày nghỉ, ngày làm bù (tính thời hạn giải quyết) / the working-day calendar.",
    no_args_is_help=True,
)


@app.command("list")
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
        rows = in_session(settings, holidays.overrides, commit=False)
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


@app.command("set")
def holidays_set(
    day: Annotated[str, typer.Option(help="Ngày (YYYY-MM-DD) / the day.")],
    name: Annotated[str, typer.Option(help="Căn cứ, ví dụ số văn bản / the legal basis.")],
    working: Annotated[
        bool,
        typer.Option("--working/--day-off", help="Ngày làm việc (làm bù; bỏ một ngày lễ) hay ngày nghỉ."),
    ] = False,
) -> None:
    """Điều chỉnh lịch: thêm một ngày nghỉ, đặt thứ Bảy/Chủ nhật là ngày làm bù, hoặc bỏ một ngày lễ.

    Set an override (the same rule as the `holidayOverrideSet` mutation); every app process
    rebuilds its calendar at once.
    """
    from services import holidays
    from services.errors import DomainError

    target = parse_day(day, "--day")
    with environment.prepared() as settings:
        migrate.upgrade(settings.database_url or "")

        async def work(session: AsyncSession) -> list[str]:
            try:
                await holidays.set_override(session, cli_admin(), target, working, name)
            except DomainError as error:
                return error_lines(error)
            await session.commit()
            return []

        errors = in_session(settings, work, commit=False)
    if errors:
        fail("\n".join(f"• {e}" for e in errors))
    console.print(f"Đã đặt {target} là {'ngày làm việc bù' if working else 'ngày nghỉ'} ({name.strip()}).")


@app.command("remove")
def holidays_remove(day: Annotated[str, typer.Option(help="Ngày (YYYY-MM-DD) / the day.")]) -> None:
    """Gỡ một điều chỉnh lịch / remove an override (the law's holidays stay)."""
    from services import holidays
    from services.errors import DomainError

    target = parse_day(day, "--day")
    with environment.prepared() as settings:
        migrate.upgrade(settings.database_url or "")

        async def work(session: AsyncSession) -> list[str]:
            try:
                await holidays.remove_override(session, cli_admin(), target)
            except DomainError as error:
                return error_lines(error)
            await session.commit()
            return []

        errors = in_session(settings, work, commit=False)
    if errors:
        fail("\n".join(f"• {e}" for e in errors))
    console.print(f"Đã gỡ điều chỉnh ngày {target}.")
