"""Zalo as a notification and lookup channel beside SMS (Kon Tum regulation art. 11.1.c: automatic
replies by message; Quảng Ngãi regulation art. 14.1: lookup by SMS and the other channels of the
system; art. 4: following a dossier by e-mail, phone and the social networks allowed).

**Notifications** go through the notification outbox (`services.notifications`), channel `ZALO`,
to the account's verified mobile number when the owner chose Zalo (`notify_zalo`). They are sent
with Zalo Notification Service (ZNS):

    POST <ZALO_ZNS_URL>                     (https://business.openapi.zalo.me/message/template)
    access_token: <the Official Account's access token>
    Content-Type: application/json

    {"phone": "84912345678", "template_id": "<ZALO_ZNS_TEMPLATE_ID>",
     "template_data": {"tieu_de": "<subject>", "noi_dung": "<text>"}, "tracking_id": "<seq>"}

Success is `{"error": 0, "message": "Success", "data": {"msg_id", "sent_time", "quota"}}`; a
non-zero `error` (or another HTTP status, a timeout) is a failure, retried like an SMS. A phone
that is not a Vietnamese mobile gives up at once. An access token Zalo refuses (error -124) is
dropped and the message tried once more with a new one.

**Access tokens** come from Zalo's OAuth v4 refresh-token grant (`POST <ZALO_OAUTH_URL>`, header
`secret_key`, form `app_id`, `grant_type=refresh_token`, `refresh_token`). Zalo answers a new
refresh token each time and the old one stops working, so the tokens live in `zalo_tokens`, one
row per app, locked (`FOR UPDATE`) while refreshing: every process and every restart uses the
latest. The first refresh token is ZALO_REFRESH_TOKEN; when the stored one is refused and the
configured one differs (the operator authorised the app again), the configured one is tried.

**Lookup** (`web/endpoints/zalo.py`): Zalo calls the OA's webhook with the messages citizens send
it; `TRA <mã hồ sơ>` (or `TRACUU <mã>`) is answered with the public status, as the SMS lookup does,
by a consultation message (`POST <ZALO_OA_MESSAGE_URL>`, `{"recipient": {"user_id"}, "message":
{"text"}}`) queued in the outbox as channel `ZALO_OA` (destination: the Zalo user id). Zalo signs
webhooks with `X-ZEvent-Signature: mac=<hex SHA-256 of app_id + body + timestamp + OA secret key>`
(`webhook_signature`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.settings import Settings
from models.accounts import ZaloToken
from services.accounts import rules
from services.notifications import ZALO, ZALO_OA, DeliveryFailed, NotificationMessage, PermanentFailure

__all__ = ["ZALO", "ZALO_OA", "ZaloConfig", "ZaloSender", "ZaloTokens", "zalo_config"]
TOKEN_MARGIN = timedelta(minutes=5)
INVALID_TOKEN = -124
TITLE_CHARS = 100
TEXT_CHARS = 400


@dataclass(frozen=True)
class ZaloConfig:
    app_id: str
    secret_key: str
    refresh_token: str
    template_id: str
    zns_url: str
    oauth_url: str
    oa_message_url: str
    timeout: float = 10


def zalo_config(settings: Settings) -> ZaloConfig | None:
    """The configuration, or None when any part is missing."""
    s = settings
    if not (s.zalo_app_id and s.zalo_secret_key and s.zalo_refresh_token and s.zalo_zns_template_id):
        return None
    return ZaloConfig(
        app_id=s.zalo_app_id,
        secret_key=s.zalo_secret_key,
        refresh_token=s.zalo_refresh_token,
        template_id=s.zalo_zns_template_id,
        zns_url=s.zalo_zns_url,
        oauth_url=s.zalo_oauth_url,
        oa_message_url=s.zalo_oa_message_url,
    )


def _cut(text: str, limit: int) -> str:
    text = " ".join(unicodedata.normalize("NFC", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def zns_body(message: NotificationMessage, template_id: str) -> bytes:
    """The ZNS request for a notification (module docstring)."""
    phone = rules.normalise_phone(message.destination)
    if phone is None:
        raise PermanentFailure("not a Vietnamese mobile number")
    document = {
        "phone": phone.removeprefix("+"),
        "template_id": template_id,
        "template_data": {
            "tieu_de": _cut(message.subject, TITLE_CHARS),
            "noi_dung": _cut(message.body, TEXT_CHARS),
        },
        "tracking_id": str(message.seq),
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def oa_body(message: NotificationMessage) -> bytes:
    """A consultation message to the Zalo user who wrote to the OA."""
    document = {"recipient": {"user_id": message.destination}, "message": {"text": _cut(message.body, 2000)}}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def webhook_signature(app_id: str, body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """`mac=<hex SHA-256 of app_id + body + timestamp + OA secret key>`, Zalo's X-ZEvent-Signature."""
    digest = hashlib.sha256(app_id.encode() + body + timestamp.encode() + oa_secret_key.encode()).hexdigest()
    return "mac=" + digest


