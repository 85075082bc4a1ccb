"""GraphQL types of feedback and questions (phản ánh, kiến nghị; hỏi – đáp).

Three views of one row: `Inquiry` for the submitter and the staff concerned, `InquiryTracking`
for anyone with the tracking code (status and dates only), `PublishedAnswer` for everyone once
the answer is published (texts with personal data redacted).
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from auth.actor import Actor, ActorKind
from models import feedback as m
from models.catalog import Agency as AgencyRow
from schema.context import Context
from schema.sql import SQL, Expr, ForCaller, Join, ToMany, ToOne
from schema.types.catalog import Agency, Field
from schema.types.columns import Column, column, identifier
from services.feedback import lifecycle

strawberry.enum(m.InquiryKind, description="Loại: phản ánh, kiến nghị (FEEDBACK) hoặc câu hỏi (QUESTION).")
strawberry.enum(
    m.InquiryChannel,
    description="Kênh tiếp nhận: trực tuyến, thư, điện thoại, thư điện tử, ứng dụng Open311, "
    "Hệ thống phản ánh, kiến nghị trên Cổng Dịch vụ công quốc gia.",
)
strawberry.enum(m.InquiryStatus, description="Trạng thái xử lý phản ánh, câu hỏi.")


def staff_reads(actor: Actor) -> bool:
    """Whether the caller reads an inquiry's staff-only parts (contacts, an unpublished answer)."""
    return actor.kind is ActorKind.STAFF


def _staff_only(attribute: str) -> ForCaller:
    """A column staff read, null for anyone else (`staff_reads`)."""
    return ForCaller(lambda actor: Expr(f"{{row}}.{attribute}" if staff_reads(actor) else "NULL"))


@strawberry.type(description="Một bước trong tiến trình xử lý phản ánh, câu hỏi.")
class InquiryStep:
    row: strawberry.Private[m.InquiryEvent]

    action: str = column(
        "SUBMIT, FORWARD, DECLINE, ANSWER, RETURN_ANSWER (trả lời chưa phù hợp) hoặc PUBLISH."
    )

    from_status: m.InquiryStatus | None = strawberry.field(
        description="Trạng thái trước.",
        default=Column("from_status", convert=lambda v: m.InquiryStatus(v) if v else None),
        metadata={SQL: Expr("NULLIF({row}.from_status, '')")},
    )
    to_status: m.InquiryStatus = strawberry.field(
        description="Trạng thái sau.",
        default=Column("to_status", convert=m.InquiryStatus),
        metadata={SQL: Expr("{row}.to_status", nullable=False)},
    )
    at: datetime = column("Thời điểm.")

    @strawberry.field(description="Ghi chú (chỉ cán bộ xem).", metadata={SQL: _staff_only("note")})
    def note(self, info: Info[Context, None]) -> str | None:
        return self.row.note if staff_reads(info.context.actor) else None


async def _agency(info: Info[Context, None], ident: object) -> Agency | None:
    if ident is None:
        return None
    row = await info.context.loaders.agency_by_id.load(ident)  # type: ignore[arg-type]
    return Agency(row=row) if row else None


async def _field(info: Info[Context, None], ident: object) -> Field | None:
    if ident is None:
        return None
    row = await info.context.loaders.field_by_id.load(ident)  # type: ignore[arg-type]
    return Field.from_row(row) if row else None


def _sql_text(text: str) -> str:
    """A literal of our own text inside an `Expr` template."""
    return "'" + text.replace("'", "''").replace("{", "{{").replace("}", "}}") + "'"


def _to_agency(on: str) -> ToOne:
    return ToOne({"row": Join(AgencyRow, on)})


def _answer_sql(actor: Actor) -> Expr:
    if staff_reads(actor):
        return Expr("{row}.answer")
    return Expr(f"CASE WHEN {{row}}.status = '{m.InquiryStatus.PUBLISHED.name}' THEN {{row}}.answer END")


