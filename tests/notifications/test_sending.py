"""Which rows go out and how: channels without a sender skipped, sequence order batch by batch,
SKIP LOCKED selection, the sender loop surviving a failed round, the configurations' checks."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from core.clock import FixedClock
from services.notifications import (
    SmsConfig,
    SmtpConfig,
    SmtpMailer,
    deliver_round,
    run_sender,
)
from tests.conftest import NOW
from tests.notifications.servers import Gateway, Inbox, add, reload, sms_sender, smtp_config

# --- selection ----------------------------------------------------------------------------------


async def test_channel_without_sender_is_skipped_and_left_unsent(session: AsyncSession, inbox: Inbox) -> None:
    text = await add(session, "SMS", "+84912345678")
    mail = await add(session, "EMAIL", "vo.thi.giang@example.vn")
    fax = await add(session, "FAX", "+842438251234")

    done = await deliver_round(session, mailer=None, sms=None, now=NOW)
    assert (done.sent, done.failed, done.skipped) == (0, 0, 3)

    done = await deliver_round(session, mailer=SmtpMailer(smtp_config(inbox)), sms=None, now=NOW)
    assert (done.sent, done.failed, done.skipped) == (1, 0, 2)
    assert (await reload(session, mail)).sent_at == NOW
    for left in (text, fax):
        row = await reload(session, left)
        assert (row.sent_at, row.attempts, row.last_error) == (None, 0, None)


async def test_rows_go_out_in_seq_order_batch_by_batch(session: AsyncSession, inbox: Inbox) -> None:
    rows = [
        await add(session, "EMAIL", f"nguoi.dan.{i}@example.vn", subject=f"Thông báo số {i}")
        for i in range(5)
    ]
    # an older row written later (a longer transaction) still goes by seq, not by created_at
    rows.append(
        await add(
            session,
            "EMAIL",
            "nguoi.dan.5@example.vn",
            subject="Thông báo số 5",
            created_at=NOW - timedelta(hours=1),
        )
    )
    assert [r.seq for r in rows] == sorted(r.seq for r in rows)
    mailer = SmtpMailer(smtp_config(inbox))

    first = await deliver_round(session, mailer=mailer, sms=None, now=NOW, batch=4)
    assert (first.sent, first.more) == (4, True)
    second = await deliver_round(session, mailer=mailer, sms=None, now=NOW, batch=4)
    assert (second.sent, second.more) == (2, False)

    assert [r.message()["Subject"] for r in inbox.received] == [f"Thông báo số {i}" for i in range(6)]


async def test_the_selection_locks_with_skip_locked(
    session: AsyncSession, connection: AsyncConnection, inbox: Inbox
) -> None:
    """Two senders never take the same row: the rows are picked `FOR UPDATE SKIP LOCKED`.

    (Shown on the SQL: a second connection cannot see this test's uncommitted rows, and
    committing rows for the test would leak them to the rest of the session.)"""
    await add(session, "EMAIL", "dang.van.hung@example.vn")
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    target = connection.sync_connection
    assert target is not None
    event.listen(target, "before_cursor_execute", record)
    try:
        await deliver_round(session, mailer=SmtpMailer(smtp_config(inbox)), sms=None, now=NOW, batch=7)
    finally:
        event.remove(target, "before_cursor_execute", record)

    [picking] = [s for s in seen if "FOR UPDATE" in s]
    assert re.search(
        r"ORDER BY notification_outbox\.seq LIMIT \$\d+::INTEGER FOR UPDATE SKIP LOCKED$",
        " ".join(picking.split()),
    )
    assert "notification_outbox.sent_at IS NULL" in picking


# --- the loop -----------------------------------------------------------------------------------


async def test_run_sender_delivers_and_survives_a_failed_round(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    inbox: Inbox,
    gateway: Gateway,
    http: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mail = await add(session, "EMAIL", "bui.thi.khanh@example.vn")
    text = await add(session, "SMS", "+84331234567")
    calls = 0

    def flaky_factory() -> AsyncSession:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database went away")
        return session_factory()

    stop = asyncio.Event()
    caplog.set_level(logging.INFO, logger="services.notifications")
    task = asyncio.create_task(
        run_sender(
            flaky_factory,
            SmtpMailer(smtp_config(inbox)),
            sms_sender(gateway, http),
            FixedClock(NOW),
            interval=0.05,
            stop=stop,
        )
    )
    try:
        for _ in range(500):
            if inbox.received and gateway.received:
                break
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)

    assert "notifications: delivery round failed" in caplog.text
    assert "notifications: 2 sent, 0 failed" in caplog.text
    assert calls >= 2
    assert (await reload(session, mail)).sent_at == NOW
    assert (await reload(session, text)).sent_at == NOW
    assert len(inbox.received) == 1
    assert len(gateway.received) == 1


async def test_run_sender_without_any_sender_returns_at_once(
    session_factory: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    await asyncio.wait_for(
        run_sender(session_factory, None, None, FixedClock(NOW), interval=60, stop=asyncio.Event()), timeout=5
    )
    assert "neither SMTP nor an SMS gateway is configured" in caplog.text


# --- pure parts ---------------------------------------------------------------------------------


def test_configs_refuse_contradictions() -> None:
    with pytest.raises(ValueError, match="not both"):
        SmtpConfig(host="smtp", port=465, sender="a@b.vn", starttls=True, use_tls=True)
    with pytest.raises(ValueError, match="domain"):
        SmtpConfig(host="smtp", port=25, sender="no-reply")
    with pytest.raises(ValueError, match="go together"):
        SmtpConfig(host="smtp", port=25, sender="a@b.vn", username="u")
    with pytest.raises(ValueError, match="http"):
        SmsConfig(url="ftp://gw", api_key="k")
