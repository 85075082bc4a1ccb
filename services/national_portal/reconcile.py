"""The daily reconciliation with the national portal (đối soát): for every dossier with an event
on a given (local) day, ask the portal which status and last event it holds, compare with ours,
and re-queue the dossiers it holds wrongly — all their events again, in order (the portal
deduplicates by MaSuKien). Dossiers whose events are still queued are not differences: the feed
has simply not reached them yet.

The query: `POST <NATIONAL_PORTAL_URL>/hoso/trangthai` with `{"DanhSachIdHoSo": [...]}` (at most
`CHUNK` ids), signed and authorised like the feed; the answer `{"DanhSach": [{"IdHoSo": …,
"TrangThaiHoSo": n, "MaSuKien": seq}, …]}` lists the dossiers the portal knows.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import Row, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.dossiers import ConsumerKind, Dossier, DossierEvent, DossierStatus, EventConsumer, EventDelivery
from services.errors import NotFound
from services.national_portal.feed import CONSUMER_NAME, STATUS_PATH, PortalClient, portal_status
from services.outbox.operations import replay_dossiers
from services.outbox.signing import signed_headers
from services.outbox.transport import Target

CHUNK = 100


class PortalUnavailable(Exception):
    """The portal did not answer the status query; nothing was re-queued."""


@dataclass(frozen=True)
class Difference:
    dossier_id: uuid.UUID
    code: str | None
    reason: str  # MISSING: unknown to the portal | BEHIND: an older event | STATUS: another status
    ours: int | None  # TrangThaiHoSo we hold
    theirs: int | None
    our_event: int
    their_event: int | None


@dataclass
class Reconciliation:
    day: date
    checked: int = 0  # dossiers compared
    queued: int = 0  # dossiers not compared: their events are still on the way
    differences: list[Difference] = field(default_factory=list)
    requeued: int = 0


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=zone)
    return start, start + timedelta(days=1)


async def reconcile(
    session: AsyncSession,
    client: httpx.AsyncClient,
    portal: PortalClient,
    *,
    day: date,
    now: datetime,
    requeue: bool = True,
    consumer_name: str = CONSUMER_NAME,
) -> Reconciliation:
    """Compare one day's dossiers with the portal; re-queue the differences (unless `requeue` is
    false: a report only). Never commits."""
    consumer = await _portal_consumer(session, consumer_name)
    rows = await _dossiers_of_the_day(session, consumer, *day_bounds(day, portal.config.zone))
    report = Reconciliation(day=day)
    delivered = []
    for r in rows:
        if r.delivered_seq is None or r.delivered_seq < r.last:
            report.queued += 1
        else:
            delivered.append(r)
    timestamp = str(int(now.timestamp()))
    signer = Target(
        consumer.id, consumer.name, consumer.kind, consumer.url, portal.config.signing_secret, None
    )
    for i in range(0, len(delivered), CHUNK):
        chunk = delivered[i : i + CHUNK]
        held = await _held_by_portal(
            client, portal, signer, [r.id for r in chunk], day=day, timestamp=timestamp
        )
        for r in chunk:
            report.checked += 1
            difference = _compare(r, held.get(str(r.id)))
            if difference is not None:
                report.differences.append(difference)
    if requeue and report.differences:
        report.requeued = await replay_dossiers(
            session, consumer.id, [d.dossier_id for d in report.differences]
        )
    return report


async def _portal_consumer(session: AsyncSession, name: str) -> EventConsumer:
    consumer = await session.scalar(
        select(EventConsumer).where(
            EventConsumer.name == name, EventConsumer.kind == ConsumerKind.NATIONAL_PORTAL
        )
    )
    if consumer is None:
        raise NotFound("nơi nhận sự kiện", name)
    return consumer


async def _dossiers_of_the_day(
    session: AsyncSession, consumer: EventConsumer, start: datetime, end: datetime
) -> Sequence[Row[tuple[uuid.UUID, str | None, DossierStatus, int, int | None]]]:
    """Every dossier with an event in [start, end): its code, status, last event and the last
    event delivered to the portal."""
    touched = (
        select(DossierEvent.dossier_id).where(DossierEvent.at >= start, DossierEvent.at < end).distinct()
    )
    last = (
        select(DossierEvent.dossier_id, func.max(DossierEvent.seq).label("last"))
        .where(DossierEvent.dossier_id.in_(touched))
        .group_by(DossierEvent.dossier_id)
        .subquery()
    )
    return (
        await session.execute(
            select(Dossier.id, Dossier.code, Dossier.status, last.c.last, EventDelivery.delivered_seq)
            .join(last, last.c.dossier_id == Dossier.id)
            .outerjoin(
                EventDelivery,
                and_(EventDelivery.dossier_id == Dossier.id, EventDelivery.consumer_id == consumer.id),
            )
            .order_by(Dossier.id)
        )
    ).all()


async def _held_by_portal(
    client: httpx.AsyncClient,
    portal: PortalClient,
    signer: Target,
    ids: Sequence[uuid.UUID],
    *,
    day: date,
    timestamp: str,
) -> dict[str, dict[str, Any]]:
    """The portal's answer to the status query for these dossiers, by IdHoSo."""
    body = json.dumps({"DanhSachIdHoSo": [str(i) for i in ids]}, separators=(",", ":")).encode()
    headers = signed_headers(signer, f"doi-soat-{day.isoformat()}", timestamp, body)
    try:
        response = await portal.call(client, STATUS_PATH, body, headers)
    except Exception as error:
        raise PortalUnavailable(f"{type(error).__name__}: {error}") from error
    if response.status_code != 200:
        raise PortalUnavailable(f"HTTP {response.status_code}")
    return {str(item.get("IdHoSo")): item for item in response.json().get("DanhSach", [])}


def _compare(
    r: Row[tuple[uuid.UUID, str | None, DossierStatus, int, int | None]], item: dict[str, Any] | None
) -> Difference | None:
    """MISSING, BEHIND or STATUS when the portal holds this dossier wrongly; else None."""
    ours = portal_status(r.status.value)
    theirs = item.get("TrangThaiHoSo") if item else None
    their_event = item.get("MaSuKien") if item else None
    reason = None
    if item is None:
        reason = "MISSING"
    elif not isinstance(their_event, int) or their_event < r.last:
        reason = "BEHIND"
    elif theirs != ours:
        reason = "STATUS"
    if reason is None:
        return None
    return Difference(
        r.id,
        r.code,
        reason,
        ours,
        theirs if isinstance(theirs, int) else None,
        r.last,
        their_event if isinstance(their_event, int) else None,
    )
