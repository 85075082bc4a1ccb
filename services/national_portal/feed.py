"""The national portal feed: dossier events delivered to the portal's dossier synchronisation API
(đồng bộ hồ sơ, trạng thái hồ sơ — Decree 61/2018 art. 12, Decree 107/2021, Decision 31/2021/QĐ-TTg
ch. IV: provincial systems synchronise every dossier and its status with the national portal).

This is a *transport* of the outbox (`services.outbox.transport.Transport`), not a second outbox: the same
rounds, row locks, per-dossier order, retries with backoff and replay apply. Only the request
differs from a webhook:

- `POST <NATIONAL_PORTAL_URL>/hoso/dongbo`, JSON — `sync_payload` — with Vietnamese field names
  in the style used by provincial integrations with the portal (MaHoSo, MaTTHC, NgayTiepNhan,
  NgayHenTra, TrangThaiHoSo …). The portal's own specification is distributed to connected
  provinces and is not public; the shape here is documented in docs/domain.md and is an adapter's
  job to match when the real one is at hand (only this module changes).
- `Authorization: Bearer <token>` from the portal's OAuth2 token endpoint (client credentials),
  cached until shortly before it expires; a 401 drops the token, fetches a new one and tries the
  event once more (in the same round, so order is kept).
- the same `X-DVC-Event-Id`, `X-DVC-Timestamp` and `X-DVC-Signature` (HMAC-SHA256 keyed with
  NATIONAL_PORTAL_SIGNING_SECRET) as webhooks: the portal deduplicates by `MaSuKien` (= event id).

Unlike webhooks, the portal does get the applicant's name and identifier: it shows the dossier
in the citizen's account there, and it is a state system entitled to it (Decree 45/2020 art. 9).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.settings import Settings
from models.dossiers import ConsumerKind, DossierStatus
from services.outbox.consumers import ensure_consumer
from services.outbox.signing import signed_headers
from services.outbox.transport import EventFacts, Outgoing, Target, failure

CONSUMER_NAME = "cong-dvc-quoc-gia"
SYNC_PATH = "/hoso/dongbo"
STATUS_PATH = "/hoso/trangthai"
TOKEN_MARGIN = timedelta(seconds=60)  # refresh this long before the portal says it expires

# TrangThaiHoSo: the portal's dossier status codes, as provincial integrations use them.
PORTAL_STATUS: dict[DossierStatus, int] = {
    DossierStatus.SUBMITTED: 1,  # Mới đăng ký
    DossierStatus.IN_PROGRESS: 4,  # Đang xử lý (được tiếp nhận: the RECEIVE event itself)
    DossierStatus.REJECTED: 3,  # Không được tiếp nhận
    DossierStatus.AWAITING_COMPLETION: 5,  # Yêu cầu bổ sung giấy tờ
    DossierStatus.SUPPLEMENT_REQUESTED: 5,
    DossierStatus.WITHDRAWN: 7,  # Công dân rút hồ sơ
    DossierStatus.RESULT_READY: 9,  # Đã xử lý xong
    DossierStatus.REFUSED: 9,  # Đã xử lý xong (KetQuaXuLy: từ chối giải quyết)
    DossierStatus.CLOSED: 10,  # Đã trả kết quả
}
CHANNEL = {"COUNTER": 1, "ONLINE": 2, "POST": 3, "NATIONAL_PORTAL": 2}  # KenhThucHien


def portal_status(status: str) -> int | None:
    """TrangThaiHoSo for one of our statuses (None for a draft: never sent)."""
    try:
        return PORTAL_STATUS.get(DossierStatus(status))
    except ValueError:
        return None


def _stamp(moment: datetime | None, zone: ZoneInfo) -> str | None:
    """The portal's date format: yyyyMMddHHmmss in local time."""
    return moment.astimezone(zone).strftime("%Y%m%d%H%M%S") if moment is not None else None


