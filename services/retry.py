"""Rounds with back-off (gửi lại theo vòng, giãn cách tăng dần): how long a failed delivery waits
before its next try, and the loop that runs delivery rounds until it is told to stop.

Three jobs deliver at least once and retry what failed, each with its own schedule:

- the event outbox (`services.outbox.delivery`): 2, 4, 8 … seconds, at most an hour, for ever;
- the notification sender (`services.notifications`): 2, 4, 8 … minutes, at most six hours,
  given up after the 10th attempt;
- refunds (`services.payments.refunds`): 1, 2, 4 … minutes, at most six hours, for ever.

Each schedule is a `Backoff` value; no schedule uses jitter (the waits are exact, which the tests
rely on). The outbox and the notification sender run their rounds with `run_rounds`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Backoff:
    """Exponential back-off: after the n-th consecutive failure, wait `first` doubled n − 1
    times, at most `cap`; no jitter. `max_attempts`: the number of attempts after which a
    delivery gives up (None: it never does)."""

    first: timedelta
    cap: timedelta
    max_attempts: int | None = None

    def __call__(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th consecutive failure (fewer than one counts as one)."""
        wait = self.first
        for _ in range(1, attempts):
            if wait >= self.cap:
                break
            wait *= 2
        return min(wait, self.cap)

    def exhausted(self, attempts: int) -> bool:
        """True when a delivery tried `attempts` times gives up."""
        return self.max_attempts is not None and attempts >= self.max_attempts


async def run_rounds(
    one_round: Callable[[], Awaitable[bool]],
    *,
    interval: float,
    stop: asyncio.Event,
    log: logging.Logger,
    name: str,
    wake: asyncio.Event | None = None,
) -> None:
    """Run `one_round` until `stop` is set. A round answers whether it left work behind: then the
    next one starts at once (after yielding to the event loop); else after `interval` seconds,
    cut short by `stop` or by `wake`. A round that raises is logged as "<name>: delivery round
    failed" on `log` and the loop goes on."""
    while not stop.is_set():
        if wake is not None:
            wake.clear()
        more = False
        try:
            more = await one_round()
        except Exception:
            log.exception("%s: delivery round failed", name)
        if more:
            await asyncio.sleep(0)
            continue
        await sleep_until_set(interval, stop, *([wake] if wake is not None else []))


async def sleep_until_set(seconds: float, *events: asyncio.Event) -> None:
    """Sleep `seconds`, or less if one of `events` is set meanwhile."""
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
