"""Accounts: `dvc create-admin` (the first system administrator) and `dvc unlock-account`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from cli.support import cli_admin, console, error_lines, fail, in_session
from core import environment, migrate
from core.clock import SystemClock


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

        errors = in_session(settings, work, commit=False)
    if errors:
        for line in errors:
            console.print(f"[red]• {line}[/red]")
        raise typer.Exit(1)
    console.print(f"Đã tạo quản trị hệ thống {email}.")


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
        fail("Dùng đúng một trong --email hoặc --citizen-id.", 2)
    if citizen_id is not None and not (len(citizen_id) == 12 and citizen_id.isdigit()):
        fail("--citizen-id là số định danh cá nhân gồm 12 chữ số.", 2)
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
                await admin_unlock(
                    session, cli_admin(), found.id, journal=journal, system_name=settings.system_name
                )
            except DomainError as error:
                return None, error_lines(error)
            await session.commit()
            return "UNLOCKED", []

        outcome, errors = in_session(settings, work, commit=False)
    who = email or citizen_id
    if errors:
        fail("\n".join(f"• {e}" for e in errors))
    if outcome == "NOT_LOCKED":
        console.print(f"Tài khoản {who} không bị khoá; không có gì thay đổi.")
        return
    console.print(f"Đã mở khoá tài khoản {who}.")
