"""What the outbox tests share: real HTTP receivers (`http.server`s on 127.0.0.1 in threads), a
dossier taken along the whole path through the API, and readers of the outbox's tables."""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import FixedClock
from models.dossiers import ConsumerKind, Dossier, DossierEvent, EventConsumer, EventDelivery, SyncStatus
from services.outbox.delivery import deliver_once
from services.outbox.webhook import WEBHOOK
from storage.s3 import ObjectStore
from tests.conftest import NOW, gql
from tests.dossiers.helpers import DRAFT_RESULT, Scene, act, scene, upload

SECRET = "consumer-secret-0123456789"
BODY_KEYS = {"id", "dossierId", "dossierCode", "action", "fromStatus", "toStatus", "at", "hash", "prevHash"}
FULL_PATH = [
    "SUBMIT",
    "REQUEST_COMPLETION",
    "RESUBMIT",
    "RECEIVE",
    "FORWARD",
    "REQUEST_SUPPLEMENT",
    "SUPPLEMENT",
    "FORWARD",
    "APPROVE",
    "RETURN",
]
SAVE = (
    """mutation($input: DossierDraftInput!, $id: ID) { r: dossierSaveDraft(input: $input, id: $id) { %s } }"""
    % DRAFT_RESULT
)


def at(local: str) -> datetime:
    """A moment given in Hà Nội time."""
    return datetime.fromisoformat(local + "+07:00").astimezone(UTC)


# Deliveries run after the whole path, whatever its own dates.
T = at("2026-12-10T09:00:00")


