"""One act of a dossier's life cycle run as a mutation: row access, optimistic concurrency
(`expectedVersion`), idempotent retries (`idempotencyKey`); and the component files an act takes."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from models.dossiers import Dossier as DossierRow
from resolvers.common import parse_id, run_command
from schema.context import Context
from schema.inputs.dossiers import ComponentFilesInput
from schema.payloads.dossiers import DossierActResult, DossierChanged
from schema.types.dossiers import Dossier
from services import idempotency
from services.dossiers import queries
from services.dossiers.acts import ComponentFiles
from services.dossiers.ontime import OnTimePolicy
from services.dossiers.transition import ActContext
from services.errors import NotFound as DomainNotFound


def component_files(items: list[ComponentFilesInput]) -> tuple[ComponentFiles, ...]:
    return tuple(
        ComponentFiles(
            parse_id(c.component_id, "componentId"), tuple(parse_id(f, "fileIds") for f in c.file_ids)
        )
        for c in items
    )


Command = Callable[[AsyncSession, uuid.UUID, ActContext], Awaitable[DossierRow]]
Act = TypeVar("Act")


def applying(
    step: Callable[[AsyncSession, uuid.UUID, ActContext, Act], Awaitable[DossierRow]], act: Act
) -> Command:
    """The command that runs a service act (`processing.forward`, …) with its typed value."""

    async def command(session: AsyncSession, ident: uuid.UUID, ctx: ActContext) -> DossierRow:
        return await step(session, ident, ctx, act)

    return command


async def run_act(
    info: Info[Context, None],
    operation: str,
    dossier_id: strawberry.ID,
    expected_version: int | None,
    idempotency_key: str | None,
    command: Command,
    request: dict[str, Any] | None = None,
    *,
    comment: str | None = None,
) -> DossierActResult:
    """Run one act of the life cycle as a mutation. `request`: the act's arguments as the client
    sent them, for the idempotency digest (keys already stored keep matching their retries)."""
    ctx = info.context

    async def run(session: AsyncSession) -> DossierChanged:
        ident = parse_id(dossier_id, "id")
        # Row access first: a dossier the caller may not read does not exist for them.
        held = await queries.dossier_for(session, ctx.actor, ident)
        if held is None:
            raise DomainNotFound("hồ sơ", str(dossier_id))
        act = ActContext(
            actor=ctx.actor,
            now=ctx.now,
            # Deadlines follow the receiving unit's calendar (its hours, Saturday session, cut-off).
            calendar=await ctx.calendar_of(session, held.receiving_agency_id),
            expected_version=expected_version,
            comment=comment,
            on_time=OnTimePolicy(ctx.settings.on_time_policy),
        )

        async def replay(_: dict[str, Any]) -> DossierRow:
            return held  # the dossier the first request changed, already read above

        retry = idempotency.Retry.of(
            idempotency_key,
            actor=ctx.actor.label,
            operation=operation,
            arguments={"id": str(ident), **(request or {})},
        )
        row, replayed = await idempotency.once(
            session,
            retry,
            lambda: command(session, ident, act),
            answer=lambda _: {"dossierId": str(ident)},
            replay=replay,
            now=ctx.now,
        )
        return DossierChanged(dossier=Dossier(row=row), replayed=replayed)

    return await run_command(info, run)  # type: ignore[return-value]
