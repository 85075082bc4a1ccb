"""The check on the DEFAULT partitions (issue 15 item 2): `/metrics` counts the rows no yearly
partition covers, per table, so an operator is told before `dvc partitions ensure` runs."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import SYSTEM
from services.accounts.journal import RequestMeta, security_event
from tests.test_metrics import scrape, value


async def test_rows_in_a_default_partition_are_reported_by_the_metrics(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Issue 15 item 2: a row backdated to a year without a partition lands in the DEFAULT
    partition (the insert never fails) and `dvc_partition_default_rows{table}` shows it."""
    before = value(await scrape(client), "dvc_partition_default_rows", table="security_events")
    old = datetime(2019, 6, 1, 3, tzinfo=UTC)
    session.add(security_event("SIGN_IN", "FAILURE", actor=SYSTEM, now=old, meta=RequestMeta()))
    await session.commit()
    where = await session.scalar(
        text("SELECT tableoid::regclass::text FROM security_events WHERE at = :at"), {"at": old}
    )
    assert where == "security_events_default"
    samples = await scrape(client)
    assert value(samples, "dvc_partition_default_rows", table="security_events") == before + 1
    reported = {dict(labels)["table"] for name, labels in samples if name == "dvc_partition_default_rows"}
    assert reported == {"dossier_events", "security_events", "notification_outbox"}
