"""GraphQL input types of the catalog and their conversion into the services' plain records."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.scalars import JSON

from models.catalog import (
    CopyType,
    DeliveryMethod,
    FeeKind,
    OnlineMode,
    PaymentTiming,
    ProcedureStatus,
    StepAgencyRef,
    TimeLimitUnit,
)
from schema.types.catalog import WorkflowRole
from services.catalog import data
from services.catalog.levels import LevelData


def _days(value: float) -> Decimal:
    # Floats from JSON: 1.5 arrives as 1.5 exactly, but go through str to keep 0.1 as 0.1.
    return Decimal(str(value))


@strawberry.input(description="Tài khoản thu phí, lệ phí.")
class FeeAccountInput:
    number: str = strawberry.field(description="Số tài khoản.")
    bank: str = strawberry.field(description="Ngân hàng / Kho bạc.")
    holder: str = strawberry.field(description="Chủ tài khoản.")


@strawberry.input(description="Thông tin cơ quan.")
class AgencyInput:
    code: str = strawberry.field(description="Mã cơ quan (ví dụ H44.19).")
    name: str = strawberry.field(description="Tên cơ quan.")
    level_code: str = strawberry.field(description="Mã cấp hành chính (province, commune…).")
    electronic_id: str | None = strawberry.field(default=None, description="Mã định danh điện tử.")
    parent_code: str | None = strawberry.field(default=None, description="Mã cơ quan cấp trên.")
    is_one_stop_unit: bool = strawberry.field(default=False, description="Là Bộ phận Một cửa.")
    fee_account: FeeAccountInput | None = strawberry.field(default=None, description="Tài khoản thu.")
    support_phone: str | None = strawberry.field(default=None, description="Điện thoại hỗ trợ.")
    address: str | None = strawberry.field(default=None, description="Địa chỉ.")
    email: str | None = strawberry.field(default=None, description="Thư điện tử chính thức (công khai).")
    valid_from: date | None = strawberry.field(default=None, description="Ngày bắt đầu hoạt động.")

    def to_data(self) -> data.AgencyData:
        acc = self.fee_account
        return data.AgencyData(
            code=self.code.strip(),
            name=self.name,
            level_code=self.level_code,
            electronic_id=self.electronic_id.strip() if self.electronic_id else None,
            parent_code=self.parent_code,
            is_one_stop_unit=self.is_one_stop_unit,
            fee_account=data.FeeAccountData(acc.number, acc.bank, acc.holder) if acc else None,
            support_phone=self.support_phone,
            address=self.address,
            email=self.email,
            valid_from=self.valid_from,
        )


@strawberry.input(description="Thông tin cấp hành chính.")
class AdministrativeLevelInput:
    code: str = strawberry.field(description="Mã cấp (chữ thường, ví dụ commune).")
    name: str = strawberry.field(description="Tên cấp (ví dụ Cấp xã).")
    rank: int = strawberry.field(description="Thứ bậc: 1 là cấp cao nhất.")

    def to_data(self) -> LevelData:
        return LevelData(code=self.code.strip(), name=self.name, rank=self.rank)


@strawberry.input(description="Thông tin lĩnh vực.")
class FieldInput:
    code: str = strawberry.field(description="Mã lĩnh vực (chữ in hoa, số, _).")
    name: str = strawberry.field(description="Tên lĩnh vực.")

    def to_data(self) -> data.FieldData:
        return data.FieldData(code=self.code.strip(), name=self.name)


@strawberry.input(description="Thành phần hồ sơ.")
class ComponentInput:
    name: str = strawberry.field(description="Tên giấy tờ.")
    required: bool = strawberry.field(default=True, description="Bắt buộc.")
    copy_type: CopyType = strawberry.field(default=CopyType.ORIGINAL_OR_COPY, description="Loại bản.")
    count: int = strawberry.field(default=1, description="Số lượng.")
    template_url: str | None = strawberry.field(default=None, description="Đường dẫn mẫu.")
    accepted_formats: list[str] = strawberry.field(
        default_factory=lambda: ["application/pdf", "image/jpeg", "image/png"],
        description="Định dạng tệp chấp nhận (MIME).",
    )
    max_size_mb: float = strawberry.field(default=10, description="Dung lượng tối đa (MB).")

    def to_data(self) -> data.ComponentData:
        return data.ComponentData(
            name=self.name,
            required=self.required,
            copy_type=self.copy_type,
            count=self.count,
            template_url=self.template_url,
            accepted_formats=tuple(self.accepted_formats),
            max_size_mb=Decimal(str(self.max_size_mb)),
        )


@strawberry.input(description="Phí hoặc lệ phí.")
class FeeInput:
    kind: FeeKind = strawberry.field(description="Phí hay lệ phí.")
    name: str = strawberry.field(description="Tên khoản thu.")
    amount: int = strawberry.field(description="Mức thu (VND).")
    online_amount: int | None = strawberry.field(default=None, description="Mức thu khi nộp trực tuyến.")
    note: str | None = strawberry.field(default=None, description="Ghi chú.")

    def to_data(self) -> data.FeeData:
        return data.FeeData(self.kind, self.name, self.amount, self.online_amount, self.note)


@strawberry.input(description="Một bước quy trình nội bộ.")
class WorkflowStepInput:
    name: str = strawberry.field(description="Tên bước.")
    agency_ref: StepAgencyRef = strawberry.field(description="Ai thực hiện.")
    role: WorkflowRole = strawberry.field(description="Vai trò thực hiện.")
    days: float = strawberry.field(description="Thời gian (ngày làm việc, bội số của 0,5).")
    agency_code: str | None = strawberry.field(
        default=None, description="Mã cơ quan khi agencyRef = AGENCY (liên thông)."
    )

    def to_data(self) -> data.StepData:
        return data.StepData(self.name, self.agency_ref, self.role.value, _days(self.days), self.agency_code)


@strawberry.input(description="Nội dung một phiên bản thủ tục.")
class ProcedureInput:
    code: str = strawberry.field(description="Mã thủ tục trên CSDL quốc gia.")
    name: str = strawberry.field(description="Tên thủ tục.")
    field_code: str = strawberry.field(description="Mã lĩnh vực.")
    levels: list[str] = strawberry.field(description="Các cấp thực hiện.")
    online_mode: OnlineMode = strawberry.field(description="Mức độ trực tuyến.")
    processing_days: float = strawberry.field(description="Thời hạn giải quyết (theo timeLimitUnit).")
    result_name: str = strawberry.field(description="Kết quả thực hiện.")
    delivery_methods: list[DeliveryMethod] = strawberry.field(description="Hình thức trả kết quả.")
    components: list[ComponentInput] = strawberry.field(description="Thành phần hồ sơ.")
    workflow: list[WorkflowStepInput] = strawberry.field(description="Quy trình nội bộ.")
    # No object default: graphql-core cannot show an object default in introspection (GraphiQL failed).
    form_schema: JSON | None = strawberry.field(
        default=None, description='Tờ khai điện tử (JSON Schema); bỏ trống: tờ khai trống {"type": "object"}.'
    )
    fees: list[FeeInput] = strawberry.field(default_factory=list, description="Phí, lệ phí.")
    online_processing_days: float | None = strawberry.field(
        default=None, description="Thời hạn khi nộp trực tuyến."
    )
    payment_timing: PaymentTiming = strawberry.field(
        default=PaymentTiming.AT_SUBMISSION,
        description="Nộp phí khi nộp hồ sơ (AT_SUBMISSION) hay trước khi nhận kết quả (BEFORE_RESULT).",
    )
    competent_agency_code: str | None = strawberry.field(default=None, description="Cơ quan có thẩm quyền.")
    receiving_agency_codes: list[str] = strawberry.field(
        default_factory=list, description="Bộ phận Một cửa tiếp nhận."
    )
    legal_basis: str = strawberry.field(default="", description="Căn cứ pháp lý.")
    time_limit_unit: TimeLimitUnit = strawberry.field(
        default=TimeLimitUnit.WORKING_DAYS,
        description="Đơn vị của thời hạn và thời gian các bước (mặc định: ngày làm việc).",
    )
    change_note: str | None = strawberry.field(default=None, description="Nội dung sửa đổi.")

    def to_data(self) -> data.ProcedureData:
        if self.form_schema is None:
            schema: dict[str, Any] = {"type": "object"}
        else:
            schema = self.form_schema if isinstance(self.form_schema, dict) else {"type": None}
        return data.ProcedureData(
            code=self.code.strip(),
            name=self.name,
            field_code=self.field_code,
            levels=tuple(self.levels),
            online_mode=self.online_mode,
            processing_days=_days(self.processing_days),
            result_name=self.result_name,
            delivery_methods=tuple(m.value for m in self.delivery_methods),
            components=tuple(c.to_data() for c in self.components),
            steps=tuple(s.to_data() for s in self.workflow),
            form_schema=schema,
            fees=tuple(f.to_data() for f in self.fees),
            online_processing_days=_days(self.online_processing_days)
            if self.online_processing_days is not None
            else None,
            payment_timing=self.payment_timing,
            competent_agency_code=self.competent_agency_code,
            receiving_agency_codes=tuple(self.receiving_agency_codes),
            legal_basis=self.legal_basis,
            time_limit_unit=self.time_limit_unit,
            change_note=self.change_note,
        )


@strawberry.input(description="Quyết định công bố / bãi bỏ.")
class DecisionInput:
    number: str = strawberry.field(description="Số quyết định.")
    date: date = strawberry.field(description="Ngày quyết định.")

    def to_data(self) -> data.DecisionData:
        return data.DecisionData(self.number, self.date)


@strawberry.input(description="Bộ lọc danh sách thủ tục.")
class ProcedureFilterInput:
    level: str | None = strawberry.field(default=None, description="Mã cấp thực hiện.")
    agency_code: str | None = strawberry.field(
        default=None, description="Mã cơ quan có thẩm quyền hoặc tiếp nhận."
    )
    field_code: str | None = strawberry.field(default=None, description="Mã lĩnh vực.")
    online_mode: OnlineMode | None = strawberry.field(default=None, description="Mức độ trực tuyến.")
    status: ProcedureStatus | None = strawberry.field(
        default=None,
        description="Trạng thái (mặc định: đã công bố; DRAFT chỉ dành cho quản trị danh mục).",
    )
