"""The benchmark data set (bench/dataset.py) on a small N, in a database of its own: the public
lookup finds its dossiers, every trail's hash chain checks, and the statistics facts filled by
the rebuild say what the tables say — checked by a statement of the test's own, not through the
`dossier_facts_source` view that the rebuild and the triggers share."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import asyncpg
import pytest_asyncio
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bench.dataset import Loaded, load, pg_dsn
from bench.dataset_rows import Spec
from core import migrate
from core.db import make_engine, make_session_factory
from models.dossiers import Dossier
from services.dossiers import queries
from tests.conftest import Servers

SPEC = Spec(dossiers=2_000, seed=3, procedures=60, citizens=1_000, files=5)
DATABASE = "bench_dataset_test"


@pytest_asyncio.fixture(scope="module")
async def loaded(servers: Servers) -> AsyncIterator[tuple[str, Loaded]]:
    admin = pg_dsn(servers.database_url)
    conn = await asyncpg.connect(admin)
    await conn.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
    await conn.execute(f"CREATE DATABASE {DATABASE}")
    await conn.close()
    url = servers.database_url.replace("/postgres?", f"/{DATABASE}?", 1)
    await asyncio.to_thread(migrate.upgrade, url)
    result = await load(pg_dsn(url), SPEC, echo=False)
    yield url, result
    conn = await asyncpg.connect(admin)
    await conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    await conn.close()


@pytest_asyncio.fixture
async def db(loaded: tuple[str, Loaded]) -> AsyncIterator[AsyncSession]:
    engine = make_engine(loaded[0], pool_size=1)
    async with make_session_factory(engine)() as session:
        yield session
    await engine.dispose()


async def test_the_lookup_finds_the_dossiers_by_code(loaded: tuple[str, Loaded], db: AsyncSession) -> None:
    codes = loaded[1].codes
    assert len(codes) >= 15
    for code in codes:
        found = await queries.lookup(db, code)
        assert found is not None
        assert found.dossier.code == code
        assert not found.full
        with_secret = await queries.lookup(db, code, secret=found.dossier.lookup_secret)
        assert with_secret is not None
        assert with_secret.full


async def test_every_trail_checks(db: AsyncSession) -> None:
    dossiers = list(await db.scalars(select(Dossier)))
    assert len(dossiers) == SPEC.dossiers
    for dossier in dossiers:
        check = await queries.check_trail(db, dossier)
        assert check.valid, (dossier.id, check)
        assert check.events == dossier.version


# Each dossier's fact row restated from the tables, without the view (aggregates instead of
# EXISTS): a wrong definition or a wrong rebuild shows as rows on one side only.
EXPECTED_FACTS = """
WITH refused AS (SELECT DISTINCT dossier_id FROM dossier_events WHERE action = 'REFUSE'),
     paid AS (SELECT DISTINCT dossier_id FROM payments WHERE state = 'PAID'),
     digitised AS (SELECT DISTINCT source_dossier_id AS dossier_id FROM vault_documents
                   WHERE source = 'DIGITISED' AND source_dossier_id IS NOT NULL),
     results AS (SELECT DISTINCT dossier_id FROM dossier_attachments
                 WHERE kind = 'RESULT' AND removed_at IS NULL),
     steps AS (SELECT dossier_id, array_agg(DISTINCT agency_id ORDER BY agency_id) AS ids
               FROM dossier_steps WHERE started_at IS NOT NULL GROUP BY dossier_id),
     reused AS (SELECT DISTINCT a.dossier_id FROM dossier_attachments a
                JOIN vault_documents d ON d.file_id = a.file_id
                WHERE a.kind = 'COMPONENT' AND a.removed_at IS NULL
                  AND (d.source_dossier_id IS NULL OR d.source_dossier_id <> a.dossier_id))
SELECT x.id, x.receiving_agency_id, x.procedure_id, v.field_id, v.online_mode::text, x.channel::text,
       x.status::text, x.received_at, x.result_at, x.finished_at, COALESCE(x.deadline_at, x.due_at), x.paused_at IS NOT NULL,
       x.punctuality::text, refused.dossier_id IS NOT NULL, x.payment_status::text <> 'NOT_REQUIRED',
       paid.dossier_id IS NOT NULL, digitised.dossier_id IS NOT NULL, results.dossier_id IS NOT NULL,
       reused.dossier_id IS NOT NULL, x.sync_status::text = 'SYNCED', r.overall, r.at,
       COALESCE(x.competent_agency_id, v.competent_agency_id, x.receiving_agency_id),
       COALESCE(steps.ids, '{}'), x.paused_at, x.supplement_requests
FROM dossiers x
JOIN procedure_versions v ON v.id = x.procedure_version_id
LEFT JOIN dossier_ratings r ON r.dossier_id = x.id
LEFT JOIN refused ON refused.dossier_id = x.id
LEFT JOIN paid ON paid.dossier_id = x.id
LEFT JOIN digitised ON digitised.dossier_id = x.id
LEFT JOIN results ON results.dossier_id = x.id
LEFT JOIN reused ON reused.dossier_id = x.id
LEFT JOIN steps ON steps.dossier_id = x.id
"""


async def test_the_facts_say_what_the_tables_say(db: AsyncSession) -> None:
    stored = await db.scalar(text("SELECT count(*) FROM dossier_facts"))
    assert stored == SPEC.dossiers
    missing = await db.scalar(
        text(f"SELECT count(*) FROM (({EXPECTED_FACTS}) EXCEPT SELECT * FROM dossier_facts) d")
    )
    extra = await db.scalar(
        text(f"SELECT count(*) FROM (SELECT * FROM dossier_facts EXCEPT ({EXPECTED_FACTS})) d")
    )
    assert (missing, extra) == (0, 0)
    # The comparison is not vacuous: the data set has rows on both sides of each flag it sets.
    flags = (
        await db.execute(
            text(
                "SELECT bool_or(paid_online), bool_or(refused), bool_or(fee_owed), "
                "bool_or(NOT paid_online) FROM dossier_facts"
            )
        )
    ).one()
    assert tuple(flags) == (True, True, True, True)


async def test_proportions_look_like_a_province(db: AsyncSession) -> None:
    by_status = Counter(
        {
            str(s): int(n)
            for s, n in await db.execute(select(Dossier.status, func.count()).group_by(Dossier.status))
        }
    )
    assert by_status["DossierStatus.CLOSED"] > 0.85 * SPEC.dossiers
    in_progress = by_status["DossierStatus.IN_PROGRESS"] + by_status["DossierStatus.SUPPLEMENT_REQUESTED"]
    assert in_progress > 0
    late = await db.scalar(text("SELECT count(*) FROM dossiers WHERE punctuality = 'LATE'"))
    assert 0.05 * SPEC.dossiers < int(late or 0) < 0.2 * SPEC.dossiers
    channels = {str(c) for (c,) in await db.execute(text("SELECT DISTINCT channel FROM dossiers"))}
    assert {"ONLINE", "COUNTER"} <= channels
    # Codes are unique and the counters continue after them.
    duplicates = await db.scalar(
        text(
            "SELECT count(*) FROM (SELECT code FROM dossiers WHERE code IS NOT NULL GROUP BY code HAVING count(*) > 1) d"
        )
    )
    assert duplicates == 0
    paid = await db.scalar(text("SELECT count(*) FROM payments WHERE state = 'PAID'"))
    assert int(paid or 0) > 0
