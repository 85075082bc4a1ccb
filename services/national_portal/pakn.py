"""Feedback shared with the national feedback system (Hệ thống phản ánh, kiến nghị trên Cổng Dịch
vụ công quốc gia — Kon Tum regulation art. 21: the province's feedback system is integrated with
and shared with the national one; Decision 31/2021/QĐ-TTg ch. VI).

What goes out — `POST <NATIONAL_PORTAL_URL>/pakn/dongbo`, one request per `InquiryEvent`, in
order per inquiry — is decided by `shared`:

- feedback handed to us by the national system (`Inquiry.national_id`, MaPAKNQG): **every**
  status change, so the national system can tell its citizen where it stands;
- our own feedback (kind FEEDBACK): its **publication** only (the answer made public).

What is sent is `pakn_payload`: codes, statuses, agencies, field and dates; the texts only once
the answer is public, and then only the public, redacted ones (`public_title`, `public_question`,
`public_answer`, the place); a decline's reason redacted of the submitter's data
(`services.redaction`). Never the submitter's name, contacts or address, nor the original texts.

The transport is the dossier feed's (`services.national_portal.feed`): the same credentials,
bearer token (refreshed once on 401), `X-DVC-*` signature with NATIONAL_PORTAL_SIGNING_SECRET and
backoff. The queue is the inquiry trail itself (`inquiry_events`, written in the transaction of
each act — the transactional outbox), drained like `dossier_events`: `inquiry_deliveries` holds
per inquiry the last event acknowledged (or not for the national system), the failures in a row
of the next one, when to try again and why it failed. A failure stops that inquiry for the round
(a later event never overtakes an earlier one); acts lock the inquiry row, so an inquiry's events
become visible in `seq` order. The national system deduplicates by `MaSuKien` (at least once).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import exists, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.clock import Clock
from models.catalog import Agency, Field
from models.dossiers import ConsumerKind
from models.feedback import Inquiry, InquiryDelivery, InquiryEvent, InquiryKind, InquiryStatus
from services.national_portal.feed import CONSUMER_NAME, PortalClient
from services.outbox.signing import signed_headers
from services.outbox.transport import Target, failure
from services.redaction import redact
from services.retry import Backoff, run_rounds

log = logging.getLogger(__name__)

PAKN_PATH = "/pakn/dongbo"
MAX_FAILING_INQUIRIES = 3  # per round: after that many failures in a row the system is taken as down
backoff = Backoff(first=timedelta(seconds=2), cap=timedelta(hours=1))

# TrangThai: the status as the national system shows it.
PAKN_STATUS = {
    InquiryStatus.RECEIVED: "DA_TIEP_NHAN",
    InquiryStatus.FORWARDED: "DANG_XU_LY",
    InquiryStatus.ANSWERED: "DA_CO_TRA_LOI",
    InquiryStatus.PUBLISHED: "DA_CONG_KHAI",
    InquiryStatus.DECLINED: "KHONG_XU_LY",
}
KIND = {InquiryKind.FEEDBACK: "PHAN_ANH_KIEN_NGHI", InquiryKind.QUESTION: "HOI_DAP"}


def shared(national_id: str | None, kind: InquiryKind, to_status: str) -> bool:
    """Whether an event goes to the national system (module docstring)."""
    if national_id is not None:
        return True
    return kind is InquiryKind.FEEDBACK and to_status == InquiryStatus.PUBLISHED.value


def _stamp(moment: datetime | None, zone: ZoneInfo) -> str | None:
    return moment.astimezone(zone).strftime("%Y%m%d%H%M%S") if moment is not None else None


@dataclass(frozen=True)
class PaknEvent:
    """One inquiry event with the inquiry as it is when sent."""

    seq: int
    action: str
    to_status: str
    at: datetime
    inquiry: Inquiry
    focal_code: str | None
    competent_code: str | None
    field_code: str | None


def pakn_payload(event: PaknEvent, zone: ZoneInfo) -> bytes:
    """The body of one request: public texts only once published; nothing about the submitter."""
    row = event.inquiry
    public = row.status is InquiryStatus.PUBLISHED
    contacts = (row.submitter_name, row.submitter_email, row.submitter_phone, row.submitter_address)
    document: dict[str, Any] = {
        "MaSuKien": event.seq,
        "IdPAKN": str(row.id),
        "MaPAKN": row.code,
        "MaPAKNQG": row.national_id,
        "LoaiPAKN": KIND[row.kind],
        "HanhDong": event.action,
        "TrangThai": PAKN_STATUS[InquiryStatus(event.to_status)],
        "ThoiDiem": _stamp(event.at, zone),
        "NgayTiepNhan": _stamp(row.received_at, zone),
        "CoQuanDauMoi": event.focal_code,
        "CoQuanXuLy": event.competent_code,
        "LinhVuc": event.field_code,
        "HanTraLoi": _stamp(row.answer_due_at, zone),
        "NgayTraLoi": _stamp(row.answered_at, zone) if public else None,
        "NgayCongKhai": _stamp(row.published_at, zone) if public else None,
        "TieuDe": row.public_title if public else None,
        "NoiDung": row.public_question if public else None,
        "TraLoi": row.public_answer if public else None,
        "DiaDiem": row.location_address if public else None,
        "LyDoKhongXuLy": (
            redact(row.decline_reason, known=contacts)
            if row.status is InquiryStatus.DECLINED and row.decline_reason
            else None
        ),
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass
class PaknRun:
    """What one round did."""

    sent: int = 0  # requests acknowledged
    skipped: int = 0  # events not for the national system, acknowledged without a request
    failed: int = 0  # inquiries whose next event failed (retried after a backoff)
    more: bool = False


async def _ensure_rows(session: AsyncSession) -> None:
    """A position (at 0) for every inquiry that has none."""
    missing = select(Inquiry.id, literal(0), literal(0)).where(
        ~exists().where(InquiryDelivery.inquiry_id == Inquiry.id)
    )
    await session.execute(
        insert(InquiryDelivery)
        .from_select(
            [InquiryDelivery.inquiry_id, InquiryDelivery.delivered_seq, InquiryDelivery.attempts], missing
        )
        .on_conflict_do_nothing()
    )


async def _due(session: AsyncSession, *, now: datetime, batch: int) -> list[InquiryDelivery]:
    """Up to `batch` positions that are due and behind, locked (SKIP LOCKED), oldest pending first."""
    first_pending = (
        select(func.min(InquiryEvent.seq))
        .where(
            InquiryEvent.inquiry_id == InquiryDelivery.inquiry_id,
            InquiryEvent.seq > InquiryDelivery.delivered_seq,
        )
        .scalar_subquery()
    )
    stmt = (
        select(InquiryDelivery)
        .where(
            or_(InquiryDelivery.next_attempt_at.is_(None), InquiryDelivery.next_attempt_at <= now),
            first_pending.is_not(None),
        )
        .order_by(first_pending)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    return list(await session.scalars(stmt))


async def _pending(session: AsyncSession, position: InquiryDelivery) -> list[PaknEvent]:
    focal, competent = aliased(Agency), aliased(Agency)
    rows = await session.execute(
        select(
            InquiryEvent,
            Inquiry,
            func.coalesce(focal.electronic_id, focal.code),
            func.coalesce(competent.electronic_id, competent.code),
            Field.code,
        )
        .join(Inquiry, Inquiry.id == InquiryEvent.inquiry_id)
        .join(focal, focal.id == Inquiry.focal_agency_id)
        .outerjoin(competent, competent.id == Inquiry.competent_agency_id)
        .outerjoin(Field, Field.id == Inquiry.field_id)
        .where(InquiryEvent.inquiry_id == position.inquiry_id, InquiryEvent.seq > position.delivered_seq)
        .order_by(InquiryEvent.seq)
        .execution_options(populate_existing=True)  # the inquiry as it is now, whatever the session held
    )
    return [
        PaknEvent(int(e.seq), e.action, e.to_status, e.at, i, fc, cc, fd) for e, i, fc, cc, fd in rows.all()
    ]


async def _post(
    client: httpx.AsyncClient, portal: PortalClient, event: PaknEvent, timestamp: str
) -> str | None:
    body = pakn_payload(event, portal.config.zone)
    signer = Target(
        id=uuid.UUID(int=0),
        name=CONSUMER_NAME,
        kind=ConsumerKind.NATIONAL_PORTAL,
        url=portal.config.url + PAKN_PATH,
        secret=portal.config.signing_secret,
        previous_secret=None,
    )
    headers = signed_headers(signer, f"pakn-{event.seq}", timestamp, body)
    try:
        response = await portal.call(client, PAKN_PATH, body, headers)
    except Exception as error:  # noqa: BLE001 — any failure is retried
        return failure(error)
    return None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"


async def _send(  # noqa: PLR0917 — one inquiry's round, always called the same way
    client: httpx.AsyncClient,
    portal: PortalClient,
    position: InquiryDelivery,
    events: list[PaknEvent],
    run: PaknRun,
    timestamp: str,
) -> str | None:
    """One inquiry's pending events in order, stopping at the first failure; its reason or None."""
    for event in events:
        if shared(event.inquiry.national_id, event.inquiry.kind, event.to_status):
            error = await _post(client, portal, event, timestamp)
            if error is not None:
                return error
            run.sent += 1
        else:
            run.skipped += 1
        position.delivered_seq = event.seq
        position.attempts = 0
    return None


