"""Files (presigned uploads and downloads) and the personal data vault."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON
from strawberry.types import Info

from models import dossiers as m
from resolvers.common import parse_id, run_command
from schema.context import Context
from schema.errors import ClientError, NotFound, Refused, ValidationFailed
from schema.permissions import PERSON
from services import archive, uploads, vault
from services.catalog.queries import procedure_by_code
from services.documents import issue as documents
from services.documents.issue import SlipForm
from services.errors import NotFound as DomainNotFound
from services.errors import ValidationFailed as DomainValidationFailed
from storage.s3 import ObjectStore

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


@strawberry.type(description="Một tệp đã lưu.")
class StoredFile:
    row: strawberry.Private[m.StoredFile]

    @strawberry.field(description="Mã tệp.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field(description="Tên tệp.")
    def filename(self) -> str:
        return self.row.filename

    @strawberry.field(description="Định dạng (MIME), đã kiểm tra theo nội dung.")
    def content_type(self) -> str:
        return self.row.content_type

    @strawberry.field(description="Dung lượng (byte).")
    def size(self) -> float:
        return float(self.row.size)

    @strawberry.field(description="Mã băm SHA-256.")
    def sha256(self) -> str:
        return self.row.sha256

    @strawberry.field(description="Trạng thái.")
    def status(self) -> m.FileStatus:
        return self.row.status

    @strawberry.field(description="Lý do từ chối (nếu có).")
    def rejection(self) -> str | None:
        return self.row.rejection

    @strawberry.field(description="Kết quả quét mã độc.")
    def scan_verdict(self) -> str | None:
        return self.row.scan_verdict


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


@strawberry.type(description="Giấy tờ trong kho dữ liệu điện tử.")
class VaultDocument:
    row: strawberry.Private[m.VaultDocument]

    @strawberry.field(description="Mã giấy tờ.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field(description="Tên.")
    def title(self) -> str:
        return self.row.title

    @strawberry.field(description="Loại giấy tờ.")
    def doc_type(self) -> str | None:
        return self.row.doc_type

    @strawberry.field(description="Cơ quan cấp.")
    def issuer(self) -> str | None:
        return self.row.issuer

    @strawberry.field(description="Ngày cấp.")
    def issued_on(self) -> date | None:
        return self.row.issued_on

    @strawberry.field(description="Ngày hết hạn.")
    def expires_on(self) -> date | None:
        return self.row.expires_on

    @strawberry.field(description="Nguồn.")
    def source(self) -> m.VaultSource:
        return self.row.source

    @strawberry.field(description="Phiên bản hiện tại.")
    def version(self) -> int:
        return self.row.version

    @strawberry.field(description="Mã tệp của phiên bản hiện tại (dùng làm thành phần hồ sơ).")
    def file_id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.file_id))

    @strawberry.field(description="Tệp của phiên bản hiện tại.")
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


def _store(ctx: Context) -> ObjectStore:
    if ctx.store is None:
        raise ClientError("Kho lưu trữ tệp chưa được cấu hình.", "UNAVAILABLE")
    return ctx.store


@strawberry.type
class FileQuery:
    @strawberry.field(description="Giấy tờ trong kho dữ liệu của tôi.", extensions=PERSON)
    async def vault_documents(
        self, info: Info[Context, None], search: str | None = None, offset: int = 0, limit: int = 50
    ) -> VaultDocumentPage:
        if not 0 <= offset <= 100_000 or not 1 <= limit <= 100:
            raise ClientError("offset từ 0 và limit từ 1 đến 100.", "OUT_OF_RANGE")
        ctx = info.context
        try:
            async with ctx.db.session() as session:
                rows, more = await vault.documents(
                    session, ctx.actor, search=search, offset=offset, limit=limit
                )
        except DomainValidationFailed as error:
            raise ClientError.of(error) from error
        return VaultDocumentPage(items=[VaultDocument(row=r) for r in rows], has_next_page=more)

    @strawberry.field(
        description="Gợi ý giấy tờ trong kho cho từng thành phần hồ sơ của một thủ tục.", extensions=PERSON
    )
    async def vault_suggestions(
        self, info: Info[Context, None], procedure_code: str
    ) -> list[ComponentSuggestion]:
        ctx = info.context
        async with ctx.db.session() as session:
            found = await procedure_by_code(session, procedure_code, version_no=None, may_see_drafts=False)
            if found is None:
                return []
            items = await vault.suggestions(session, ctx.actor, found[1].id)
        return [
            ComponentSuggestion(
                component_id=strawberry.ID(str(s.component.id)),
                component_name=s.component.name,
                documents=[VaultDocument(row=d) for d in s.documents],
            )
            for s in items
        ]

    @strawberry.field(description="Các chia sẻ tôi đã đồng ý.", extensions=PERSON)
    async def vault_grants(self, info: Info[Context, None]) -> list[VaultGrant]:
        async with info.context.db.session() as session:
            return [VaultGrant.from_row(r) for r in await vault.grants_of(session, info.context.actor)]

    @strawberry.field(description="Ai đã xem giấy tờ trong kho của tôi.", extensions=PERSON)
    async def vault_accesses(self, info: Info[Context, None]) -> list[VaultAccess]:
        async with info.context.db.session() as session:
            rows = await vault.accesses_of(session, info.context.actor)
        return [
            VaultAccess(
                document_id=strawberry.ID(str(r.document_id)), actor=r.actor_label, at=r.at, basis=r.basis
            )
            for r in rows
        ]


@strawberry.type
class FileMutation:
    @strawberry.mutation(
        description="Bắt đầu tải tệp lên: khai báo tên, định dạng, dung lượng, SHA-256; nhận biểu mẫu POST "
        "có chữ ký để gửi tệp thẳng tới kho lưu trữ.",
        extensions=PERSON,
    )
    async def file_upload_start(
        self, info: Info[Context, None], filename: str, content_type: str, size: int, sha256: str
    ) -> UploadResult:
        ctx = info.context
        store = _store(ctx)

        async def command(session: AsyncSession) -> UploadTicket:
            t = await uploads.start_upload(
                session,
                store,
                ctx.actor,
                filename=filename,
                content_type=content_type,
                size=size,
                sha256=sha256,
                now=ctx.now,
            )
            return UploadTicket(
                file=StoredFile(row=t.file), url=t.url, fields=JSON(t.fields), expires_at=t.expires_at
            )

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Hoàn tất tải lên: kiểm tra dung lượng, mã băm, định dạng thật và quét mã độc.",
        extensions=PERSON,
    )
    async def file_upload_complete(self, info: Info[Context, None], file_id: strawberry.ID) -> CompleteResult:
        ctx = info.context
        store = _store(ctx)

        async def command(session: AsyncSession) -> FileResult:
            row = await uploads.complete_upload(
                session, store, ctx.scanner, ctx.actor, parse_id(file_id, "fileId"), now=ctx.now
            )
            return FileResult(file=StoredFile(row=row))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(description="Lấy đường dẫn tải tệp (ngắn hạn, được ghi nhận).", extensions=PERSON)
    async def file_download(self, info: Info[Context, None], file_id: strawberry.ID) -> DownloadResult:
        ctx = info.context
        store = _store(ctx)

        async def command(session: AsyncSession) -> DownloadLink:
            file = await session.get(m.StoredFile, parse_id(file_id, "fileId"))
            basis = await vault.download_basis(session, ctx.actor, file, now=ctx.now) if file else None
            if file is None or basis is None:
                raise DomainNotFound("tệp", str(file_id))
            link = await uploads.download(
                session, store, ctx.actor, file, basis=basis, now=ctx.now, address=ctx.meta.address
            )
            return DownloadLink(url=link.url, expires_at=link.expires_at)

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(description="Đưa một tệp đã tải lên vào kho dữ liệu.", extensions=PERSON)
    async def vault_document_add(
        self,
        info: Info[Context, None],
        file_id: strawberry.ID,
        title: str,
        doc_type: str | None = None,
        issuer: str | None = None,
        issued_on: date | None = None,
        expires_on: date | None = None,
        origin: m.VaultSource = m.VaultSource.UPLOAD,
    ) -> DocumentResult:
        ctx = info.context

        async def command(session: AsyncSession) -> VaultDocumentSaved:
            data = vault.DocumentData(title, doc_type, issuer, issued_on, expires_on, origin)
            doc = await vault.add_document(session, ctx.actor, parse_id(file_id, "fileId"), data, now=ctx.now)
            return VaultDocumentSaved(document=VaultDocument(row=doc))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(description="Đổi tên giấy tờ.", extensions=PERSON)
    async def vault_document_rename(
        self, info: Info[Context, None], id: strawberry.ID, title: str
    ) -> DocumentResult:
        ctx = info.context

        async def command(session: AsyncSession) -> VaultDocumentSaved:
            return VaultDocumentSaved(
                document=VaultDocument(row=await vault.rename(session, ctx.actor, parse_id(id, "id"), title))
            )

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Thay nội dung giấy tờ bằng phiên bản mới (giữ lịch sử).", extensions=PERSON
    )
    async def vault_document_new_version(
        self, info: Info[Context, None], id: strawberry.ID, file_id: strawberry.ID
    ) -> DocumentResult:
        ctx = info.context

        async def command(session: AsyncSession) -> VaultDocumentSaved:
            doc = await vault.new_version(
                session, ctx.actor, parse_id(id, "id"), parse_id(file_id, "fileId"), now=ctx.now
            )
            return VaultDocumentSaved(document=VaultDocument(row=doc))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Xoá giấy tờ (không xoá được kết quả và bản sao do cơ quan nhà nước cấp).",
        extensions=PERSON,
    )
    async def vault_document_delete(self, info: Info[Context, None], id: strawberry.ID) -> DocumentResult:
        ctx = info.context

        async def command(session: AsyncSession) -> VaultDocumentSaved:
            return VaultDocumentSaved(
                document=VaultDocument(
                    row=await vault.delete(session, ctx.actor, parse_id(id, "id"), now=ctx.now)
                )
            )

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Đồng ý cho một cơ quan xem giấy tờ (phạm vi, mục đích, thời hạn).", extensions=PERSON
    )
    async def vault_grant_create(
        self,
        info: Info[Context, None],
        agency_code: str,
        purpose: str,
        expires_at: datetime,
        document_ids: list[strawberry.ID] | None = None,
    ) -> GrantResult:
        ctx = info.context

        async def command(session: AsyncSession) -> VaultGrantSaved:
            ids = [parse_id(d, "documentIds") for d in document_ids] if document_ids is not None else None
            row = await vault.grant(
                session,
                ctx.actor,
                agency_code=agency_code,
                document_ids=ids,
                purpose=purpose,
                expires_at=expires_at,
                now=ctx.now,
            )
            return VaultGrantSaved(grant=VaultGrant.from_row(row))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(description="Thu hồi một chia sẻ.", extensions=PERSON)
    async def vault_grant_revoke(self, info: Info[Context, None], id: strawberry.ID) -> GrantResult:
        ctx = info.context

        async def command(session: AsyncSession) -> VaultGrantSaved:
            return VaultGrantSaved(
                grant=VaultGrant.from_row(
                    await vault.revoke_grant(session, ctx.actor, parse_id(id, "id"), now=ctx.now)
                )
            )

        return await run_command(info, command)  # type: ignore[return-value]


strawberry.enum(
    SlipForm,
    description="Mẫu phiếu (TT 01/2018/TT-VPCP): 01 tiếp nhận, 02 yêu cầu bổ sung, 03 từ chối, "
    "04 xin lỗi hẹn lại, 05 kiểm soát quá trình.",
)


@strawberry.type(description="Văn bản đã chuyển đổi sang giấy; mã xác minh in trên bản giấy.")
class PaperConverted:
    file: StoredFile = strawberry.field(description="Tệp PDF để in.")
    verification_code: str = strawberry.field(description="Mã xác minh.")
    verification_url: str = strawberry.field(description="Địa chỉ xác minh (trong mã QR).")


@strawberry.type(description="Kết quả xác minh bản chuyển đổi (không có thông tin cá nhân).")
class ConversionVerification:
    verification_code: str = strawberry.field(description="Mã xác minh.")
    title: str = strawberry.field(description="Tên văn bản gốc.")
    source_system: str = strawberry.field(description="Hệ thống chuyển đổi.")
    issuing_agency: str | None = strawberry.field(description="Cơ quan chuyển đổi (nếu là cán bộ).")
    converted_at: datetime = strawberry.field(description="Thời điểm chuyển đổi.")
    checksum_sha256: str = strawberry.field(description="Mã băm SHA-256 của văn bản điện tử gốc.")


ConvertResult = Annotated[
    PaperConverted | NotFound | Refused, strawberry.union("PaperConvertResult", description="Kết quả.")
]


@strawberry.type
class DocumentQuery:
    @strawberry.field(
        description="Xác minh bản giấy chuyển đổi từ văn bản điện tử theo mã in trên giấy (công khai)."
    )
    async def conversion_verify(self, info: Info[Context, None], code: str) -> ConversionVerification | None:
        async with info.context.db.session() as session:
            found = await documents.verify(session, code)
        if found is None:
            return None
        row, agency = found
        return ConversionVerification(
            verification_code=row.verification_code,
            title=row.title,
            source_system=documents.SYSTEM_NAME,
            issuing_agency=agency,
            converted_at=row.converted_at,
            checksum_sha256=row.source_checksum,
        )


@strawberry.type
class DocumentMutation:
    @strawberry.mutation(description="Lập phiếu của hồ sơ (PDF, lưu cùng hồ sơ).", extensions=PERSON)
    async def dossier_slip(
        self, info: Info[Context, None], id: strawberry.ID, form: SlipForm
    ) -> CompleteResult:
        ctx = info.context
        store = _store(ctx)

        async def command(session: AsyncSession) -> FileResult:
            row = await documents.issue_slip(
                session,
                store,
                ctx.actor,
                parse_id(id, "id"),
                form,
                now=ctx.now,
                zone=ctx.settings.zone,
                base_url=ctx.settings.public_base_url,
            )
            return FileResult(file=StoredFile(row=row))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Chuyển đổi một văn bản điện tử được phép xem sang bản giấy có mã xác minh.",
        extensions=PERSON,
    )
    async def paper_convert(self, info: Info[Context, None], file_id: strawberry.ID) -> ConvertResult:
        ctx = info.context
        store = _store(ctx)

        async def command(session: AsyncSession) -> PaperConverted:
            row, output = await documents.convert(
                session,
                store,
                ctx.actor,
                parse_id(file_id, "fileId"),
                now=ctx.now,
                zone=ctx.settings.zone,
                base_url=ctx.settings.public_base_url,
            )
            url = f"{ctx.settings.public_base_url.rstrip('/')}/xac-minh/{row.verification_code}"
            return PaperConverted(
                file=StoredFile(row=output), verification_code=row.verification_code, verification_url=url
            )

        return await run_command(info, command)  # type: ignore[return-value]


@strawberry.type
class CounterMutation:
    @strawberry.mutation(
        description="Số hoá tại một cửa: đưa bản quét đã gắn vào hồ sơ vào kho dữ liệu của người nộp "
        "(khi người nộp đồng ý).",
        extensions=PERSON,
    )
    async def dossier_digitise_to_vault(
        self,
        info: Info[Context, None],
        dossier_id: strawberry.ID,
        file_id: strawberry.ID,
        title: str,
        consent: bool,
    ) -> DocumentResult:
        ctx = info.context

        async def command(session: AsyncSession) -> VaultDocumentSaved:
            doc = await vault.digitise_into_vault(
                session,
                ctx.actor,
                parse_id(dossier_id, "dossierId"),
                parse_id(file_id, "fileId"),
                title,
                consent=consent,
                now=ctx.now,
            )
            return VaultDocumentSaved(document=VaultDocument(row=doc))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Sổ theo dõi hồ sơ (mẫu 06) của một cơ quan trong một kỳ (PDF).", extensions=PERSON
    )
    async def tracking_book(
        self, info: Info[Context, None], agency_code: str, start: datetime, end: datetime
    ) -> CompleteResult:
        ctx = info.context
        store = _store(ctx)

        async def command(session: AsyncSession) -> FileResult:
            row = await documents.tracking_book(
                session,
                store,
                ctx.actor,
                agency_code=agency_code,
                start=start,
                end=end,
                now=ctx.now,
                zone=ctx.settings.zone,
            )
            return FileResult(file=StoredFile(row=row))

        return await run_command(info, command)  # type: ignore[return-value]


@strawberry.type(description="Gói lưu trữ đã xuất.")
class ArchiveExported:
    file: StoredFile = strawberry.field(
        description="Tệp zip (tệp, siêu dữ liệu, phiếu kiểm soát, bản kê mã băm)."
    )
    dossiers: int = strawberry.field(description="Số hồ sơ đã chuyển sang lưu trữ.")


ArchiveResult = Annotated[
    ArchiveExported | NotFound | Refused, strawberry.union("ArchiveExportResult", description="Kết quả.")
]


@strawberry.type
class ArchiveMutation:
    @strawberry.mutation(
        description="Xuất gói lưu trữ các hồ sơ đã kết thúc trước một thời điểm, chuyển chúng sang lưu trữ.",
        extensions=PERSON,
    )
    async def archive_export(
        self, info: Info[Context, None], agency_code: str, closed_before: datetime
    ) -> ArchiveResult:
        ctx = info.context
        store = _store(ctx)

        async def command(session: AsyncSession) -> ArchiveExported:
            done = await archive.export(
                session,
                store,
                ctx.actor,
                agency_code=agency_code,
                closed_before=closed_before,
                now=ctx.now,
                retention_years=ctx.settings.retention_years,
            )
            return ArchiveExported(file=StoredFile(row=done.file), dossiers=done.export.dossiers)

        return await run_command(info, command)  # type: ignore[return-value]
