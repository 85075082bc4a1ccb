"""GraphQL types of dossiers: the dossier, its steps, attachments, trail, and the public status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from models import dossiers as m
from models.catalog import Agency as AgencyRow
from models.catalog import DeliveryMethod, FeeKind, ProcedureVersion
from models.catalog import Procedure as ProcedureRow
from models.payments import Payment, PaymentState, Refund, RefundReason, RefundState
from schema.context import Context
from schema.scalars import ByteCount
from schema.sql import SQL, Embed, Expr, Join, ToMany, ToOne
from schema.types.catalog import Agency, Procedure
from schema.types.columns import column, identifier
from schema.types.files import FILENAME_DESCRIPTION, SHA256_DESCRIPTION
from services import legal
from services.dossiers import fees, transition, workflow
from services.dossiers.queries import check_trail

strawberry.enum(
    m.DossierStatus,
    description="Trạng thái hồ sơ: đang soạn, chờ tiếp nhận, chờ bổ sung hoàn thiện, đang giải quyết, chờ bổ "
    "sung (dừng tính thời gian), có kết quả, từ chối giải quyết, đã trả kết quả, từ chối tiếp nhận, đã rút.",
)
strawberry.enum(
    m.Channel, description="Kênh nộp: trực tuyến, trực tiếp, bưu chính, Cổng Dịch vụ công quốc gia."
)
strawberry.enum(m.PaymentStatus, description="Trạng thái thanh toán phí, lệ phí.")
strawberry.enum(m.DeliveryStatus, description="Trạng thái trả kết quả.")
strawberry.enum(m.SyncStatus, description="Trạng thái đồng bộ với Cổng Dịch vụ công quốc gia.")
strawberry.enum(m.Punctuality, description="Trước hạn, đúng hạn, quá hạn.")
strawberry.enum(m.AttachmentKind, description="Thành phần hồ sơ, tài liệu bổ sung, kết quả.")
strawberry.enum(workflow.Action, name="DossierAction", description="Thao tác trên hồ sơ.")


@strawberry.type(description="Người nộp hồ sơ, như khi nộp.")
class Applicant:
    name: str = strawberry.field(description="Họ tên / tên tổ chức.")
    id_number: str | None = strawberry.field(description="Số định danh cá nhân / mã số thuế.")
    phone: str | None = strawberry.field(description="Điện thoại.")
    email: str | None = strawberry.field(description="Thư điện tử.")
    address: str | None = strawberry.field(description="Địa chỉ.")


@strawberry.type(description="Một bước xử lý của hồ sơ.")
class DossierStep:
    row: strawberry.Private[m.DossierStep]

    position: int = column("Thứ tự bước, đếm từ 1 (“bước 1”), như `WorkflowStep.position`.")
    name: str = column("Tên bước.")
    role: str = column("Vai trò xử lý.")

    @strawberry.field(description="Thời gian của bước (ngày làm việc).")
    def days(self) -> float:
        return float(self.row.days)

    @strawberry.field(
        description="Người được phân công (mã tài khoản).", metadata={SQL: Expr("{row}.assignee_id::text")}
    )
    def assignee_id(self) -> strawberry.ID | None:
        return strawberry.ID(str(self.row.assignee_id)) if self.row.assignee_id else None

    started_at: datetime | None = column("Bắt đầu lúc.")
    due_at: datetime | None = column("Hạn của bước.")
    finished_at: datetime | None = column("Kết thúc lúc.")
    punctuality: m.Punctuality | None = column("Trước hạn / đúng hạn / quá hạn.")

    @strawberry.field(
        description="Cơ quan xử lý bước.", metadata={SQL: ToOne({"row": Join(AgencyRow, "agency_id")})}
    )
    async def agency(self, info: Info[Context, None]) -> Agency | None:
        row = await info.context.loaders.agency_by_id.load(self.row.agency_id)
        return Agency(row=row) if row else None


@strawberry.type(description="Tệp đính kèm hồ sơ.")
class Attachment:
    row: strawberry.Private[m.DossierAttachment]

    kind: m.AttachmentKind = column("Loại.")

    @strawberry.field(description="Thành phần hồ sơ (nếu có).")
    def component_id(self) -> strawberry.ID | None:
        return strawberry.ID(str(self.row.component_id)) if self.row.component_id else None

    @strawberry.field(description="Mã tệp.")
    def file_id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.file_id))

    added_at: datetime = column("Thời điểm đính kèm.")

    @strawberry.field(description=FILENAME_DESCRIPTION)
    async def filename(self, info: Info[Context, None]) -> str:
        f = await info.context.loaders.file_by_id.load(self.row.file_id)
        return f.filename if f else ""

    @strawberry.field(description="Dung lượng (byte).")
    async def size(self, info: Info[Context, None]) -> ByteCount:
        f = await info.context.loaders.file_by_id.load(self.row.file_id)
        return ByteCount(f.size if f else 0)

    @strawberry.field(description=SHA256_DESCRIPTION)
    async def sha256(self, info: Info[Context, None]) -> str:
        f = await info.context.loaders.file_by_id.load(self.row.file_id)
        return f.sha256 if f else ""


@strawberry.type(description="Một dòng của phiếu kiểm soát quá trình giải quyết (không sửa, không xoá được).")
class TrailEvent:
    seq: int = strawberry.field(description="Số thứ tự.")
    at: datetime = strawberry.field(description="Thời điểm.")
    action: str = strawberry.field(description="Thao tác.")
    actor: str = strawberry.field(description="Người thực hiện.")
    role: str | None = strawberry.field(description="Vai trò.")
    from_status: str | None = strawberry.field(description="Trạng thái trước.")
    to_status: str = strawberry.field(description="Trạng thái sau.")
    from_step: int | None = strawberry.field(description="Từ bước (`DossierStep.position`, đếm từ 1).")
    to_step: int | None = strawberry.field(description="Sang bước (`DossierStep.position`, đếm từ 1).")
    comment: str | None = strawberry.field(description="Ý kiến.")
    punctuality: str | None = strawberry.field(description="Bước kết thúc trước hạn / đúng hạn / quá hạn.")
    data: JSON = strawberry.field(description="Chi tiết (mã hồ sơ, ngày hẹn, nội dung yêu cầu…).")
    hash: str = strawberry.field(description="Mã băm nối chuỗi với dòng trước.")

    @classmethod
    def from_row(cls, e: m.DossierEvent) -> TrailEvent:
        data: Any = e.data
        return cls(
            seq=e.seq,
            at=e.at,
            action=e.action,
            actor=e.actor_label,
            role=e.actor_role,
            from_status=e.from_status,
            to_status=e.to_status,
            from_step=e.from_step,
            to_step=e.to_step,
            comment=e.comment,
            punctuality=e.punctuality,
            data=data,
            hash=e.hash,
        )


@strawberry.type(description="Kết quả kiểm tra tính toàn vẹn của phiếu kiểm soát.")
class TrailCheck:
    valid: bool = strawberry.field(description="Chuỗi băm còn nguyên vẹn.")
    events: int = strawberry.field(description="Số dòng đã kiểm tra.")
    broken_at_seq: int | None = strawberry.field(description="Dòng đầu tiên sai (nếu có).")


@strawberry.type(description="Một khoản phí, lệ phí hồ sơ phải nộp.")
class DossierFeeLine:
    kind: FeeKind = strawberry.field(description="Phí hay lệ phí.")
    name: str = strawberry.field(description="Tên khoản thu.")
    amount: int = strawberry.field(description="Số phải nộp (VND), đã áp dụng mức giảm khi nộp trực tuyến.")
    ordinary_amount: int = strawberry.field(description="Mức thu thông thường (VND).")


strawberry.enum(PaymentState, description="Trạng thái một lần thanh toán trực tuyến.")
strawberry.enum(
    RefundReason,
    description="Lý do hoàn trả: người nộp rút hồ sơ; cơ quan không thể giải quyết (hồ sơ bị từ chối); "
    "thanh toán trùng.",
)
strawberry.enum(
    RefundState,
    description="Trạng thái hoàn trả: chờ cổng thanh toán thực hiện (có thử lại), đã hoàn, cổng từ chối.",
)


@strawberry.type(description="Khoản hoàn trả một giao dịch thanh toán trực tuyến (mỗi giao dịch một lần).")
class PaymentRefund:
    id: strawberry.ID = strawberry.field(description="Mã khoản hoàn trả.")
    amount: int = strawberry.field(description="Số tiền hoàn trả (VND).")
    reason: RefundReason = strawberry.field(description="Lý do hoàn trả.")
    state: RefundState = strawberry.field(description="Trạng thái hoàn trả.")
    requested_at: datetime = strawberry.field(description="Thời điểm yêu cầu hoàn trả.")
    requested_by: str = strawberry.field(description="Người (hoặc hệ thống) yêu cầu hoàn trả.")
    attempts: int = strawberry.field(description="Số lần đã gửi yêu cầu sang cổng thanh toán.")
    settled_at: datetime | None = strawberry.field(description="Thời điểm cổng hoàn tiền hoặc từ chối.")

    @classmethod
    def of(cls, r: Refund) -> PaymentRefund:
        return cls(
            id=strawberry.ID(str(r.id)),
            amount=r.amount,
            reason=r.reason,
            state=r.state,
            requested_at=r.requested_at,
            requested_by=r.requested_by,
            attempts=r.attempts,
            settled_at=r.settled_at,
        )


@strawberry.type(description="Một lần thanh toán trực tuyến qua cổng thanh toán.")
class PaymentAttempt:
    gateway: str = strawberry.field(description="Cổng thanh toán.")
    order_ref: str = strawberry.field(description="Mã giao dịch của hệ thống tại cổng.")
    amount: int = strawberry.field(description="Số tiền (đồng).")
    state: PaymentState = strawberry.field(description="Trạng thái.")
    created_at: datetime = strawberry.field(description="Thời điểm bắt đầu.")
    paid_at: datetime | None = strawberry.field(description="Thời điểm thanh toán (theo cổng).")
    transaction_no: str | None = strawberry.field(description="Mã giao dịch của cổng.")
    bank_code: str | None = strawberry.field(description="Ngân hàng.")
    refund: PaymentRefund | None = strawberry.field(description="Hoàn trả, nếu có.")

    @classmethod
    def from_rows(cls, payment: Payment, refund: Refund | None) -> PaymentAttempt:
        return cls(
            gateway=payment.gateway,
            order_ref=payment.txn_ref,
            amount=payment.amount,
            state=payment.state,
            created_at=payment.created_at,
            paid_at=payment.paid_at,
            transaction_no=payment.transaction_no,
            bank_code=payment.bank_code,
            refund=PaymentRefund.of(refund) if refund is not None else None,
        )


@strawberry.type(description="Phí, lệ phí hồ sơ phải nộp, theo phiên bản thủ tục khi nộp và kênh nộp.")
class DossierFees:
    lines: list[DossierFeeLine] = strawberry.field(description="Các khoản thu.")
    total: int = strawberry.field(description="Tổng số phải nộp (VND).")
    reduction: int = strawberry.field(description="Số được giảm do nộp trực tuyến (VND).")


APPLICANT = Embed(
    {
        "name": "applicant_name",
        "id_number": "applicant_id_number",
        "phone": "applicant_phone",
        "email": "applicant_email",
        "address": "applicant_address",
    }
)
# `Dossier.overdue` in SQL: open (not final, not a draft), not paused, past its due time.
OVERDUE = Expr(
    "{row}.status NOT IN ("
    + ", ".join(f"'{s.name}'" for s in workflow.FINAL)
    + ") AND {row}.paused_at IS NULL AND {row}.due_at IS NOT NULL AND {row}.due_at < {now}",
    nullable=False,
)
PROCEDURE = ToOne(
    {
        "procedure": Join(ProcedureRow, "procedure_id"),
        "row": Join(ProcedureVersion, "procedure_version_id"),
    },
    required=True,
)


@strawberry.type(description="Hồ sơ thủ tục hành chính (chỉ người nộp và cán bộ có thẩm quyền xem được).")
class Dossier:
    row: strawberry.Private[m.Dossier]

    id: strawberry.ID = identifier("Mã định danh.")
    code: str | None = column("Mã hồ sơ (cấp khi tiếp nhận).")
    status: m.DossierStatus = column("Trạng thái.")
    payment_status: m.PaymentStatus = column("Trạng thái thanh toán.")

    @strawberry.field(description="Phí, lệ phí phải nộp (mức giảm khi nộp trực tuyến đã áp dụng).")
    async def fees_due(self, info: Info[Context, None]) -> DossierFees:
        due = fees.fees_due(
            await info.context.loaders.fees_by_version_id.load(self.row.procedure_version_id),
            self.row.channel,
        )
        lines = [
            DossierFeeLine(kind=x.kind, name=x.name, amount=x.amount, ordinary_amount=x.ordinary_amount)
            for x in due.lines
        ]
        return DossierFees(lines=lines, total=due.total, reduction=due.reduction)

    @strawberry.field(description="Các lần thanh toán trực tuyến (cũ trước), kèm hoàn trả nếu có.")
    async def payments(self, info: Info[Context, None]) -> list[PaymentAttempt]:
        found = await info.context.loaders.payments_by_dossier_id.load(self.row.id)
        return [PaymentAttempt.from_rows(p, r) for p, r in found]

    @strawberry.field(
        description="Hình thức nhận kết quả người nộp đã chọn (khi đã trả: hình thức đã trả); "
        "null khi chưa chọn."
    )
    def delivery_method(self) -> DeliveryMethod | None:
        method = self.row.delivery_method
        return DeliveryMethod(method) if method is not None else None

    delivery_status: m.DeliveryStatus = column("Trạng thái trả kết quả.")
    sync_status: m.SyncStatus = column("Trạng thái đồng bộ với Cổng DVC quốc gia.")
    channel: m.Channel = column("Kênh nộp.")
    version: int = column("Số phiên bản, dùng cho expectedVersion khi thao tác.")

    @strawberry.field(description="Người nộp.", metadata={SQL: APPLICANT})
    def applicant(self) -> Applicant:
        r = self.row
        return Applicant(
            name=r.applicant_name,
            id_number=r.applicant_id_number,
            phone=r.applicant_phone,
            email=r.applicant_email,
            address=r.applicant_address,
        )

    @strawberry.field(description="Tờ khai điện tử đã điền.")
    def form_data(self) -> JSON:
        return JSON(self.row.form_data)

    submitted_at: datetime | None = column("Thời điểm nộp.")

    counts_from: datetime | None = column(
        "Thời điểm bắt đầu tính thời hạn (ngoài giờ hành chính: ngày làm việc kế tiếp)."
    )

    received_at: datetime | None = column("Thời điểm tiếp nhận.")
    appointment_at: datetime | None = column(
        "Ngày hẹn trả kết quả người nộp đang giữ: trên giấy tiếp nhận, hoặc ngày hẹn mới khi thời gian "
        f"giải quyết được tính lại từ đầu sau khi bổ sung ({legal.article('decree-61-2018', 19)})."
    )
    due_at: datetime | None = column("Hạn hiện tại (dời khi dừng tính thời gian hoặc hẹn lại).")
    deadline_at: datetime | None = column(
        "Hạn giải quyết theo quy định, dùng để đánh giá đúng hạn: dời theo thời gian chờ bổ sung hoặc "
        "tính lại từ đầu, không bao giờ dời vì thư xin lỗi hẹn lại."
    )
    paused_at: datetime | None = column("Đang dừng tính thời gian từ lúc (chờ bổ sung).")
    apologised: bool = column("Đã có phiếu xin lỗi và hẹn lại.")
    result_at: datetime | None = column("Thời điểm có kết quả.")
    finished_at: datetime | None = column("Thời điểm kết thúc.")
    punctuality: m.Punctuality | None = column("Trước hạn / đúng hạn / quá hạn, so với ngày hẹn ban đầu.")
    archived_at: datetime | None = column("Thời điểm chuyển sang lưu trữ (nếu đã lưu trữ).")
    current_step: int | None = column("Bước đang xử lý: `position` của bước trong `steps` (đếm từ 1).")

    @strawberry.field(
        description="Quá hạn (đang mở, chưa dừng tính thời gian, đã qua hạn).", metadata={SQL: OVERDUE}
    )
    def overdue(self, info: Info[Context, None]) -> bool:
        r = self.row
        return (
            r.status not in workflow.FINAL
            and r.paused_at is None
            and r.due_at is not None
            and r.due_at < info.context.now
        )

    @strawberry.field(description="Sắp đến hạn (trong 1 ngày tới).")
    def near_deadline(self, info: Info[Context, None]) -> bool:
        r, now = self.row, info.context.now
        if r.status in workflow.FINAL or r.due_at is None or r.due_at < now:
            return False
        return (
            info.context.calendar.working_minutes_between(now, r.due_at)
            <= info.context.calendar.minutes_per_day()
        )

    lookup_secret: str = column("Mã bí mật in trên mã QR của giấy tiếp nhận (để tra cứu đầy đủ).")

    @strawberry.field(description="Thủ tục, đúng phiên bản khi nộp.", metadata={SQL: PROCEDURE})
    async def procedure(self, info: Info[Context, None]) -> Procedure | None:
        loaders = info.context.loaders
        version = await loaders.version_by_id.load(self.row.procedure_version_id)
        procedure = await loaders.procedure_by_id.load(self.row.procedure_id)
        return Procedure(procedure=procedure, row=version) if procedure and version else None

    @strawberry.field(
        description="Bộ phận Một cửa tiếp nhận.",
        metadata={SQL: ToOne({"row": Join(AgencyRow, "receiving_agency_id")}, required=True)},
    )
    async def receiving_agency(self, info: Info[Context, None]) -> Agency | None:
        row = await info.context.loaders.agency_by_id.load(self.row.receiving_agency_id)
        return Agency(row=row) if row else None

    @strawberry.field(
        description="Cơ quan có thẩm quyền giải quyết mà hồ sơ được chuyển đến (tiếp nhận ở bất kỳ Bộ phận "
        "Một cửa nào trong tỉnh). Không có với hồ sơ nộp trước khi có định tuyến: khi đó là cơ quan thủ "
        "tục quy định, hoặc Bộ phận tiếp nhận.",
        metadata={SQL: ToOne({"row": Join(AgencyRow, "competent_agency_id")})},
    )
    async def competent_agency(self, info: Info[Context, None]) -> Agency | None:
        if self.row.competent_agency_id is None:
            return None
        row = await info.context.loaders.agency_by_id.load(self.row.competent_agency_id)
        return Agency(row=row) if row else None

    @strawberry.field(
        description="Các bước xử lý.",
        metadata={SQL: ToMany(m.DossierStep, "dossier_id", "id", "{row}.position")},
    )
    async def steps(self, info: Info[Context, None]) -> list[DossierStep]:
        return [DossierStep(row=r) for r in await info.context.loaders.steps_by_dossier_id.load(self.row.id)]

    @strawberry.field(description="Tệp đính kèm.")
    async def attachments(self, info: Info[Context, None]) -> list[Attachment]:
        return [
            Attachment(row=r) for r in await info.context.loaders.attachments_by_dossier_id.load(self.row.id)
        ]

    @strawberry.field(description="Phiếu kiểm soát quá trình giải quyết.")
    async def trail(self, info: Info[Context, None]) -> list[TrailEvent]:
        return [
            TrailEvent.from_row(e) for e in await info.context.loaders.events_by_dossier_id.load(self.row.id)
        ]

    @strawberry.field(description="Kiểm tra chuỗi băm của phiếu kiểm soát.")
    async def trail_check(self, info: Info[Context, None]) -> TrailCheck:
        async with info.context.db.session() as session:
            result = await check_trail(session, self.row)
        return TrailCheck(valid=result.valid, events=result.events, broken_at_seq=result.broken_at_seq)

    @strawberry.field(description="Thao tác người gọi được làm lúc này.")
    async def available_actions(self, info: Info[Context, None]) -> list[workflow.Action]:
        steps = await info.context.loaders.steps_by_dossier_id.load(self.row.id)
        async with info.context.db.session() as session:
            s = await transition.situation(session, self.row, steps)
        return workflow.available_actions(info.context.actor, s)


@strawberry.type(description="Trạng thái công khai của hồ sơ: không có thông tin cá nhân.")
class DossierPublicStatus:
    code: str = strawberry.field(description="Mã hồ sơ.")
    procedure_name: str = strawberry.field(description="Tên thủ tục.")
    agency_name: str = strawberry.field(description="Cơ quan tiếp nhận.")
    status: m.DossierStatus = strawberry.field(description="Trạng thái.")
    status_label: str = strawberry.field(description="Trạng thái bằng lời.")
    received_at: datetime | None = strawberry.field(description="Ngày tiếp nhận.")
    appointment_at: datetime | None = strawberry.field(description="Ngày hẹn trả.")
    finished_at: datetime | None = strawberry.field(description="Ngày kết thúc.")


# The public status, from the lookup's statement (`services.dossiers.queries.public_status_select`).
PUBLIC_STATUS = Embed(
    {
        "code": "code",
        "procedure_name": "procedure_name",
        "agency_name": "agency_name",
        "status": "status",
        "status_label": Expr(
            "CASE {row}.status::text "
            + " ".join(
                f"WHEN '{s.name}' THEN '{label.replace(chr(39), chr(39) * 2)}'"
                for s, label in workflow.STATUS_LABELS.items()
            )
            .replace("{", "{{")
            .replace("}", "}}")
            + " END",
            nullable=False,
        ),
        "received_at": "received_at",
        "appointment_at": "appointment_at",
        "finished_at": "finished_at",
    }
)


@strawberry.type(
    description="Kết quả tra cứu: trạng thái công khai; cả hồ sơ khi có yếu tố xác thực thứ hai."
)
class DossierLookup:
    public: DossierPublicStatus = strawberry.field(
        description="Trạng thái công khai.", metadata={SQL: PUBLIC_STATUS}
    )
    dossier: Dossier | None = strawberry.field(
        description="Hồ sơ đầy đủ (khi có số định danh hoặc mã bí mật)."
    )


@strawberry.type(description="Mức độ hài lòng tổng hợp.")
class SatisfactionSummary:
    ratings: int = strawberry.field(description="Số lượt đánh giá.")
    overall: float | None = strawberry.field(description="Điểm trung bình (1–5).")
    by_criterion: JSON = strawberry.field(description="Điểm trung bình theo tiêu chí.")