def later(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


# --- a receiver -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stall:
    """Process the request, then answer 200 only after `seconds` (the sender has given up)."""

    seconds: float


Behaviour = int | Stall  # an int is the status to answer


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]  # lower-cased names
    body: bytes
    answered: int

    @property
    def event(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.body)
        return document

    @property
    def id(self) -> int:
        return int(self.headers["x-dvc-event-id"])


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() waits for stalled handlers

    def __init__(self, receiver: Receiver) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.receiver = receiver


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        assert isinstance(self.server, _Server)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        behaviour = self.server.receiver.take(headers, body)
        status = 200
        if isinstance(behaviour, Stall):
            threading.Event().wait(behaviour.seconds)
        else:
            status = behaviour
        with contextlib.suppress(OSError):  # the sender may have hung up
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Receiver:
    """Records every request; answers 200 unless told otherwise for a dossier's next requests."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._plans: dict[str, deque[Behaviour]] = {}
        self._lock = threading.Lock()
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, name="receiver", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/dvc"

    def plan(self, dossier_id: str, *behaviours: Behaviour) -> None:
        with self._lock:
            self._plans.setdefault(dossier_id, deque()).extend(behaviours)

    def take(self, headers: dict[str, str], body: bytes) -> Behaviour:
        with self._lock:
            try:
                dossier = str(json.loads(body).get("dossierId"))
            except ValueError:
                dossier = ""
            plan = self._plans.get(dossier)
            behaviour: Behaviour = plan.popleft() if plan else 200
            self.requests.append(Received(headers, body, 200 if isinstance(behaviour, Stall) else behaviour))
            return behaviour

    def of(self, dossier_id: str) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.event.get("dossierId") == dossier_id]

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


# --- a dossier's path -----------------------------------------------------------------------------


class Story:
    """One dossier walked over GraphQL, act by act (the events of `FULL_PATH`)."""

    def __init__(
        self, client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore, clock: FixedClock
    ) -> None:
        self.client, self.session, self.store, self.clock = client, session, store, clock
        self.done = 0
        self.id = ""
        self.s: Scene | None = None

    @property
    def uuid(self) -> uuid.UUID:
        return uuid.UUID(self.id)

    async def walk(self, until: int = len(FULL_PATH)) -> Story:
        steps = [
            self._submit,
            self._request_completion,
            self._resubmit,
            self._receive,
            self._forward_to_tax,
            self._request_supplement,
            self._supplement,
            self._forward_to_leader,
            self._approve,
            self._return,
        ]
        while self.done < until:
            await steps[self.done]()
            self.done += 1
        return self

    async def _act(self, token: str, mutation: str, args: str = "", **variables: Any) -> None:
        result = await act(self.client, token, mutation, args, id=self.id, **variables)
        assert result["__typename"] == "DossierChanged", result

    @property
    def _s(self) -> Scene:
        assert self.s is not None
        return self.s

    async def _submit(self) -> None:
        self.s = s = await scene(self.client, self.session)
        form = await upload(self.session, self.store, s.citizen_id)
        self.clock.at = at("2026-11-26T09:00:00")
        draft = {
            "procedureCode": s.code,
            "receivingAgencyCode": "H44.99",
            "formData": {"hoTen": "Nguyễn Thị Lan"},
            "components": [{"componentId": s.components["Tờ khai theo mẫu"], "fileIds": [form]}],
            "deliveryMethod": "ONLINE",
        }
        saved = (await gql(self.client, SAVE, {"input": draft}, token=s.citizen))["data"]["r"]
        self.id = saved["dossier"]["id"]
        await self._act(s.citizen, "dossierSubmit")

    async def _request_completion(self) -> None:
        self.clock.at = at("2026-11-26T10:00:00")
        await self._act(
            self._s.reception,
            "dossierRequestCompletion",
            "items: $items",
            items=["Bản sao CCCD có chứng thực"],
        )

    async def _resubmit(self) -> None:
        copy = await upload(self.session, self.store, self._s.citizen_id, "cccd.pdf")
        self.clock.at = at("2026-11-26T17:10:00")
        component = self._s.components["Bản sao giấy tờ tùy thân"]
        await self._act(
            self._s.citizen,
            "dossierResubmit",
            "components: $components",
            components=[{"componentId": component, "fileIds": [copy]}],
        )

    async def _receive(self) -> None:
        self.clock.at = at("2026-11-27T08:00:00")
        await self._act(self._s.reception, "dossierReceive")

    async def _forward_to_tax(self) -> None:
        self.clock.at = at("2026-11-30T09:00:00")
        await self._act(self._s.specialist, "dossierForward", "comment: $comment", comment="Đủ điều kiện")

    async def _request_supplement(self) -> None:
        self.clock.at = at("2026-12-01T10:00:00")
        await self._act(self._s.tax, "dossierRequestSupplement", "items: $items", items=["Tờ khai thuế"])

    async def _supplement(self) -> None:
        tax_form = await upload(self.session, self.store, self._s.citizen_id, "to-khai-thue.pdf")
        self.clock.at = at("2026-12-03T10:00:00")
        component = self._s.components["Tờ khai theo mẫu"]
        await self._act(
            self._s.citizen,
            "dossierSupplement",
            "components: $components",
            components=[{"componentId": component, "fileIds": [tax_form]}],
        )

    async def _forward_to_leader(self) -> None:
        self.clock.at = at("2026-12-03T14:00:00")
        await self._act(self._s.tax, "dossierForward")

    async def _approve(self) -> None:
        result = await upload(self.session, self.store, None, "giay-phep.pdf")
        self.clock.at = at("2026-12-09T09:00:00")
        await self._act(self._s.leader, "dossierApprove", "resultFileIds: $files", files=[result])

    async def _return(self) -> None:
        self.clock.at = at("2026-12-09T10:00:00")
        await self._act(self._s.reception, "dossierReturn", "method: $method", method="ONLINE")


# --- reading the database -------------------------------------------------------------------------


async def add_consumer(
    session: AsyncSession,
    name: str,
    url: str,
    *,
    active: bool = True,
    secret: str = SECRET,
    kind: ConsumerKind = ConsumerKind.WEBHOOK,
) -> uuid.UUID:
    """A consumer; one of kind NATIONAL_PORTAL is spoken to by the tests with the webhook
    transport (`PORTAL_AS_WEBHOOK`), at the test receiver."""
    consumer = EventConsumer(
        id=uuid.uuid4(), name=name, url=url, secret=secret, active=active, created_at=NOW, kind=kind
    )
    session.add(consumer)
    await session.commit()
    return consumer.id


async def seqs(session: AsyncSession, dossier: uuid.UUID) -> list[int]:
    return list(
        await session.scalars(
            select(DossierEvent.seq).where(DossierEvent.dossier_id == dossier).order_by(DossierEvent.seq)
        )
    )


@dataclass(frozen=True)
class Position:
    delivered_seq: int
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None


async def position(session: AsyncSession, consumer: uuid.UUID, dossier: uuid.UUID) -> Position | None:
    row = (
        await session.execute(
            select(
                EventDelivery.delivered_seq,
                EventDelivery.attempts,
                EventDelivery.next_attempt_at,
                EventDelivery.last_error,
            ).where(EventDelivery.consumer_id == consumer, EventDelivery.dossier_id == dossier)
        )
    ).one_or_none()
    return None if row is None else Position(*row)


async def sync_status(session: AsyncSession, dossier: uuid.UUID) -> SyncStatus:
    status: SyncStatus = (
        await session.execute(select(Dossier.sync_status).where(Dossier.id == dossier))
    ).scalar_one()
    return status


PORTAL_AS_WEBHOOK = {ConsumerKind.NATIONAL_PORTAL: WEBHOOK}


async def deliver(session: AsyncSession, http: httpx.AsyncClient, now: datetime) -> None:
    # A large batch: other dossiers in the database must not push this test's dossier out.
    await deliver_once(session, http, now=now, batch=10_000, transports=PORTAL_AS_WEBHOOK)


def ids(requests: list[Received]) -> list[int]:
    return [r.id for r in requests]
