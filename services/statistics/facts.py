"""Rebuilding the statistics facts from scratch (`dvc statistics-rebuild`): after a restore, a
bulk load that bypassed the triggers, or to prove the kept rows exact. The same SQL definition
(the `dossier_facts_source` view of migration 0014) serves the triggers and the rebuild. The
monthly pre-aggregate (`dossier_fact_months`, migration 0032) is rebuilt after them from the
same `dossier_fact_contributions` view its trigger maintenance uses, and checked likewise."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from models.statistics import AGENCY_ROLLUP_KEYS, MONTH_KEYS, MONTH_MEASURES, PROCEDURE_ROLLUP_KEYS

_NAMES = ", ".join(n for n, _ in MONTH_MEASURES)
_NONZERO = " OR ".join(f"{n} <> 0" for n, _ in MONTH_MEASURES)
_KEYS = ", ".join(("month", *MONTH_KEYS))


async def _measures(session: AsyncSession) -> list[str]:
    """The measures the month rows have in this database: all of models.statistics' at the head
    migration; fewer in one loaded at an earlier one (the benchmarks' data sets and the
    partition tests load theirs at 0032 and migrate afterwards), which the rebuild then fills."""
    present = set(
        await session.scalars(
            text(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = 'dossier_fact_months'"
            )
        )
    )
    return [n for n, _ in MONTH_MEASURES if n in present]


def _kept_and_should(names: list[str]) -> tuple[str, str]:
    """The month rows kept, and what they should be: the facts' contributions summed (rows of
    zeros left out). Built from the fixed names of models.statistics only: S608 does not apply."""
    listed = ", ".join(names)
    nonzero = " OR ".join(f"{n} <> 0" for n in names)
    recount = (
        f"SELECT {_KEYS}, {', '.join(f'sum({n}) AS {n}' for n in names)}"  # noqa: S608
        f" FROM dossier_fact_contributions GROUP BY {_KEYS}"
    )
    kept = f"SELECT {_KEYS}, {listed} FROM dossier_fact_months WHERE {nonzero}"  # noqa: S608
    return kept, f"SELECT {_KEYS}, {listed} FROM ({recount}) r WHERE {nonzero}"  # noqa: S608


def adjust_months(sign: int, where: str) -> str:
    """The statement adding (`sign` 1) or taking off (-1) the contributions of the fact rows
    `where` to the month rows — what `dossier_fact_refresh` does, for code that writes the facts
    around the triggers (the benchmarks' restores): take off before, add after."""
    keys = ", ".join(MONTH_KEYS)
    sums = ", ".join(f"{int(sign)} * sum({n})" for n, _ in MONTH_MEASURES)
    updates = ", ".join(f"{n} = m.{n} + EXCLUDED.{n}" for n, _ in MONTH_MEASURES)
    return (
        f"INSERT INTO dossier_fact_months AS m ({_KEYS}, {_NAMES})"  # noqa: S608 — fixed names
        f" SELECT month, {keys}, {sums} FROM dossier_fact_contributions WHERE {where}"
        f" GROUP BY month, {keys} ORDER BY month, {keys} ON CONFLICT ({_KEYS}) DO UPDATE SET {updates}"
    )


@dataclass(frozen=True)
class Rebuilt:
    rows: int
    differed: int  # rows that were missing, extra or different before the rebuild
    months: int = 0  # month rows (monthly pre-aggregate) after the rebuild
    months_differed: int = 0  # month rows missing, extra or different before the rebuild


def _rollup_differs(table: str, keys: tuple[str, ...], source: str = "dossier_fact_months") -> str:
    """Rows of a rollup (migrations 0034, 0036) that are not the rows of `source` summed by its
    keys — per month, or per year for the yearly one (its `year`: the year's first day)."""
    period = "year" if "years" in table else "month"
    cut = "date_trunc('year', month)::date" if period == "year" else "month"
    group = ", ".join((period, *keys))
    sums = ", ".join(f"sum({n}) AS {n}" for n, _ in MONTH_MEASURES)
    kept = f"SELECT {group}, {_NAMES} FROM {table} WHERE {_NONZERO}"  # noqa: S608 — fixed names
    should = (
        f"SELECT * FROM (SELECT {cut} AS {period}, {', '.join(keys)}, {sums} FROM {source}"  # noqa: S608
        f" GROUP BY 1, {', '.join(keys)}) s WHERE {_NONZERO}"
    )
    return f"SELECT count(*) FROM (({kept} EXCEPT {should}) UNION ALL ({should} EXCEPT {kept})) d"  # noqa: S608


async def rollups_differing(session: AsyncSession) -> int:
    """How many rows of the rollups differ from what they sum: the two monthly ones from the
    month rows, the yearly one from the per-procedure monthly one."""
    found = 0
    for table, keys, source in (
        ("dossier_fact_months_agency", AGENCY_ROLLUP_KEYS, "dossier_fact_months"),
        ("dossier_fact_months_procedure", PROCEDURE_ROLLUP_KEYS, "dossier_fact_months"),
        ("dossier_fact_years_procedure", PROCEDURE_ROLLUP_KEYS, "dossier_fact_months_procedure"),
    ):
        found += int(await session.scalar(text(_rollup_differs(table, keys, source))) or 0)
    return found


async def months_differing(session: AsyncSession) -> int:
    """How many month rows differ from the recount of the facts (missing, extra or different)."""
    kept, should = _kept_and_should(await _measures(session))
    found = await session.scalar(
        text(f"SELECT count(*) FROM (({kept} EXCEPT {should}) UNION ALL ({should} EXCEPT {kept})) d")  # noqa: S608
    )
    return int(found or 0)


async def rebuild(session: AsyncSession) -> Rebuilt:
    """Replace every fact row by its recomputation, in one transaction (readers see the old rows
    until it commits), and say how many were not what they should have been; then the same for
    the month rows."""
    differed = await session.scalar(
        text(
            "SELECT count(*) FROM ((SELECT * FROM dossier_facts EXCEPT SELECT * FROM dossier_facts_source)"
            " UNION ALL (SELECT * FROM dossier_facts_source EXCEPT SELECT * FROM dossier_facts)) d"
        )
    )
    await session.execute(text("LOCK TABLE dossier_facts IN EXCLUSIVE MODE"))
    await session.execute(text("LOCK TABLE dossier_fact_months IN EXCLUSIVE MODE"))
    await session.execute(text("DELETE FROM dossier_facts"))
    await session.execute(text("INSERT INTO dossier_facts SELECT * FROM dossier_facts_source"))
    rows = await session.scalar(text("SELECT count(*) FROM dossier_facts"))
    months, months_differed = await rebuild_months(session)
    return Rebuilt(int(rows or 0), int(differed or 0), months, months_differed)


async def rebuild_months(session: AsyncSession) -> tuple[int, int]:
    """Replace the month rows by the recount of the facts: (rows now, rows that differed)."""
    await session.execute(text("LOCK TABLE dossier_fact_months IN EXCLUSIVE MODE"))
    differed = await months_differing(session)
    await session.execute(text("DELETE FROM dossier_fact_months"))
    names = await _measures(session)
    should = _kept_and_should(names)[1]
    await session.execute(text(f"INSERT INTO dossier_fact_months ({_KEYS}, {', '.join(names)}) {should}"))
    months = await session.scalar(text("SELECT count(*) FROM dossier_fact_months"))
    return int(months or 0), differed
