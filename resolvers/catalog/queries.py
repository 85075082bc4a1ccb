"""Public catalog queries: procedures (filtered, searched, paginated), agencies, fields."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import strawberry
from strawberry.types import Info

from auth.actor import Actor
from models import catalog as m
from schema.context import Context
from schema.errors import ClientError
from schema.inputs.catalog import ProcedureFilterInput
from schema.sql import SQL, AnySelect, Expr, Fallback, Rows
from schema.types.catalog import (
    AdministrativeLevel,
    Agency,
    Field,
    Procedure,
)
from schema.types.legal import LegalText
from schema.types.pagination import CountedConnection
from services import legal
from services.catalog import queries
from services.errors import ValidationFailed
from services.pagination import check_first, decode
from services.text import check_search

# --- the root fields in SQL (schema.sql.Rows: the compiled read path) ------------------------------

_FILTER = {"level": "level", "agency_code": "agencyCode", "field_code": "fieldCode"}
_FILTER_ENUMS = {"online_mode": "onlineMode", "status": "status"}
_SEARCH = ("tsquery", "code_prefix", "phrase")


def _procedures_page(actor: Actor, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """`list_procedures`'s checks, in its order; what it answers without a statement (a draft
    status for whoever may not see drafts, a search without words) the executor answers."""
    first = check_first(arguments["first"])
    cursor = decode(arguments["after"])
    raw = arguments["search"]
    check_search(raw, ("search",))
    given = arguments["filter"] or {}
    params: dict[str, Any] = {name: given.get(key) for name, key in (_FILTER | _FILTER_ENUMS).items()}
    if params["status"] is m.ProcedureStatus.DRAFT and not actor.can_manage_catalog:
        raise Fallback("procedures: drafts refused")
    params.update(first=first, limit=first + 1, after_key=None, offset=None)
    params.update(dict.fromkeys(_SEARCH))
    if raw:
        terms = queries.search_terms(raw)
        if terms is None:
            raise Fallback("procedures: a search without words")
        params.update(tsquery=terms.tsquery, code_prefix=terms.code_prefix, phrase=terms.phrase)
        params.update(offset=cursor.offset or 0, has_previous=(cursor.offset or 0) > 0)
    else:
        params.update(after_key=cursor.key, has_previous=cursor.key is not None)
    return params


def _filtered(actor: Actor, p: Mapping[str, Any]) -> AnySelect:
    flt = queries.ProcedureFilter(**{name: p[name] for name in (*_FILTER, *_FILTER_ENUMS)})
    stmt = queries.procedures_select(flt, may_see_drafts=actor.can_manage_catalog)
    if p["tsquery"] is None:
        return stmt
    return queries.searched(stmt, queries.SearchTerms(p["tsquery"], p["code_prefix"], p["phrase"]))


def _procedures_counted(actor: Actor, p: Mapping[str, Any]) -> AnySelect:
    if p["tsquery"] is not None:
        return _filtered(actor, p).with_only_columns(m.Procedure.id)
    flt = queries.ProcedureFilter(**{name: p[name] for name in (*_FILTER, *_FILTER_ENUMS)})
    return queries.procedures_counted(flt, may_see_drafts=actor.can_manage_catalog)


def _procedures_select(actor: Actor, p: Mapping[str, Any]) -> AnySelect:
    stmt = _filtered(actor, p)
    if p["tsquery"] is None:
        stmt = queries.listed_page(stmt, after_key=p["after_key"], limit=p["limit"])
    else:
        terms = queries.SearchTerms(p["tsquery"], p["code_prefix"], p["phrase"])
        stmt = queries.search_page(stmt, terms, offset=p["offset"], limit=p["limit"])
    return stmt.with_only_columns(m.Procedure.id.label("procedure"), m.ProcedureVersion.id.label("row"))


PROCEDURES = Rows(
    prepare=_procedures_page,
    select=_procedures_select,
    parameters=(
        *_FILTER,
        *_FILTER_ENUMS,
        *_SEARCH,
        "first",
        "limit",
        "after_key",
        "offset",
        "has_previous",
    ),
    shape="connection",
    sources={"procedure": m.Procedure, "row": m.ProcedureVersion},
    # the listing's cursors are keys (the code), the search's offsets
    cursor=lambda p: Expr("{procedure}.code", nullable=False) if p["tsquery"] is None else None,
    count=_procedures_counted,
    # a search ranks every match before its page: counted in the same scan
    windowed_count=lambda p: p["tsquery"] is not None,
)


def _one_procedure(_actor: Actor, arguments: Mapping[str, Any]) -> dict[str, Any]:
    return {"code": arguments["code"], "version": arguments["version"]}


ONE_PROCEDURE = Rows(
    prepare=_one_procedure,
    select=lambda actor, p: queries.procedure_select(
        p["code"], version_no=p["version"], may_see_drafts=actor.can_manage_catalog
    ).with_only_columns(m.Procedure.id.label("procedure"), m.ProcedureVersion.id.label("row")),
    parameters=("code", "version"),
    sources={"procedure": m.Procedure, "row": m.ProcedureVersion},
)

ONE_AGENCY = Rows(
    prepare=lambda _actor, arguments: {"code": arguments["code"]},
    select=lambda _actor, p: queries.agency_with_code(p["code"]).with_only_columns(m.Agency.id.label("row")),
    parameters=("code",),
    sources={"row": m.Agency},
)

AGENCY_ROOTS = Rows(
    prepare=lambda _actor, _arguments: {},
    select=lambda _actor, _p: queries.agency_roots_select().with_only_columns(m.Agency.id.label("row")),
    parameters=(),
    shape="list",
    sources={"row": m.Agency},
)

ALL_FIELDS = Rows(
    prepare=lambda _actor, _arguments: {},
    select=lambda _actor, _p: queries.fields_select().with_only_columns(m.Field.id.label("row")),
    parameters=(),
    shape="list",
    sources={"row": m.Field},
)

ALL_LEVELS = Rows(
    prepare=lambda _actor, _arguments: {},
    select=lambda _actor, _p: queries.levels_select().with_only_columns(
        m.AdministrativeLevel.code.label("code"),
        m.AdministrativeLevel.name.label("name"),
        m.AdministrativeLevel.rank.label("rank"),
        m.AdministrativeLevel.retired_on.label("retired_on"),
    ),
    parameters=(),
    shape="list",
    sources={"row": None},
    non_null=frozenset({"code", "name", "rank"}),
)


@strawberry.type
class CatalogQuery:
    @strawberry.field(
        description="Danh sách thủ tục, lọc và tìm kiếm không phân biệt dấu, chữ hoa/thường, đ/d. "
        "Có `search` thì xếp theo mức khớp; không thì theo mã thủ tục.",
        metadata={SQL: PROCEDURES},
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
            async with ctx.db.read_session() as session:
                page = await queries.list_procedures(
                    session, flt, first=first, after=after, may_see_drafts=ctx.actor.can_manage_catalog
                )
        except ValidationFailed as error:
            raise ClientError.of(error) from error
        return CountedConnection.of(page, lambda item: Procedure(procedure=item[0], row=item[1]))

    @strawberry.field(
        description="Một thủ tục theo mã: phiên bản đang áp dụng, hoặc phiên bản `version` nếu có.",
        metadata={SQL: ONE_PROCEDURE},
    )
    async def procedure(
        self, info: Info[Context, None], code: str, version: int | None = None
    ) -> Procedure | None:
        ctx = info.context
        async with ctx.db.read_session() as session:
            row = await queries.procedure_by_code(
                session, code, version_no=version, may_see_drafts=ctx.actor.can_manage_catalog
            )
        return Procedure(procedure=row[0], row=row[1]) if row else None

    @strawberry.field(
        description="Cây cơ quan: các cơ quan gốc (dùng `children` để đi xuống).",
        metadata={SQL: AGENCY_ROOTS},
    )
    async def agency_tree(self, info: Info[Context, None]) -> list[Agency]:
        async with info.context.db.read_session() as session:
            return [Agency(row=r) for r in await queries.agency_roots(session)]

    @strawberry.field(description="Một cơ quan theo mã.", metadata={SQL: ONE_AGENCY})
    async def agency(self, info: Info[Context, None], code: str) -> Agency | None:
        row = await info.context.loaders.agency_by_code.load(code)
        return Agency(row=row) if row else None

    @strawberry.field(description="Các lĩnh vực thủ tục hành chính.", metadata={SQL: ALL_FIELDS})
    async def fields(self, info: Info[Context, None]) -> list[Field]:
        async with info.context.db.read_session() as session:
            return [Field.from_row(r) for r in await queries.all_fields(session)]

    @strawberry.field(
        description="Văn bản pháp luật hệ thống áp dụng (cơ chế một cửa, biểu mẫu, dịch vụ công trực tuyến), "
        "với ngày hiệu lực; inForce theo ngày `on` (mặc định hôm nay)."
    )
    def legal_texts(self, info: Info[Context, None], on: date | None = None) -> list[LegalText]:
        day = on or info.context.now.astimezone(info.context.settings.zone).date()
        return [LegalText.of(t, day) for t in legal.TEXTS.values()]

    @strawberry.field(
        description="Các cấp hành chính, kể cả cấp đã bãi bỏ (xem retiredOn).", metadata={SQL: ALL_LEVELS}
    )
    async def administrative_levels(self, info: Info[Context, None]) -> list[AdministrativeLevel]:
        async with info.context.db.read_session() as session:
            return [AdministrativeLevel.from_row(r) for r in await queries.all_levels(session)]
