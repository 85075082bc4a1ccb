"""Zalo beside SMS, against a small local server (http.server, as the SMS gateway is tested) that
speaks Zalo's OAuth v4 refresh-token grant, ZNS and the OA consultation-message API: refresh tokens
rotate and are kept in the database, an access token Zalo refuses is replaced once, a non-zero
`error` is a failure retried like an SMS; citizens choose Zalo; development catches it; a signed
OA webhook `TRA <mã hồ sơ>` is answered with the public status."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FixedClock
from core.settings import Settings
from devservers import find_free_port
from models.accounts import Account, CaughtMessage, Notification, ZaloToken
from services.accounts.owners import person, set_preferences, tell_owner
from services.caught import MessageCatcher
from services.errors import Refused
from services.notifications import MAX_ATTEMPTS, backoff, deliver_round
from services.zalo import ZALO, ZALO_OA, ZaloConfig, ZaloSender, ZaloTokens, webhook_signature
from storage.s3 import ObjectStore
from tests.accounts.helpers import VERIFY, citizen_input, last_code, token_for
from tests.conftest import NOW, gql
from tests.dossiers.helpers import act
from tests.dossiers.test_access_and_integrity import submitted

APP_ID = "1234567890123456789"
SECRET_KEY = "zalo-app-secret-key"
OA_SECRET = "zalo-oa-secret-key-0123456789"
FIRST_REFRESH = "rt-0"
TEMPLATE = "301234"


@dataclass
class ZaloServer:
    """OAuth (rotating refresh tokens), ZNS and OA messages; fails on demand."""

    refresh: str = FIRST_REFRESH
    access: set[str] = field(default_factory=set)
    issued: int = 0
    zns: list[dict[str, Any]] = field(default_factory=list)
    oa: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0  # answer the next `refused` valid ZNS requests with error -133
    base: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        with self.lock:
            if path == "/v4/oa/access_token":
                form = dict(urllib.parse.parse_qsl(body.decode()))
                if headers.get("secret_key") != SECRET_KEY or form.get("app_id") != APP_ID:
                    return {"error": -14002, "error_description": "Invalid app id or secret key"}
                if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != self.refresh:
                    return {"error": -14014, "error_description": "Invalid refresh token"}
                self.issued += 1
                self.refresh = f"rt-{self.issued}"  # the old one stops working
                token = f"at-{self.issued}"
                self.access.add(token)
                return {"access_token": token, "refresh_token": self.refresh, "expires_in": "90000"}
            if headers.get("access_token") not in self.access:
                return {"error": -124, "message": "Access token invalid"}
            document = json.loads(body)
            if path == "/message/template":
                if self.refused > 0:
                    self.refused -= 1
                    return {"error": -133, "message": "Zalo tạm thời không gửi được"}
                self.zns.append(document)
                return {
                    "error": 0,
                    "message": "Success",
                    "data": {"msg_id": f"m{len(self.zns)}", "sent_time": "1764122400000", "quota": {}},
                }
            if path == "/v3.0/oa/message/cs":
                self.oa.append(document)
                return {"error": 0, "message": "Success", "data": {"message_id": f"o{len(self.oa)}"}}
            return {"error": -201, "message": "unknown endpoint"}

    def config(self) -> ZaloConfig:
        return ZaloConfig(
            app_id=APP_ID,
            secret_key=SECRET_KEY,
            refresh_token=FIRST_REFRESH,
            template_id=TEMPLATE,
            zns_url=self.base + "/message/template",
            oauth_url=self.base + "/v4/oa/access_token",
            oa_message_url=self.base + "/v3.0/oa/message/cs",
            timeout=5,
        )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    zalo: ZaloServer


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        answer = cast(_Server, self.server).zalo.answer(self.path, headers, body)
        payload = json.dumps(answer, ensure_ascii=False).encode()
        self.send_response(200)  # Zalo answers its errors with HTTP 200 and a non-zero `error`
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def zalo() -> Iterator[ZaloServer]:
    server = _Server(("127.0.0.1", find_free_port()), _Handler)
    server.zalo = ZaloServer(base=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.zalo
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as client:
        yield client


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"zalo_app_id": APP_ID, "zalo_oa_secret_key": OA_SECRET})


@pytest_asyncio.fixture(autouse=True)
async def empty_outbox(session: AsyncSession) -> None:
    await session.execute(delete(Notification))
    await session.commit()


def sender(
    zalo: ZaloServer, factory: async_sessionmaker[AsyncSession], http: httpx.AsyncClient
) -> ZaloSender:
    return ZaloSender(ZaloTokens(zalo.config(), factory, FixedClock(NOW)), http)


async def add(session: AsyncSession, destination: str = "0912 345 678", channel: str = ZALO) -> Notification:
    row = Notification(
        channel=channel,
        destination=destination,
        template="dossier_received",
        subject="Hồ sơ đã được tiếp nhận",
        body="Hồ sơ 000.00.19.H44-261126-0001 đã được tiếp nhận; hẹn trả ngày 03/12/2026.",
        created_at=NOW,
        attempts=0,
    )
    session.add(row)
    await session.commit()
    return row


async def test_kon_tum_art_11_zalo_notifications_go_through_zns_with_rotating_tokens(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    zalo: ZaloServer,
) -> None:
    """Kon Tum regulation art. 11.1.c (automatic replies by message) and art. 4 of Quảng Ngãi's:
    a citizen follows a dossier through the social networks allowed — Zalo ZNS, with the OA's
    access token from the refresh-token grant; Zalo's refresh tokens are used once, so the newest
    is kept for every process and restart."""
    first = await add(session)
    zns = sender(zalo, session_factory, http)
    done = await deliver_round(session, mailer=None, sms=None, zalo=zns, now=NOW)
    await session.commit()
    assert (done.sent, done.failed) == (1, 0)
    [sent] = zalo.zns
    assert sent == {
        "phone": "84912345678",
        "template_id": TEMPLATE,
        "template_data": {
            "tieu_de": "Hồ sơ đã được tiếp nhận",
            "noi_dung": "Hồ sơ 000.00.19.H44-261126-0001 đã được tiếp nhận; hẹn trả ngày 03/12/2026.",
        },
        "tracking_id": str(first.seq),
    }
    stored = await session.get_one(ZaloToken, APP_ID, populate_existing=True)
    assert (stored.refresh_token, stored.access_token) == ("rt-1", "at-1")

    # The next message uses the cached token; another process reads the newest refresh token.
    await add(session, "+84912345679")
    await deliver_round(session, mailer=None, sms=None, zalo=zns, now=NOW)
    assert zalo.issued == 1
    zalo.access.clear()  # Zalo revokes the access tokens: -124, a new one, the message once more
    await add(session, "0912345680")
    other_process = sender(zalo, session_factory, http)
    again = await deliver_round(session, mailer=None, sms=None, zalo=other_process, now=NOW)
    await session.commit()
    assert (again.sent, again.failed, zalo.issued) == (1, 0, 2)
    assert [z["phone"] for z in zalo.zns] == ["84912345678", "84912345679", "84912345680"]
    stored = await session.get_one(ZaloToken, APP_ID, populate_existing=True)
    assert stored.refresh_token == "rt-2"


async def test_quang_ngai_art_14_zalo_failures_are_retried_like_sms(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    zalo: ZaloServer,
) -> None:
    """Quảng Ngãi regulation (QĐ 39/2020/QĐ-UBND) art. 14.1: the automatic message channels
    answer reliably — a Zalo error (non-zero `error`) is a failed attempt, retried with the SMS
    backoff; a number that is no Vietnamese mobile gives up at once."""
    row = await add(session)
    bad = await add(session, "12345")
    zalo.refused = 1
    zns = sender(zalo, session_factory, http)
    done = await deliver_round(session, mailer=None, sms=None, zalo=zns, now=NOW)
    await session.commit()
    assert (done.sent, done.failed, done.gave_up) == (0, 2, 1)
    await session.refresh(row)
    await session.refresh(bad)
    assert row.attempts == 1
    assert row.last_error is not None
    assert "error -133" in row.last_error
    assert bad.attempts == MAX_ATTEMPTS
    early = await deliver_round(session, mailer=None, sms=None, zalo=zns, now=NOW + timedelta(seconds=30))
    assert early.sent == 0  # not due before its backoff
    later = await deliver_round(session, mailer=None, sms=None, zalo=zns, now=NOW + backoff(1))
    await session.commit()
    assert later.sent == 1
    await session.refresh(row)
    assert row.sent_at is not None
    assert len(zalo.zns) == 1


async def test_kon_tum_art_11_citizens_choose_zalo_beside_sms(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Kon Tum regulation art. 11 (lookup and following by message) with Quảng Ngãi art. 14: Zalo
    is a channel the citizen chooses, to their verified mobile number, beside SMS; e-mail or SMS
    stays on."""
    token = await token_for(client, session, 7)
    phone = "+84" + citizen_input(7)["phone"][1:]
    verified = await gql(client, VERIFY, {"d": phone, "c": await last_code(session, phone)})
    assert verified["data"]["contactVerify"]["__typename"] == "AccountSaved", verified
    chosen = await gql(
        client,
        "mutation { r: notificationPreferencesSet(email: true, sms: false, zalo: true) "
        "{ ... on AccountSaved { account { notifyEmail notifySms notifyZalo } } } }",
        token=token,
    )
    assert chosen["data"]["r"]["account"] == {"notifyEmail": True, "notifySms": False, "notifyZalo": True}
    account = await session.scalar(select(Account).where(Account.phone == phone))
    assert account is not None
    await session.refresh(account)
    await session.execute(delete(Notification))
    tell_owner(session, account, "dossier_received", "Hồ sơ đã tiếp nhận", "Nội dung", now=NOW)
    await session.flush()
    sent = {(n.channel, n.destination) for n in await session.scalars(select(Notification))}
    assert sent == {("EMAIL", citizen_input(7)["email"]), ("ZALO", phone)}
    kept = await gql(
        client,
        "mutation { r: notificationPreferencesSet(email: true, sms: true) "
        "{ ... on AccountSaved { account { notifyZalo } } } }",
        token=token,
    )
    assert kept["data"]["r"]["account"]["notifyZalo"] is True  # not named: as it was
    # Where the system is not connected to Zalo (production without ZALO_*), it is not offered.
    with pytest.raises(Refused) as refused:
        await set_preferences(session, person(account), email=True, sms=True, zalo=True, zalo_available=False)
    assert refused.value.code == "ZALO_OFF"


