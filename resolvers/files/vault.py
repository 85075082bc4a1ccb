"""The personal data vault (kho quản lý dữ liệu điện tử): documents, suggestions, grants to agencies
and who looked."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from auth.actor import Actor
from models import dossiers as m
from resolvers.common import parse_id, run_command
from schema.context import Context
from schema.errors import ClientError
from schema.payloads.files import DocumentResult, GrantResult, VaultDocumentSaved, VaultGrantSaved
from schema.permissions import PERSON
from schema.sql import SQL, Rows
from schema.types.files import ComponentSuggestion, VaultAccess, VaultDocument, VaultDocumentPage, VaultGrant
from services import vault
from services.catalog.queries import procedure_by_code
from services.errors import ValidationFailed as DomainValidationFailed


def _check_range(offset: int, limit: int) -> None:
    if not 0 <= offset <= 100_000 or not 1 <= limit <= 100:
        raise ClientError("offset từ 0 và limit từ 1 đến 100.", "OUT_OF_RANGE")


def _documents_page(actor: Actor, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """`vaultDocuments`' checks, as the resolver makes them (a refusal: the executor answers)."""
    offset, limit, search = arguments["offset"], arguments["limit"], arguments.get("search")
    _check_range(offset, limit)
    vault.check_reader(actor, search)
    patterns = vault.search_patterns(search)
    return {"me": actor.id, "patterns": patterns, "offset": offset, "first": limit, "limit": limit + 1}


# `vaultDocuments` in SQL (schema.sql.Rows: the compiled read path): the services' statement.
VAULT_DOCUMENTS = Rows(
    prepare=_documents_page,
    select=lambda actor, p: vault.documents_rows(
        actor, me=p["me"], patterns=p["patterns"], offset=p["offset"], limit=p["limit"]
    ).with_only_columns(m.VaultDocument.id.label("row")),
    parameters=("me", "patterns", "offset", "first", "limit"),
    shape="page",
    sources={"row": m.VaultDocument},
)


@strawberry.type
class VaultQuery:
    @strawberry.field(
        description="Giấy tờ trong kho dữ liệu của tôi.", extensions=PERSON, metadata={SQL: VAULT_DOCUMENTS}
    )
    async def vault_documents(
        self, info: Info[Context, None], search: str | None = None, offset: int = 0, limit: int = 50
    ) -> VaultDocumentPage:
        _check_range(offset, limit)
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
class VaultMutation:
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
