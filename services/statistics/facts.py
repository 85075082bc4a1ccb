"""Rebuilding the statistics facts from scratch (`dvc statistics-rebuild`): after a restore, a
bulk load that bypassed the triggers, or to prove the kept rows exact. The same SQL definition
(the `dossier_facts_source` view of migration 0014) serves the triggers and the rebuild."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class Rebuilt:
    rows: int
    differed: int  # rows that were missing, extra or different before the rebuild


async def rebuild(session: AsyncSession) -> Rebuilt:
    """Replace every fact row by its recomputation, in one transaction (readers see the old rows
    until it commits), and say how many were not what they should have been."""
    differed = await session.scalar(
        text(
            "SELECT count(*) FROM ((SELECT * FROM dossier_facts EXCEPT SELECT * FROM dossier_facts_source)"
            " UNION ALL (SELECT * FROM dossier_facts_source EXCEPT SELECT * FROM dossier_facts)) d"
        )
    )
    await session.execute(text("LOCK TABLE dossier_facts IN EXCLUSIVE MODE"))
    await session.execute(text("DELETE FROM dossier_facts"))
    await session.execute(text("INSERT INTO dossier_facts SELECT * FROM dossier_facts_source"))
    rows = await session.scalar(text("SELECT count(*) FROM dossier_facts"))
    return Rebuilt(int(rows or 0), int(differed or 0))
