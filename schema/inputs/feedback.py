"""GraphQL inputs of feedback and questions (phản ánh, kiến nghị, câu hỏi)."""

from __future__ import annotations

import strawberry

# The GraphQL enums (with their descriptions) are registered with the types: import those first.
import schema.types.feedback  # noqa: F401
from models.feedback import InquiryChannel, InquiryKind


@strawberry.input(description="Phản ánh, kiến nghị hoặc câu hỏi gửi trực tuyến.")
class InquiryInput:
    kind: InquiryKind = strawberry.field(description="Phản ánh, kiến nghị (FEEDBACK) hay câu hỏi (QUESTION).")
    title: str = strawberry.field(description="Tiêu đề (tối đa 300 ký tự).")
    content: str = strawberry.field(description="Nội dung (10–10.000 ký tự).")
    procedure_code: str | None = strawberry.field(default=None, description="Về thủ tục (mã thủ tục).")
    agency_code: str | None = strawberry.field(default=None, description="Về cơ quan (mã cơ quan).")
    dossier_id: strawberry.ID | None = strawberry.field(default=None, description="Về hồ sơ của mình.")
    latitude: float | None = strawberry.field(default=None, description="Vĩ độ nơi xảy ra (nếu có).")
    longitude: float | None = strawberry.field(default=None, description="Kinh độ nơi xảy ra (nếu có).")
    location_address: str | None = strawberry.field(
        default=None,
        description=(
            "Địa điểm xảy ra (nếu có, tối đa 500 ký tự); công khai cùng câu trả lời, đã ẩn dữ liệu cá nhân."
        ),
    )


@strawberry.input(description="Phản ánh, câu hỏi nhận qua thư, điện thoại, thư điện tử (cán bộ nhập).")
class InquiryRecordInput:
    kind: InquiryKind = strawberry.field(description="Loại.")
    channel: InquiryChannel = strawberry.field(description="LETTER, PHONE hoặc EMAIL.")
    receiving_agency_code: str = strawberry.field(description="Cơ quan tiếp nhận (nơi cán bộ làm đầu mối).")
    name: str = strawberry.field(description="Họ tên người gửi.")
    email: str | None = strawberry.field(default=None, description="Thư điện tử để nhận trả lời.")
    phone: str | None = strawberry.field(default=None, description="Số điện thoại để nhận trả lời.")
    address: str | None = strawberry.field(default=None, description="Địa chỉ.")
    title: str = strawberry.field(description="Tiêu đề.")
    content: str = strawberry.field(description="Nội dung.")
    procedure_code: str | None = strawberry.field(default=None, description="Về thủ tục (mã thủ tục).")
    agency_code: str | None = strawberry.field(default=None, description="Về cơ quan (mã cơ quan).")
    dossier_id: strawberry.ID | None = strawberry.field(
        default=None, description="Về hồ sơ do cơ quan tiếp nhận."
    )
