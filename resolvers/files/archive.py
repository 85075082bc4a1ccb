"""Archiving closed dossiers: the export package handed to the archive (lưu trữ)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from resolvers.common import object_store, run_command
from schema.context import Context
from schema.payloads.files import ArchiveExported, ArchiveResult
from schema.permissions import PERSON
from schema.types.files import StoredFile
from services import archive


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
        store = object_store(ctx)

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