def sync_payload(facts: EventFacts, zone: ZoneInfo, portal_dossier_id: str | None = None) -> bytes:
    """The body of one synchronisation request (see docs/domain.md, "The national public service portal")."""
    outcome = None
    if facts.to_status == DossierStatus.REFUSED.value:
        outcome = "TU_CHOI_GIAI_QUYET"
    elif facts.to_status in (DossierStatus.RESULT_READY.value, DossierStatus.CLOSED.value):
        outcome = "CO_KET_QUA"
    document = {
        "MaSuKien": facts.seq,
        "IdHoSo": str(facts.dossier_id),
        "MaHoSo": facts.code,
        "MaHoSoQG": portal_dossier_id,
        "MaTTHC": facts.procedure_code,
        "MaCoQuan": facts.agency_code,
        "KenhThucHien": CHANNEL.get(facts.channel, 2),
        "ChuHoSo": facts.applicant_name,
        "SoGiayToChuHoSo": facts.applicant_id_number,
        "HanhDong": facts.action,
        "TrangThaiHoSo": portal_status(facts.to_status),
        "TrangThaiTruoc": portal_status(facts.from_status) if facts.from_status else None,
        "ThoiDiem": _stamp(facts.at, zone),
        "NgayNopHoSo": _stamp(facts.submitted_at, zone),
        "NgayTiepNhan": _stamp(facts.received_at, zone),
        "NgayHenTra": _stamp(facts.appointment_at, zone),
        "NgayCoKetQua": _stamp(facts.result_at, zone),
        "NgayKetThuc": _stamp(facts.finished_at, zone),
        "KetQuaXuLy": outcome,
        "MaBam": facts.hash,
        "MaBamTruoc": facts.prev_hash,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class PortalConfig:
    url: str  # base of the integration API, no trailing slash
    token_url: str
    client_id: str
    client_secret: str
    signing_secret: str
    zone: ZoneInfo


class TokenError(Exception):
    pass


class PortalClient:
    """Credentials and the cached access token, shared by every request of the process. The clock
    is the process's `Clock`, given in."""

    def __init__(self, config: PortalConfig, clock: Clock) -> None:
        self.config = config
        self._clock = clock
        self._token: str | None = None
        self._expires: datetime | None = None
        self._lock = asyncio.Lock()
        self.tokens_fetched = 0

    async def token(self, client: httpx.AsyncClient, *, stale: str | None = None) -> str:
        """A valid access token; `stale` is one the portal just refused (fetch another)."""
        async with self._lock:
            now = self._clock.now()
            fresh = self._token is not None and self._token != stale
            if fresh and self._expires is not None and now < self._expires - TOKEN_MARGIN:
                assert self._token is not None
                return self._token
            response = await client.post(
                self.config.token_url,
                data={"grant_type": "client_credentials"},
                auth=(self.config.client_id, self.config.client_secret),
            )
            if response.status_code != 200:
                raise TokenError(f"token endpoint answered HTTP {response.status_code}")
            document = response.json()
            token = document.get("access_token")
            if not isinstance(token, str) or not token:
                raise TokenError("token endpoint sent no access_token")
            seconds = document.get("expires_in", 300)
            self._token = token
            self._expires = now + timedelta(seconds=int(seconds) if isinstance(seconds, int | float) else 300)
            self.tokens_fetched += 1
            return token

    async def call(
        self, client: httpx.AsyncClient, path: str, body: bytes, headers: dict[str, str]
    ) -> httpx.Response:
        """POST with a bearer token; on 401 once more with a new token."""
        token = await self.token(client)
        url = self.config.url + path
        response = await client.post(
            url,
            content=body,
            headers={**headers, "Authorization": f"Bearer {token}"},
        )
        if response.status_code == 401:
            token = await self.token(client, stale=token)
            response = await client.post(
                url,
                content=body,
                headers={**headers, "Authorization": f"Bearer {token}"},
            )
        return response


class PortalTransport:
    """`services.outbox.transport.Transport` for consumers of kind NATIONAL_PORTAL."""

    def __init__(self, portal: PortalClient) -> None:
        self.portal = portal

    async def post(
        self, client: httpx.AsyncClient, target: Target, event: Outgoing, timestamp: str
    ) -> str | None:
        if event.facts is None:
            return "event without facts"
        body = sync_payload(event.facts, self.portal.config.zone, event.facts.portal_dossier_id)
        signer = Target(
            id=target.id,
            name=target.name,
            kind=target.kind,
            url=target.url,
            secret=self.portal.config.signing_secret,
            previous_secret=None,
        )
        headers = signed_headers(signer, str(event.seq), timestamp, body)
        try:
            response = await self.portal.call(client, SYNC_PATH, body, headers)
        except Exception as error:  # noqa: BLE001 — any failure is retried by the outbox
            return failure(error)
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"


def portal_config(settings: Settings) -> PortalConfig | None:
    """The feed's configuration, or None when NATIONAL_PORTAL_URL is not set."""
    s = settings
    if not (
        s.national_portal_url
        and s.national_portal_token_url
        and s.national_portal_client_id
        and s.national_portal_client_secret
        and s.national_portal_signing_secret
    ):
        return None
    return PortalConfig(
        url=s.national_portal_url.rstrip("/"),
        token_url=s.national_portal_token_url,
        client_id=s.national_portal_client_id,
        client_secret=s.national_portal_client_secret,
        signing_secret=s.national_portal_signing_secret,
        zone=s.zone,
    )


async def ensure_portal_consumer(session: AsyncSession, config: PortalConfig, *, now: datetime) -> None:
    """The outbox consumer the feed delivers through (created at start when configured)."""
    await ensure_consumer(
        session, name=CONSUMER_NAME, kind=ConsumerKind.NATIONAL_PORTAL, url=config.url + SYNC_PATH, now=now
    )
