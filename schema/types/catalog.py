"""GraphQL types of the catalog: levels, agencies, fields, procedures and their parts."""

from __future__ import annotations

import enum
from datetime import date, datetime

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from auth.actor import Actor
from models import catalog as m
from schema.context import Context
from schema.scalars import ByteCount
from schema.sql import SQL, Embed, Expr, Join, Link, ToMany, ToOne
from schema.types.columns import column, identifier
from services.catalog.lifecycle import CatalogAction, available_actions

strawberry.enum(
    m.OnlineMode,
    description="Mức độ dịch vụ công trực tuyến: FULL toàn trình, PARTIAL một phần, NONE chưa đáp ứng.",
)
strawberry.enum(
    m.ProcedureStatus,
    description="Trạng thái thủ tục: DRAFT dự thảo, PUBLISHED đã công bố, SUSPENDED tạm ngừng, "
    "ABOLISHED đã bãi bỏ.",
)
strawberry.enum(
    m.VersionState,
    description="Trạng thái phiên bản: DRAFT dự thảo, PUBLISHED đang áp dụng, SUPERSEDED đã thay thế.",
)
strawberry.enum(
    m.CopyType,
    description="Loại giấy tờ: bản chính, bản sao, bản sao chứng thực, bản chính hoặc bản sao.",
)
strawberry.enum(m.FeeKind, description="FEE phí, CHARGE lệ phí.")
strawberry.enum(
    m.PaymentTiming,
    description="Thời điểm nộp phí, lệ phí: khi nộp hồ sơ hoặc trước khi nhận kết quả.",
)
strawberry.enum(
    m.DeliveryMethod,
    description="Hình thức trả kết quả: ONLINE trực tuyến, POST bưu chính, COUNTER trực tiếp.",
)
strawberry.enum(
    m.StepAgencyRef,
    description="Ai thực hiện bước: RECEIVING Bộ phận Một cửa tiếp nhận, COMPETENT cơ quan có thẩm "
    "quyền, AGENCY một cơ quan cụ thể (liên thông).",
)
strawberry.enum(
    m.TimeLimitUnit,
    description="Đơn vị thời hạn giải quyết: WORKING_DAYS ngày làm việc, HALF_DAYS buổi (nửa ngày làm "
    "việc), WORKING_HOURS giờ làm việc, CALENDAR_DAYS ngày (kể cả ngày nghỉ; hết hạn vào ngày nghỉ thì "
    "chuyển sang ngày làm việc kế tiếp).",
)
strawberry.enum(CatalogAction, description="Thao tác trên vòng đời thủ tục.")


@strawberry.enum(description="Vai trò cán bộ xử lý một bước quy trình.")
class WorkflowRole(enum.Enum):
    RECEPTION_OFFICER = "RECEPTION_OFFICER"
    SPECIALIST = "SPECIALIST"
    LEADER = "LEADER"
    POSTAL_STAFF = "POSTAL_STAFF"


def ctx(info: Info[Context, None]) -> Context:
    return info.context


@strawberry.type(
    description="Cấp hành chính: từ 01/7/2025 gồm cấp tỉnh và cấp xã; cấp đã bãi bỏ (cấp huyện) vẫn hiển "
    "thị cho các cơ quan, hồ sơ trước đó."
)
class AdministrativeLevel:
    row: strawberry.Private[m.AdministrativeLevel]

    code: str = column("Mã cấp: province, commune…")
    name: str = column("Tên cấp.")
    rank: int = column("Thứ bậc: 1 là cấp cao nhất.")
    retired_on: date | None = column(
        "Ngày bãi bỏ cấp này (không có: đang áp dụng). Cơ quan mới không được thuộc cấp đã bãi bỏ."
    )

    @classmethod
    def from_row(cls, row: m.AdministrativeLevel) -> AdministrativeLevel:
        return cls(row=row)


@strawberry.type(description="Tài khoản thu phí, lệ phí của cơ quan (công khai).")
class FeeAccount:
    number: str = strawberry.field(description="Số tài khoản.")
    bank: str = strawberry.field(description="Ngân hàng / Kho bạc.")
    holder: str = strawberry.field(description="Chủ tài khoản.")


