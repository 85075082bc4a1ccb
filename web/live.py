"""The live hub: a change re-read once per process for all the subscribers who share it.

A graphql-transport-ws subscription the live planner compiles (`planner.live`) is served here:
its subscriber joins a group — same statement, same parameter values (the dossier, the caller's
visibility values), hence the same answer — under the topic that announces the object's changes
(`core.broker`). On a change, the topic's worker runs ONE statement per group; PostgreSQL builds
the payload as JSON text, and the same bytes (`orjson.Fragment`: never decoded, never re-encoded)
go out in every member's `next` message. A subscriber only ever receives what its own statement
answers: the caller's visibility is in the statement, and the statement is the group's key.

As on the old path (`resolvers.dossiers.subscriptions`, `web.graphql._while_admitted`): the
current state first (read after the subscriber is listening: nothing committed in between is
lost), then every change, a burst coalesced into one read; a change the caller may no longer see
is not sent; the caller's credential asked again before an event at most once a second, and a
revoked one answered by one UNAUTHENTICATED error and the end of the operation. Whatever the hub
cannot serve — not compiled, not found, refused — runs through the old path, which answers it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import GraphQLError

from auth.actor import Actor
from auth.tokens import AccessClaims
from core.observability import FALLBACKS, GRAPHQL_OPERATIONS, LIVE_READS
from planner.live import LivePlanner, LiveReady
from planner.plans import Planner
from planner.statements import NotCompilable
from schema.extensions import operation_label
from web.runtime import RuntimeRef

log = logging.getLogger("dvc")
START, CHANGE = LIVE_READS.labels("start"), LIVE_READS.labels("change")

# How often a long-lived operation asks again whether its caller is still let in: before an event
# when the last answer is older than this (a burst of events costs one query).
READMIT_EVERY_SECONDS = 1.0
OUTBOX_SIZE = 100  # states waiting for one stalled client, at most
REVOKED_MESSAGE = "Phiên đăng nhập đã bị thu hồi hoặc tài khoản đã bị khoá: đăng nhập lại."

Admission = Callable[[AccessClaims], Awaitable[bool]]


@dataclass(eq=False)
class Subscriber:
    """One operation of one socket (strawberry's graphql-transport-ws `Operation`)."""

    operation: Any
    claims: AccessClaims | None
    checked: float = float("-inf")
    # What is to be sent, in order, by the operation's own task: a stalled client holds up
    # nobody else, and loses its own oldest states, never the latest.
    outbox: deque[orjson.Fragment] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def post(self, data: orjson.Fragment) -> None:
        if len(self.outbox) >= OUTBOX_SIZE:
            self.outbox.popleft()
        self.outbox.append(data)
        self.wake.set()


@dataclass(eq=False)
class Group:
    ready: LiveReady
    members: list[Subscriber] = field(default_factory=list)


@dataclass(eq=False)
class Topic:
    """One announced object (`dossier:<id>`): its broker queue, its groups, its worker. The lock
    orders a member's first message before any change sent to it."""

    name: str
    key: str
    queue: asyncio.Queue[dict[str, Any]]
    groups: dict[Hashable, Group] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    worker: asyncio.Task[None] | None = None


class LiveHub:
    def __init__(
        self, runtime_ref: RuntimeRef, planner: Callable[[], Planner], admitted: Admission, *, enabled: bool
    ) -> None:
        self._runtime_ref, self._planner_of, self._admitted = runtime_ref, planner, admitted
        self.enabled = enabled
        self._planner: LivePlanner | None = None
        self._topics: dict[tuple[str, str], Topic] = {}
        self._admissions: dict[AccessClaims, tuple[float, bool]] = {}

    def planner(self) -> LivePlanner:
        if self._planner is None:
            self._planner = LivePlanner(self._planner_of())
        return self._planner

    async def serve(self, operation: Any, actor: Actor) -> bool:
        """Serves the operation until it ends (True), or False: the old path runs it."""
        rt = self._runtime_ref.runtime
        if not self.enabled or rt.reads is None or rt.broker is None:
            return False
        try:
            ready = self.planner().prepare(
                operation.query, operation.operation_name, operation.variables, actor
            )
            first = await self._read(ready, START)
        except NotCompilable as refused:
            self._fallback(str(refused))
            return False
        if first is None:
            self._fallback("not found")  # the old path answers, NOT_FOUND or a refusal
            return False
        GRAPHQL_OPERATIONS.labels(operation_label(ready.operation_name), "subscription").inc()
        topic = self._topic(ready.plan.topic, first[0])
        group = topic.groups.setdefault(ready.group, Group(ready))
        subscriber = Subscriber(operation, actor.credential)
        group.members.append(subscriber)
        try:
            async with topic.lock:  # no change is posted to it before its current state
                try:
                    latest = await self._read(ready, START)
                except NotCompilable:
                    latest = None
                subscriber.post(orjson.Fragment((latest or first)[1]))
            while await self._send_posted(subscriber):
                await subscriber.wake.wait()
                subscriber.wake.clear()
        finally:
            self._leave(topic, group, subscriber)
        return True

    def _fallback(self, reason: str) -> None:
        FALLBACKS.labels(("live " + reason.split(":", 1)[0])[:60]).inc()
        if self._runtime_ref.runtime.settings.log_fallbacks:
            log.info("live hub: the old path serves: %s", reason)

    async def _read(self, ready: LiveReady, counter: Any) -> tuple[str, str] | None:
        """The plan's (key, data) for these values, or None when the caller sees no such row."""
        reads = self._runtime_ref.runtime.reads
        assert reads is not None
        counter.inc()
        try:
            row = await reads.fetchrow(
                ready.plan.sql, *ready.arguments, timeout=self.planner().planner.limits.timeout_seconds
            )
        except Exception as error:
            log.warning("live read failed: %s", type(error).__name__, exc_info=True)
            raise NotCompilable(f"the statement failed: {type(error).__name__}") from None
        return None if row is None else (str(row[0]), str(row[1]))

    # --- topics and their workers ----------------------------------------------------------------

    def _topic(self, name: str, key: str) -> Topic:
        topic = self._topics.get((name, key))
        if topic is None:
            broker = self._runtime_ref.runtime.broker
            assert broker is not None
            topic = Topic(name, key, broker.attach(name, key))  # listening from now on
            topic.worker = asyncio.create_task(self._watch(topic), name=f"live-{name}")
            self._topics[(name, key)] = topic
        return topic

    def _leave(self, topic: Topic, group: Group, subscriber: Subscriber) -> None:
        with contextlib.suppress(ValueError):
            group.members.remove(subscriber)
        if not group.members and topic.groups.get(group.ready.group) is group:
            del topic.groups[group.ready.group]
        if not topic.groups and self._topics.get((topic.name, topic.key)) is topic:
            del self._topics[(topic.name, topic.key)]
            broker = self._runtime_ref.runtime.broker
            if broker is not None:
                broker.detach(topic.name, topic.key, topic.queue)
            if topic.worker is not None:
                topic.worker.cancel()

    async def _watch(self, topic: Topic) -> None:
        while True:
            await topic.queue.get()
            while not topic.queue.empty():  # a burst: one fresh read
                topic.queue.get_nowait()
            async with topic.lock:
                groups = list(topic.groups.values())
                if len(groups) == 1:
                    await self._refresh(groups[0])
                else:  # each group's statement on a connection of its own, at once
                    await asyncio.gather(*(self._refresh(group) for group in groups))

    async def _refresh(self, group: Group) -> None:
        try:
            await self._refresh_group(group)
        except Exception:  # a bug must not silence the topic for everyone
            log.exception("live refresh failed")

    async def _refresh_group(self, group: Group) -> None:
        """One statement for the whole group; the same bytes to each member."""
        found: tuple[str, str] | None = None
        for attempt in range(3):
            try:
                found = await self._read(group.ready, CHANGE)
                break
            except NotCompilable:
                if attempt == 2:
                    log.warning("live read failed three times: this change is not sent")
                    return
                await asyncio.sleep(0.1 * (attempt + 1))
        if found is None:
            return  # no longer visible to these callers: nothing to send (as the old path)
        data = orjson.Fragment(found[1])
        for subscriber in group.members:
            subscriber.post(data)

    # --- one member ------------------------------------------------------------------------------

    async def _send_posted(self, subscriber: Subscriber) -> bool:
        """Sends what was posted to it; False once the operation has ended (revoked, completed by
        the client, its socket gone)."""
        operation = subscriber.operation
        while subscriber.outbox:
            data = subscriber.outbox.popleft()
            if operation.handler.operations.get(operation.id) is not operation:
                return False  # completed by the client: its task is about to be cancelled
            try:
                due = time.monotonic() - subscriber.checked >= READMIT_EVERY_SECONDS
                if subscriber.claims is not None and due:
                    if not await self._still_admitted(subscriber.claims):
                        await self._revoked(operation)
                        return False
                    subscriber.checked = time.monotonic()
                message = {"id": operation.id, "type": "next", "payload": {"data": data}}
                await operation.send_operation_message(message)
            except Exception:  # the socket is gone: its handler ends the operation
                log.debug("live delivery failed", exc_info=True)
                return False
        return True

    @staticmethod
    async def _revoked(operation: Any) -> None:
        """One UNAUTHENTICATED error instead of the event, and the operation's end."""
        refusal = GraphQLError(REVOKED_MESSAGE, extensions={"code": "UNAUTHENTICATED"})
        payload = {"data": None, "errors": [refusal.formatted]}
        await operation.send_operation_message({"id": operation.id, "type": "next", "payload": payload})
        await operation.send_operation_message({"id": operation.id, "type": "complete"})

    async def _still_admitted(self, claims: AccessClaims) -> bool:
        """`web.authentication.still_admitted`, its answer shared for a second by the operations
        holding the same credential (each asks at most once a second on the old path)."""
        now = time.monotonic()
        known = self._admissions.get(claims)
        if known is not None and now - known[0] < READMIT_EVERY_SECONDS:
            return known[1]
        if len(self._admissions) > 10_000:
            self._admissions = {
                c: a for c, a in self._admissions.items() if now - a[0] < READMIT_EVERY_SECONDS
            }
        admitted = await self._admitted(claims)
        self._admissions[claims] = (time.monotonic(), admitted)
        return admitted