async def deliver_pakn_once(
    session: AsyncSession, client: httpx.AsyncClient, portal: PortalClient, *, now: datetime, batch: int = 100
) -> PaknRun:
    """One round (module docstring). Never commits; the caller does."""
    run = PaknRun()
    await _ensure_rows(session)
    due = await _due(session, now=now, batch=batch)
    run.more = len(due) >= batch
    timestamp = str(int(now.timestamp()))
    streak = 0
    for position in due:
        if streak >= MAX_FAILING_INQUIRIES:
            run.more = False
            break
        before = position.delivered_seq
        error = await _send(client, portal, position, await _pending(session, position), run, timestamp)
        if error is None:
            position.next_attempt_at, position.last_error = None, None
            streak = 0
            continue
        run.failed += 1
        streak += 1
        position.attempts = 1 if position.delivered_seq != before else position.attempts + 1
        position.next_attempt_at = now + backoff(position.attempts)
        position.last_error = error
        log.info(
            "pakn: inquiry %s, event after %s not delivered: %s",
            position.inquiry_id,
            position.delivered_seq,
            error,
        )
    await session.flush()
    return run


async def replay_inquiry(session: AsyncSession, inquiry_id: uuid.UUID) -> None:
    """Send an inquiry's events again from the first (the national system ignores what it holds)."""
    await session.execute(
        update(InquiryDelivery)
        .where(InquiryDelivery.inquiry_id == inquiry_id)
        .values(delivered_seq=0, attempts=0, next_attempt_at=None, last_error=None)
    )


async def run_pakn_feed(
    session_factory: Callable[[], AsyncSession],
    client: httpx.AsyncClient,
    portal: PortalClient,
    clock: Clock,
    *,
    interval: float,
    stop: asyncio.Event,
) -> None:
    """Rounds until `stop` is set, each in its own committed session."""

    async def one_round() -> bool:
        async with session_factory() as session:
            run = await deliver_pakn_once(session, client, portal, now=clock.now())
            await session.commit()
        if run.sent or run.failed:
            log.info("pakn: %s events delivered, %s inquiries to retry", run.sent, run.failed)
        return run.more

    await run_rounds(one_round, interval=interval, stop=stop, log=log, name="pakn")
