"""What a transport of the outbox is given and must do: one event (`Outgoing`, with its
`EventFacts`) for one consumer (`Target`), answered with None when acknowledged or the reason it
was not (`Transport`). The generic webhook is one transport (`services.outbox.webhook`); the
national portal's is another (`services.national_portal.feed`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import httpx

from models.dossiers import ConsumerKind

REQUEST_TIMEOUT = 30.0  # hard cap per request (seconds), whatever the client's own timeouts
ERROR_LENGTH = 500


@dataclass(frozen=True)
class Outgoing:
    """One event as it is sent to a webhook (`body`), with the facts other transports map from."""

    seq: int
    body: bytes
    facts: EventFacts | None = None
    request_id: str | None = None  # of the request that made the event: on the delivery's log lines


@dataclass(frozen=True)
class EventFacts:
    """An event and the dossier it belongs to as they are when it is sent — what the national
    portal's payload is built from (webhooks get `Outgoing.body`, with no personal data)."""

    seq: int
    dossier_id: uuid.UUID
    action: str
    from_status: str | None
    to_status: str
    at: datetime
    hash: str
    prev_hash: str
    code: str | None
    channel: str
    procedure_code: str | None
    agency_code: str | None
    applicant_name: str
    applicant_id_number: str | None
    submitted_at: datetime | None
    received_at: datetime | None
    appointment_at: datetime | None
    result_at: datetime | None
    finished_at: datetime | None
    portal_dossier_id: str | None = None  # MaHoSoQG, for dossiers submitted on the national portal


@dataclass(frozen=True)
class Target:
    """A consumer as a transport sees it."""

    id: uuid.UUID
    name: str
    kind: ConsumerKind
    url: str
    secret: str
    previous_secret: str | None  # still valid for the consumer: sent as a second signature


class Transport(Protocol):
    """How one event reaches one kind of consumer: None when acknowledged, else why not.
    It must never raise (a failure is a reason string) and never read the clock."""

    async def post(
        self, client: httpx.AsyncClient, target: Target, event: Outgoing, timestamp: str
    ) -> str | None: ...


def failure(error: BaseException) -> str:
    """A transport error as `last_error` keeps it."""
    return (f"{type(error).__name__}: {error}".rstrip(": "))[:ERROR_LENGTH]
