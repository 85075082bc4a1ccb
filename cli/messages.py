"""`dvc messages`: the e-mails and SMS caught in development (`services.caught`), so that a
verification code, a new staff member's first-password code or a reset code can be copied."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer

from cli.support import console
from core import environment, migrate
from core.db import make_engine, make_session_factory

if TYPE_CHECKING:
    from services.caught import Caught

POLL_SECONDS = 1.0


def _text(m: Caught, zone: ZoneInfo) -> str:
    when = m.caught_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
    who = f"  ({m.account_name})" if m.account_name else ""
    if m.dossier_id is not None:
        who += f"  hồ sơ {m.dossier_code or m.dossier_id}"
    lines = [f"#{m.seq}  {when}  {m.channel} → {m.destination}{who}  [{m.template}]", m.subject]
    if m.code:
        lines.append(f"Mã: {m.code}")
    lines += [m.body, ""]
    return "\n".join(lines)


def messages_cmd(
    to: Annotated[
        str | None, typer.Option("--to", help="Chỉ thư/tin gửi tới địa chỉ hoặc số điện thoại này.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Số thư/tin mới nhất hiển thị.")] = 10,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Chờ và in thêm thư/tin mới (Ctrl-C để dừng).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Mỗi thư/tin một dòng JSON.")] = False,
) -> None:
    """List the e-mails and SMS caught in development (no SMTP_HOST / SMS_GATEWAY_URL), newest
    first, with their whole text; with --follow, oldest first and then each new one as it comes."""
    from services.caught import caught_messages

    with environment.prepared(database_only=True) as settings:  # also beside `make run`
        if settings.environment != "development":
            console.print("[yellow]ENVIRONMENT=production: không giữ lại thư/tin nào.[/yellow]")
        migrate.upgrade(settings.database_url or "")
        zone = settings.zone

        def show(m: Caught) -> None:
            print(json.dumps(m.as_json(), ensure_ascii=False) if as_json else _text(m, zone), flush=True)

        async def run() -> None:
            assert settings.database_url
            engine = make_engine(settings.database_url, pool_size=1)
            factory = make_session_factory(engine)
            try:
                async with factory() as session:
                    found = await caught_messages(session, to=to, limit=limit)
                if not found and not follow:
                    console.print("Chưa có thư hay tin nhắn nào được giữ lại.")
                for m in reversed(found) if follow else found:
                    show(m)
                last = found[0].seq if found else 0
                if follow:
                    console.print("Đang chờ thư/tin mới… (Ctrl-C để dừng)")
                while follow:
                    await asyncio.sleep(POLL_SECONDS)
                    async with factory() as session:
                        newer = await caught_messages(session, to=to, limit=500, after=last)
                    for m in reversed(newer):
                        show(m)
                        last = m.seq
            finally:
                await engine.dispose()

        with contextlib.suppress(KeyboardInterrupt):  # the end of --follow
            asyncio.run(run())
