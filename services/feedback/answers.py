"""Trả lời và công khai: the competent agency's answer, and the focal point's review — published
with the texts redacted of the submitter's personal data (optionally edited first), or sent back
as unsuitable, with the reason (the competent agency's deadline stands).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from models.catalog import Agency
from models.feedback import Inquiry, InquiryStatus
from services.errors import Issues
from services.feedback.access import is_answerer, is_focal
from services.feedback.lifecycle import KIND_LABELS, ActRule, moved, record, require_length, take, tell
from services.redaction import redact
from services.text import fold

ANSWER = ActRule(is_answerer, "Chỉ cơ quan có thẩm quyền được trả lời.", "trả lời", InquiryStatus.FORWARDED)
REVIEW = ActRule(
    is_focal,
    "Chỉ đầu mối tiếp nhận của cơ quan được duyệt công khai trả lời.",
    "duyệt trả lời",
    InquiryStatus.ANSWERED,
)


async def answer(
    session: AsyncSession, actor: Actor, ident: uuid.UUID, *, text: str, version: int | None, now: datetime
) -> Inquiry:
    """Trả lời (staff of the competent agency)."""
    row = await take(session, actor, ident, version, ANSWER)
    text = require_length(text, "text", "LENGTH", "Nội dung trả lời từ 10 đến 20.000 ký tự.", (10, 20_000))
    before = moved(row, InquiryStatus.ANSWERED)
    row.answer = text
    row.answered_at = now
    row.answered_by_id = actor.id
    record(session, row, "ANSWER", before, actor, None, now)
    await session.flush()
    return row


async def review(
    session: AsyncSession,
    actor: Actor,
    ident: uuid.UUID,
    *,
    publish: bool,
    reason: str | None,
    public_title: str | None,
    public_question: str | None,
    public_answer: str | None,
    version: int | None,
    now: datetime,
) -> Inquiry:
    """Publish the answer (redacted) or send it back as unsuitable (the focal point)."""
    row = await take(session, actor, ident, version, REVIEW)
    if not publish:
        await _send_back(session, actor, row, reason, now)
    else:
        await _publish(session, actor, row, (public_title, public_question, public_answer), reason, now)
    await session.flush()
    return row


async def _send_back(
    session: AsyncSession, actor: Actor, row: Inquiry, reason: str | None, now: datetime
) -> None:
    """The answer is unsuitable: back to the competent agency, with the reason."""
    issues = Issues()
    if not reason or len(reason.strip()) < 5:
        issues.add(("reason",), "REQUIRED", "Nêu lý do trả lời chưa phù hợp.")
    issues.raise_if_any()
    assert reason is not None
    before = moved(row, InquiryStatus.FORWARDED)
    row.returned_count += 1
    record(session, row, "RETURN_ANSWER", before, actor, reason.strip(), now)


async def _publish(  # noqa: PLR0917 — the review's parts, in the order review holds them
    session: AsyncSession,
    actor: Actor,
    row: Inquiry,
    edited: tuple[str | None, str | None, str | None],
    reason: str | None,
    now: datetime,
) -> None:
    """Công khai: the title, question and answer (as edited, else as they are), redacted of the
    submitter's name and contacts; the submitter is told."""
    public_title, public_question, public_answer = edited
    issues = Issues()
    for path, value, limit in (
        ("publicTitle", public_title, 300),
        ("publicQuestion", public_question, 10_000),
        ("publicAnswer", public_answer, 20_000),
    ):
        if value is not None and not value.strip():
            issues.add((path,), "REQUIRED", "Không để trống nội dung công khai.")
        elif value is not None and len(value) > limit:
            issues.add((path,), "TOO_LONG", f"Tối đa {limit} ký tự.")
    issues.raise_if_any()
    assert row.answer is not None
    known = [row.submitter_name, row.submitter_email, row.submitter_phone, row.submitter_address]
    spared = await published_contacts(session)
    row.public_title = redact(public_title or row.title, known, spared)
    row.public_question = redact(public_question or row.content, known, spared)
    row.public_answer = redact(public_answer or row.answer, known, spared)
    row.search_text = fold(f"{row.public_title} {row.public_question} {row.public_answer}")
    row.published_at = row.closed_at = now
    before = moved(row, InquiryStatus.PUBLISHED)
    record(session, row, "PUBLISH", before, actor, reason, now)
    what = KIND_LABELS[row.kind]
    await tell(
        session,
        row,
        f"{what.capitalize()} {row.code} đã được trả lời",
        f"{what.capitalize()} “{row.title}” (mã {row.code}) đã được trả lời: {row.answer}",
        now,
    )


async def published_contacts(session: AsyncSession) -> list[str]:
    """What agencies publish about themselves (hotline, official e-mail, address, fee account):
    no personal data, so redaction keeps it in published answers."""
    rows = await session.execute(
        select(Agency.support_phone, Agency.email, Agency.address, Agency.fee_account_number)
    )
    return [value for row in rows for value in row if value]
