"""`dvc partitions list | ensure | detach` and the daily jobs' partitions (issue 15 item 2), run
as real processes against a database of their own."""

from __future__ import annotations

import asyncio

import asyncpg

from tests.test_cli import cli_env, count, dvc

__all__ = ["cli_env"]  # the fixture, shared with tests/test_cli.py


def _sql(env: dict[str, str], statement: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(env["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://", 1))
        await conn.execute(statement)
        await conn.close()

    asyncio.run(run())


def test_dvc_partitions_lists_ensures_and_detaches_the_yearly_partitions(cli_env: dict[str, str]) -> None:
    """Issue 15 item 2: partitions created ahead by the jobs, old ones detachable for the archive;
    a row waiting in a DEFAULT partition is reported until `ensure` gives it its year."""
    assert dvc(cli_env, "migrate").returncode == 0
    _sql(
        cli_env,
        "INSERT INTO security_events (at, event, outcome, actor_label) "
        "VALUES ('2019-05-01 10:00+07', 'SIGN_IN', 'SUCCESS', 'test')",
    )
    listed = dvc(cli_env, "partitions", "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0] == "table\tpartition\trange\trows_estimate"
    assert any(line.startswith("dossier_events\tdossier_events_default\tDEFAULT") for line in lines)
    assert "security_events: 1 dòng trong phân vùng DEFAULT" in listed.stderr

    ensured = dvc(cli_env, "partitions", "ensure")
    assert ensured.returncode == 0, ensured.stderr
    assert "security_events_y2019" in ensured.stderr
    assert count(cli_env, "SELECT count(*) FROM security_events_y2019") == 1
    assert "DEFAULT" not in dvc(cli_env, "partitions", "list").stderr
    assert "tạo 0" in dvc(cli_env, "run-jobs").stderr  # the daily jobs: nothing left to create

    too_recent = dvc(cli_env, "partitions", "detach", "--before", "2030")
    assert too_recent.returncode == 1
    assert "Không tách được phân vùng" in too_recent.stderr
    assert "Traceback" not in too_recent.stderr
    detached = dvc(cli_env, "partitions", "detach", "--before", "2020")
    assert detached.returncode == 0, detached.stderr
    assert "security_events_y2019_detached" in detached.stderr
    assert count(cli_env, "SELECT count(*) FROM security_events_y2019_detached") == 1
    assert count(cli_env, "SELECT count(*) FROM security_events WHERE at < '2020-01-01'") == 0
