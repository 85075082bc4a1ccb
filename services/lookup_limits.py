"""Rate limits of the public lookups (tra cứu): GraphQL `dossierStatus` and `inquiryTracking`, the
QR page `/tra-cuu/<code>` and the SMS lookup `/sms/inbound`.

A code is short and printed on receipts, so guessing codes is the attack: each address (and each
signed-in account, and for SMS each sender number) gets a fixed number of lookups per window,
counted in the database's fixed-window counters shared by every process (`Journal.hit`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from services.accounts.journal import Journal, hit

LOOKUP_REFUSED = "Quá nhiều lượt tra cứu trong thời gian ngắn, vui lòng thử lại sau ít phút."


@dataclass(frozen=True)
class RateLimit:
    limit: int
    window: timedelta


def lookup_keys(actor: Actor, address: str | None) -> list[str]:
    """Per address always; per account too when signed in (one account from many addresses)."""
    keys = [f"lookup:addr:{address or '-'}"]
    if actor.id is not None:
        keys.append(f"lookup:account:{actor.id}")
    elif actor.client_id is not None:
        keys.append(f"lookup:app:{actor.client_id}")
    return keys


async def within(journal: Journal, keys: Sequence[str], rate: RateLimit) -> bool:
    """Counts one lookup under every key (one short transaction); False when any is over."""

    async def work(session: AsyncSession) -> bool:
        counts = [await hit(session, key, window=rate.window, now=journal.now) for key in keys]
        return all(count <= rate.limit for count in counts)

    return await journal.run(work)