@strawberry.type(description="Cơ quan, đơn vị trong cây tổ chức của tỉnh.")
class Agency:
    row: strawberry.Private[m.Agency]

    id: strawberry.ID = identifier("Mã định danh duy nhất.")
    code: str = column("Mã cơ quan trên Cổng Dịch vụ công quốc gia (ví dụ H44.19).")

    electronic_id: str | None = column(
        "Mã định danh điện tử (dạng V1V2V3.Z1Z2.Y1Y2.MX1X2, kể cả mã cấp sau sắp xếp đơn vị hành chính "
        "năm 2025), dùng trong mã hồ sơ."
    )

    name: str = column("Tên cơ quan.")
    is_one_stop_unit: bool = column("Là Bộ phận Một cửa tiếp nhận hồ sơ.")

    @strawberry.field(
        description="Tài khoản thu phí, lệ phí.",
        metadata={
            SQL: Embed(
                {
                    "number": Expr("{row}.fee_account_number", nullable=False),
                    "bank": Expr("coalesce({row}.fee_account_bank, '')", nullable=False),
                    "holder": Expr("coalesce({row}.fee_account_holder, '')", nullable=False),
                },
                present="{row}.fee_account_number IS NOT NULL",
            )
        },
    )
    def fee_account(self) -> FeeAccount | None:
        r = self.row
        if r.fee_account_number is None:
            return None
        return FeeAccount(
            number=r.fee_account_number, bank=r.fee_account_bank or "", holder=r.fee_account_holder or ""
        )

    support_phone: str | None = column("Số điện thoại hỗ trợ.")
    address: str | None = column("Địa chỉ.")
    email: str | None = column("Thư điện tử chính thức (công khai).")
    valid_from: date | None = column("Ngày bắt đầu hoạt động (nếu có).")
    valid_until: date | None = column("Ngày thôi hoạt động, ví dụ khi bị sáp nhập (nếu có).")

    @strawberry.field(
        description="Cấp hành chính.",
        metadata={SQL: ToOne({"row": Join(m.AdministrativeLevel, "level_code", key="code")}, required=True)},
    )
    async def level(self, info: Info[Context, None]) -> AdministrativeLevel:
        row = await ctx(info).loaders.level_by_code.load(self.row.level_code)
        assert row is not None  # a foreign key guarantees it
        return AdministrativeLevel.from_row(row)

    @strawberry.field(
        description="Cơ quan cấp trên.", metadata={SQL: ToOne({"row": Join(m.Agency, "parent_id")})}
    )
    async def parent(self, info: Info[Context, None]) -> Agency | None:
        if self.row.parent_id is None:
            return None
        row = await ctx(info).loaders.agency_by_id.load(self.row.parent_id)
        return Agency(row=row) if row else None

    @strawberry.field(
        description="Cơ quan trực thuộc.",
        metadata={SQL: ToMany(m.Agency, key="parent_id", on="id", order_by="{row}.code")},
    )
    async def children(self, info: Info[Context, None]) -> list[Agency]:
        rows = await ctx(info).loaders.agencies_by_parent_id.load(self.row.id)
        return [Agency(row=r) for r in rows]

    @strawberry.field(
        description="Cơ quan kế thừa khi bị sáp nhập.",
        metadata={SQL: ToOne({"row": Join(m.Agency, "successor_id")})},
    )
    async def successor(self, info: Info[Context, None]) -> Agency | None:
        if self.row.successor_id is None:
            return None
        row = await ctx(info).loaders.agency_by_id.load(self.row.successor_id)
        return Agency(row=row) if row else None


@strawberry.type(description="Lĩnh vực thủ tục hành chính.")
class Field:
    row: strawberry.Private[m.Field]

    id: strawberry.ID = identifier("Mã định danh duy nhất.")
    code: str = column("Mã lĩnh vực.")
    name: str = column("Tên lĩnh vực.")

    @classmethod
    def from_row(cls, row: m.Field) -> Field:
        return cls(row=row)


