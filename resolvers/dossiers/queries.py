"""Dossier queries: one dossier, the search, the inbox, and the public status lookup."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import strawberry
from strawberry.types import Info

from auth.actor import Actor
from models.dossiers import Dossier as DossierRow
from resolvers.lookup_limits import check_lookup_rate, lookup_admitted
from schema.context import Context
from schema.errors import ClientError
from schema.inputs.dossiers import DossierFilterInput
from schema.permissions import DOSSIER_STATUS, PERSON
from schema.sql import SQL, Rows, uuid_or_none
from schema.types.dossiers import Dossier, DossierLookup, DossierPublicStatus
from schema.types.pagination import Connection
from services.dossiers import queries
from services.dossiers.workflow import STATUS_LABELS
from services.errors import ValidationFailed as DomainValidationFailed
from services.pagination import check_first, decode


def _page(page: Any) -> Connection[Dossier]:
    return Connection.of(page, lambda row: Dossier(row=row))


# --- the root fields in SQL (schema.sql.Rows: the compiled read path) ------------------------------


def _one_dossier(actor: Actor, arguments: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": uuid_or_none(arguments["id"]), "me": actor.id}  # the caller's account, bound


ONE_DOSSIER = Rows(
    prepare=_one_dossier,
    select=lambda actor, p: (
        queries.readable_dossiers(actor, p["me"])
        .where(DossierRow.id == p["id"])
        .with_only_columns(DossierRow.id.label("row"))
    ),
    parameters=("id", "me"),
    sources={"row": DossierRow},
)


def _inbox_page(_actor: Actor, arguments: Mapping[str, Any]) -> dict[str, Any]:
    first = check_first(arguments["first"])
    offset = decode(arguments["after"]).offset or 0
    return {"first": first, "offset": offset, "limit": first + 1, "has_previous": offset > 0}


INBOX = Rows(
    prepare=_inbox_page,
    select=lambda actor, p: queries.inbox_rows(actor, offset=p["offset"], limit=p["limit"]).with_only_columns(
        DossierRow.id.label("row")
    ),
    parameters=("first", "offset", "limit", "has_previous"),
    shape="connection",
    sources={"row": DossierRow},
)


def _status_code(_actor: Actor, arguments: Mapping[str, Any]) -> dict[str, Any]:
    typed = str(arguments["code"]).strip()
    return {"code": typed.upper(), "typed": typed}


DOSSIER_STATUS_ROWS = Rows(
    prepare=_status_code,
    select=lambda _actor, p: queries.public_status_select(p["code"], p["typed"]),
    parameters=("code", "typed"),
    sources={"row": None},
    guard=lookup_admitted,
    non_null=frozenset({"code", "status", "procedure_name", "agency_name"}),
)


@strawberry.type
class DossierQuery:
    @strawberry.field(
        description="Một hồ sơ (của mình, hoặc cơ quan mình xử lý).",
        extensions=PERSON,
        metadata={SQL: ONE_DOSSIER},
    )
    async def dossier(self, info: Info[Context, None], id: strawberry.ID) -> Dossier | None:
        try:
            ident = uuid.UUID(str(id))
        except ValueError:
            return None
        async with info.context.db.session() as session:
            row = await queries.dossier_for(session, info.context.actor, ident)
        return Dossier(row=row) if row else None

    @strawberry.field(
        description="Tìm hồ sơ: của mình (công dân) hoặc của cơ quan (cán bộ); mới nhất trước.",
        extensions=PERSON,
    )
    async def dossiers(
        self,
        info: Info[Context, None],
        first: int = 20,
        after: str | None = None,
        filter: DossierFilterInput | None = None,
    ) -> Connection[Dossier]:
        f = filter or DossierFilterInput()
        flt = queries.DossierFilter(
            code=f.code,
            applicant=f.applicant,
            procedure_code=f.procedure_code,
            status=f.status,
            overdue=f.overdue,
            near_deadline=f.near_deadline,
            received_from=f.received_from,
            received_to=f.received_to,
        )
        ctx = info.context
        try:
            async with ctx.db.session() as session:
                page = await queries.search(session, ctx.actor, flt, now=ctx.now, first=first, after=after)
        except DomainValidationFailed as error:
            raise ClientError.of(error) from error
        return _page(page)

    @strawberry.field(
        description="Hộp việc: hồ sơ người gọi xử lý được lúc này, hạn gần nhất trước.",
        extensions=PERSON,
        metadata={SQL: INBOX},
    )
    async def inbox(
        self, info: Info[Context, None], first: int = 20, after: str | None = None
    ) -> Connection[Dossier]:
        ctx = info.context
        try:
            async with ctx.db.session() as session:
                page = await queries.inbox(session, ctx.actor, first=first, after=after)
        except DomainValidationFailed as error:
            raise ClientError.of(error) from error
        return _page(page)

    @strawberry.field(
        description="Tra cứu công khai theo mã hồ sơ: trạng thái không có thông tin cá nhân; kèm số định "
        "danh của người nộp hoặc mã bí mật trên QR thì trả cả hồ sơ. Ứng dụng cần phạm vi "
        "dossier-status:read.",
        extensions=DOSSIER_STATUS,
        metadata={SQL: DOSSIER_STATUS_ROWS},
    )
    async def dossier_status(
        self, info: Info[Context, None], code: str, id_number: str | None = None, secret: str | None = None
    ) -> DossierLookup | None:
        ctx = info.context
        await check_lookup_rate(ctx)
        async with ctx.db.autocommit(lag_ok=True) as connection:
            found = await queries.public_status(connection, code, id_number=id_number, secret=secret)
        if found is None:
            return None
        full = None
        if found.full:  # the applicant's view (the second factor matched): the whole row
            async with ctx.db.read_session() as session:
                full = await session.get(DossierRow, found.dossier_id)
        public = DossierPublicStatus(
            code=found.code,
            procedure_name=found.procedure_name,
            agency_name=found.agency_name,
            status=found.status,
            status_label=STATUS_LABELS[found.status],
            received_at=found.received_at,
            appointment_at=found.appointment_at,
            finished_at=found.finished_at,
        )
        return DossierLookup(public=public, dossier=Dossier(row=full) if full is not None else None)
