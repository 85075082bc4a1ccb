"""GraphQL inputs of dossiers: the draft, its component files, the applicant at the counter, the
search filter and the satisfaction scores."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

# The GraphQL enums (with their descriptions) are registered with the types: import those first.
import schema.types.dossiers  # noqa: F401
from models.catalog import DeliveryMethod
from models.dossiers import DossierStatus
from services import legal


@strawberry.input(description="Tệp của một thành phần hồ sơ.")
class ComponentFilesInput:
    component_id: strawberry.ID = strawberry.field(description="Mã thành phần hồ sơ của thủ tục.")
    file_ids: list[strawberry.ID] = strawberry.field(
        description="Các tệp đã tải lên (hoặc lấy từ kho dữ liệu)."
    )


@strawberry.input(description="Hồ sơ nháp.")
class DossierDraftInput:
    procedure_code: str = strawberry.field(description="Mã thủ tục.")
    receiving_agency_code: str = strawberry.field(description="Bộ phận Một cửa nộp vào.")
    form_data: JSON = strawberry.field(description="Tờ khai điện tử (theo formSchema của thủ tục).")
    components: list[ComponentFilesInput] = strawberry.field(
        default_factory=list, description="Thành phần hồ sơ."
    )
    delivery_method: DeliveryMethod | None = strawberry.field(
        default=None, description="Hình thức nhận kết quả (một hình thức thủ tục cho phép)."
    )
    competent_agency_code: str | None = strawberry.field(
        default=None,
        description="Cơ quan có thẩm quyền giải quyết, khi nộp tại Bộ phận Một cửa khác trong tỉnh "
        f"({legal.text('decree-118-2025').short}): bắt buộc khi thủ tục không nêu cơ quan giải quyết và nơi "
        "nộp không giải quyết thủ tục này.",
    )


@strawberry.input(description="Người nộp (hồ sơ nộp trực tiếp hoặc qua bưu chính).")
class ApplicantInput:
    name: str = strawberry.field(description="Họ tên / tên tổ chức.")
    id_number: str | None = strawberry.field(default=None, description="Số định danh / mã số thuế.")
    phone: str | None = strawberry.field(default=None, description="Điện thoại.")
    email: str | None = strawberry.field(default=None, description="Thư điện tử.")
    address: str | None = strawberry.field(default=None, description="Địa chỉ.")


@strawberry.input(description="Bộ lọc tìm kiếm hồ sơ.")
class DossierFilterInput:
    code: str | None = strawberry.field(default=None, description="Mã hồ sơ (hoặc phần đầu).")
    applicant: str | None = strawberry.field(default=None, description="Tên hoặc số định danh người nộp.")
    procedure_code: str | None = strawberry.field(default=None, description="Mã thủ tục.")
    status: DossierStatus | None = strawberry.field(default=None, description="Trạng thái.")
    overdue: bool | None = strawberry.field(
        default=None, description="Chỉ hồ sơ quá hạn (true) / chưa quá hạn."
    )
    near_deadline: bool | None = strawberry.field(
        default=None, description="Chỉ hồ sơ sắp đến hạn (trong 1 ngày)."
    )
    received_from: datetime | None = strawberry.field(default=None, description="Tiếp nhận từ.")
    received_to: datetime | None = strawberry.field(default=None, description="Tiếp nhận đến (không gồm).")


@strawberry.input(description="Điểm của một tiêu chí (1 rất không hài lòng … 5 rất hài lòng).")
class ScoreInput:
    criterion: str = strawberry.field(description="RECEPTION, GUIDANCE, TIMELINESS, RESULT hoặc ATTITUDE.")
    score: int = strawberry.field(description="Điểm 1–5.")
