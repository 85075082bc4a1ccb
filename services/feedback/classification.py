"""Phân loại: the focal point's acts on a received feedback or question, and their deadlines —
classified within 3 working days of receipt (Quảng Ngãi art. 19.2), then either forwarded to the
competent agency (its answer due `Deadlines.answer_days` working days later) or declined as not
feedback or a question, with the reason told to the submitter.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from models.catalog import Agency, Field
from models.feedback import Inquiry, InquiryStatus
from services.calendar import WorkingCalendar
from services.errors import Issues
from services.feedback.access import is_focal
from services.feedback.lifecycle import KIND_LABELS, ActRule, moved, record, require_length, take, tell

CLASSIFY_DAYS = Decimal(3)  # Quảng Ngãi art. 19.2: "chậm nhất 03 (ba) ngày kể từ khi tiếp nhận"


@dataclass(frozen=True)
class Deadlines:
    answer_days: int
    focal_agency_code: str | None


def classify_due(received_at: datetime, calendar: WorkingCalendar) -> datetime:
    """When the focal point must have classified what was received at `received_at`."""
    return calendar.add_working_days(calendar.counts_from(received_at), CLASSIFY_DAYS)


FORWARD = ActRule(
    is_focal,
    "Chỉ đầu mối tiếp nhận của cơ quan được phân loại, chuyển xử lý.",
    "chuyển xử lý",
    InquiryStatus.RECEIVED,
)
DECLINE = ActRule(
    is_focal, "Chỉ đầu mối tiếp nhận của cơ quan được từ chối xử lý.", "từ chối xử lý", InquiryStatus.RECEIVED
)


async def forward(
    session: AsyncSession,
    actor: Actor,
    ident: uuid.UUID,
    *,
    competent_agency_code: str,
    field_code: str | None,
    note: str | None,
    version: int | None,
    now: datetime,
    calendar: WorkingCalendar,
    rules: Deadlines,
) -> Inquiry:
    """Phân loại, chuyển cơ quan có thẩm quyền (the focal point, within 3 working days)."""
    row = await take(session, actor, ident, version, FORWARD)
    issues = Issues()
    competent = await session.scalar(select(Agency).where(Agency.code == competent_agency_code))
    if competent is None:
        issues.add(("competentAgencyCode",), "NOT_FOUND", "Không tìm thấy cơ quan có thẩm quyền.")
    field = None
    if field_code:
        field = await session.scalar(select(Field).where(Field.code == field_code))
        if field is None:
            issues.add(("fieldCode",), "NOT_FOUND", "Không tìm thấy lĩnh vực.")
    if note and len(note) > 2000:
        issues.add(("note",), "TOO_LONG", "Ghi chú tối đa 2000 ký tự.")
    issues.raise_if_any()
    assert competent is not None
    before = moved(row, InquiryStatus.FORWARDED)
    row.competent_agency_id = competent.id
    if field is not None:
        row.field_id = field.id
    row.forwarded_at = now
    row.forwarded_on_time = now <= row.classify_due_at
    row.answer_due_at = calendar.add_working_days(calendar.counts_from(now), Decimal(rules.answer_days))
    record(session, row, "FORWARD", before, actor, note, now)
    await session.flush()
    return row


async def decline(
    session: AsyncSession, actor: Actor, ident: uuid.UUID, *, reason: str, version: int | None, now: datetime
) -> Inquiry:
    """Không xử lý: not a feedback or question under these rules; the submitter is told why."""
    row = await take(session, actor, ident, version, DECLINE)
    reason = require_length(reason, "reason", "REQUIRED", "Nêu lý do (5–2000 ký tự).", (5, 2000))
    before = moved(row, InquiryStatus.DECLINED)
    row.decline_reason = reason
    row.closed_at = now
    record(session, row, "DECLINE", before, actor, reason, now)
    what = KIND_LABELS[row.kind]
    await tell(
        session,
        row,
        f"{what.capitalize()} {row.code} không thuộc phạm vi xử lý",
        f"{what.capitalize()} “{row.title}” (mã {row.code}) không được xử lý theo quy trình phản ánh, "
        f"kiến nghị, hỏi đáp. Lý do: {reason}.",
        now,
    )
    await session.flush()
    return row
