"""E-mail through a real SMTP server: UTF-8 subjects and bodies, retries after their backoff, giving up,
an unreachable server, a failing channel paused for the round, malformed addresses."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from devservers import find_free_port
from services.notifications import (
    MAX_ATTEMPTS,
    SmtpConfig,
    SmtpMailer,
    backoff,
    deliver_round,
)
from tests.conftest import NOW
from tests.notifications.servers import (
    BODY,
    SENDER,
    SMTP_USER,
    SUBJECT,
    Gateway,
    Inbox,
    add,
    reload,
    sms_sender,
    smtp_config,
)

# --- e-mail -------------------------------------------------------------------------------------


async def test_email_arrives_with_utf8_subject_and_body(session: AsyncSession, inbox: Inbox) -> None:
    row = await add(session, "EMAIL", "nguyen.van.an@example.vn")

    done = await deliver_round(session, mailer=SmtpMailer(smtp_config(inbox)), sms=None, now=NOW)

    assert (done.sent, done.failed, done.skipped) == (1, 0, 0)
    [received] = inbox.received
    assert received.rcpt_tos == ["nguyen.van.an@example.vn"]
    assert received.mail_from == "no-reply@dichvucong.example.gov.vn"
    assert received.login == SMTP_USER.encode()
    message = received.message()
    assert message["Subject"] == SUBJECT
    assert message["To"] == "nguyen.van.an@example.vn"
    assert message["From"] == SENDER
    assert message["From"].addresses[0].display_name == "Cổng Dịch vụ công tỉnh"
    assert message["Message-ID"] == f"<{row.id.hex}@dichvucong.example.gov.vn>"
    assert message["Date"] == format_datetime(NOW)
    assert message["Date"].datetime == NOW
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert message.get_content() == BODY + "\n"  # set_content ends the text with a line break
    row = await reload(session, row)
    assert (row.sent_at, row.attempts, row.last_error) == (NOW, 0, None)
    # A verification code, once sent, is not kept readable in the outbox.
    assert row.body == "(đã gửi mã; nội dung không lưu)"


async def test_other_messages_keep_their_text(session: AsyncSession, inbox: Inbox) -> None:
    row = await add(session, "EMAIL", "nguyen.van.an@example.vn")
    row.template = "account_locked"
    await session.commit()
    await deliver_round(session, mailer=SmtpMailer(smtp_config(inbox)), sms=None, now=NOW)
    assert (await reload(session, row)).body == BODY


async def test_refused_email_is_retried_only_after_its_backoff(session: AsyncSession, inbox: Inbox) -> None:
    mailer = SmtpMailer(smtp_config(inbox))
    row = await add(session, "EMAIL", "tran.thi.binh@example.vn")
    inbox.refuse = 1

    done = await deliver_round(session, mailer=mailer, sms=None, now=NOW)
    assert (done.sent, done.failed, done.gave_up) == (0, 1, 0)
    row = await reload(session, row)
    assert (row.sent_at, row.attempts) == (None, 1)
    assert row.last_error == "SMTP 451 4.3.0 Mailbox busy, try again later"

    # backoff(1) = 2 minutes after creation: not before
    done = await deliver_round(session, mailer=mailer, sms=None, now=NOW + timedelta(minutes=1, seconds=59))
    assert (done.sent, done.failed) == (0, 0)
    assert inbox.refused == 1
    assert inbox.received == []

    later = NOW + timedelta(minutes=2)
    done = await deliver_round(session, mailer=mailer, sms=None, now=later)
    assert (done.sent, done.failed) == (1, 0)
    assert len(inbox.received) == 1
    assert inbox.received[0].message()["Subject"] == SUBJECT
    row = await reload(session, row)
    assert (row.sent_at, row.attempts, row.last_error) == (later, 1, None)


async def test_ten_failures_give_up_and_stop_the_attempts(session: AsyncSession, inbox: Inbox) -> None:
    mailer = SmtpMailer(smtp_config(inbox))
    row = await add(session, "EMAIL", "le.van.cuong@example.vn")
    inbox.refuse = 1000
    assert [backoff(n) for n in (1, 2, 8, 9, 10, 30)] == [
        timedelta(minutes=2),
        timedelta(minutes=4),
        timedelta(minutes=256),
        timedelta(hours=6),
        timedelta(hours=6),
        timedelta(hours=6),
    ]

    now = NOW
    for n in range(1, MAX_ATTEMPTS + 1):
        done = await deliver_round(session, mailer=mailer, sms=None, now=now)
        assert (done.sent, done.failed) == (0, 1), n
        row = await reload(session, row)
        assert row.attempts == n
        assert inbox.refused == n
        # not due again a second before its backoff
        early = await deliver_round(
            session, mailer=mailer, sms=None, now=NOW + backoff(n) - timedelta(seconds=1)
        )
        assert (early.sent, early.failed) == (0, 0)
        now = NOW + backoff(n)

    assert done.gave_up == 1
    assert row.sent_at is None
    assert row.last_error == "gave up after 10 attempts: SMTP 451 4.3.0 Mailbox busy, try again later"
    inbox.refuse = 0
    done = await deliver_round(session, mailer=mailer, sms=None, now=NOW + timedelta(days=30))
    assert (done.sent, done.failed, done.skipped) == (0, 0, 0)
    assert inbox.refused == MAX_ATTEMPTS
    assert inbox.received == []
    row = await reload(session, row)
    assert (row.sent_at, row.attempts) == (None, MAX_ATTEMPTS)


async def test_unreachable_smtp_server_is_a_failure(session: AsyncSession) -> None:
    mailer = SmtpMailer(SmtpConfig(host="127.0.0.1", port=find_free_port(), sender=SENDER, timeout=2))
    row = await add(session, "EMAIL", "pham.thi.dung@example.vn")

    done = await deliver_round(session, mailer=mailer, sms=None, now=NOW)

    assert (done.sent, done.failed) == (0, 1)
    row = await reload(session, row)
    assert row.attempts == 1
    assert row.last_error is not None
    assert row.last_error.startswith("SMTP SMTPConnectError")


async def test_a_failing_channel_stops_for_the_round_after_three_failures_in_a_row(
    session: AsyncSession, inbox: Inbox, gateway: Gateway, http: httpx.AsyncClient
) -> None:
    emails = [await add(session, "EMAIL", f"nguoi{i}@example.vn") for i in range(5)]
    text = await add(session, "SMS", "+84912345678")
    inbox.refuse = 1000

    done = await deliver_round(
        session, mailer=SmtpMailer(smtp_config(inbox)), sms=sms_sender(gateway, http), now=NOW
    )

    assert (done.sent, done.failed, done.more) == (1, 3, False)
    assert inbox.refused == 3
    assert [(await reload(session, r)).attempts for r in emails] == [1, 1, 1, 0, 0]
    assert (await reload(session, text)).sent_at == NOW


async def test_malformed_e_mail_address_gives_up_at_once(session: AsyncSession, inbox: Inbox) -> None:
    bad = await add(session, "EMAIL", "not an address")
    good = await add(session, "EMAIL", "hoang.van.em@example.vn")

    done = await deliver_round(session, mailer=SmtpMailer(smtp_config(inbox)), sms=None, now=NOW)

    assert (done.sent, done.failed, done.gave_up) == (1, 1, 1)
    bad = await reload(session, bad)
    assert (bad.sent_at, bad.attempts) == (None, MAX_ATTEMPTS)
    assert bad.last_error == "gave up after 1 attempt: not an e-mail address"
    assert (await reload(session, good)).sent_at == NOW
