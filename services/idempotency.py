"""Client-supplied idempotency keys: a retried mutation is applied once.

The key is claimed by inserting it in the same transaction as the work. A concurrent duplicate
waits on the unique index until the first commits, then finds the key taken and receives the
first answer; if the first failed and rolled back, the key is free again for a real retry.
Mutations use `once`; `claim` and `remember` are its two halves.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.dossiers import IdempotencyKey
from services.errors import FieldIssue, ValidationFailed

T = TypeVar("T")


def request_hash(operation: str, arguments: dict[str, Any]) -> str:
    encoded = json.dumps(
        {"op": operation, "args": arguments}, sort_keys=True, default=str, ensure_ascii=False
    )
    return hashlib.sha256(encoded.encode()).hexdigest()


async def claim(
    session: AsyncSession, *, actor: str, key: str, operation: str, digest: str, now: datetime
) -> dict[str, Any] | None:
    """None: the key is ours, go ahead (then `remember`). A dict: the stored first answer."""
    if not 8 <= len(key) <= 100:
        raise ValidationFailed(
            [FieldIssue(("idempotencyKey",), "BAD_FORMAT", "Khoá chống lặp dài từ 8 đến 100 ký tự.")]
        )
    stmt = (
        insert(IdempotencyKey)
        .values(actor=actor, key=key, operation=operation, request_hash=digest, response={}, created_at=now)
        .on_conflict_do_nothing()
        .returning(IdempotencyKey.key)
    )
    if (await session.execute(stmt)).scalar_one_or_none() is not None:
        return None
    row = await session.get_one(IdempotencyKey, (actor, key), populate_existing=True)
    if row.operation != operation or row.request_hash != digest:
        raise ValidationFailed(
            [
                FieldIssue(
                    ("idempotencyKey",), "KEY_REUSED", "Khoá chống lặp đã được dùng cho một yêu cầu khác."
                )
            ]
        )
    return dict(row.response)


async def remember(session: AsyncSession, *, actor: str, key: str, response: dict[str, Any]) -> None:
    row = await session.get_one(IdempotencyKey, (actor, key))
    row.response = response
    await session.flush()


@dataclass(frozen=True)
class Retry:
    """A mutation's idempotency key and the request it names: whose key, which operation, with
    which arguments (their digest must match on a retry)."""

    actor: str
    key: str
    operation: str
    arguments: dict[str, Any]

    @classmethod
    def of(cls, key: str | None, *, actor: str, operation: str, arguments: dict[str, Any]) -> Retry | None:
        """None when the caller gave no key (each call is then applied)."""
        return cls(actor, key, operation, arguments) if key else None


async def once(
    session: AsyncSession,
    retry: Retry | None,
    apply: Callable[[], Awaitable[T]],
    *,
    answer: Callable[[T], dict[str, Any]],
    replay: Callable[[dict[str, Any]], Awaitable[T]],
    now: datetime,
) -> tuple[T, bool]:
    """`apply` once per key: (its value, False), its `answer` remembered under the key; a retry
    gets (`replay` of the remembered answer, True)."""
    if retry is None:
        return await apply(), False
    earlier = await claim(
        session,
        actor=retry.actor,
        key=retry.key,
        operation=retry.operation,
        digest=request_hash(retry.operation, retry.arguments),
        now=now,
    )
    if earlier is not None:
        return await replay(earlier), True
    value = await apply()
    await remember(session, actor=retry.actor, key=retry.key, response=answer(value))
    return value, False