async def test_development_catches_zalo_messages(
    settings: Settings, session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """With no Zalo configured, development keeps Zalo messages like e-mails and SMS
    (services/caught.py) instead of sending them."""
    from web.workers import notification_senders

    senders = notification_senders(settings, session_factory, FixedClock(NOW))
    assert isinstance(senders.zalo, MessageCatcher)
    row = await add(session)
    done = await deliver_round(session, mailer=senders.mailer, sms=senders.sms, zalo=senders.zalo, now=NOW)
    await session.commit()
    assert done.sent == 1
    caught = await session.scalar(select(CaughtMessage).where(CaughtMessage.notification_id == row.id))
    assert caught is not None
    assert caught.channel == ZALO


def webhook(text: str, msg_id: str, stamp: str) -> bytes:
    event = {
        "app_id": APP_ID,
        "user_id_by_app": "552177279717587730",
        "event_name": "user_send_text",
        "timestamp": stamp,
        "sender": {"id": "246845883529197922"},
        "recipient": {"id": "579745863508352884"},
        "message": {"text": text, "msg_id": msg_id},
    }
    return json.dumps(event, ensure_ascii=False).encode()


async def post_webhook(
    client: httpx.AsyncClient, body: bytes, stamp: str, secret: str = OA_SECRET
) -> httpx.Response:
    headers = {
        "X-ZEvent-Signature": webhook_signature(APP_ID, body, stamp, secret),
        "Content-Type": "application/json",
    }
    return await client.post("/zalo/webhook", content=body, headers=headers)


async def test_kon_tum_art_11_a_dossier_is_looked_up_by_zalo(
    client: httpx.AsyncClient,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    store: ObjectStore,
    http: httpx.AsyncClient,
    zalo: ZaloServer,
) -> None:
    """Kon Tum regulation art. 11.1.c: automatic replies by message — `TRA <mã hồ sơ>` written to
    the Official Account is answered with the public status (nothing personal), once per message
    even when Zalo calls the webhook again; only Zalo's signature is believed."""
    s, dossier_id = await submitted(client, session, store)
    code = (await act(client, s.reception, "dossierReceive", id=dossier_id))["dossier"]["code"]
    await session.execute(delete(Notification))
    await session.commit()
    stamp = str(int(NOW.timestamp() * 1000))
    forged = await post_webhook(client, webhook(f"TRA {code}", "mid-1", stamp), stamp, secret="forged")
    assert forged.status_code == 401
    stale = str(int((NOW - timedelta(hours=1)).timestamp() * 1000))
    assert (await post_webhook(client, webhook(f"TRA {code}", "mid-1", stale), stale)).status_code == 401
    for _ in range(2):  # Zalo retries: one reply
        answered = await post_webhook(client, webhook(f"tra {code.lower()}", "mid-1", stamp), stamp)
        assert answered.status_code == 200
    await post_webhook(client, webhook("xin chào", "mid-2", stamp), stamp)
    replies = list(await session.scalars(select(Notification).order_by(Notification.seq)))
    assert [(r.channel, r.destination) for r in replies] == [(ZALO_OA, "246845883529197922")] * 2
    assert replies[0].body.startswith(f"Hồ sơ {code} (Thủ tục cấp giấy phép thử nghiệm): đang giải quyết")
    assert "Lan" not in replies[0].body
    assert replies[1].body == "Soạn TRA <mã hồ sơ> để tra cứu tình trạng hồ sơ."

    done = await deliver_round(
        session, mailer=None, sms=None, zalo=sender(zalo, session_factory, http), now=NOW
    )
    await session.commit()
    assert done.sent == 2
    assert zalo.oa[0] == {
        "recipient": {"user_id": "246845883529197922"},
        "message": {"text": replies[0].body},
    }
