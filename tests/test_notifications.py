"""The notification outbox delivered to real local servers: an aiosmtpd SMTP server and a small
HTTP SMS gateway (http.server) on 127.0.0.1, both in threads of their own."""

from __future__ import annotations

import asyncio
import email
import email.policy
import hmac
import json
import logging
import re
import threading
import unicodedata
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import httpx
import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from sqlalchemy import delete, event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from core.clock import FixedClock
from devservers import find_free_port
from models.accounts import Notification
from services.notifications import (
    MAX_ATTEMPTS,
    HttpSmsSender,
    SmsConfig,
    SmtpConfig,
    SmtpMailer,
    backoff,
    deliver_round,
    run_sender,
    sms_signature,
    sms_text,
)
from tests.conftest import NOW

SENDER = "Cổng Dịch vụ công tỉnh <no-reply@dichvucong.example.gov.vn>"
SMTP_USER = "dvc-mailer"
SMTP_PASSWORD = "mật-khẩu-smtp-123"
SMS_KEY = "sms-gateway-key-0123456789"
SUBJECT = "Mã xác thực tài khoản — Hệ thống giải quyết thủ tục hành chính"
BODY = (
    "Mã xác thực của bạn là 123456. Mã có hiệu lực trong 10 phút.\n"
    "Không chia sẻ mã này cho bất kỳ ai. — Ủy ban nhân dân tỉnh Thừa Thiên Huế"
)


# --- a real SMTP server -------------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str | None
    rcpt_tos: list[str]
    content: bytes
    login: bytes | None

    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.content, policy=email.policy.default)


@dataclass
class Inbox:
    """aiosmtpd handler: keeps what it accepts, refuses (451) the next `refuse` messages."""

    received: list[Received] = field(default_factory=list)
    refuse: int = 0
    refused: int = 0
    port: int = 0
    logins: list[tuple[bytes, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.lock:
            if self.refuse > 0:
                self.refuse -= 1
                self.refused += 1
                return "451 4.3.0 Mailbox busy, try again later"
            content = envelope.original_content or b""
            login = session.auth_data.login if isinstance(session.auth_data, LoginPassword) else None
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), content, login))
        return "250 2.0.0 OK queued"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            SMTP_USER.encode(),
            SMTP_PASSWORD.encode(),
        )
        if isinstance(auth_data, LoginPassword):
            self.logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=ok, auth_data=auth_data)


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    handler = Inbox()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=find_free_port(),
        server_hostname="smtp.test.local",
        authenticator=handler.authenticate,
        auth_require_tls=False,  # a loopback test server: no certificate to present
    )
    controller.start()
    handler.port = controller.port
    try:
        yield handler
    finally:
        controller.stop()


def smtp_config(inbox: Inbox, **changes: Any) -> SmtpConfig:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": inbox.port,
        "sender": SENDER,
        "username": SMTP_USER,
        "password": SMTP_PASSWORD,
        "timeout": 5,
    }
    values.update(changes)
    return SmtpConfig(**values)


# --- a real SMS gateway -------------------------------------------------------------------------


@dataclass
class Gateway:
    """Checks the bearer key and the body signature, keeps accepted messages, fails on demand."""

    key: str = SMS_KEY
    received: list[dict[str, Any]] = field(default_factory=list)
    fail: int = 0  # answer the next `fail` valid requests with 503
    requests: int = 0
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.requests += 1
            if headers.get("authorization") != f"Bearer {self.key}":
                return 401, {"status": "error", "message": "Sai khóa truy cập"}
            signature = headers.get("x-dvc-signature", "")
            if not hmac.compare_digest(sms_signature(self.key, body), signature):
                return 401, {"status": "error", "message": "Sai chữ ký"}
            if not headers.get("content-type", "").startswith("application/json"):
                return 415, {"status": "error", "message": "JSON only"}
            if self.fail > 0:
                self.fail -= 1
                return 503, {"status": "error", "message": "Hệ thống bận, thử lại sau"}
            document = json.loads(body.decode("utf-8"))
            self.received.append(document)
            return 200, {"status": "accepted", "id": f"msg-{len(self.received)}"}


class _GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    gateway: Gateway


