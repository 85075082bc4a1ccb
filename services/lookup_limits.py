"""Rate limits of the public lookups (tra cứu): GraphQL `dossierStatus` and `inquiryTracking`, the
QR page `/tra-cuu/<code>` and the SMS lookup `/sms/inbound`.

A code is short and printed on receipts, so guessing codes is the attack: each address (and each
signed-in account, and for SMS each sender number) gets a fixed number of lookups per window,
counted in the database's fixed-window counters shared by every process (`Journal.hit`).

Counting every lookup with a write of its own would make the cheapest read of the system its
most expensive one (a transaction on one hot row per address), so each process takes its share
of a window's allowance in **leases** (`LookupLimiter`): it adds a block to the shared counter
and admits that many lookups from memory. Blocks start at one and double while the same key keeps
coming back within its window, up to an eighth of the limit, so the limit is never exceeded
across processes (what a process leased and did not use is simply not given to another: at worst
a caller is refused a little early), small limits are counted one by one exactly as before, and
a heavy caller costs one write per block. A key found over its limit stays refused in memory until
its window ends, so a flood of refused guesses writes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from services.accounts.journal import Journal, hit, seconds_left, window_start

LOOKUP_REFUSED = "Quá nhiều lượt tra cứu trong thời gian ngắn, vui lòng thử lại sau ít phút."


@dataclass(frozen=True)
class RateLimit:
    limit: int
    window: timedelta

    def retry_after(self, now: datetime) -> int:
        """Seconds until the window `now` falls in ends: when a refused caller may look up again."""
        return seconds_left(now, self.window)


def lookup_keys(actor: Actor, address: str | None) -> list[str]:
    """Per address always; per account too when signed in (one account from many addresses)."""
    keys = [f"lookup:addr:{address or '-'}"]
    if actor.id is not None:
        keys.append(f"lookup:account:{actor.id}")
    elif actor.client_id is not None:
        keys.append(f"lookup:app:{actor.client_id}")
    return keys


@dataclass
class _Lease:
    remaining: int = 0  # lookups this process may still admit without asking the database
    taken: int = 0  # leases taken in this window: the next block is 2**taken (capped)
    exhausted: bool = False  # the shared counter reached the limit: refused until the window ends
    pending: asyncio.Event | None = None  # a lease on its way: others wait for it, not lease too


@dataclass
class LookupLimiter:
    """This process's leases on the shared fixed-window counters (see the module's docstring)."""

    max_keys: int = 100_000
    _leases: dict[tuple[str, datetime, int, timedelta], _Lease] = field(default_factory=dict)

    async def admit(self, journal: Journal, keys: Sequence[str], rate: RateLimit) -> bool:
        """Counts one lookup under every key; False when any of them is over its limit."""
        start = window_start(journal.now, rate.window)
        self._prune(start)
        admitted = True
        for key in keys:
            lease = self._leases.setdefault((key, start, rate.limit, rate.window), _Lease())
            if not await self._take(journal, key, lease, rate):
                admitted = False
        return admitted

    async def _take(self, journal: Journal, key: str, lease: _Lease, rate: RateLimit) -> bool:
        while True:
            if lease.exhausted:
                return False
            if lease.remaining > 0:
                lease.remaining -= 1
                return True
            if lease.pending is None:
                break
            await lease.pending.wait()  # one lease at a time per key, however many requests wait
        block = min(2**lease.taken, max(1, rate.limit // 8))
        lease.taken += 1
        lease.pending = asyncio.Event()

        async def work(session: AsyncSession) -> int:
            return await hit(session, key, window=rate.window, now=journal.now, amount=block)

        try:
            total = await journal.run(work)
        finally:
            lease.pending.set()
            lease.pending = None
        granted = max(0, min(block, rate.limit - (total - block)))
        if granted == 0:
            lease.exhausted = True
            return False
        lease.remaining += granted - 1
        return True

    def _prune(self, start: datetime) -> None:
        """Forget windows that have ended; forgetting a live lease only wastes it (never admits more)."""
        if len(self._leases) < self.max_keys:
            return
        self._leases = {k: v for k, v in self._leases.items() if k[1] + k[3] > start}
        if len(self._leases) >= self.max_keys:
            self._leases.clear()


async def within(
    journal: Journal, keys: Sequence[str], rate: RateLimit, limiter: LookupLimiter | None = None
) -> bool:
    """Counts one lookup under every key; False when any is over. Without a process-wide
    `limiter`, every lookup is counted in the database by itself (exact, one write each)."""
    return await (limiter or LookupLimiter()).admit(journal, keys, rate)