# `Inquiry.statusLabel`, `overdue` and `answer` in SQL (the compiled read path: schema.sql).
STATUS_LABEL = Expr(
    "CASE {row}.status::text "
    + " ".join(f"WHEN '{s.name}' THEN {_sql_text(label)}" for s, label in lifecycle.STATUS_LABELS.items())
    + " END",
    nullable=False,
)
OVERDUE = Expr(
    f"CASE WHEN {{row}}.status = '{m.InquiryStatus.RECEIVED.name}' THEN {{now}} > {{row}}.classify_due_at"
    f" WHEN {{row}}.status = '{m.InquiryStatus.FORWARDED.name}' AND {{row}}.answer_due_at IS NOT NULL"
    " THEN {now} > {row}.answer_due_at ELSE false END",
    nullable=False,
)


@strawberry.type(description="Phản ánh, kiến nghị hoặc câu hỏi (người gửi và cán bộ liên quan xem).")
class Inquiry:
    row: strawberry.Private[m.Inquiry]

    id: strawberry.ID = identifier("Mã định danh.")
    code: str = column("Mã theo dõi (tra cứu công khai).")
    kind: m.InquiryKind = column("Loại.")
    channel: m.InquiryChannel = column("Kênh tiếp nhận.")
    status: m.InquiryStatus = column("Trạng thái.")

    @strawberry.field(description="Trạng thái bằng lời.", metadata={SQL: STATUS_LABEL})
    def status_label(self) -> str:
        return lifecycle.STATUS_LABELS[self.row.status]

    title: str = column("Tiêu đề.")
    content: str = column("Nội dung.")
    submitter_name: str = column("Họ tên người gửi.")

    @strawberry.field(
        description="Thư điện tử liên hệ của người gửi (chỉ cán bộ xem).",
        metadata={SQL: _staff_only("submitter_email")},
    )
    def submitter_email(self, info: Info[Context, None]) -> str | None:
        return self.row.submitter_email if staff_reads(info.context.actor) else None

    @strawberry.field(
        description="Số điện thoại liên hệ của người gửi (chỉ cán bộ xem).",
        metadata={SQL: _staff_only("submitter_phone")},
    )
    def submitter_phone(self, info: Info[Context, None]) -> str | None:
        return self.row.submitter_phone if staff_reads(info.context.actor) else None

    @strawberry.field(description="Hồ sơ liên quan (nếu có).", metadata={SQL: Expr("{row}.dossier_id::text")})
    def dossier_id(self) -> strawberry.ID | None:
        return strawberry.ID(str(self.row.dossier_id)) if self.row.dossier_id else None

    @strawberry.field(
        description="Cơ quan bị phản ánh, được hỏi (nếu có).", metadata={SQL: _to_agency("agency_id")}
    )
    async def agency(self, info: Info[Context, None]) -> Agency | None:
        return await _agency(info, self.row.agency_id)

    @strawberry.field(
        description="Cơ quan đầu mối tiếp nhận, phân loại.", metadata={SQL: _to_agency("focal_agency_id")}
    )
    async def focal_agency(self, info: Info[Context, None]) -> Agency | None:
        return await _agency(info, self.row.focal_agency_id)

    @strawberry.field(
        description="Cơ quan có thẩm quyền trả lời (sau khi chuyển).",
        metadata={SQL: _to_agency("competent_agency_id")},
    )
    async def competent_agency(self, info: Info[Context, None]) -> Agency | None:
        return await _agency(info, self.row.competent_agency_id)

    @strawberry.field(description="Lĩnh vực.")
    async def field(self, info: Info[Context, None]) -> Field | None:
        return await _field(info, self.row.field_id)

    received_at: datetime = column("Thời điểm tiếp nhận.")
    classify_due_at: datetime = column("Hạn phân loại, chuyển xử lý (03 ngày làm việc).")
    forwarded_at: datetime | None = column("Thời điểm chuyển cơ quan có thẩm quyền.")
    forwarded_on_time: bool | None = column("Đã chuyển đúng hạn 03 ngày làm việc hay chưa.")
    answer_due_at: datetime | None = column("Hạn trả lời.")

    @strawberry.field(description="Đang quá hạn phân loại hoặc trả lời.", metadata={SQL: OVERDUE})
    def overdue(self, info: Info[Context, None]) -> bool:
        now = info.context.now
        if self.row.status is m.InquiryStatus.RECEIVED:
            return now > self.row.classify_due_at
        if self.row.status is m.InquiryStatus.FORWARDED and self.row.answer_due_at:
            return now > self.row.answer_due_at
        return False

    @strawberry.field(
        description="Nội dung trả lời: cán bộ xem ngay; người gửi xem khi đã công khai.",
        metadata={SQL: ForCaller(_answer_sql)},
    )
    def answer(self, info: Info[Context, None]) -> str | None:
        if staff_reads(info.context.actor) or self.row.status is m.InquiryStatus.PUBLISHED:
            return self.row.answer
        return None

    answered_at: datetime | None = column("Thời điểm trả lời.")
    returned_count: int = column("Số lần trả lời bị trả lại vì chưa phù hợp.")
    decline_reason: str | None = column("Lý do không xử lý.")
    published_at: datetime | None = column("Thời điểm công khai.")
    version: int = column("Phiên bản (gửi kèm thao tác để tránh ghi đè).")

    @strawberry.field(
        description="Tiến trình xử lý.",
        metadata={SQL: ToMany(m.InquiryEvent, "inquiry_id", "id", "{row}.seq")},
    )
    async def history(self, info: Info[Context, None]) -> list[InquiryStep]:
        events = await info.context.loaders.events_by_inquiry_id.load(self.row.id)
        return [InquiryStep(row=e) for e in events]


