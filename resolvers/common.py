"""What every mutation resolver shares: run a command, map domain errors to typed results."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from core.observability import ERRORS
from schema.context import Context
from schema.errors import ClientError, UserError, to_graphql
from services.errors import DomainError, FieldIssue, Forbidden, Refused, ValidationFailed
from storage.s3 import STORE_UNAVAILABLE_MESSAGE, ObjectStore, is_store_unavailable

T = TypeVar("T")
log = logging.getLogger("dvc")


async def run_command(
    info: Info[Context, None], command: Callable[[AsyncSession], Awaitable[T]]
) -> T | UserError:
    """Run `command` on the request's session; a domain error becomes the typed error result
    and marks the request rollback-only, so nothing it wrote is committed."""
    ctx = info.context
    try:
        async with ctx.db.session() as session:
            return await command(session)
    except Forbidden as error:
        raise ClientError(error.message, error.code) from error
    except Refused as error:
        # A refusal may carry bookkeeping that must stay (a wrong password counts).
        ctx.rollback_only = not error.keep_writes
        ERRORS.labels(error.code).inc()
        return to_graphql(error)
    except DomainError as error:
        ctx.rollback_only = True
        ERRORS.labels(error.code).inc()
        return to_graphql(error)
    except Exception as error:
        if not is_store_unavailable(error):
            raise
        # The object store is down: say so (the caller retries later); nothing is committed.
        log.warning("object store unavailable: %s", error.__class__.__name__)
        ctx.rollback_only = True
        ERRORS.labels("OBJECT_STORE_UNAVAILABLE").inc()
        return to_graphql(Refused("OBJECT_STORE_UNAVAILABLE", STORE_UNAVAILABLE_MESSAGE))


def parse_id(value: str, path: str) -> uuid.UUID:
    """A client-supplied ID; a malformed one is a field error on `path` (inside a command, so
    it becomes the typed ValidationFailed result)."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationFailed([FieldIssue((path,), "BAD_ID", "Mã định danh không hợp lệ.")]) from None


def object_store(ctx: Context) -> ObjectStore:
    """The file store, for the fields that read or write files; not configured: a top-level error."""
    if ctx.store is None:
        raise ClientError("Kho lưu trữ tệp chưa được cấu hình.", "UNAVAILABLE")
    return ctx.store
