"""A realistic province, fast: the data set the lookup, inbox and submission benchmarks run on.

One province after the 2025 reform (no district level): 200 agencies in a tree (the provincial
people's committee, the public administration service centre, 19 departments with their
sub-units, 122 communes that are their own one-stop units), about 1,500 published procedures
with components, fees and a three-step workflow, 100,000 citizens (with profiles and vaults;
one precomputed argon2 hash for all — hashing 100,000 passwords would take longer than the
rest), about 600 staff with their assignments, and N dossiers over three years with their
process-control trail, steps, components (rows sharing a few stored files), results and online
payments, in realistic proportions: most finished (mostly early or on time, some late), some in
progress (a share overdue), a few waiting for a supplement; online, at the counter, by post and
through the national portal.

Everything comes from one `random.Random(seed)`: the same seed gives the same rows. The trail is
hash-chained exactly as `services.dossiers.trail` does it (computed here in COPY order), so
`check_trail` passes on any dossier. Rows are written with COPY (asyncpg
`copy_records_to_table`) with triggers off for the loading session (`session_replication_role
= replica`: neither the statistics triggers nor the foreign-key checks run per row; the
generator keeps the references right itself), then `dossier_facts` is filled once by the
rebuild the statistics use (`services.statistics.facts.rebuild`).

The generator is split by job: bench/dataset_rows.py (the tables, the time span, the row
helpers), bench/dataset_province.py (the small tables), bench/dataset_dossiers.py (the dossiers
with their history); this module loads them.

Run: `python -m bench.dataset --dossiers 1000000 --seed 1` (an embedded PostgreSQL in
`var/bench/postgres`, kept for the other benchmarks) or `--database-url postgresql://…`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from bench.dataset_dossiers import Dossiers
from bench.dataset_province import Province
from bench.dataset_rows import COLUMNS, END, START, Spec


def pg_dsn(url: str) -> str:
    """asyncpg wants `postgresql://`; accept the SQLAlchemy spelling too."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@dataclass(frozen=True)
class Loaded:
    dossiers: int
    rows: int
    seconds: float
    codes: list[str]  # a sample of issued codes, for lookups


async def _copy(conn: asyncpg.Connection, rows: dict[str, list[tuple[Any, ...]]]) -> int:
    written = 0
    for table, records in rows.items():
        if records:
            await conn.copy_records_to_table(table, records=records, columns=COLUMNS[table])
            written += len(records)
    return written


async def load(dsn: str, spec: Spec, *, echo: bool = True) -> Loaded:
    """Fill an empty, migrated database. Triggers and FK checks are off for this session only."""
    from core.db import make_engine, make_session_factory
    from services.statistics.facts import rebuild

    started = time.perf_counter()
    rnd = random.Random(spec.seed)
    await _yearly_partitions(dsn)
    conn = await asyncpg.connect(pg_dsn(dsn))
    rows_written = 0
    try:
        if await conn.fetchval("SELECT count(*) FROM dossiers"):
            raise SystemExit("the database already holds dossiers: load into an empty one")
        await conn.execute(
            "SET session_replication_role = replica; SET synchronous_commit = off; SET statement_timeout = 0"
        )
        province = Province(spec, rnd)
        async with conn.transaction():
            rows_written += await _copy(conn, province.rows)
        gen = Dossiers(province, spec)
        done = 0
        # Generate the next batch in a thread while PostgreSQL takes in the current one.
        loop = asyncio.get_running_loop()
        batches = gen.batches()
        with ThreadPoolExecutor(1) as pool:
            pending = loop.run_in_executor(pool, next, batches, None)
            while (batch := await pending) is not None:
                pending = loop.run_in_executor(pool, next, batches, None)
                async with conn.transaction():
                    rows_written += await _copy(conn, batch)
                done += len(batch["dossiers"])
                if echo and done % 100_000 == 0:
                    print(
                        f"  {done:,} dossiers, {rows_written:,} rows, {time.perf_counter() - started:.0f} s",
                        flush=True,
                    )
        counters = [(agency, day, last) for (agency, day), last in gen.counters.items()]
        rows_written += await _copy(conn, {"dossier_code_counters": counters})
        await conn.execute("SET session_replication_role = DEFAULT")
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    if echo:
        print(
            f"  rows written in {time.perf_counter() - started:.0f} s; rebuilding dossier_facts", flush=True
        )
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    engine = make_engine(url, pool_size=1)
    try:
        async with make_session_factory(engine)() as session:
            from sqlalchemy import text

            await session.execute(text("SET LOCAL statement_timeout = 0"))
            rebuilt = await rebuild(session)
            await session.commit()
            await session.execute(text("ANALYZE dossier_facts"))
            await session.commit()
    finally:
        await engine.dispose()
    return Loaded(spec.dossiers, rows_written + rebuilt.rows, time.perf_counter() - started, gen.codes)


async def _yearly_partitions(dsn: str) -> None:
    """The partitions by year (migration 0033) of the data set's span, made before the COPY so
    that no row waits in a DEFAULT partition."""
    from core.db import make_engine, make_session_factory
    from services.partitions import ensure_partitions, local_year

    engine = make_engine(dsn.replace("postgresql://", "postgresql+asyncpg://", 1), pool_size=1)
    try:
        async with make_session_factory(engine)() as session:
            await ensure_partitions(session, now=END, years=range(local_year(START), local_year(END) + 1))
            await session.commit()
    finally:
        await engine.dispose()


def sample_codes(codes: Sequence[str], n: int, seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    return [rnd.choice(codes) for _ in range(n)]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", help="a migrated, empty database (default: an embedded one)")
    parser.add_argument(
        "--data-dir", default="var/bench", help="where the embedded PostgreSQL keeps its data"
    )
    args = parser.parse_args(argv)
    spec = Spec(dossiers=args.dossiers, seed=args.seed)
    if args.database_url:
        loaded = asyncio.run(load(args.database_url, spec))
    else:
        from core import migrate
        from devservers import EmbeddedServices

        with EmbeddedServices(Path(args.data_dir), s3=False) as servers:
            assert servers.postgres is not None
            migrate.upgrade(servers.postgres.database_url)
            loaded = asyncio.run(load(servers.postgres.dsn, spec))
    print(f"{loaded.dossiers:,} dossiers, {loaded.rows:,} rows in {loaded.seconds:.0f} s (seed {args.seed})")


if __name__ == "__main__":
    main()
