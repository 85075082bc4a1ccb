"""What the `dvc` commands share: the console on stderr, work in one database session, progress
bars, failing with a message, and the system administrator the command line acts as."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

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

from core.db import make_engine, make_session_factory
from core.settings import Settings

if TYPE_CHECKING:
    from auth.actor import Actor

console = Console(stderr=True)
ROOT = Path(__file__).resolve().parent.parent
CLI_ADMIN_NAME = "cli"
T = TypeVar("T")


def in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]], *, commit: bool) -> T:
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


def progress_bar() -> Progress:
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


def fail(message: str, code: int = 1) -> NoReturn:
    console.print(f"[red]{message}[/red]")
    raise typer.Exit(code)


def cli_admin() -> Actor:
    """The command line acts as a system administrator (whoever runs it holds the server)."""
    from auth.actor import Actor, ActorKind
    from auth.roles import StaffRole

    return Actor(ActorKind.SYSTEM, name=CLI_ADMIN_NAME, roles={StaffRole.SYSTEM_ADMIN: None})


def error_lines(error: Exception) -> list[str]:
    from services.errors import DomainError, ValidationFailed

    if isinstance(error, ValidationFailed):
        return [f"{'.'.join(map(str, i.path))}: {i.message}" if i.path else i.message for i in error.issues]
    if isinstance(error, DomainError):
        return [error.message]
    return [str(error)]


def parse_day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} theo dạng YYYY-MM-DD (nhận được “{value}”).", 2)
