"""Public catalog: the search page — `procedures(search:, first: 20)` with each procedure's name,
online mode, processing time and competent agency — and the plain listing page (no search,
by code), against baseline (b): PostGraphile 4 over the same tables.

PostGraphile cannot by itself do our search (diacritics folded, every word matched, the last as
a prefix, ranked: code match, whole phrase, shorter names, ts_rank_cd), so the benchmark
creates, idempotently, in a schema of its own (`bench_postgraphile`), a SQL function
`search_procedures(search)` with the WHERE and ORDER BY of services/catalog/queries.py
`_search_page` and the folding of services/text.py; PostGraphile serves it as
`searchProcedures`. Before the load, the first pages of both servers are compared for a sample
of searches: same codes, same order, same totals.

1. SQL statements per request (our app) for pages of 1, 10 and 20, searched and listed: must not
   grow with the page (bench/statements.py).
2. Pages/s, p50/p99 and server CPU per page, our app against (b), with 32 concurrent wrk
   connections, searches rotating through 200 phrases cut from the data set's procedure names
   (1–3 words, half typed without diacritics, the last word often cut short as one types).
   Target: ≥ 1.0× (b).

Run: `python -m bench.catalog` (BENCH_SECONDS shortens the run).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import tempfile
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.servers import (
    SECONDS,
    Server,
    dataset,
    interleaved,
    node_dsn,
    ratio,
    running,
    sample,
    start_app,
    start_postgraphile,
)
from bench.statements import count_statements
from services.text import fold

CONCURRENCY = 32
PAGE = 20
SEARCHES = 200
COMPARED = 40  # searches whose first pages are compared between the two servers
NODE = "code name onlineMode processingDays competentAgency { code name }"
PAGE_INFO = "pageInfo { hasNextPage endCursor }"
SEARCH = (
    "query($s: String!, $first: Int!) { procedures(search: $s, first: $first) { totalCount"
    f" edges {{ cursor node {{ {NODE} }} }} {PAGE_INFO} }} }}"
)
LIST = (
    "query($first: Int!) { procedures(first: $first) { totalCount"
    f" edges {{ cursor node {{ {NODE} }} }} {PAGE_INFO} }} }}"
)
PG_NODE = (
    "code procedureVersionByPublishedVersionId { name onlineMode processingDays"
    " agencyByCompetentAgencyId { code name } }"
)
PG_SEARCH = (
    "query($s: String!, $first: Int!) { searchProcedures(search: $s, first: $first) { totalCount"
    f" edges {{ cursor node {{ {PG_NODE} }} }} {PAGE_INFO} }} }}"
)
PG_LIST = (
    "query($first: Int!) { allProcedures(first: $first, orderBy: CODE_ASC, condition: {status: PUBLISHED})"
    f" {{ totalCount edges {{ cursor node {{ {PG_NODE} }} }} {PAGE_INFO} }} }}"
)
NAMES_SQL = """SELECT v.name FROM procedures p JOIN procedure_versions v ON v.id = p.published_version_id
WHERE p.status = 'PUBLISHED' ORDER BY p.code"""

# Our search in SQL, for PostGraphile. fold: services/text.py `fold` (NFD, combining marks
# dropped, đ→d, lower case, anything else to single spaces); prefix_tsquery: its namesake there
# (every word, those before the last once, the last as a prefix); search_procedures: the
# anonymous catalog's rows (PUBLISHED, the version in force or the draft) with the WHERE and
# ORDER BY of services/catalog/queries.py `_search_page`. LANGUAGE sql and STABLE, so that
# PostgreSQL inlines them into PostGraphile's statement as it would our query.
SETUP_SQL = r"""
CREATE SCHEMA IF NOT EXISTS bench_postgraphile;

