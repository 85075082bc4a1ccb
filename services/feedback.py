"""Feedback and recommendations (phản ánh, kiến nghị) and questions (hỏi – đáp), from submission
to published answer (Quảng Ngãi art. 19–20; Kon Tum ch. IV; Decree 20/2008).

The path, one rule per act:

- **submit** — a citizen or organisation account (channel ONLINE), an application holding the
  `feedback:submit` scope (OPEN311, with the person's contact), or a staff member entering a
  letter, call or e-mail (LETTER / PHONE / EMAIL) at an agency where they are focal point or
  one-stop officer. It may be about a procedure, an agency or one of the submitter's dossiers.
  The **focal agency** is that of the subject (the dossier's receiving agency, the named agency,
  the procedure's competent agency), else `FEEDBACK_FOCAL_AGENCY`, else the province's one-stop
  unit. The focal point must classify it within **3 working days** (`classify_due_at`).
- **forward** — a focal point of the focal agency (a `FEEDBACK_FOCAL_POINT` role covering it)
  chooses the field and the competent agency; the answer is due `FEEDBACK_ANSWER_DAYS` working
  days later. `forwarded_on_time` records whether the 3-day rule was kept.
- **decline** — the focal point closes one that is not feedback or a question (a complaint or
  denunciation under other laws, a duplicate, abuse), with the reason told to the submitter.
- **answer** — staff of the competent agency (specialist, leader or focal point there).
- **review** — the focal point publishes the answer (texts redacted of personal data, optionally
  edited first) or sends it back as unsuitable, with the reason; it returns to the competent
  agency, whose deadline stands.

Each act appends an `InquiryEvent`; the submitter is told on receipt, on decline and when the
answer is published (by the account's channels, or the contact a staff member entered).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor, ActorKind
from auth.roles import StaffRole
from models.accounts import Account
from models.catalog import Agency, Field, Procedure, ProcedureVersion
from models.dossiers import Dossier
from models.feedback import Inquiry, InquiryChannel, InquiryEvent, InquiryKind, InquiryStatus
from services.accounts.journal import notification
from services.accounts.owners import tell_owner
from services.calendar import WorkingCalendar
from services.errors import Conflict, Forbidden, InvalidTransition, Issues, NotFound, Refused
from services.pagination import Page, check_first, decode, encode_key, encode_offset
from services.redaction import redact
from services.text import check_search, fold, prefix_tsquery

CLASSIFY_DAYS = Decimal(3)  # Quảng Ngãi art. 19.2: "chậm nhất 03 (ba) ngày kể từ khi tiếp nhận"
ANSWER_ROLES = (StaffRole.SPECIALIST, StaffRole.LEADER, StaffRole.FEEDBACK_FOCAL_POINT)
ENTRY_ROLES = (StaffRole.FEEDBACK_FOCAL_POINT, StaffRole.RECEPTION_OFFICER)
STAFF_CHANNELS = (InquiryChannel.LETTER, InquiryChannel.PHONE, InquiryChannel.EMAIL)
SUBMIT_SCOPE = "feedback:submit"
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
PREFIX = {InquiryKind.FEEDBACK: "PA", InquiryKind.QUESTION: "HD"}
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
    field_code: str | None = None


@dataclass(frozen=True)
class Deadlines:
    answer_days: int
    focal_agency_code: str | None


def new_code(kind: InquiryKind) -> str:
    return PREFIX[kind] + "-" + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))


# --- who may see what ------------------------------------------------------------------------------


def _focal_of(actor: Actor) -> ColumnElement[bool]:
    agencies = actor.agencies_with(StaffRole.FEEDBACK_FOCAL_POINT)
    if agencies is None:
        return Inquiry.focal_agency_id.is_not(None)
    return Inquiry.focal_agency_id.in_(agencies) if agencies else false()


def _answerer_of(actor: Actor) -> ColumnElement[bool]:
    everywhere = False
    agencies: set[uuid.UUID] = set()
    for role in ANSWER_ROLES:
        held = actor.agencies_with(role)
        if held is None:
            everywhere = True
        else:
            agencies |= held
    if everywhere:
        return Inquiry.competent_agency_id.is_not(None)
    return Inquiry.competent_agency_id.in_(agencies) if agencies else false()


def readable(actor: Actor) -> ColumnElement[bool]:
    """The submitter; focal points of the focal agency; staff of the competent agency; the officer
    who entered it; admins."""
    if actor.kind is ActorKind.SYSTEM or actor.is_system_admin:
        return Inquiry.id.is_not(None)
    conditions: list[ColumnElement[bool]] = []
    if actor.id is not None and actor.kind in (ActorKind.CITIZEN, ActorKind.ORGANISATION):
        conditions.append(Inquiry.submitter_account_id == actor.id)
    if actor.kind is ActorKind.STAFF:
        conditions += [_focal_of(actor), _answerer_of(actor)]
        if actor.id is not None:
            conditions.append(Inquiry.entered_by_id == actor.id)  # the officer who entered a letter
    return or_(*conditions) if conditions else false()


async def inquiry_for(session: AsyncSession, actor: Actor, ident: uuid.UUID) -> Inquiry | None:
    return await session.scalar(select(Inquiry).where(Inquiry.id == ident, readable(actor)))


# --- submission ------------------------------------------------------------------------------------


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


async def _default_focal(session: AsyncSession, code: str | None) -> Agency | None:
    if code:
        return await session.scalar(select(Agency).where(Agency.code == code))
    return await session.scalar(
        select(Agency)
        .where(Agency.parent_id.is_(None), Agency.is_one_stop_unit.is_(True))
        .order_by(Agency.code)
        .limit(1)
    ) or await session.scalar(select(Agency).where(Agency.parent_id.is_(None)).order_by(Agency.code).limit(1))


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
    """Receive a feedback or question (see the module docstring for who and how)."""
    issues = Issues()
    _check_text(issues, sub)
    account: Account | None = None
    entry_agency: Agency | None = None
    if actor.kind in (ActorKind.CITIZEN, ActorKind.ORGANISATION) and actor.id is not None:
        if sub.channel is not InquiryChannel.ONLINE:
            issues.add(("channel",), "NOT_ALLOWED", "Chỉ cán bộ mới nhập phản ánh nhận qua thư, điện thoại.")
        account = await session.get(Account, actor.id)
        if account is None:
            raise Forbidden()
    elif actor.kind is ActorKind.APP:
        if not actor.has_scope(SUBMIT_SCOPE):
            raise Forbidden("Ứng dụng chưa được cấp phạm vi feedback:submit.")
        _check_contact(issues, sub)
        if not (sub.email or sub.phone):
            issues.add(("email",), "REQUIRED", "Cần thư điện tử hoặc số điện thoại để nhận trả lời.")
    elif actor.kind is ActorKind.STAFF:
        if sub.channel not in STAFF_CHANNELS:
            issues.add(("channel",), "REQUIRED", "Chọn kênh tiếp nhận: thư, điện thoại hoặc thư điện tử.")
        _check_contact(issues, sub)
        entry_agency = await session.scalar(select(Agency).where(Agency.code == (entry_agency_code or "")))
        if entry_agency is None or not any(actor.has_role(r, entry_agency.id) for r in ENTRY_ROLES):
            issues.add(("receivingAgencyCode",), "NOT_YOURS", "Bạn không tiếp nhận phản ánh tại cơ quan này.")
    else:
        raise Forbidden("Vui lòng đăng nhập để gửi phản ánh, câu hỏi.")

    focal: Agency | None = entry_agency
    procedure = agency = dossier = field = None
    if sub.dossier_id is not None:
        dossier = await session.get(Dossier, sub.dossier_id)
        # Only one's own dossier (staff: one received where they work); otherwise it does not exist.
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
    issues.raise_if_any()

    if focal is None and dossier is not None:
        focal = await session.get(Agency, dossier.receiving_agency_id)
    if focal is None and agency is not None:
        focal = agency
    if focal is None and procedure is not None and procedure.published_version_id is not None:
        version = await session.get(ProcedureVersion, procedure.published_version_id)
        if version is not None and version.competent_agency_id is not None:
            focal = await session.get(Agency, version.competent_agency_id)
    if focal is None:
        focal = await _default_focal(session, rules.focal_agency_code)
    if focal is None:
        raise Refused("NO_FOCAL_POINT", "Chưa có cơ quan đầu mối tiếp nhận phản ánh, câu hỏi.")

    received_at = now
    row = Inquiry(
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
        entered_by_id=actor.id if actor.kind is ActorKind.STAFF else None,
        app_client_id=actor.client_id if actor.kind is ActorKind.APP else None,
        procedure_id=procedure.id if procedure else None,
        agency_id=agency.id if agency else None,
        dossier_id=dossier.id if dossier else None,
        latitude=sub.latitude,
        longitude=sub.longitude,
        focal_agency_id=focal.id,
        field_id=field.id if field else None,
        received_at=received_at,
        classify_due_at=calendar.add_working_days(calendar.counts_from(received_at), CLASSIFY_DAYS),
        returned_count=0,
        search_text="",
        version=1,
    )
    session.add(row)
    await session.flush()
    _event(session, row, "SUBMIT", None, actor, None, now)
    what = KIND_LABELS[row.kind]
    await _tell(
        session,
        row,
        f"Đã tiếp nhận {what} {row.code}",
        f"{what.capitalize()} “{row.title}” của bạn đã được tiếp nhận, mã theo dõi {row.code}. "
        f"Cơ quan đầu mối sẽ phân loại, chuyển xử lý chậm nhất ngày "
        f"{row.classify_due_at.astimezone(calendar.zone):%d/%m/%Y}.",
        now,
    )
    return row


# --- the acts after submission --------------------------------------------------------------------


async def _locked(session: AsyncSession, actor: Actor, ident: uuid.UUID, version: int | None) -> Inquiry:
    row = await session.scalar(select(Inquiry).where(Inquiry.id == ident, readable(actor)).with_for_update())
    if row is None:
        raise NotFound("phản ánh, câu hỏi", str(ident))
    if version is not None and version != row.version:
        raise Conflict()
    return row


def _need(row: Inquiry, action: str, *allowed: InquiryStatus) -> None:
    if row.status not in allowed:
        raise InvalidTransition(
            row.status.value, action, f"Không thể {action} khi {STATUS_LABELS[row.status].lower()}."
        )


def _is_focal(actor: Actor, row: Inquiry) -> bool:
    return actor.is_system_admin or actor.has_role(StaffRole.FEEDBACK_FOCAL_POINT, row.focal_agency_id)


def _is_answerer(actor: Actor, row: Inquiry) -> bool:
    return row.competent_agency_id is not None and (
        actor.is_system_admin or any(actor.has_role(r, row.competent_agency_id) for r in ANSWER_ROLES)
    )


def _event(  # noqa: PLR0917 — one line per act, always called the same way
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


def _moved(row: Inquiry, status: InquiryStatus) -> InquiryStatus:
    before = row.status
    row.status = status
    row.version += 1
    return before


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
    row = await _locked(session, actor, ident, version)
    if not _is_focal(actor, row):
        raise Forbidden("Chỉ đầu mối tiếp nhận của cơ quan được phân loại, chuyển xử lý.")
    _need(row, "chuyển xử lý", InquiryStatus.RECEIVED)
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
    before = _moved(row, InquiryStatus.FORWARDED)
    row.competent_agency_id = competent.id
    if field is not None:
        row.field_id = field.id
    row.forwarded_at = now
    row.forwarded_on_time = now <= row.classify_due_at
    row.answer_due_at = calendar.add_working_days(calendar.counts_from(now), Decimal(rules.answer_days))
    _event(session, row, "FORWARD", before, actor, note, now)
    await session.flush()
    return row


async def decline(
    session: AsyncSession, actor: Actor, ident: uuid.UUID, *, reason: str, version: int | None, now: datetime
) -> Inquiry:
    """Không xử lý: not a feedback or question under these rules; the submitter is told why."""
    row = await _locked(session, actor, ident, version)
    if not _is_focal(actor, row):
        raise Forbidden("Chỉ đầu mối tiếp nhận của cơ quan được từ chối xử lý.")
    _need(row, "từ chối xử lý", InquiryStatus.RECEIVED)
    reason = reason.strip()
    if not 5 <= len(reason) <= 2000:
        issues = Issues()
        issues.add(("reason",), "REQUIRED", "Nêu lý do (5–2000 ký tự).")
        issues.raise_if_any()
    before = _moved(row, InquiryStatus.DECLINED)
    row.decline_reason = reason
    row.closed_at = now
    _event(session, row, "DECLINE", before, actor, reason, now)
    what = KIND_LABELS[row.kind]
    await _tell(
        session,
        row,
        f"{what.capitalize()} {row.code} không thuộc phạm vi xử lý",
        f"{what.capitalize()} “{row.title}” (mã {row.code}) không được xử lý theo quy trình phản ánh, "
        f"kiến nghị, hỏi đáp. Lý do: {reason}.",
        now,
    )
    await session.flush()
    return row


async def answer(
    session: AsyncSession, actor: Actor, ident: uuid.UUID, *, text: str, version: int | None, now: datetime
) -> Inquiry:
    """Trả lời (staff of the competent agency)."""
    row = await _locked(session, actor, ident, version)
    if not _is_answerer(actor, row):
        raise Forbidden("Chỉ cơ quan có thẩm quyền được trả lời.")
    _need(row, "trả lời", InquiryStatus.FORWARDED)
    text = text.strip()
    if not 10 <= len(text) <= 20_000:
        issues = Issues()
        issues.add(("text",), "LENGTH", "Nội dung trả lời từ 10 đến 20.000 ký tự.")
        issues.raise_if_any()
    before = _moved(row, InquiryStatus.ANSWERED)
    row.answer = text
    row.answered_at = now
    row.answered_by_id = actor.id
    _event(session, row, "ANSWER", before, actor, None, now)
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
    row = await _locked(session, actor, ident, version)
    if not _is_focal(actor, row):
        raise Forbidden("Chỉ đầu mối tiếp nhận của cơ quan được duyệt công khai trả lời.")
    _need(row, "duyệt trả lời", InquiryStatus.ANSWERED)
    issues = Issues()
    if not publish:
        if not reason or len(reason.strip()) < 5:
            issues.add(("reason",), "REQUIRED", "Nêu lý do trả lời chưa phù hợp.")
        issues.raise_if_any()
        assert reason is not None
        before = _moved(row, InquiryStatus.FORWARDED)
        row.returned_count += 1
        _event(session, row, "RETURN_ANSWER", before, actor, reason.strip(), now)
        await session.flush()
        return row
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
    row.public_title = redact(public_title or row.title, known)
    row.public_question = redact(public_question or row.content, known)
    row.public_answer = redact(public_answer or row.answer, known)
    row.search_text = fold(f"{row.public_title} {row.public_question} {row.public_answer}")
    row.published_at = row.closed_at = now
    before = _moved(row, InquiryStatus.PUBLISHED)
    _event(session, row, "PUBLISH", before, actor, reason, now)
    what = KIND_LABELS[row.kind]
    await _tell(
        session,
        row,
        f"{what.capitalize()} {row.code} đã được trả lời",
        f"{what.capitalize()} “{row.title}” (mã {row.code}) đã được trả lời: {row.answer}",
        now,
    )
    await session.flush()
    return row


async def _tell(session: AsyncSession, row: Inquiry, subject: str, body: str, now: datetime) -> None:
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


# --- queries ---------------------------------------------------------------------------------------


async def events_by_inquiry_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[list[InquiryEvent]]:
    """Each inquiry's history in order, for a batch of inquiries in one statement."""
    found: dict[uuid.UUID, list[InquiryEvent]] = {i: [] for i in ids}
    rows = await session.scalars(
        select(InquiryEvent).where(InquiryEvent.inquiry_id.in_(ids)).order_by(InquiryEvent.seq)
    )
    for row in rows:
        found[row.inquiry_id].append(row)
    return [found[i] for i in ids]


