"""Live events across processes: PostgreSQL LISTEN/NOTIFY fanned out to local subscribers.

Writers call `pg_notify` inside their transaction (see `services.events`), so PostgreSQL
delivers only committed events, to every app process listening. Payloads carry ids only; a
subscriber re-reads the current state, so nothing personal travels through the channel and a
late or repeated notification is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg

CHANNEL = "dvc_events"
WRITER_TOPIC = "writer"  # a caller's mutation committed (core.replicas: read-your-writes on every host)


def writer_digest(caller: str) -> str:
    """What travels between processes for a caller (an account id, an app, or an address): a
    digest, so that nothing personal goes through the channel."""
    return hashlib.blake2b(caller.encode(), digest_size=12).hexdigest()


def writer_notice(caller: str) -> str:
    """The `pg_notify` payload telling every process that `caller` just wrote."""
    return json.dumps({"topic": WRITER_TOPIC, "key": writer_digest(caller)})


log = logging.getLogger(__name__)


class Broker:
    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._subscribers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        self._callbacks: dict[str, list[Callable[[str], None]]] = defaultdict(list)
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="broker-listen")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), timeout=10)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        """Keep one listening connection; reconnect with backoff if PostgreSQL goes away."""
        delay = 0.2
        while True:
            try:
                conn = await asyncpg.connect(self._dsn)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, self._on_notify)
                self._connected.set()
                delay = 0.2
                try:
                    await lost.wait()
                finally:
                    self._connected.clear()
                    with contextlib.suppress(Exception):
                        await conn.close()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("event listener lost its connection; retrying", exc_info=True)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        if not isinstance(payload, str):
            return
        try:
            event = json.loads(payload)
            topic = f"{event['topic']}:{event['key']}"
        except (ValueError, KeyError, TypeError):
            log.warning("malformed notification ignored: %r", payload[:200])
            return
        for callback in self._callbacks.get(event["topic"], ()):
            callback(str(event["key"]))
        for key in (topic, f"{event['topic']}:*"):
            for queue in list(self._subscribers.get(key, ())):
                # A stalled subscriber loses its own events, never anyone else's.
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(event)

    def on(self, topic: str, callback: Callable[[str], None]) -> None:
        """`callback(key)` for every event of `topic`, as it arrives (no queue, no task): for
        bookkeeping that must be done before this process serves its next request."""
        self._callbacks[topic].append(callback)

    @contextlib.asynccontextmanager
    async def subscribe(self, topic: str, key: str = "*") -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        queue = self.attach(topic, key)
        try:
            yield queue
        finally:
            self.detach(topic, key, queue)

    def attach(self, topic: str, key: str = "*") -> asyncio.Queue[dict[str, Any]]:
        """A queue receiving the events of `topic:key` from now on (`subscribe` without a block)."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        self._subscribers[f"{topic}:{key}"].add(queue)
        return queue

    def detach(self, topic: str, key: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        name = f"{topic}:{key}"
        self._subscribers[name].discard(queue)
        if not self._subscribers[name]:
            del self._subscribers[name]

    @property
    def open_subscriptions(self) -> int:
        return sum(len(s) for s in self._subscribers.values())