@strawberry.type(description="Thành phần hồ sơ phải (hoặc có thể) nộp.")
class ProcedureComponent:
    row: strawberry.Private[m.ProcedureComponent]

    id: strawberry.ID = identifier("Mã định danh duy nhất.")

    @strawberry.field(
        description="Thứ tự, đếm từ 1.", metadata={SQL: Expr("{row}.position + 1", nullable=False)}
    )
    def position(self) -> int:
        return self.row.position + 1  # stored from 0 (the order the catalog was edited in)

    name: str = column("Tên giấy tờ.")
    required: bool = column("Bắt buộc.")
    copy_type: m.CopyType = column("Bản chính / bản sao.")
    count: int = column("Số lượng.")
    template_url: str | None = column("Mẫu đơn, tờ khai (nếu có).")

    @strawberry.field(
        description="Định dạng tệp chấp nhận (MIME).",
        metadata={SQL: Expr("{row}.accepted_formats", nullable=False)},  # a text[]: a JSON array
    )
    def accepted_formats(self) -> list[str]:
        return list(self.row.accepted_formats)

    max_size_bytes: ByteCount = column("Dung lượng tối đa (byte).")

    @classmethod
    def from_row(cls, r: m.ProcedureComponent) -> ProcedureComponent:
        return cls(row=r)


@strawberry.type(description="Phí hoặc lệ phí (VND).")
class ProcedureFee:
    row: strawberry.Private[m.ProcedureFee]

    kind: m.FeeKind = column("Phí hay lệ phí.")
    name: str = column("Tên khoản thu.")
    amount: int = column("Mức thu (VND).")
    online_amount: int | None = column("Mức thu khi nộp trực tuyến (null: như mức thu thông thường).")
    note: str | None = column("Ghi chú, đối tượng miễn giảm.")

    @classmethod
    def from_row(cls, r: m.ProcedureFee) -> ProcedureFee:
        return cls(row=r)


@strawberry.type(description="Một bước của quy trình nội bộ (quy trình điện tử).")
class WorkflowStep:
    row: strawberry.Private[m.WorkflowStep]

    @strawberry.field(
        description="Thứ tự bước, đếm từ 1 (“bước 1”), như `DossierStep.position`.",
        metadata={SQL: Expr("{row}.position + 1", nullable=False)},
    )
    def position(self) -> int:
        return self.row.position + 1  # stored from 0 (the order the catalog was edited in)

    name: str = column("Tên bước.")
    agency_ref: m.StepAgencyRef = column("Ai thực hiện bước.")
    role: str = column("Vai trò thực hiện.")

    days: float = column("Thời gian của bước (ngày làm việc).", convert=float)

    @strawberry.field(
        description="Cơ quan thực hiện khi là bước liên thông.",
        metadata={SQL: ToOne({"row": Join(m.Agency, "agency_id")})},
    )
    async def agency(self, info: Info[Context, None]) -> Agency | None:
        if self.row.agency_id is None:
            return None
        row = await ctx(info).loaders.agency_by_id.load(self.row.agency_id)
        return Agency(row=row) if row else None


@strawberry.type(description="Quyết định công bố của Chủ tịch UBND tỉnh.")
class Decision:
    number: str = strawberry.field(description="Số quyết định.")
    date: date = strawberry.field(description="Ngày quyết định.")


def _decision(v: m.ProcedureVersion) -> Decision | None:
    if v.decision_number is None or v.decision_date is None:
        return None
    return Decision(number=v.decision_number, date=v.decision_date)


# `_decision` in SQL: a version's decision, when it has both its number and its date.
DECISION = Embed(
    {
        "number": Expr("{row}.decision_number", nullable=False),
        "date": Expr("to_char({row}.decision_date, 'YYYY-MM-DD')", nullable=False),
    },
    present="{row}.decision_number IS NOT NULL AND {row}.decision_date IS NOT NULL",
)


@strawberry.type(description="Một phiên bản của thủ tục (tóm tắt).")
class ProcedureVersionInfo:
    row: strawberry.Private[m.ProcedureVersion]

    version: int = column("Số phiên bản.", "version_no")
    state: m.VersionState = column("Trạng thái phiên bản.")

    @strawberry.field(description="Quyết định công bố.", metadata={SQL: DECISION})
    def decision(self) -> Decision | None:
        return _decision(self.row)

    published_at: datetime | None = column("Thời điểm công bố trên hệ thống.")
    change_note: str | None = column("Nội dung sửa đổi.")


