"""Documents issued from a dossier: the slips (phiếu, TT 01/2018/TT-VPCP) and paper conversions with
their public verification."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from resolvers.common import object_store, parse_id, run_command
from schema.context import Context
from schema.payloads.files import CompleteResult, ConvertResult, FileResult, PaperConverted
from schema.permissions import PERSON
from schema.types.files import ConversionVerification, StoredFile
from services.documents import issue as documents
from services.documents import paper
from services.documents.issue import SlipForm


@strawberry.type
class DocumentQuery:
    @strawberry.field(
        description="Xác minh bản giấy chuyển đổi từ văn bản điện tử theo mã in trên giấy (công khai)."
    )
    async def conversion_verify(self, info: Info[Context, None], code: str) -> ConversionVerification | None:
        async with info.context.db.session() as session:
            found = await paper.verify(session, code)
        if found is None:
            return None
        row, agency = found
        return ConversionVerification(
            verification_code=row.verification_code,
            title=row.title,
            source_system=info.context.settings.system_name,
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
        store = object_store(ctx)

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
        store = object_store(ctx)

        async def command(session: AsyncSession) -> PaperConverted:
            row, output = await paper.convert(
                session,
                store,
                ctx.actor,
                parse_id(file_id, "fileId"),
                now=ctx.now,
                zone=ctx.settings.zone,
                base_url=ctx.settings.public_base_url,
                system_name=ctx.settings.system_name,
                mark=ctx.settings.paper_conversion_mark,
            )
            url = f"{ctx.settings.public_base_url.rstrip('/')}/xac-minh/{row.verification_code}"
            return PaperConverted(
                file=StoredFile(row=output), verification_code=row.verification_code, verification_url=url
            )

        return await run_command(info, command)  # type: ignore[return-value]