class _GatewayHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, answer = cast(_GatewayServer, self.server).gateway.answer(headers, body)
        payload = json.dumps(answer, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    server = _GatewayServer(("127.0.0.1", find_free_port()), _GatewayHandler)
    server.gateway = Gateway()
    server.gateway.url = f"http://127.0.0.1:{server.server_address[1]}/api/v1/sms"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.gateway
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as client:  # no proxy for 127.0.0.1
        yield client


def sms_sender(gateway: Gateway, http: httpx.AsyncClient, **changes: Any) -> HttpSmsSender:
    values: dict[str, Any] = {"url": gateway.url, "api_key": SMS_KEY, "sender": "UBND TTHue", "timeout": 5}
    values.update(changes)
    return HttpSmsSender(SmsConfig(**values), http)


# --- rows ---------------------------------------------------------------------------------------


@pytest_asyncio.fixture(autouse=True)
async def empty_outbox(session: AsyncSession) -> None:
    """Whatever rows earlier (live) tests committed are out of sight for this test's transaction."""
    await session.execute(delete(Notification))
    await session.commit()


async def add(
    session: AsyncSession,
    channel: str,
    destination: str,
    *,
    subject: str = SUBJECT,
    body: str = BODY,
    created_at: datetime = NOW,
    attempts: int = 0,
) -> Notification:
    row = Notification(
        account_id=None,
        channel=channel,
        destination=destination,
        template="verify_contact",
        subject=subject,
        body=body,
        created_at=created_at,
        attempts=attempts,
    )
    session.add(row)
    await session.commit()
    return row


async def reload(session: AsyncSession, row: Notification) -> Notification:
    await session.refresh(row)
    return row


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


# --- SMS ----------------------------------------------------------------------------------------


async def test_sms_arrives_signed_with_text_and_ref(
    session: AsyncSession, gateway: Gateway, http: httpx.AsyncClient
) -> None:
    row = await add(session, "SMS", "+84912345678")

    done = await deliver_round(session, mailer=None, sms=sms_sender(gateway, http), now=NOW)

    assert (done.sent, done.failed, done.skipped) == (1, 0, 0)
    assert gateway.requests == 1
    assert gateway.received == [
        {"to": "+84912345678", "from": "UBND TTHue", "text": BODY, "ref": str(row.seq)}
    ]
    row = await reload(session, row)
    assert (row.sent_at, row.attempts, row.last_error) == (NOW, 0, None)


async def test_sms_text_is_cut_at_320_characters(
    session: AsyncSession, gateway: Gateway, http: httpx.AsyncClient
) -> None:
    long_body = "Hồ sơ của ông/bà đã được tiếp nhận. " * 20  # 720 characters
    await add(session, "SMS", "0987 654 321", body=long_body)

    await deliver_round(session, mailer=None, sms=sms_sender(gateway, http), now=NOW)

    [received] = gateway.received
    assert received["to"] == "+84987654321"
    assert len(received["text"]) == 320
    assert received["text"] == long_body[:319] + "…"
    assert sms_text(unicodedata.normalize("NFD", "Mã xác thực")) == "Mã xác thực"  # NFC: one unit per letter


async def test_sms_gateway_error_is_kept_and_retried(
    session: AsyncSession, gateway: Gateway, http: httpx.AsyncClient
) -> None:
    row = await add(session, "SMS", "+84912345678")
    gateway.fail = 1
    sms = sms_sender(gateway, http)

    done = await deliver_round(session, mailer=None, sms=sms, now=NOW)

    assert (done.sent, done.failed) == (0, 1)
    row = await reload(session, row)
    assert (row.sent_at, row.attempts) == (None, 1)
    assert row.last_error == "SMS gateway 503: Hệ thống bận, thử lại sau"

    done = await deliver_round(session, mailer=None, sms=sms, now=NOW + backoff(1))
    assert (done.sent, done.failed) == (1, 0)
    assert [m["ref"] for m in gateway.received] == [str(row.seq)]


async def test_sms_with_a_wrong_key_is_refused_by_the_gateway(
    session: AsyncSession, gateway: Gateway, http: httpx.AsyncClient
) -> None:
    row = await add(session, "SMS", "+84912345678")

    done = await deliver_round(session, mailer=None, sms=sms_sender(gateway, http, api_key="wrong"), now=NOW)

    assert (done.sent, done.failed) == (0, 1)
    assert (await reload(session, row)).last_error == "SMS gateway 401: Sai khóa truy cập"
    assert gateway.received == []


async def test_sms_to_a_number_that_is_not_a_mobile_gives_up_at_once(
    session: AsyncSession, gateway: Gateway, http: httpx.AsyncClient
) -> None:
    row = await add(session, "SMS", "024 3825 1234")

    done = await deliver_round(session, mailer=None, sms=sms_sender(gateway, http), now=NOW)

    assert (done.sent, done.failed, done.gave_up) == (0, 1, 1)
    row = await reload(session, row)
    assert (row.attempts, row.last_error) == (
        MAX_ATTEMPTS,
        "gave up after 1 attempt: not a Vietnamese mobile number",
    )
    assert gateway.requests == 0


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
