"""What the file, vault, document and archive mutations answer, or a typed error."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from schema.errors import NotFound, Refused, ValidationFailed
from schema.types.files import StoredFile, VaultDocument, VaultGrant


@strawberry.type(description="Phiếu tải lên: gửi tệp thẳng tới kho lưu trữ bằng biểu mẫu POST này.")
class UploadTicket:
    file: StoredFile = strawberry.field(description="Tệp (đang chờ kiểm tra).")
    url: str = strawberry.field(description="Địa chỉ POST (multipart/form-data).")
    fields: JSON = strawberry.field(description="Các trường biểu mẫu, gửi trước trường `file`.")
    expires_at: datetime = strawberry.field(description="Hết hạn lúc.")


@strawberry.type(description="Đường dẫn tải về ngắn hạn (đã ghi nhận).")
class DownloadLink:
    url: str = strawberry.field(description="Địa chỉ tải về.")
    expires_at: datetime = strawberry.field(description="Hết hạn lúc.")


@strawberry.type(description="Tệp sau thao tác.")
class FileResult:
    file: StoredFile = strawberry.field(description="Tệp.")


@strawberry.type(description="Giấy tờ sau thao tác.")
class VaultDocumentSaved:
    document: VaultDocument = strawberry.field(description="Giấy tờ.")


@strawberry.type(description="Chia sẻ sau thao tác.")
class VaultGrantSaved:
    grant: VaultGrant = strawberry.field(description="Chia sẻ.")


UploadResult = Annotated[
    UploadTicket | ValidationFailed | Refused, strawberry.union("UploadStartResult", description="Kết quả.")
]
CompleteResult = Annotated[
    FileResult | NotFound | Refused, strawberry.union("UploadCompleteResult", description="Kết quả.")
]
DownloadResult = Annotated[
    DownloadLink | NotFound | Refused, strawberry.union("DownloadResult", description="Kết quả.")
]
DocumentResult = Annotated[
    VaultDocumentSaved | ValidationFailed | NotFound | Refused,
    strawberry.union("VaultDocumentResult", description="Kết quả."),
]
GrantResult = Annotated[
    VaultGrantSaved | ValidationFailed | NotFound | Refused,
    strawberry.union("VaultGrantResult", description="Kết quả."),
]


@strawberry.type(description="Văn bản đã chuyển đổi sang giấy; mã xác minh in trên bản giấy.")
class PaperConverted:
    file: StoredFile = strawberry.field(description="Tệp PDF để in.")
    verification_code: str = strawberry.field(description="Mã xác minh.")
    verification_url: str = strawberry.field(description="Địa chỉ xác minh (trong mã QR).")


ConvertResult = Annotated[
    PaperConverted | NotFound | Refused, strawberry.union("PaperConvertResult", description="Kết quả.")
]


@strawberry.type(description="Gói lưu trữ đã xuất.")
class ArchiveExported:
    file: StoredFile = strawberry.field(
        description="Tệp zip (tệp, siêu dữ liệu, phiếu kiểm soát, bản kê mã băm)."
    )
    dossiers: int = strawberry.field(description="Số hồ sơ đã chuyển sang lưu trữ.")


ArchiveResult = Annotated[
    ArchiveExported | NotFound | Refused, strawberry.union("ArchiveExportResult", description="Kết quả.")
]
