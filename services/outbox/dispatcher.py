"""The outbox dispatcher (`run_dispatcher`): delivery rounds, each in its own session and committed,
until it is told to stop.

Each round first creates the missing deliveries in a short transaction of its own (so the long
delivery transaction rarely inserts), then runs `deliver_once` and commits. Between rounds it
sleeps `interval` seconds, woken early by a dossier notification when it has a broker, and not at
all when the last round left work behind. Time comes from the clock it is given, read once per
round; nothing else in the outbox reads a clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.broker import Broker
from core.clock import Clock
from models.dossiers import ConsumerKind, DossierEvent
from services.outbox.delivery import deliver_once, ensure_deliveries
from services.outbox.transport import Transport
from services.retry import run_rounds

log = logging.getLogger(__name__)

SETTLE = 60.0  # seconds after which an event seq seen is taken as committed (the watermark)
FULL_PASS = 600.0  # seconds between full scans for deliveries to create (whatever the watermark)
SEEN_KEPT = 1000  # observations of the greatest seq kept for the watermark


@dataclass
class _Watermark:
    """Where `ensure_deliveries` may start looking: the greatest event seq seen at least SETTLE
    seconds ago (an event's seq is taken at insert, its transaction may commit a little later),
    with a full pass (0) every FULL_PASS seconds for a transaction slower than that."""

    seen: list[tuple[float, int]] = field(default_factory=list)  # (monotonic time, greatest seq)
    full_pass_at: float = 0.0

    def after_seq(self) -> int:
        moment = time.monotonic()
        if moment >= self.full_pass_at:
            self.full_pass_at = moment + FULL_PASS
            self.seen.clear()
            return 0
        settled = [seq for at, seq in self.seen if at <= moment - SETTLE]
        return max(settled, default=0)

    def saw(self, greatest_seq: int) -> None:
        self.seen.append((time.monotonic(), greatest_seq))
        del self.seen[: max(len(self.seen) - SEEN_KEPT, 0)]


async def run_dispatcher(
    session_factory: Callable[[], AsyncSession],
    client: httpx.AsyncClient,
    clock: Clock,
    *,
    interval: float,
    stop: asyncio.Event,
    batch: int = 100,
    broker: Broker | None = None,
    transports: Mapping[ConsumerKind, Transport] | None = None,
    settle: float = 0.25,
) -> None:
    """Deliver until `stop` is set: a round, a commit, then a sleep of `interval` seconds — cut
    short by `stop`, or (with a `broker`) by a dossier notification, `settle` seconds after it so
    that the changes of a busy moment make one round (every process hears every change: at 40
    changes a second a round per change was most of each process's CPU); no sleep at all when
    the last round had more work than `batch`. A failed round is logged and the loop goes on."""
    wake = asyncio.Event()
    watermark = _Watermark()

    async def one_round() -> bool:
        after_seq = watermark.after_seq()
        async with session_factory() as session:
            top = await session.scalar(select(func.max(DossierEvent.seq)))
            await ensure_deliveries(session, after_seq=after_seq)
            await session.commit()
        watermark.saw(int(top or 0))
        async with session_factory() as session:
            run = await deliver_once(
                session, client, now=clock.now(), batch=batch, transports=transports, after_seq=after_seq
            )
            await session.commit()
        if run.dossiers:
            log.info(
                "outbox: %s events delivered, %s dossiers to retry, %s synced",
                run.sent,
                run.failed,
                run.synced,
            )
        return run.more

    async with contextlib.AsyncExitStack() as stack:
        if broker is not None:
            queue = await stack.enter_async_context(broker.subscribe("dossier"))
            listener = asyncio.create_task(_wake_on_notification(queue, wake, settle), name="outbox-wake")
            stack.push_async_callback(_cancel, listener)
        await run_rounds(one_round, interval=interval, stop=stop, wake=wake, log=log, name="outbox")


async def _wake_on_notification(
    queue: asyncio.Queue[dict[str, object]], wake: asyncio.Event, settle: float
) -> None:
    while True:
        await queue.get()
        await asyncio.sleep(settle)  # the changes that follow within it: the same round
        while not queue.empty():
            queue.get_nowait()
        wake.set()


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
