"""Tiếp nhận phản ánh, kiến nghị, câu hỏi: who may submit and how (an account online, an
application with the `feedback:submit` scope, a staff member entering a letter, call or e-mail),
what it may be about (a procedure, an agency, one of the submitter's dossiers, a field), which
agency is its focal point, and the acknowledgement with its tracking code.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor, ActorKind
from auth.roles import StaffRole
from models.accounts import Account
from models.catalog import Agency, Field, Procedure, ProcedureVersion
from models.dossiers import Dossier
from models.feedback import Inquiry, InquiryChannel, InquiryKind, InquiryStatus
from services.calendar import WorkingCalendar
from services.errors import Forbidden, Issues, Refused
from services.feedback import routing
from services.feedback.classification import Deadlines, classify_due
from services.feedback.lifecycle import KIND_LABELS, record, tell

ENTRY_ROLES = (StaffRole.FEEDBACK_FOCAL_POINT, StaffRole.RECEPTION_OFFICER)
STAFF_CHANNELS = (InquiryChannel.LETTER, InquiryChannel.PHONE, InquiryChannel.EMAIL)
SUBMIT_SCOPE = "feedback:submit"
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
PREFIX = {InquiryKind.FEEDBACK: "PA", InquiryKind.QUESTION: "HD"}


@dataclass(frozen=True)
class Submission:
    kind: InquiryKind
    title: str
    content: str
    procedure_code: str | None = None
    agency_code: str | None = None
    dossier_id: uuid.UUID | None = None
    # Only for staff entry and Open311: the person's name and contacts.
    channel: InquiryChannel = InquiryChannel.ONLINE
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    location: str | None = None  # where it happened (published with the answer), not who asks
    field_code: str | None = None


@dataclass(frozen=True)
class _Submitter:
    """Who hands it in: an account (online), or the agency where a staff member enters it."""

    account: Account | None = None
    entry_agency: Agency | None = None


@dataclass(frozen=True)
class _Subject:
    """What it is about (each found, else a field problem)."""

    procedure: Procedure | None = None
    agency: Agency | None = None
    dossier: Dossier | None = None
    field: Field | None = None


def new_code(kind: InquiryKind) -> str:
    return PREFIX[kind] + "-" + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))


async def submit(
    session: AsyncSession,
    actor: Actor,
    sub: Submission,
    *,
    entry_agency_code: str | None = None,
    now: datetime,
    calendar: WorkingCalendar,
    rules: Deadlines,
) -> Inquiry:
    """Receive a feedback or question (see the package docstring for who and how)."""
    issues = Issues()
    _check_text(issues, sub)
    submitter = await _submitter(session, actor, sub, entry_agency_code, issues)
    subject = await _subject(session, sub, submitter, issues)
    issues.raise_if_any()
    focal = await _focal_agency(session, submitter, subject, rules, now.astimezone(calendar.zone).date())
    row = _new_inquiry(actor, sub, submitter, subject, focal, received_at=now, calendar=calendar)
    session.add(row)
    await session.flush()
    record(session, row, "SUBMIT", None, actor, None, now)
    await _acknowledge(session, row, now, calendar)
    return row


async def submit_from_national(
    session: AsyncSession,
    actor: Actor,
    sub: Submission,
    national_id: str,
    *,
    now: datetime,
    calendar: WorkingCalendar,
    rules: Deadlines,
) -> Inquiry:
    """Feedback the national feedback system received for this province (Kon Tum regulation art.
    21): checked and routed like any other (no dossier of ours can be named), channel
    NATIONAL_PORTAL, with the national id (MaPAKNQG) it is reported back under."""
    issues = Issues()
    _check_text(issues, sub)
    _check_contact(issues, sub)
    subject = await _subject(session, sub, _Submitter(), issues)
    issues.raise_if_any()
    focal = await _focal_agency(session, _Submitter(), subject, rules, now.astimezone(calendar.zone).date())
    row = _new_inquiry(actor, sub, _Submitter(), subject, focal, received_at=now, calendar=calendar)
    row.national_id = national_id
    session.add(row)
    await session.flush()
    record(session, row, "SUBMIT", None, actor, "Tiếp nhận từ Hệ thống phản ánh, kiến nghị quốc gia", now)
    await _acknowledge(session, row, now, calendar)
    return row


def _check_text(issues: Issues, sub: Submission) -> None:
    title, content = sub.title.strip(), sub.content.strip()
    if not title:
        issues.add(("title",), "REQUIRED", "Nhập tiêu đề.")
    elif len(title) > 300:
        issues.add(("title",), "TOO_LONG", "Tiêu đề tối đa 300 ký tự.")
    if len(content) < 10:
        issues.add(("content",), "TOO_SHORT", "Nội dung tối thiểu 10 ký tự.")
    elif len(content) > 10_000:
        issues.add(("content",), "TOO_LONG", "Nội dung tối đa 10.000 ký tự.")
    if sub.location and len(sub.location.strip()) > 500:
        issues.add(("locationAddress",), "TOO_LONG", "Địa điểm tối đa 500 ký tự.")
    if sub.latitude is not None and not -90 <= sub.latitude <= 90:
        issues.add(("latitude",), "OUT_OF_RANGE", "Vĩ độ từ -90 đến 90.")
    if sub.longitude is not None and not -180 <= sub.longitude <= 180:
        issues.add(("longitude",), "OUT_OF_RANGE", "Kinh độ từ -180 đến 180.")


def _check_contact(issues: Issues, sub: Submission) -> None:
    name = (sub.name or "").strip()
    if not name:
        issues.add(("name",), "REQUIRED", "Nhập họ tên người phản ánh, hỏi.")
    elif len(name) > 200:
        issues.add(("name",), "TOO_LONG", "Họ tên tối đa 200 ký tự.")
    if sub.email and ("@" not in sub.email or len(sub.email) > 254 or " " in sub.email.strip()):
        issues.add(("email",), "BAD_FORMAT", "Địa chỉ thư điện tử không hợp lệ.")
    phone = "".join(ch for ch in (sub.phone or "") if ch not in " .-")
    if sub.phone and not (phone.lstrip("+").isdigit() and 9 <= len(phone.lstrip("+")) <= 15):
        issues.add(("phone",), "BAD_FORMAT", "Số điện thoại không hợp lệ.")
    if sub.address and len(sub.address) > 500:
        issues.add(("address",), "TOO_LONG", "Địa chỉ tối đa 500 ký tự.")


async def _submitter(
    session: AsyncSession, actor: Actor, sub: Submission, entry_agency_code: str | None, issues: Issues
) -> _Submitter:
    """The rule for each kind of submitter (anyone else is refused)."""
    if actor.kind in (ActorKind.CITIZEN, ActorKind.ORGANISATION) and actor.id is not None:
        if sub.channel is not InquiryChannel.ONLINE:
            issues.add(("channel",), "NOT_ALLOWED", "Chỉ cán bộ mới nhập phản ánh nhận qua thư, điện thoại.")
        account = await session.get(Account, actor.id)
        if account is None:
            raise Forbidden()
        return _Submitter(account=account)
    if actor.kind is ActorKind.APP:
        if not actor.has_scope(SUBMIT_SCOPE):
            raise Forbidden("Ứng dụng chưa được cấp phạm vi feedback:submit.")
        _check_contact(issues, sub)
        if not (sub.email or sub.phone):
            issues.add(("email",), "REQUIRED", "Cần thư điện tử hoặc số điện thoại để nhận trả lời.")
        return _Submitter()
    if actor.kind is ActorKind.STAFF:
        if sub.channel not in STAFF_CHANNELS:
            issues.add(("channel",), "REQUIRED", "Chọn kênh tiếp nhận: thư, điện thoại hoặc thư điện tử.")
        _check_contact(issues, sub)
        entry_agency = await session.scalar(select(Agency).where(Agency.code == (entry_agency_code or "")))
        if entry_agency is None or not any(actor.has_role(r, entry_agency.id) for r in ENTRY_ROLES):
            issues.add(("receivingAgencyCode",), "NOT_YOURS", "Bạn không tiếp nhận phản ánh tại cơ quan này.")
        return _Submitter(entry_agency=entry_agency)
    raise Forbidden("Vui lòng đăng nhập để gửi phản ánh, câu hỏi.")


async def _subject(session: AsyncSession, sub: Submission, submitter: _Submitter, issues: Issues) -> _Subject:
    dossier = procedure = agency = field = None
    if sub.dossier_id is not None:
        dossier = await session.get(Dossier, sub.dossier_id)
        # Only one's own dossier (staff: one received where they work); otherwise it does not exist.
        account, entry_agency = submitter.account, submitter.entry_agency
        mine = dossier is not None and (
            (account is not None and dossier.applicant_account_id == account.id)
            or (entry_agency is not None and dossier.receiving_agency_id == entry_agency.id)
        )
        if not mine:
            issues.add(("dossierId",), "NOT_FOUND", "Không tìm thấy hồ sơ.")
            dossier = None
    if sub.procedure_code:
        procedure = await session.scalar(select(Procedure).where(Procedure.code == sub.procedure_code))
        if procedure is None:
            issues.add(("procedureCode",), "NOT_FOUND", "Không tìm thấy thủ tục.")
    if sub.agency_code:
        agency = await session.scalar(select(Agency).where(Agency.code == sub.agency_code))
        if agency is None:
            issues.add(("agencyCode",), "NOT_FOUND", "Không tìm thấy cơ quan.")
    if sub.field_code:
        field = await session.scalar(select(Field).where(Field.code == sub.field_code))
        if field is None:
            issues.add(("fieldCode",), "NOT_FOUND", "Không tìm thấy lĩnh vực.")
    return _Subject(procedure=procedure, agency=agency, dossier=dossier, field=field)


async def _focal_agency(
    session: AsyncSession, submitter: _Submitter, subject: _Subject, rules: Deadlines, today: date
) -> Agency:
    """The entry agency; else that of the subject (the dossier's receiving agency, the named agency,
    the procedure's competent agency); else the unit `routing.default_focal` finds from the
    configured agency or the top of the tree — one able to act on it."""
    focal = submitter.entry_agency
    if focal is None and subject.dossier is not None:
        focal = await session.get(Agency, subject.dossier.receiving_agency_id)
    if focal is None and subject.agency is not None:
        focal = subject.agency
    procedure = subject.procedure
    if focal is None and procedure is not None and procedure.published_version_id is not None:
        version = await session.get(ProcedureVersion, procedure.published_version_id)
        if version is not None and version.competent_agency_id is not None:
            focal = await session.get(Agency, version.competent_agency_id)
    if focal is None:
        focal = await routing.default_focal(session, rules.focal_agency_code, today=today)
    if focal is None:
        raise Refused("NO_FOCAL_POINT", "Chưa có cơ quan đầu mối tiếp nhận phản ánh, câu hỏi.")
    return focal


def _new_inquiry(
    actor: Actor,
    sub: Submission,
    submitter: _Submitter,
    subject: _Subject,
    focal: Agency,
    *,
    received_at: datetime,
    calendar: WorkingCalendar,
) -> Inquiry:
    """RECEIVED, with its tracking code, the submitter as given (or their account's details) and
    the classification deadline."""
    account = submitter.account
    return Inquiry(
        id=uuid.uuid4(),
        code=new_code(sub.kind),
        kind=sub.kind,
        channel=InquiryChannel.OPEN311 if actor.kind is ActorKind.APP else sub.channel,
        status=InquiryStatus.RECEIVED,
        title=sub.title.strip(),
        content=sub.content.strip(),
        submitter_account_id=account.id if account else None,
        submitter_name=(account.display_name if account else (sub.name or "").strip()),
        submitter_email=(account.email if account else (sub.email or "").strip() or None),
        submitter_phone=(account.phone if account else (sub.phone or "").strip() or None),
        submitter_address=(sub.address or "").strip() or None,
        location_address=(sub.location or "").strip() or None,
        entered_by_id=actor.id if actor.kind is ActorKind.STAFF else None,
        app_client_id=actor.client_id if actor.kind is ActorKind.APP else None,
        procedure_id=subject.procedure.id if subject.procedure else None,
        agency_id=subject.agency.id if subject.agency else None,
        dossier_id=subject.dossier.id if subject.dossier else None,
        latitude=sub.latitude,
        longitude=sub.longitude,
        focal_agency_id=focal.id,
        field_id=subject.field.id if subject.field else None,
        received_at=received_at,
        classify_due_at=classify_due(received_at, calendar),
        returned_count=0,
        search_text="",
        version=1,
    )


async def _acknowledge(session: AsyncSession, row: Inquiry, now: datetime, calendar: WorkingCalendar) -> None:
    """The submitter is told it was received, its tracking code and the classification deadline."""
    what = KIND_LABELS[row.kind]
    await tell(
        session,
        row,
        f"Đã tiếp nhận {what} {row.code}",
        f"{what.capitalize()} “{row.title}” của bạn đã được tiếp nhận, mã theo dõi {row.code}. "
        f"Cơ quan đầu mối sẽ phân loại, chuyển xử lý chậm nhất ngày "
        f"{row.classify_due_at.astimezone(calendar.zone):%d/%m/%Y}.",
        now,
    )