async def by_code(session: AsyncSession, code: str) -> Inquiry | None:
    """The public tracking view's row (the caller shows only status and dates)."""
    return await session.scalar(select(Inquiry).where(Inquiry.code == code.strip().upper()))


@dataclass(frozen=True)
class InboxFilter:
    status: InquiryStatus | None = None
    kind: InquiryKind | None = None
    overdue: bool | None = None


def overdue_condition(now: datetime) -> ColumnElement[bool]:
    """Not classified within 3 working days, or not answered by the answer deadline."""
    return or_(
        and_(Inquiry.status == InquiryStatus.RECEIVED, Inquiry.classify_due_at < now),
        and_(Inquiry.status == InquiryStatus.FORWARDED, Inquiry.answer_due_at < now),
    )


def _keyset(stmt: Select[Inquiry], after: str | None, column: ColumnElement[datetime]) -> Select[Inquiry]:
    cursor = decode(after)
    if cursor.key:
        at, _, ident = cursor.key.partition("|")
        try:
            moment, key = datetime.fromisoformat(at), uuid.UUID(ident)
        except ValueError:
            decode("!")  # raises the BAD_CURSOR field error
            raise
        stmt = stmt.where(or_(column < moment, and_(column == moment, Inquiry.id < key)))
    return stmt