@strawberry.type(description="Một sự kiện trong vòng đời thủ tục: tạo, sửa đổi, công bố, tạm ngừng, bãi bỏ.")
class ProcedureEvent:
    row: strawberry.Private[m.ProcedureEvent]

    action: str = column("Thao tác.")
    from_status: str | None = column("Trạng thái trước.")
    to_status: str = column("Trạng thái sau.")
    actor: str = column("Người thực hiện.")
    decision_number: str | None = column("Số quyết định.")
    note: str | None = column("Ghi chú, lý do.")
    at: datetime = column("Thời điểm.")


def _catalog_admin(actor: Actor, rows: str) -> str:
    """SQL: every row (`true`) for the catalog's administrators, else `rows`."""
    return "true" if actor.can_manage_catalog else rows


@strawberry.type(
    description="Thủ tục hành chính, ở một phiên bản: phiên bản đang áp dụng, hoặc phiên bản được chọn."
)
class Procedure:
    procedure: strawberry.Private[m.Procedure]
    row: strawberry.Private[m.ProcedureVersion]

    id: strawberry.ID = identifier("Mã định danh duy nhất của thủ tục.", source="procedure")
    code: str = column("Mã thủ tục trên CSDL quốc gia về TTHC (ví dụ 1.001193).", source="procedure")
    status: m.ProcedureStatus = column("Trạng thái của thủ tục.", source="procedure")
    version: int = column("Số phiên bản đang xem.", "version_no")
    version_state: m.VersionState = column("Trạng thái của phiên bản đang xem.", "state")

    revision: int = column(
        "Số hiệu sửa đổi, dùng để kiểm soát ghi đồng thời (expectedRevision).", source="procedure"
    )

    name: str = column("Tên thủ tục.")

    @strawberry.field(
        description="Cấp thực hiện.",
        metadata={SQL: ToMany(m.AdministrativeLevel, key="code", on="levels", order_by="", array=True)},
    )
    async def levels(self, info: Info[Context, None]) -> list[AdministrativeLevel]:
        rows = await ctx(info).loaders.level_by_code.load_many(self.row.levels)
        return [AdministrativeLevel.from_row(r) for r in rows if r is not None]

    @strawberry.field(
        description="Lĩnh vực.", metadata={SQL: ToOne({"row": Join(m.Field, "field_id")}, required=True)}
    )
    async def field(self, info: Info[Context, None]) -> Field:
        row = await ctx(info).loaders.field_by_id.load(self.row.field_id)
        assert row is not None  # a foreign key guarantees it
        return Field.from_row(row)

    @strawberry.field(
        description="Cơ quan có thẩm quyền (null: UBND/cơ quan của cấp nơi tiếp nhận hồ sơ).",
        metadata={SQL: ToOne({"row": Join(m.Agency, "competent_agency_id")})},
    )
    async def competent_agency(self, info: Info[Context, None]) -> Agency | None:
        if self.row.competent_agency_id is None:
            return None
        row = await ctx(info).loaders.agency_by_id.load(self.row.competent_agency_id)
        return Agency(row=row) if row else None

    @strawberry.field(
        description="Bộ phận Một cửa tiếp nhận (rỗng: mọi Bộ phận Một cửa của cấp thực hiện).",
        metadata={
            SQL: ToMany(
                m.Agency,
                key="id",
                on="id",
                order_by="{link}.position, {link}.agency_id",
                link=Link(m.ProcedureReceivingAgency, parent="version_id", child="agency_id"),
            )
        },
    )
    async def receiving_agencies(self, info: Info[Context, None]) -> list[Agency]:
        rows = await ctx(info).loaders.receiving_agencies_by_version_id.load(self.row.id)
        return [Agency(row=r) for r in rows]

    legal_basis: str = column("Căn cứ pháp lý.")
    online_mode: m.OnlineMode = column("Mức độ dịch vụ công trực tuyến.")

    processing_days: float = column("Thời hạn giải quyết (theo đơn vị timeLimitUnit).", convert=float)
    online_processing_days: float | None = column(
        "Thời hạn rút ngắn khi nộp trực tuyến (theo đơn vị timeLimitUnit), nếu có.", convert=float
    )
    time_limit_unit: m.TimeLimitUnit = column(
        "Đơn vị của thời hạn giải quyết và thời gian các bước (mặc định: ngày làm việc)."
    )

    payment_timing: m.PaymentTiming = column("Thời điểm nộp phí: khi nộp hồ sơ hay trước khi nhận kết quả.")

    @strawberry.field(
        description="Phí, lệ phí.",
        metadata={
            SQL: ToMany(m.ProcedureFee, key="version_id", on="id", order_by="{row}.position, {row}.id")
        },
    )
    async def fees(self, info: Info[Context, None]) -> list[ProcedureFee]:
        rows = await ctx(info).loaders.fees_by_version_id.load(self.row.id)
        return [ProcedureFee.from_row(r) for r in rows]

    @strawberry.field(
        description="Thành phần hồ sơ.",
        metadata={
            SQL: ToMany(m.ProcedureComponent, key="version_id", on="id", order_by="{row}.position, {row}.id")
        },
    )
    async def components(self, info: Info[Context, None]) -> list[ProcedureComponent]:
        rows = await ctx(info).loaders.components_by_version_id.load(self.row.id)
        return [ProcedureComponent.from_row(r) for r in rows]

    @strawberry.field(description="Tờ khai điện tử (JSON Schema, draft 2020-12).")
    def form_schema(self) -> JSON:
        return JSON(self.row.form_schema)

    result_name: str = column("Kết quả thực hiện.")

    @strawberry.field(
        description="Hình thức trả kết quả.",
        # a varchar[] of the members' names (= values; rules.DELIVERY_NAMES admits no other)
        metadata={SQL: Expr("{row}.delivery_methods", nullable=False)},
    )
    def delivery_methods(self) -> list[m.DeliveryMethod]:
        return [m.DeliveryMethod(x) for x in self.row.delivery_methods]

    @strawberry.field(description="Quyết định công bố phiên bản này.", metadata={SQL: DECISION})
    def decision(self) -> Decision | None:
        return _decision(self.row)

    published_at: datetime | None = column("Thời điểm công bố phiên bản này trên hệ thống.")

    @strawberry.field(
        description="Quy trình nội bộ: các bước theo thứ tự.",
        metadata={
            SQL: ToMany(m.WorkflowStep, key="version_id", on="id", order_by="{row}.position, {row}.id")
        },
    )
    async def workflow(self, info: Info[Context, None]) -> list[WorkflowStep]:
        rows = await ctx(info).loaders.steps_by_version_id.load(self.row.id)
        return [WorkflowStep(row=r) for r in rows]

    @strawberry.field(
        description="Mọi phiên bản (dự thảo chỉ hiện với quản trị danh mục).",
        metadata={
            SQL: ToMany(
                m.ProcedureVersion,
                key="procedure_id",
                on="id",
                order_by="{row}.version_no",
                source="procedure",
                where=lambda actor: _catalog_admin(actor, "{row}.state <> 'DRAFT'"),
            )
        },
    )
    async def versions(self, info: Info[Context, None]) -> list[ProcedureVersionInfo]:
        c = ctx(info)
        rows = await c.loaders.versions_by_procedure_id.load(self.procedure.id)
        return [
            ProcedureVersionInfo(row=v)
            for v in rows
            if v.state is not m.VersionState.DRAFT or c.actor.can_manage_catalog
        ]

    @strawberry.field(
        description="Lịch sử vòng đời (chỉ quản trị danh mục).",
        metadata={
            SQL: ToMany(
                m.ProcedureEvent,
                key="procedure_id",
                on="id",
                order_by="{row}.seq",
                source="procedure",
                where=lambda actor: _catalog_admin(actor, "false"),
            )
        },
    )
    async def history(self, info: Info[Context, None]) -> list[ProcedureEvent]:
        c = ctx(info)
        if not c.actor.can_manage_catalog:
            return []
        rows = await c.loaders.events_by_procedure_id.load(self.procedure.id)
        return [ProcedureEvent(row=e) for e in rows]

    @strawberry.field(description="Thao tác vòng đời người gọi được làm lúc này.")
    async def available_actions(self, info: Info[Context, None]) -> list[CatalogAction]:
        c = ctx(info)
        if not c.actor.can_manage_catalog:
            return []
        versions = await c.loaders.versions_by_procedure_id.load(self.procedure.id)
        has_draft = any(v.state is m.VersionState.DRAFT for v in versions)
        return available_actions(self.procedure.status, has_draft=has_draft)
