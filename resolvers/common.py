"""What every mutation resolver shares: run a command, map domain errors to typed results."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from resolvers.context import Context
from schema.errors import UserError, to_graphql
from services.errors import DomainError

T = TypeVar("T")


async def run_command(
    info: Info[Context, None], command: Callable[[AsyncSession], Awaitable[T]]
) -> T | UserError:
    """Run `command` on the request's session; a domain error becomes the typed error result
    and marks the request rollback-only, so nothing it wrote is committed."""
    ctx = info.context
    try:
        async with ctx.db.session() as session:
            return await command(session)
    except DomainError as error:
        ctx.rollback_only = True
        return to_graphql(error)
