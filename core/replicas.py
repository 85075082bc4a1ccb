"""Read replicas (DATABASE_READ_URLS): where a read that tolerates a little lag is sent.

`ReadReplicas` holds one engine per streaming replica and a cached health per replica: a replica
is used only while it answers, is in recovery (a standby, not a promoted or misconfigured
primary) and lags at most DATABASE_READ_MAX_LAG_SECONDS. The health is checked at most every
DATABASE_READ_CHECK_SECONDS, by the first request that needs it (one cheap statement), so a
request never waits on more than one check per replica and period.

Read-your-writes: a caller whose mutation committed (`wrote`) reads the primary for
DATABASE_READ_OWN_WRITES_SECONDS (`recently_wrote`) — in every process: the committing transaction
also sends `pg_notify` on the broker's channel (topic `writer`, the caller's digest, never the
caller itself), and each process's broker hands it to `heard`, before a caller who acted on one
host can ask another. The request's side of the seam is `core.db.RequestDb.read_session()`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.broker import writer_digest
from core.db import SessionFactory, make_engine, make_session_factory

log = logging.getLogger("dvc")

# Seconds of lag: 0 when everything received is replayed (an idle primary is not lag; right after
# a restart the receiver reports the start of its segment, behind the replay), else the age of the
# last replayed transaction (an overestimate after a long idle spell: the replica is then skipped
# for a moment, never read too late); NULL (unknown) counts as lagging.
HEALTH_SQL = text(
    "SELECT pg_is_in_recovery(), CASE WHEN pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() "
    "AND NOT pg_is_wal_replay_paused() THEN 0 "
    "ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END"
)


@dataclass
class Replica:
    """One replica, its engine and its last known health."""

    url: str
    engine: AsyncEngine
    factory: SessionFactory
    usable: bool = False
    lag: float | None = None
    checked_at: float = float("-inf")
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class ReadReplicas:
    """The process's replicas, their health and the recent writers."""

    def __init__(
        self,
        engines: list[AsyncEngine],
        *,
        max_lag_seconds: float = 5.0,
        check_seconds: float = 2.0,
        own_writes_seconds: float = 10.0,
        check_timeout_seconds: float = 1.0,
    ) -> None:
        self.replicas = [Replica(str(engine.url), engine, make_session_factory(engine)) for engine in engines]
        self.max_lag_seconds = max_lag_seconds
        self.check_seconds = check_seconds
        self.own_writes_seconds = own_writes_seconds
        self.check_timeout_seconds = check_timeout_seconds
        self._turn = itertools.count()
        self._writers: dict[str, float] = {}  # caller → monotonic time until which it reads the primary

    @classmethod
    def from_urls(
        cls,
        urls: list[str],
        *,
        pool_size: int = 10,
        statement_timeout_ms: int = 30_000,
        **options: float,
    ) -> ReadReplicas:
        engines = [
            make_engine(url, pool_size=pool_size, statement_timeout_ms=statement_timeout_ms) for url in urls
        ]
        return cls(engines, **options)

    def wrote(self, caller: str | None) -> None:
        """`caller`'s mutation committed: its next reads go to the primary for a while."""
        if caller is not None:
            self.heard(writer_digest(caller))

    def heard(self, digest: str) -> None:
        """A caller's mutation committed, in this process or another (`writer_digest`)."""
        if self.own_writes_seconds <= 0:
            return
        now = time.monotonic()
        self._writers[digest] = now + self.own_writes_seconds
        if len(self._writers) > 10_000:  # forget the expired ones now and then
            self._writers = {key: until for key, until in self._writers.items() if until > now}

    def recently_wrote(self, caller: str | None) -> bool:
        until = self._writers.get(writer_digest(caller)) if caller is not None else None
        return until is not None and until > time.monotonic()

    async def pick(self, caller: str | None = None) -> Replica | None:
        """A usable replica for `caller` (turn by turn), or None: read the primary."""
        if not self.replicas or self.recently_wrote(caller):
            return None
        start = next(self._turn)
        for offset in range(len(self.replicas)):
            replica = self.replicas[(start + offset) % len(self.replicas)]
            if await self._usable(replica):
                return replica
        return None

    async def _usable(self, replica: Replica) -> bool:
        if time.monotonic() - replica.checked_at < self.check_seconds:
            return replica.usable
        async with replica.lock:
            if time.monotonic() - replica.checked_at >= self.check_seconds:  # not just checked by another
                await self.check(replica)
        return replica.usable

    async def check(self, replica: Replica) -> None:
        """Ask the replica how far behind it is; unreachable, not a standby or too late: unusable."""
        try:
            async with asyncio.timeout(self.check_timeout_seconds), replica.engine.connect() as connection:
                in_recovery, lag = (await connection.execute(HEALTH_SQL)).one()
        except Exception as error:  # noqa: BLE001 — down, starting, refusing: skipped until the next check
            if replica.usable or replica.checked_at == float("-inf"):
                name = replica.engine.url.render_as_string()
                log.warning("read replica %s skipped: %s", name, type(error).__name__)
            replica.usable, replica.lag = False, None
        else:
            replica.lag = None if lag is None else float(lag)
            close_enough = replica.lag is not None and replica.lag <= self.max_lag_seconds
            replica.usable = bool(in_recovery) and close_enough
        replica.checked_at = time.monotonic()

    def failed(self, replica: Replica) -> None:
        """A request found `replica` unreachable: skipped until its next check."""
        replica.usable, replica.checked_at = False, time.monotonic()

    async def close(self) -> None:
        for replica in self.replicas:
            await replica.engine.dispose()