@strawberry.type(description="Tình trạng phản ánh, câu hỏi theo mã theo dõi (công khai, không có nội dung).")
class InquiryTracking:
    code: str = strawberry.field(description="Mã theo dõi.")
    kind: m.InquiryKind = strawberry.field(description="Loại.")
    status: m.InquiryStatus = strawberry.field(description="Trạng thái.")
    status_label: str = strawberry.field(description="Trạng thái bằng lời.")
    received_at: datetime = strawberry.field(description="Thời điểm tiếp nhận.")
    classify_due_at: datetime = strawberry.field(description="Hạn phân loại, chuyển xử lý.")
    forwarded_at: datetime | None = strawberry.field(description="Thời điểm chuyển xử lý.")
    answer_due_at: datetime | None = strawberry.field(description="Hạn trả lời.")
    published_at: datetime | None = strawberry.field(description="Thời điểm công khai trả lời.")


@strawberry.type(description="Câu trả lời đã công khai (thông tin cá nhân đã được ẩn).")
class PublishedAnswer:
    row: strawberry.Private[m.Inquiry]

    code: str = column("Mã theo dõi.")
    kind: m.InquiryKind = column("Loại.")

    @strawberry.field(description="Tiêu đề.")
    def title(self) -> str:
        return self.row.public_title or ""

    @strawberry.field(description="Nội dung hỏi, phản ánh (đã ẩn thông tin cá nhân).")
    def question(self) -> str:
        return self.row.public_question or ""

    @strawberry.field(description="Nội dung trả lời (đã ẩn thông tin cá nhân).")
    def answer(self) -> str:
        return self.row.public_answer or ""

    @strawberry.field(description="Cơ quan trả lời.")
    async def competent_agency(self, info: Info[Context, None]) -> Agency | None:
        return await _agency(info, self.row.competent_agency_id)

    @strawberry.field(description="Lĩnh vực.")
    async def field(self, info: Info[Context, None]) -> Field | None:
        return await _field(info, self.row.field_id)

    received_at: datetime = column("Thời điểm tiếp nhận.")

    @strawberry.field(description="Thời điểm công khai.")
    def published_at(self) -> datetime:
        assert self.row.published_at is not None
        return self.row.published_at