async def _page(
    session: AsyncSession, stmt: Select[Inquiry], first: int, after: str | None, by: str
) -> Page[Inquiry]:
    first = check_first(first)
    column: ColumnElement[datetime] = getattr(Inquiry, by)
    stmt = _keyset(stmt, after, column)
    rows = list(await session.scalars(stmt.order_by(column.desc(), Inquiry.id.desc()).limit(first + 1)))
    items = [(r, encode_key(f"{getattr(r, by).isoformat()}|{r.id}")) for r in rows[:first]]
    return Page(items, len(rows) > first, after is not None, -1)


async def mine(session: AsyncSession, actor: Actor, *, first: int, after: str | None) -> Page[Inquiry]:
    if actor.id is None or actor.kind not in (ActorKind.CITIZEN, ActorKind.ORGANISATION):
        return Page([], False, False, 0)
    stmt = select(Inquiry).where(Inquiry.submitter_account_id == actor.id)
    return await _page(session, stmt, first, after, "received_at")


async def inbox(
    session: AsyncSession, actor: Actor, flt: InboxFilter, *, now: datetime, first: int, after: str | None
) -> Page[Inquiry]:
    """Staff: to classify or review (focal points), to answer (competent agency)."""
    if actor.kind is not ActorKind.STAFF:
        return Page([], False, False, 0)
    stmt = select(Inquiry).where(readable(actor))
    if flt.status is not None:
        stmt = stmt.where(Inquiry.status == flt.status)
    if flt.kind is not None:
        stmt = stmt.where(Inquiry.kind == flt.kind)
    if flt.overdue is not None:
        condition = overdue_condition(now)
        stmt = stmt.where(condition if flt.overdue else ~condition)
    return await _page(session, stmt, first, after, "received_at")


