"""GraphQL types of stored files, the personal data vault (kho dữ liệu điện tử) and the paper
conversions of electronic documents."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.types import Info

from models import dossiers as m
from schema.context import Context
from schema.scalars import ByteCount
from schema.sql import SQL, Join, ToOne
from schema.types.columns import column, identifier
from services import legal
from services.documents.issue import SlipForm

strawberry.enum(
    m.FileStatus,
    description="QUARANTINED chờ kiểm tra, READY dùng được, REJECTED bị từ chối, "
    "DAMAGED nội dung trong kho không còn khớp với bản đã kiểm tra (không tải về được).",
)
strawberry.enum(
    m.VaultSource,
    description="Nguồn giấy tờ: tải lên, bản sao cấp từ sổ gốc, bản sao chứng thực, số hoá tại một cửa, "
    "kết quả.",
)


# What a stored file's name and digest hold, said once (`StoredFile`, `Attachment`, `fileUploadStart`);
# `services.files.clean_filename` and `services.uploads.SHA256` enforce it.
FILENAME_DESCRIPTION = (
    "Tên tệp: 1–255 ký tự, không có ký tự điều khiển (xuống dòng, tab, NUL…); "
    "`/` và `\\` được thay bằng `_`, khoảng trắng đầu và cuối bị bỏ."
)
SHA256_DESCRIPTION = "Mã băm SHA-256 của nội dung: 64 ký tự hexa viết thường (`0-9a-f`)."


@strawberry.type(description="Một tệp đã lưu.")
class StoredFile:
    row: strawberry.Private[m.StoredFile]

    id: strawberry.ID = identifier("Mã tệp.")
    filename: str = column(FILENAME_DESCRIPTION)
    content_type: str = column("Định dạng (MIME), đã kiểm tra theo nội dung.")
    size: ByteCount = column("Dung lượng (byte).")
    sha256: str = column(SHA256_DESCRIPTION)
    status: m.FileStatus = column("Trạng thái.")
    rejection: str | None = column("Lý do từ chối (nếu có).")
    scan_verdict: str | None = column("Kết quả quét mã độc.")


@strawberry.type(description="Giấy tờ trong kho dữ liệu điện tử.")
class VaultDocument:
    row: strawberry.Private[m.VaultDocument]

    id: strawberry.ID = identifier("Mã giấy tờ.")
    title: str = column("Tên.")
    doc_type: str | None = column("Loại giấy tờ.")
    issuer: str | None = column("Cơ quan cấp.")
    issued_on: date | None = column("Ngày cấp.")
    expires_on: date | None = column("Ngày hết hạn.")
    source: m.VaultSource = column("Nguồn.")
    version: int = column("Phiên bản hiện tại.")
    file_id: strawberry.ID = column(
        "Mã tệp của phiên bản hiện tại (dùng làm thành phần hồ sơ).", "file_id", convert=str
    )

    @strawberry.field(
        description="Tệp của phiên bản hiện tại.",
        metadata={SQL: ToOne({"row": Join(m.StoredFile, "file_id")})},
    )
    async def file(self, info: Info[Context, None]) -> StoredFile | None:
        row = await info.context.loaders.file_by_id.load(self.row.file_id)
        return StoredFile(row=row) if row else None


@strawberry.type(description="Một trang giấy tờ trong kho.")
class VaultDocumentPage:
    items: list[VaultDocument] = strawberry.field(description="Giấy tờ.")
    has_next_page: bool = strawberry.field(description="Còn trang sau.")


@strawberry.type(description="Giấy tờ trong kho phù hợp với một thành phần hồ sơ.")
class ComponentSuggestion:
    component_id: strawberry.ID = strawberry.field(description="Thành phần hồ sơ.")
    component_name: str = strawberry.field(description="Tên thành phần.")
    documents: list[VaultDocument] = strawberry.field(description="Giấy tờ gợi ý, phù hợp nhất trước.")


@strawberry.type(description="Sự đồng ý chia sẻ giấy tờ cho một cơ quan.")
class VaultGrant:
    id: strawberry.ID = strawberry.field(description="Mã.")
    agency_id: strawberry.ID = strawberry.field(description="Cơ quan được xem.")
    document_ids: list[strawberry.ID] | None = strawberry.field(
        description="Giấy tờ được chia sẻ (null: tất cả)."
    )
    purpose: str = strawberry.field(description="Mục đích.")
    expires_at: datetime = strawberry.field(description="Hết hạn.")
    revoked_at: datetime | None = strawberry.field(description="Đã thu hồi lúc.")

    @classmethod
    def from_row(cls, r: m.VaultGrant) -> VaultGrant:
        return cls(
            id=strawberry.ID(str(r.id)),
            agency_id=strawberry.ID(str(r.agency_id)),
            document_ids=[strawberry.ID(str(d)) for d in r.document_ids]
            if r.document_ids is not None
            else None,
            purpose=r.purpose,
            expires_at=r.expires_at,
            revoked_at=r.revoked_at,
        )


@strawberry.type(description="Một lần cơ quan xem giấy tờ trong kho của bạn.")
class VaultAccess:
    document_id: strawberry.ID = strawberry.field(description="Giấy tờ.")
    actor: str = strawberry.field(description="Người xem.")
    at: datetime = strawberry.field(description="Thời điểm.")
    basis: str = strawberry.field(
        description="Căn cứ: DOSSIER (hồ sơ đang giải quyết) hoặc GRANT (bạn đã đồng ý)."
    )


_OLD, _NEW = legal.text("circular-01-2018"), legal.text("circular-03-2025")
_SWITCH = _NEW.effective_from

strawberry.enum(
    SlipForm,
    description=f"Mẫu phiếu, theo bộ biểu mẫu có hiệu lực vào ngày tiếp nhận hồ sơ ({_OLD.short} "
    f"trước ngày {_SWITCH:%d/%m/%Y}, {_NEW.short} từ ngày đó): RECEIPT 01 tiếp nhận và hẹn trả, "
    "COMPLETION_REQUEST 02 yêu cầu bổ sung, REFUSAL_OF_RECEIPT 03 từ chối tiếp nhận, giải quyết, "
    f"APOLOGY 04 xin lỗi và hẹn lại ({_NEW.short}: đề nghị gia hạn), STOP_NOTICE 05 thông báo dừng giải "
    f"quyết (chỉ {_NEW.short}, khi hồ sơ bị rút), CONTROL_SLIP kiểm soát quá trình (05, {_NEW.short}: 06).",
)


@strawberry.type(description="Kết quả xác minh bản chuyển đổi (không có thông tin cá nhân).")
class ConversionVerification:
    verification_code: str = strawberry.field(description="Mã xác minh.")
    title: str = strawberry.field(description="Tên văn bản gốc.")
    source_system: str = strawberry.field(description="Hệ thống chuyển đổi.")
    issuing_agency: str | None = strawberry.field(description="Cơ quan chuyển đổi (nếu là cán bộ).")
    converted_at: datetime = strawberry.field(description="Thời điểm chuyển đổi.")
    checksum_sha256: str = strawberry.field(description="Mã băm SHA-256 của văn bản điện tử gốc.")
