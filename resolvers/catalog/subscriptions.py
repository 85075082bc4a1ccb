"""Catalog subscriptions: live changes pushed over websockets (graphql-transport-ws and graphql-ws).

A subscriber first receives the current state, then every committed change, whichever app
process made it (PostgreSQL LISTEN/NOTIFY, see `core.broker`). So a reconnect loses nothing.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from schema.context import Context
from schema.errors import ClientError
from schema.loaders import Loaders
from schema.types.catalog import Procedure
from services.catalog.queries import procedure_by_code


async def _current(ctx: Context, code: str) -> Procedure | None:
    # A fresh unit of work per event: a websocket lives for hours, a transaction must not.
    await ctx.db.finish(commit=False)
    ctx.loaders = Loaders(ctx.db)
    async with ctx.db.session() as session:
        row = await procedure_by_code(
            session, code, version_no=None, may_see_drafts=ctx.actor.can_manage_catalog
        )
    return Procedure(procedure=row[0], row=row[1]) if row else None


@strawberry.type
class CatalogSubscription:
    @strawberry.subscription(
        description="Thủ tục theo mã: trạng thái hiện tại, rồi mỗi lần được sửa đổi, công bố, tạm "
        "ngừng hoặc bãi bỏ."
    )
    async def procedure_changed(
        self, info: Info[Context, None], code: str
    ) -> AsyncGenerator[Procedure, None]:
        ctx = info.context
        if ctx.broker is None:
            raise ClientError("Máy chủ không hỗ trợ nhận thay đổi trực tiếp.", "UNAVAILABLE")
        async with ctx.broker.subscribe("procedure", code) as queue:
            current = await _current(ctx, code)
            if current is None:
                raise ClientError(f"Không tìm thấy thủ tục “{code}”.", "NOT_FOUND")
            yield current
            try:
                while True:
                    await queue.get()
                    while not queue.empty():  # coalesce a burst into one fresh read
                        queue.get_nowait()
                    latest = await _current(ctx, code)
                    if latest is not None:
                        yield latest
            finally:
                await ctx.db.finish(commit=False)
