"""Free-text search is bounded before it reaches SQL (security probe: an 80 kB anonymous
`procedures(search:)` cost 8.4 s of PostgreSQL time, 180k words overflowed PostgreSQL's stack,
20k distinct words were a masked internal error).

Every search argument answers a typed top-level error — `SEARCH_TOO_LONG` past
`MAX_SEARCH_CHARS` characters, `TOO_MANY_TERMS` past `MAX_SEARCH_TERMS` distinct words — with
the argument's path in `extensions.field`, and no statement reaches PostgreSQL for it.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.observability import PLANNED_OPERATIONS
from services.text import MAX_SEARCH_CHARS, MAX_SEARCH_TERMS
from tests.accounts.helpers import token_for
from tests.conftest import ADMIN_TOKEN, StatementCounter, gql

PROCEDURES = "query($q: String) { procedures(search: $q, first: 5) { totalCount edges { node { code } } } }"
PUBLISHED = "query($q: String) { publishedAnswers(search: $q) { edges { node { code } } } }"
ACCOUNTS = "query($q: String) { accounts(search: $q) { items { id } } }"
VAULT = "query($q: String) { vaultDocuments(search: $q) { items { id } } }"
DOSSIERS_BY_CODE = "query($q: String) { dossiers(filter: {code: $q}) { edges { node { id } } } }"
DOSSIERS_BY_APPLICANT = "query($q: String) { dossiers(filter: {applicant: $q}) { edges { node { id } } } }"

# The probe's inputs: 80 kB of two repeated words, 180k words, 20k distinct words.
REPEATED = "khai sinh " * 8_000
HUGE = "khai " * 180_000
DISTINCT = " ".join(f"w{i}" for i in range(20_000))
# Short enough, but more distinct words than a search box needs.
MANY_TERMS = " ".join(f"t{i}" for i in range(MAX_SEARCH_TERMS + 1))


def _refusal(body: dict[str, Any]) -> dict[str, Any]:
    assert body["data"] is None, body["data"]
    (error,) = body["errors"]
    return error  # type: ignore[no-any-return]


async def _statements_of(
    client: httpx.AsyncClient, statements: StatementCounter, query: str, token: str | None, **variables: Any
) -> tuple[list[str], dict[str, Any]]:
    statements.statements.clear()
    body = await gql(client, query, variables, token=token, expect_errors=True)
    return list(statements.statements), body


@pytest.mark.parametrize("search", [REPEATED, HUGE, DISTINCT], ids=["80kB", "180k-words", "20k-distinct"])
async def test_the_probe_searches_are_refused_before_any_sql(
    client: httpx.AsyncClient, statements: StatementCounter, search: str
) -> None:
    statements.statements.clear()
    error = _refusal(await gql(client, PROCEDURES, {"q": search}, expect_errors=True))
    assert error["extensions"] == {"code": "SEARCH_TOO_LONG", "field": ["search"]}
    assert f"{MAX_SEARCH_CHARS} ký tự" in error["message"]
    assert statements.statements == [], statements.statements  # anonymous: nothing ran at all


async def test_too_many_distinct_words_are_refused(
    client: httpx.AsyncClient, statements: StatementCounter
) -> None:
    assert len(MANY_TERMS) <= MAX_SEARCH_CHARS
    statements.statements.clear()
    error = _refusal(await gql(client, PROCEDURES, {"q": MANY_TERMS}, expect_errors=True))
    assert error["extensions"] == {"code": "TOO_MANY_TERMS", "field": ["search"]}
    assert f"{MAX_SEARCH_TERMS} từ" in error["message"]
    assert statements.statements == []


async def test_a_search_box_sized_query_still_works(client: httpx.AsyncClient) -> None:
    # the limits themselves pass; repeated words count once (and diacritics fold away)
    at_limit = " ".join(["khai sinh"] * 20).ljust(MAX_SEARCH_CHARS)
    assert len(at_limit) == MAX_SEARCH_CHARS
    page = (await gql(client, PROCEDURES, {"q": at_limit}))["data"]["procedures"]
    assert page["totalCount"] > 0
    terms = " ".join(f"t{i}" for i in range(MAX_SEARCH_TERMS))
    assert (await gql(client, PROCEDURES, {"q": terms}))["data"]["procedures"]["totalCount"] == 0
    assert (await gql(client, PROCEDURES, {"q": "Khai sinh Khai sinh"}))["data"]["procedures"]["totalCount"]


@pytest.mark.parametrize(
    ("query", "field", "who"),
    [
        (PROCEDURES, ["search"], "anonymous"),
        (PUBLISHED, ["search"], "anonymous"),
        (ACCOUNTS, ["search"], "admin"),
        (VAULT, ["search"], "citizen"),
        (DOSSIERS_BY_CODE, ["filter", "code"], "admin"),
        (DOSSIERS_BY_APPLICANT, ["filter", "applicant"], "admin"),
    ],
    ids=[
        "procedures",
        "publishedAnswers",
        "accounts",
        "vaultDocuments",
        "dossiers.code",
        "dossiers.applicant",
    ],
)
@pytest.mark.parametrize("search", [REPEATED, MANY_TERMS], ids=["long", "many-terms"])
async def test_every_search_site_refuses_over_long_input(
    client: httpx.AsyncClient,
    session: AsyncSession,
    statements: StatementCounter,
    query: str,
    field: list[str],
    who: str,
    search: str,
) -> None:
    token = (
        None if who == "anonymous" else ADMIN_TOKEN if who == "admin" else await token_for(client, session)
    )
    # what authenticating the caller alone costs: a query that reads nothing
    baseline, _ = await _statements_of(client, statements, "{ __typename }", token)
    ran, body = await _statements_of(client, statements, query, token, q=search)
    code = "SEARCH_TOO_LONG" if search is REPEATED else "TOO_MANY_TERMS"
    assert _refusal(body)["extensions"] == {"code": code, "field": field}
    assert len(ran) == len(baseline), ran  # nothing beyond authentication reached PostgreSQL
    # and the counter does see a search that is let through (or the compiled read path ran it:
    # one statement on its own asyncpg connection, which the counter does not see)
    compiled = PLANNED_OPERATIONS.labels("compiled")._value.get()
    allowed, body = await _statements_of(client, statements, query, token, q="khai sinh")
    assert "errors" not in body, body
    ran_compiled = PLANNED_OPERATIONS.labels("compiled")._value.get() > compiled
    assert len(allowed) > len(baseline) or ran_compiled, allowed
