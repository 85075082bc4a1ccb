"""The one-stop counter's records: digitising a scan into the applicant's vault, the tracking book."""

from __future__ import annotations

from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from resolvers.common import object_store, parse_id, run_command
from schema.context import Context
from schema.payloads.files import CompleteResult, DocumentResult, FileResult, VaultDocumentSaved
from schema.permissions import PERSON
from schema.types.files import StoredFile, VaultDocument
from services import vault
from services.documents import issue as documents


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
        store = object_store(ctx)

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