@dataclass(frozen=True)
class PublishedFilter:
    search: str | None = None
    kind: InquiryKind | None = None
    agency_code: str | None = None
    procedure_code: str | None = None
    field_code: str | None = None


async def published(
    session: AsyncSession, flt: PublishedFilter, *, first: int, after: str | None
) -> Page[Inquiry]:
    """Published answers (công khai kết quả trả lời): newest first, or by relevance when searching."""
    check_search(flt.search, ("search",))
    stmt = select(Inquiry).where(Inquiry.status == InquiryStatus.PUBLISHED)
    if flt.kind is not None:
        stmt = stmt.where(Inquiry.kind == flt.kind)
    if flt.agency_code:
        stmt = stmt.where(
            Inquiry.competent_agency_id
            == select(Agency.id).where(Agency.code == flt.agency_code).scalar_subquery()
        )
    if flt.procedure_code:
        stmt = stmt.where(
            Inquiry.procedure_id
            == select(Procedure.id).where(Procedure.code == flt.procedure_code).scalar_subquery()
        )
    if flt.field_code:
        stmt = stmt.where(
            Inquiry.field_id == select(Field.id).where(Field.code == flt.field_code).scalar_subquery()
        )
    query = prefix_tsquery(flt.search) if flt.search else None
    if query is None:
        return await _page(session, stmt, first, after, "published_at")
    first = check_first(first)
    offset = decode(after).offset or 0
    vector = func.to_tsvector("simple", Inquiry.search_text)
    tsquery = func.to_tsquery("simple", query)
    rank = func.ts_rank(vector, tsquery)
    rows = list(
        await session.scalars(
            stmt.where(vector.op("@@")(tsquery))
            .order_by(rank.desc(), Inquiry.published_at.desc(), Inquiry.id)
            .offset(offset)
            .limit(first + 1)
        )
    )
    items = [(r, encode_offset(offset + i + 1)) for i, r in enumerate(rows[:first])]
    return Page(items, len(rows) > first, offset > 0, -1)
