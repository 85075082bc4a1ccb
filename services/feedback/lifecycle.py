"""What every act on a feedback or question shares: the statuses' labels, taking the row for an
act (locked, the caller's version, who may, which status), moving it, its `InquiryEvent`, and
telling the submitter (by the account's channels, or the contact given for a letter, call or app).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from models.accounts import Account
from models.feedback import Inquiry, InquiryEvent, InquiryKind, InquiryStatus
from services import visibility
from services.accounts.journal import notification
from services.accounts.owners import tell_owner
from services.errors import Conflict, FieldIssue, Forbidden, InvalidTransition, NotFound, ValidationFailed

KIND_LABELS = {InquiryKind.FEEDBACK: "phản ánh, kiến nghị", InquiryKind.QUESTION: "câu hỏi"}
STATUS_LABELS = {
    InquiryStatus.RECEIVED: "Đã tiếp nhận, đang phân loại",
    InquiryStatus.FORWARDED: "Đã chuyển cơ quan có thẩm quyền trả lời",
    InquiryStatus.ANSWERED: "Đã có trả lời, đang xem xét công khai",
    InquiryStatus.PUBLISHED: "Đã trả lời và công khai",
    InquiryStatus.DECLINED: "Không thuộc phạm vi xử lý",
}
SYSTEM = "Hệ thống giải quyết TTHC"


@dataclass(frozen=True)
class ActRule:
    """Who may do an act (else Forbidden, with `refusal`) and the status it needs (`action` names
    the act in the InvalidTransition)."""

    may: Callable[[Actor, Inquiry], bool]
    refusal: str
    action: str
    allowed: InquiryStatus


async def take(
    session: AsyncSession, actor: Actor, ident: uuid.UUID, version: int | None, rule: ActRule
) -> Inquiry:
    """The row for an act: locked, at the version the caller saw, the actor one the rule allows,
    in the status the act needs."""
    row = await session.scalar(
        select(Inquiry).where(Inquiry.id == ident, visibility.inquiries(actor)).with_for_update()
    )
    if row is None:
        raise NotFound("phản ánh, câu hỏi", str(ident))
    if version is not None and version != row.version:
        raise Conflict()
    if not rule.may(actor, row):
        raise Forbidden(rule.refusal)
    if row.status is not rule.allowed:
        raise InvalidTransition(
            row.status.value, rule.action, f"Không thể {rule.action} khi {STATUS_LABELS[row.status].lower()}."
        )
    return row


def require_length(text: str, field_name: str, code: str, message: str, bounds: tuple[int, int]) -> str:
    """The text, stripped, within `bounds` characters (else a field error)."""
    text = text.strip()
    if not bounds[0] <= len(text) <= bounds[1]:
        raise ValidationFailed([FieldIssue((field_name,), code, message)])
    return text


def moved(row: Inquiry, status: InquiryStatus) -> InquiryStatus:
    """The new status (and version); returns the status it had."""
    before = row.status
    row.status = status
    row.version += 1
    return before


def record(  # noqa: PLR0917 — one line per act, always called the same way
    session: AsyncSession,
    row: Inquiry,
    action: str,
    before: InquiryStatus | None,
    actor: Actor,
    note: str | None,
    now: datetime,
) -> None:
    session.add(
        InquiryEvent(
            inquiry_id=row.id,
            action=action,
            from_status=before.value if before else None,
            to_status=row.status.value,
            actor=actor.label,
            note=note,
            at=now,
        )
    )


async def tell(session: AsyncSession, row: Inquiry, subject: str, body: str, now: datetime) -> None:
    """To the account's chosen channels, or to the contacts given for a letter, call or app."""
    body = f"{body} — {SYSTEM}"
    template = f"inquiry_{row.status.value.lower()}"
    if row.submitter_account_id is not None:
        account = await session.get(Account, row.submitter_account_id)
        if account is not None:
            tell_owner(session, account, template, subject, body, now=now)
        return
    for channel, destination in (("EMAIL", row.submitter_email), ("SMS", row.submitter_phone)):
        if destination:
            session.add(
                notification(
                    account_id=None,
                    channel=channel,
                    destination=destination,
                    template=template,
                    subject=subject,
                    body=body,
                    now=now,
                )
            )
            return