CREATE OR REPLACE FUNCTION bench_postgraphile.fold(raw text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT btrim(regexp_replace(
    lower(regexp_replace(normalize(translate(raw, 'đĐ', 'dD'), NFD), '[\u0300-\u036f]', '', 'g')),
    '[^0-9a-z]+', ' ', 'g'))
$$;

CREATE OR REPLACE FUNCTION bench_postgraphile.prefix_tsquery(raw text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  WITH word AS (
    SELECT w, n, count(*) OVER () AS words
    FROM unnest(string_to_array(bench_postgraphile.fold(raw), ' ')) WITH ORDINALITY AS t(w, n)
  )
  SELECT string_agg(w, ' & ' ORDER BY n) || ':*'
  FROM (SELECT w, min(n) AS n FROM word WHERE n < words GROUP BY w
        UNION ALL SELECT w, n FROM word WHERE n = words) AS kept
$$;

CREATE OR REPLACE FUNCTION bench_postgraphile.search_procedures(search text)
RETURNS SETOF public.procedures LANGUAGE sql STABLE AS $$
  SELECT p.*
  FROM public.procedures p
  JOIN public.procedure_versions v ON v.id = coalesce(p.published_version_id,
    (SELECT d.id FROM public.procedure_versions d WHERE d.procedure_id = p.id AND d.state = 'DRAFT'))
  CROSS JOIN LATERAL (
    SELECT to_tsquery('simple', bench_postgraphile.prefix_tsquery(search)) AS query,
           bench_postgraphile.fold(search) AS phrase,
           starts_with(p.code, btrim(search)) AS code_hit
  ) s
  WHERE p.status = 'PUBLISHED'
    AND bench_postgraphile.prefix_tsquery(search) IS NOT NULL
    AND (v.search_vector @@ s.query OR s.code_hit)
  ORDER BY CASE WHEN s.code_hit THEN 0 WHEN strpos(v.search_text, s.phrase) > 0 THEN 1 ELSE 2 END,
           length(v.search_text),
           ts_rank_cd(v.search_vector, s.query) DESC,
           p.code
$$;

COMMENT ON FUNCTION bench_postgraphile.fold(text) IS E'@omit';
COMMENT ON FUNCTION bench_postgraphile.prefix_tsquery(text) IS E'@omit';
"""


def create_search_function(dsn: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(SETUP_SQL)
        finally:
            await conn.close()

    asyncio.run(run())


def search_phrases(names: list[str], count: int = SEARCHES, seed: int = 7) -> list[str]:
    """What people type into the catalog's search box, cut from the procedures' names."""
    rnd = random.Random(seed)
    phrases = []
    for name in rnd.choices(names, k=count):
        words = re.findall(r"\w+", name)
        n = rnd.choice((1, 2, 2, 3))
        start = rnd.randrange(max(1, len(words) - n + 1))
        typed = words[start : start + n]
        text = " ".join(typed)
        if rnd.random() < 0.5:
            text = fold(text)
        if rnd.random() < 0.5:
            text = text[: len(text) - rnd.randrange(len(typed[-1]) // 2 + 1)]
        phrases.append(text)
    return phrases


def _body(query: str, **variables: Any) -> str:
    return json.dumps({"query": query, "variables": variables}, ensure_ascii=False)


def _first_page(server: Server, query: str, field: str, **variables: Any) -> tuple[int, list[str]]:
    answer = httpx.post(
        f"http://127.0.0.1:{server.port}/graphql", json={"query": query, "variables": variables}, timeout=60
    ).json()
    page = answer["data"][field]
    return page["totalCount"], [edge["node"]["code"] for edge in page["edges"]]


def compare(app: Server, postgraphile: Server, phrases: list[str]) -> dict[str, Any]:
    """Do both servers answer the same first pages (codes, order, totals)?"""
    checked = [*((PAGE, s) for s in phrases[:COMPARED]), (PAGE, None)]
    differ = []
    for first, phrase in checked:
        if phrase is None:
            ours = _first_page(app, LIST, "procedures", first=first)
            theirs = _first_page(postgraphile, PG_LIST, "allProcedures", first=first)
        else:
            ours = _first_page(app, SEARCH, "procedures", s=phrase, first=first)
            theirs = _first_page(postgraphile, PG_SEARCH, "searchProcedures", s=phrase, first=first)
        if ours != theirs:
            differ.append(
                f"{phrase!r}: ours {ours[0]} {ours[1][:5]}…, PostGraphile {theirs[0]} {theirs[1][:5]}…"
            )
    return {"compared": len(checked), "differ": differ}


def measure(pg: Any, logs: Path, *, seconds: float = SECONDS) -> dict[str, Any]:
    phrases = search_phrases(sample(pg.dsn, NAMES_SQL))
    create_search_function(pg.dsn)
    counts = {
        "search": count_statements(
            pg.database_url, SEARCH, lambda first: {"s": phrases[0], "first": first}, (1, 10, 20),
            field="procedures",
        ),
        "list": count_statements(
            pg.database_url, LIST, lambda first: {"first": first}, (1, 10, 20), field="procedures"
        ),
    }  # fmt: skip
    app = start_app(pg.database_url, logs)
    postgraphile = start_postgraphile(node_dsn(str(pg.socket_dir)), logs, "public,bench_postgraphile")
    with running(app, postgraphile):
        same = compare(app, postgraphile, phrases) if postgraphile is not None else None
        searched = [["POST", "/graphql", _body(SEARCH, s=s, first=PAGE), '"totalCount"'] for s in phrases]
        pg_searched = [
            ["POST", "/graphql", _body(PG_SEARCH, s=s, first=PAGE), '"totalCount"'] for s in phrases
        ]
        listed = [["POST", "/graphql", _body(LIST, first=PAGE), '"totalCount"']]
        pg_listed = [["POST", "/graphql", _body(PG_LIST, first=PAGE), '"totalCount"']]
        rows = interleaved(
            [
                ("our app, search", app, searched, None),
                ("(b) PostGraphile 4, search", postgraphile, pg_searched, None),
                ("our app, list", app, listed, None),
                ("(b) PostGraphile 4, list", postgraphile, pg_listed, None),
            ],
            concurrency=CONCURRENCY,
            seconds=seconds,
        )
    return {"counts": counts, "same": same, "rows": rows, "phrases": phrases[:6]}


def report(result: dict[str, Any]) -> None:
    print("\nPublic catalog: SQL statements per request (our app)")
    for page, counts in result["counts"].items():
        for first, (statements, answered) in counts.items():
            print(f"  {page:6s} first: {first:2d} → {statements} statements ({answered} procedures)")
        # A page of 1 may need one fewer: a procedure without a competent agency (a commune
        # procedure) leaves the agency batch out. What must not happen is 20 needing more than 10.
        grows = counts[20][0] > counts[10][0]
        print(f"  {page:6s} grows with the page: {'YES' if grows else 'no'}")
    same = result["same"]
    if same is not None:
        print(
            f"same first pages (codes, order, totals) as PostGraphile's search_procedures: "
            f"{same['compared'] - len(same['differ'])} of {same['compared']}"
        )
        for line in same["differ"][:3]:
            print(f"  differs: {line}")
    print(f"\nPublic catalog, pages of {PAGE}, {CONCURRENCY} concurrent clients, 1 server process")
    print(f"searches such as: {', '.join(repr(p) for p in result['phrases'])}")
    print(f"{'server':28s} {'pages/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'CPU ms/page':>12s} {'errors':>7s}")
    rows = dict(result["rows"])
    for name, r in result["rows"]:
        if r is None:
            print(f"{name:28s} not available (npm install postgraphile@4 failed or node missing)")
            continue
        print(
            f"{name:28s} {r['rps']:8.0f} {r['p50']:8.1f} {r['p99']:8.1f} {r['cpu_ms']:12.2f} {r['errors']:7d}"
        )
        if r["errors"]:
            print(f"  first error: {r['first_error']}")
    for page in ("search", "list"):
        ours, theirs = rows[f"our app, {page}"], rows[f"(b) PostGraphile 4, {page}"]
        if theirs is not None:
            verdict = "met" if ours["rps"] >= theirs["rps"] else "NOT met"
            print(
                f"{page}: pages/s vs (b): {ratio(ours['rps'], theirs['rps'])}; CPU per page vs (b): "
                f"{ratio(ours['cpu_ms'], theirs['cpu_ms'])} (target ≥ 1.0× throughput: {verdict})"
            )


def main() -> None:
    with dataset() as pg, tempfile.TemporaryDirectory(prefix="dvc-bench-catalog-") as logs:
        report(measure(pg, Path(logs)))


if __name__ == "__main__":
    main()
