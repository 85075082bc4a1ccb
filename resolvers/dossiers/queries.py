"""Dossier queries: one dossier, the search, the inbox, and the public status lookup."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry
from strawberry.types import Info

from models.dossiers import Dossier as DossierRow
from resolvers.lookup_limits import check_lookup_rate
from schema.context import Context
from schema.errors import ClientError
from schema.inputs.dossiers import DossierFilterInput
from schema.permissions import DOSSIER_STATUS, PERSON
from schema.types.dossiers import Dossier, DossierLookup, DossierPublicStatus
from schema.types.pagination import Connection
from services.dossiers import queries
from services.dossiers.workflow import STATUS_LABELS
from services.errors import ValidationFailed as DomainValidationFailed


def _page(page: Any) -> Connection[Dossier]:
    return Connection.of(page, lambda row: Dossier(row=row))


@strawberry.type
class DossierQuery:
    @strawberry.field(description="Một hồ sơ (của mình, hoặc cơ quan mình xử lý).", extensions=PERSON)
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
        description="Hộp việc: hồ sơ người gọi xử lý được lúc này, hạn gần nhất trước.", extensions=PERSON
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
    )
    async def dossier_status(
        self, info: Info[Context, None], code: str, id_number: str | None = None, secret: str | None = None
    ) -> DossierLookup | None:
        ctx = info.context
        await check_lookup_rate(ctx)
        async with ctx.db.autocommit() as connection:
            found = await queries.public_status(connection, code, id_number=id_number, secret=secret)
        if found is None:
            return None
        full = None
        if found.full:  # the applicant's view (the second factor matched): the whole row
            async with ctx.db.session() as session:
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
