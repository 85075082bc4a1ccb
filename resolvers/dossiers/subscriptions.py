"""Live dossier subscriptions: one dossier's status, and an agency's inbox."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import strawberry
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from auth.actor import Actor
from models.dossiers import Dossier as DossierRow
from schema.context import Context
from schema.errors import ClientError
from schema.loaders import Loaders
from schema.permissions import DOSSIER_STATUS
from schema.sql import SQL, AnySelect, Fallback, Live, Rows, uuid_or_none
from schema.types.dossiers import Dossier
from services import visibility
from services.dossiers import queries


async def dossier_changes(
    info: Info[Context, None],
    id: strawberry.ID | None,
    code: str | None,
    id_number: str | None,
    secret: str | None,
) -> AsyncGenerator[Dossier, None]:
    ctx = info.context
    if ctx.broker is None:
        raise ClientError("Máy chủ không hỗ trợ nhận thay đổi trực tiếp.", "UNAVAILABLE")

    async def current() -> Dossier | None:
        await ctx.db.finish(commit=False)
        ctx.loaders = Loaders(ctx.db)
        # One statement: no snapshot to share, so a connection in autocommit spares the BEGIN and
        # ROLLBACK round trips, once per subscriber per change (the row has no lazy attributes).
        async with ctx.db.autocommit() as connection:
            session = AsyncSession(bind=connection, expire_on_commit=False)
            try:
                if id is not None:
                    try:
                        row = await queries.dossier_for(session, ctx.actor, uuid.UUID(str(id)))
                    except ValueError:
                        row = None
                elif code is not None:
                    found = await queries.lookup(session, code, id_number=id_number, secret=secret)
                    row = found.dossier if found and found.full else None
                else:
                    row = None
            finally:
                await session.close()
        return Dossier(row=row) if row else None

    first = await current()
    if first is None:
        raise ClientError("Không tìm thấy hồ sơ.", "NOT_FOUND")
    key = str(first.row.id)
    async with ctx.broker.subscribe("dossier", key) as queue:
        latest = await current()  # re-read after subscribing: nothing committed in between is lost
        yield latest or first
        try:
            while True:
                # Resumed once the state sent is resolved: give its connection back to the pool
                # before waiting (an idle subscriber must not hold one, there are many).
                await ctx.db.finish(commit=False)
                await queue.get()
                while not queue.empty():
                    queue.get_nowait()
                changed = await current()
                if changed is not None:
                    yield changed
        finally:
            await ctx.db.finish(commit=False)


# --- the status in SQL (schema.sql.Live: one re-read per change for all who share it) -------------


def _status_arguments(_actor: Actor, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """`dossier_changes`'s choice of a dossier (from the arguments by their GraphQL names), as
    parameters; what it would refuse (or raise on: `secrets.compare_digest` takes ASCII only) it
    answers itself."""
    none = dict.fromkeys(("id", "code", "typed", "id_number", "secret"))
    if arguments.get("id") is not None:
        ident = uuid_or_none(arguments["id"])
        if ident is None:
            raise Fallback("not a dossier id")
        return {**none, "id": ident}
    code, id_number, secret = arguments.get("code"), arguments.get("idNumber"), arguments.get("secret")
    if code is None:
        raise Fallback("neither id nor code")
    if not id_number and not secret:
        raise Fallback("no second factor")
    if not all(str(x).isascii() for x in (id_number or "", secret or "")):
        raise Fallback("a second factor that is not ASCII")
    typed = str(code).strip()
    return {
        **none,
        "code": typed.upper(),
        "typed": typed,
        "id_number": id_number.strip() if id_number else None,
        "secret": secret or None,
    }


def _status_select(actor: Actor, p: Mapping[str, Any]) -> AnySelect:
    """The dossier `dossier_changes` reads: by id among those the caller may read, or by code (as
    issued, else as typed) when the second factor matches (`queries.lookup`, full view)."""
    if p["id"] is not None:
        return (
            queries.readable_dossiers(actor)
            .where(DossierRow.id == p["id"])
            .with_only_columns(DossierRow.id.label("row"))
        )
    found = (
        select(DossierRow.id, DossierRow.applicant_id_number, DossierRow.lookup_secret)
        .where(or_(DossierRow.code == p["code"], DossierRow.code == p["typed"]))
        .order_by((DossierRow.code == p["code"]).desc())
        .limit(1)
        .subquery()
    )
    full = []
    if p["id_number"] is not None:
        full.append(and_(found.c.applicant_id_number != "", found.c.applicant_id_number == p["id_number"]))
    if p["secret"] is not None:
        full.append(found.c.lookup_secret == p["secret"])
    return select(found.c.id.label("row")).where(or_(*full))


DOSSIER_STATUS_LIVE = Live(
    rows=Rows(
        prepare=_status_arguments,
        select=_status_select,
        parameters=("id", "code", "typed", "id_number", "secret"),
        sources={"row": DossierRow},
    ),
    topic="dossier",
)


@strawberry.type
class DossierSubscription:
    @strawberry.subscription(
        description="Trạng thái hồ sơ trực tiếp: trạng thái hiện tại, rồi mỗi thay đổi đã ghi. Theo `id` "
        "(người nộp, cán bộ có thẩm quyền) hoặc theo `code` kèm số định danh người nộp hoặc mã trên QR. "
        "Ứng dụng cần phạm vi dossier-status:read.",
        extensions=DOSSIER_STATUS,
        metadata={SQL: DOSSIER_STATUS_LIVE},
    )
    async def dossier_status_changed(
        self,
        info: Info[Context, None],
        id: strawberry.ID | None = None,
        code: str | None = None,
        id_number: str | None = None,
        secret: str | None = None,
    ) -> AsyncGenerator[Dossier, None]:
        async for item in dossier_changes(info, id, code, id_number, secret):
            yield item

    @strawberry.subscription(
        description="Hộp việc của một cơ quan: mỗi hồ sơ của cơ quan vừa thay đổi (cán bộ của cơ quan đó)."
    )
    async def inbox_changed(
        self, info: Info[Context, None], agency_code: str
    ) -> AsyncGenerator[Dossier, None]:
        ctx = info.context
        if ctx.broker is None:
            raise ClientError("Máy chủ không hỗ trợ nhận thay đổi trực tiếp.", "UNAVAILABLE")
        agency = await ctx.loaders.agency_by_code.load(agency_code)
        if agency is None or not visibility.sees_agency_dossiers(ctx.actor, agency.id):
            raise ClientError("Bạn không thuộc cơ quan này.", "FORBIDDEN")
        async with ctx.broker.subscribe("inbox", str(agency.id)) as queue:
            try:
                while True:
                    await ctx.db.finish(commit=False)  # no connection held while waiting
                    event = await queue.get()
                    await ctx.db.finish(commit=False)
                    ctx.loaders = Loaders(ctx.db)
                    try:
                        changed = uuid.UUID(str(event.get("ref")))
                    except ValueError:
                        continue
                    async with ctx.db.session() as session:
                        row = await queries.dossier_for(session, ctx.actor, changed)
                    if row is not None:
                        yield Dossier(row=row)
            finally:
                await ctx.db.finish(commit=False)
