"""Real local servers the notification outbox delivers to: an aiosmtpd SMTP server and a small
HTTP SMS gateway (http.server) on 127.0.0.1, in threads of their own; and the outbox's rows."""

from __future__ import annotations

import email
import email.policy
import hmac
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import httpx
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts import Notification
from services.notifications import (
    HttpSmsSender,
    SmsConfig,
    SmtpConfig,
    sms_signature,
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


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    gateway: Gateway


class GatewayHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, answer = cast(GatewayServer, self.server).gateway.answer(headers, body)
        payload = json.dumps(answer, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def sms_sender(gateway: Gateway, http: httpx.AsyncClient, **changes: Any) -> HttpSmsSender:
    values: dict[str, Any] = {"url": gateway.url, "api_key": SMS_KEY, "sender": "UBND TTHue", "timeout": 5}
    values.update(changes)
    return HttpSmsSender(SmsConfig(**values), http)


# --- rows ---------------------------------------------------------------------------------------


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
