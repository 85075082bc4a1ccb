"""Messages from the national feedback system (Hệ thống PAKN trên Cổng DVCQG) for this province:
`POST /national-portal/feedback`, signed like the portal's dossiers (`inbound.signature_valid`:
`X-DVC-Timestamp`, `X-DVC-Signature` keyed with NATIONAL_PORTAL_SIGNING_SECRET, fresh).

Every message has an id (`MaThongDiep`) and the national feedback id (`MaPAKNQG`); `Loai` says
what it is:

- `TIEP_NHAN` — feedback received there for us: `LoaiPAKN` (PHAN_ANH_KIEN_NGHI | HOI_DAP),
  `TieuDe`, `NoiDung`, optional `MaTTHC`, `MaCoQuan`, `DiaDiem`, and `NguoiGui` {`HoTen`,
  `SoDienThoai`, `Email`, `DiaChi`}. It becomes an inquiry of channel NATIONAL_PORTAL, routed and
  answered like any other (`submission.submit_from_national`); its status changes go back
  (`services.national_portal.pakn`).
- `CAP_NHAT` — a change there to one it handed us: `TrangThai` = `RUT` (the citizen withdrew
  it: closed as not to be handled, with `GhiChu` as the reason) or `DA_TRA_LOI` (answered there,
  e.g. by a ministry: `TraLoi` becomes the answer, which our focal point then reviews and
  publishes as any answer).

A message is applied once: its id is kept with the hash of its content (`national_feedback_
messages`); the same message again is answered as the first time, another one under the same id
is a conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor, ActorKind
from models.feedback import Inquiry, InquiryChannel, InquiryKind, InquiryStatus, NationalFeedbackMessage
from services.calendar import WorkingCalendar
from services.errors import DomainError, FieldIssue, InvalidTransition, Issues, NotFound, ValidationFailed
from services.feedback.classification import Deadlines
from services.feedback.lifecycle import moved, record
from services.feedback.submission import Submission, submit_from_national
from services.national_portal.feed import CONSUMER_NAME
from services.national_portal.inbound import PORTAL_ID

NATIONAL_PAKN = Actor(ActorKind.SYSTEM, name="Hệ thống phản ánh, kiến nghị quốc gia", client_id=CONSUMER_NAME)
KINDS = {"PHAN_ANH_KIEN_NGHI": InquiryKind.FEEDBACK, "HOI_DAP": InquiryKind.QUESTION}
WITHDRAWN = "Người gửi đã rút phản ánh, kiến nghị trên Cổng Dịch vụ công quốc gia."
OPEN = (InquiryStatus.RECEIVED, InquiryStatus.FORWARDED, InquiryStatus.ANSWERED)


class DuplicateMessage(DomainError):
    code = "DUPLICATE_MESSAGE"

    def __init__(self) -> None:
        super().__init__("Mã thông điệp đã được dùng cho một nội dung khác.")


@dataclass(frozen=True)
class Applied:
    inquiry: Inquiry
    created: bool  # a new inquiry (TIEP_NHAN applied now)
    replayed: bool  # a retry of a message already applied


def _text(
    document: dict[str, Any], key: str, issues: Issues, limit: int, *, required: bool = True
) -> str | None:
    value = document.get(key)
    if value is None or value == "":
        if required:
            issues.add((key,), "REQUIRED", "Trường bắt buộc.")
        return None
    if not isinstance(value, str) or len(value) > limit:
        issues.add((key,), "BAD_FORMAT", f"Chuỗi ký tự, tối đa {limit} ký tự.")
        return None
    return value.strip()


def _ids(document: Any) -> tuple[str, str, str]:
    """MaThongDiep, MaPAKNQG and Loai, each checked."""
    if not isinstance(document, dict):
        raise ValidationFailed([FieldIssue((), "BAD_FORMAT", "Nội dung phải là một đối tượng JSON.")])
    issues = Issues()
    ids = [_text(document, key, issues, 64) for key in ("MaThongDiep", "MaPAKNQG")]
    for key, value in zip(("MaThongDiep", "MaPAKNQG"), ids, strict=True):
        if value is not None and not PORTAL_ID.match(value):
            issues.add((key,), "BAD_FORMAT", "Mã gồm chữ, số, “.”, “_”, “-” (4–64 ký tự).")
    kind = document.get("Loai")
    if kind not in ("TIEP_NHAN", "CAP_NHAT"):
        issues.add(("Loai",), "BAD_FORMAT", "Loại thông điệp là TIEP_NHAN hoặc CAP_NHAT.")
    issues.raise_if_any()
    assert ids[0] is not None
    assert ids[1] is not None
    return ids[0], ids[1], str(kind)


def _submission(document: dict[str, Any]) -> Submission:
    issues = Issues()
    kind = KINDS.get(str(document.get("LoaiPAKN", "PHAN_ANH_KIEN_NGHI")))
    if kind is None:
        issues.add(("LoaiPAKN",), "BAD_FORMAT", "Loại là PHAN_ANH_KIEN_NGHI hoặc HOI_DAP.")
    sender = document.get("NguoiGui")
    if not isinstance(sender, dict):
        issues.add(("NguoiGui",), "REQUIRED", "Thiếu thông tin người gửi.")
        sender = {}
    sub = Submission(
        kind=kind or InquiryKind.FEEDBACK,
        title=_text(document, "TieuDe", issues, 300) or "",
        content=_text(document, "NoiDung", issues, 10_000) or "",
        procedure_code=_text(document, "MaTTHC", issues, 40, required=False),
        agency_code=_text(document, "MaCoQuan", issues, 40, required=False),
        location=_text(document, "DiaDiem", issues, 500, required=False),
        channel=InquiryChannel.NATIONAL_PORTAL,
        name=_text(sender, "HoTen", issues, 200),
        email=_text(sender, "Email", issues, 254, required=False),
        phone=_text(sender, "SoDienThoai", issues, 20, required=False),
        address=_text(sender, "DiaChi", issues, 500, required=False),
    )
    issues.raise_if_any()
    return sub


async def _claim(session: AsyncSession, message_id: str, digest: str, now: datetime) -> Applied | None:
    """None: the message is ours to apply now. Else the answer the first one had."""
    claimed = await session.scalar(
        insert(NationalFeedbackMessage)
        .values(message_id=message_id, request_hash=digest, inquiry_id=None, received_at=now)
        .on_conflict_do_nothing()
        .returning(NationalFeedbackMessage.message_id)
    )
    if claimed is not None:
        return None
    earlier = await session.get_one(NationalFeedbackMessage, message_id, populate_existing=True)
    if earlier.request_hash != digest or earlier.inquiry_id is None:
        raise DuplicateMessage
    return Applied(await session.get_one(Inquiry, earlier.inquiry_id), created=False, replayed=True)


async def apply(
    session: AsyncSession,
    document: Any,
    digest: str,
    *,
    now: datetime,
    calendar: WorkingCalendar,
    rules: Deadlines,
) -> Applied:
    """Apply one message once (module docstring). Never commits; the caller does, or rolls back."""
    message_id, national_id, kind = _ids(document)
    earlier = await _claim(session, message_id, digest, now)
    if earlier is not None:
        return earlier
    if kind == "TIEP_NHAN":
        sub = _submission(document)
        if await session.scalar(select(Inquiry.id).where(Inquiry.national_id == national_id)):
            raise ValidationFailed(
                [FieldIssue(("MaPAKNQG",), "DUPLICATE", "Phản ánh này đã được tiếp nhận.")]
            )
        row = await submit_from_national(
            session, NATIONAL_PAKN, sub, national_id, now=now, calendar=calendar, rules=rules
        )
        created = True
    else:
        row = await _update(session, document, national_id, now)
        created = False
    message = await session.get_one(NationalFeedbackMessage, message_id)
    message.inquiry_id = row.id
    await session.flush()
    return Applied(row, created=created, replayed=False)


async def _update(
    session: AsyncSession, document: dict[str, Any], national_id: str, now: datetime
) -> Inquiry:
    """CAP_NHAT: a withdrawal or an answer given on the national system."""
    row = await session.scalar(select(Inquiry).where(Inquiry.national_id == national_id).with_for_update())
    if row is None:
        raise NotFound("phản ánh, kiến nghị", national_id)
    issues = Issues()
    status = document.get("TrangThai")
    if status not in ("RUT", "DA_TRA_LOI"):
        issues.add(("TrangThai",), "BAD_FORMAT", "Trạng thái là RUT hoặc DA_TRA_LOI.")
    note = _text(document, "GhiChu", issues, 2000, required=False)
    text = _text(document, "TraLoi", issues, 20_000, required=status == "DA_TRA_LOI")
    issues.raise_if_any()
    if status == "RUT":
        if row.status not in OPEN:
            raise InvalidTransition(row.status.value, "rút phản ánh", "Phản ánh đã kết thúc, không thể rút.")
        before = moved(row, InquiryStatus.DECLINED)
        row.decline_reason = note or WITHDRAWN
        row.closed_at = now
        record(session, row, "NATIONAL_WITHDRAW", before, NATIONAL_PAKN, row.decline_reason, now)
    else:
        if row.status not in (InquiryStatus.RECEIVED, InquiryStatus.FORWARDED):
            raise InvalidTransition(row.status.value, "trả lời", "Phản ánh đã có trả lời hoặc đã kết thúc.")
        before = moved(row, InquiryStatus.ANSWERED)
        row.answer = text
        row.answered_at = now
        row.answered_by_id = None
        record(session, row, "NATIONAL_ANSWER", before, NATIONAL_PAKN, note, now)
    await session.flush()
    return row


def inquiry_ref(row: Inquiry) -> dict[str, str]:
    """What the answer to the national system names: our id, code and status."""
    return {
        "IdPAKN": str(row.id),
        "MaPAKN": row.code,
        "MaPAKNQG": row.national_id or "",
        "TrangThai": row.status.value,
    }