def webhook_signed(app_id: str, body: bytes, timestamp: str, oa_secret_key: str, header: str | None) -> bool:
    return header is not None and hmac.compare_digest(
        webhook_signature(app_id, body, timestamp, oa_secret_key), header.strip()
    )


def _answer(response: httpx.Response) -> dict[str, Any]:
    try:
        document = response.json()
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


class ZaloTokens:
    """The Official Account's access token, refreshed through `zalo_tokens` (module docstring)."""

    def __init__(self, config: ZaloConfig, session_factory: Callable[[], AsyncSession], clock: Clock) -> None:
        self.config = config
        self._factory = session_factory
        self._clock = clock
        self._lock = asyncio.Lock()
        self.refreshed = 0

    async def token(self, client: httpx.AsyncClient, *, stale: str | None = None) -> str:
        """A valid access token; `stale` is one Zalo just refused."""
        async with self._lock, self._factory() as session:
            now = self._clock.now()
            await session.execute(
                insert(ZaloToken)
                .values(app_id=self.config.app_id, refresh_token=self.config.refresh_token, updated_at=now)
                .on_conflict_do_nothing()
            )
            row = await session.scalar(
                select(ZaloToken).where(ZaloToken.app_id == self.config.app_id).with_for_update()
            )
            assert row is not None
            usable = row.access_token and row.access_token != stale and row.expires_at is not None
            if usable and row.expires_at is not None and now < row.expires_at - TOKEN_MARGIN:
                assert row.access_token is not None
                return row.access_token
            document = await self._refresh(client, row.refresh_token)
            if "access_token" not in document and row.refresh_token != self.config.refresh_token:
                document = await self._refresh(client, self.config.refresh_token)
            token = document.get("access_token")
            if not isinstance(token, str) or not token:
                reason = document.get("error_description") or document.get("error") or "no access_token"
                raise DeliveryFailed(f"Zalo OAuth: {reason}")
            row.access_token = token
            row.refresh_token = str(document.get("refresh_token") or row.refresh_token)
            seconds = str(document.get("expires_in", "3600"))
            row.expires_at = now + timedelta(seconds=int(seconds) if seconds.isdigit() else 3600)
            row.updated_at = now
            await session.commit()  # before anything else: the old refresh token no longer works
            self.refreshed += 1
            return token

    async def _refresh(self, client: httpx.AsyncClient, refresh_token: str) -> dict[str, Any]:
        try:
            response = await client.post(
                self.config.oauth_url,
                headers={"secret_key": self.config.secret_key},
                data={
                    "app_id": self.config.app_id,
                    "grant_type": "refresh_token",
                    "refresh_token": refresh_token,
                },
                timeout=self.config.timeout,
            )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"Zalo OAuth {type(exc).__name__}: {exc}") from exc
        return _answer(response)


class ZaloSender:
    """Sends the `ZALO` (ZNS) and `ZALO_OA` (consultation) rows of the outbox."""

    def __init__(self, tokens: ZaloTokens, client: httpx.AsyncClient) -> None:
        self.tokens = tokens
        self.config = tokens.config
        self.client = client

    async def send(self, message: NotificationMessage) -> None:
        if message.channel == ZALO_OA:
            url, body = self.config.oa_message_url, oa_body(message)
        else:
            url, body = self.config.zns_url, zns_body(message, self.config.template_id)
        token = await self.tokens.token(self.client)
        response, answer = await self._post(url, body, token)
        if answer.get("error") == INVALID_TOKEN:
            token = await self.tokens.token(self.client, stale=token)
            response, answer = await self._post(url, body, token)
        if response.is_success and answer.get("error") == 0:
            return
        reason = answer.get("message") or " ".join(response.text.split())[:200] or "no body"
        raise DeliveryFailed(f"Zalo {response.status_code} error {answer.get('error')}: {reason}")

    async def _post(self, url: str, body: bytes, token: str) -> tuple[httpx.Response, dict[str, Any]]:
        headers = {"Content-Type": "application/json; charset=utf-8", "access_token": token}
        try:
            response = await self.client.post(url, content=body, headers=headers, timeout=self.config.timeout)
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"Zalo {type(exc).__name__}: {exc}") from exc
        return response, _answer(response)


def moment(value: str) -> datetime | None:
    """A webhook `timestamp` (milliseconds since the epoch) as a time, None when it is not one."""
    return datetime.fromtimestamp(int(value) / 1000, UTC) if value.isdigit() and len(value) < 16 else None
