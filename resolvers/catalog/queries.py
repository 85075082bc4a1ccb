"""Public catalog queries: procedures (filtered, searched, paginated), agencies, fields."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from schema.context import Context
from schema.errors import ClientError
from schema.inputs.catalog import ProcedureFilterInput
from schema.types.catalog import (
    AdministrativeLevel,
    Agency,
    Field,
    Procedure,
)
from schema.types.pagination import CountedConnection
from services.catalog import queries
from services.errors import ValidationFailed


@strawberry.type
class CatalogQuery:
    @strawberry.field(
        description="Danh sách thủ tục, lọc và tìm kiếm không phân biệt dấu, chữ hoa/thường, đ/d. "
        "Có `search` thì xếp theo mức khớp; không thì theo mã thủ tục."
    )
    async def procedures(
        self,
        info: Info[Context, None],
        first: int = 20,
        after: str | None = None,
        filter: ProcedureFilterInput | None = None,
        search: str | None = None,
    ) -> CountedConnection[Procedure]:
        ctx = info.context
        f = filter or ProcedureFilterInput()
        flt = queries.ProcedureFilter(
            level=f.level,
            agency_code=f.agency_code,
            field_code=f.field_code,
            online_mode=f.online_mode,
            status=f.status,
            search=search,
        )
        try:
            async with ctx.db.session() as session:
                page = await queries.list_procedures(
                    session, flt, first=first, after=after, may_see_drafts=ctx.actor.can_manage_catalog
                )
        except ValidationFailed as error:
            raise ClientError.of(error) from error
        return CountedConnection.of(page, lambda item: Procedure(procedure=item[0], row=item[1]))

    @strawberry.field(
        description="Một thủ tục theo mã: phiên bản đang áp dụng, hoặc phiên bản `version` nếu có."
    )
    async def procedure(
        self, info: Info[Context, None], code: str, version: int | None = None
    ) -> Procedure | None:
        ctx = info.context
        async with ctx.db.session() as session:
            row = await queries.procedure_by_code(
                session, code, version_no=version, may_see_drafts=ctx.actor.can_manage_catalog
            )
        return Procedure(procedure=row[0], row=row[1]) if row else None

    @strawberry.field(description="Cây cơ quan: các cơ quan gốc (dùng `children` để đi xuống).")
    async def agency_tree(self, info: Info[Context, None]) -> list[Agency]:
        async with info.context.db.session() as session:
            return [Agency(row=r) for r in await queries.agency_roots(session)]

    @strawberry.field(description="Một cơ quan theo mã.")
    async def agency(self, info: Info[Context, None], code: str) -> Agency | None:
        row = await info.context.loaders.agency_by_code.load(code)
        return Agency(row=row) if row else None

    @strawberry.field(description="Các lĩnh vực thủ tục hành chính.")
    async def fields(self, info: Info[Context, None]) -> list[Field]:
        async with info.context.db.session() as session:
            return [Field.from_row(r) for r in await queries.all_fields(session)]

    @strawberry.field(description="Các cấp hành chính.")
    async def administrative_levels(self, info: Info[Context, None]) -> list[AdministrativeLevel]:
        async with info.context.db.session() as session:
            return [AdministrativeLevel.from_row(r) for r in await queries.all_levels(session)]
