"""Files: presigned uploads straight to the object store, their checks, and logged downloads."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON
from strawberry.types import Info

from models import dossiers as m
from resolvers.common import object_store, parse_id, run_command
from schema.context import Context
from schema.payloads.files import (
    CompleteResult,
    DownloadLink,
    DownloadResult,
    FileResult,
    UploadResult,
    UploadTicket,
)
from schema.permissions import PERSON
from schema.scalars import ByteCount
from schema.types.files import FILENAME_DESCRIPTION, StoredFile
from services import uploads, vault
from services.errors import NotFound as DomainNotFound


@strawberry.type
class UploadMutation:
    @strawberry.mutation(
        description="Bắt đầu tải tệp lên: khai báo tên, định dạng, dung lượng, SHA-256; nhận biểu mẫu POST "
        "có chữ ký để gửi tệp thẳng tới kho lưu trữ.",
        extensions=PERSON,
    )
    async def file_upload_start(
        self,
        info: Info[Context, None],
        filename: Annotated[str, strawberry.argument(description=FILENAME_DESCRIPTION)],
        content_type: Annotated[str, strawberry.argument(description="Định dạng (MIME) khai báo.")],
        size: Annotated[
            ByteCount, strawberry.argument(description="Dung lượng (byte), từ 1 byte đến 200 MB.")
        ],
        sha256: Annotated[
            str,
            strawberry.argument(
                description="Mã băm SHA-256 của nội dung: 64 ký tự hexa (nhận cả chữ hoa, lưu chữ thường)."
            ),
        ],
    ) -> UploadResult:
        ctx = info.context
        store = object_store(ctx)

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
        store = object_store(ctx)

        async def command(session: AsyncSession) -> FileResult:
            row = await uploads.complete_upload(
                session, store, ctx.scanner, ctx.actor, parse_id(file_id, "fileId"), now=ctx.now
            )
            return FileResult(file=StoredFile(row=row))

        return await run_command(info, command)  # type: ignore[return-value]

    @strawberry.mutation(description="Lấy đường dẫn tải tệp (ngắn hạn, được ghi nhận).", extensions=PERSON)
    async def file_download(self, info: Info[Context, None], file_id: strawberry.ID) -> DownloadResult:
        ctx = info.context
        store = object_store(ctx)

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
