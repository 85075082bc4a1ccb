"""GraphQL abuse controls: each attack is sent and refused before anything runs, with a
Vietnamese message and a stable `extensions.code`."""

from __future__ import annotations

import logging
import time

import httpx
import pytest
from graphql import get_introspection_query
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.settings import Settings
from tests.conftest import gql
from tests.hardening.helpers import client_with, error_codes


def nested(levels: int) -> str:
    """`agencyTree { children { children { … code } } }`, `levels` fields deep."""
    return "{ agencyTree { " + "children { " * (levels - 2) + "code" + " }" * (levels - 1) + " }"


async def test_depth_is_limited(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with client_with(settings, session_factory, graphql_max_depth=5, graphql_max_cost=10**9) as c:
        assert "errors" not in await gql(c, nested(5))
        body = await gql(c, nested(6), expect_errors=True)
    assert error_codes(body) == ["QUERY_TOO_DEEP"]
    assert body["errors"][0]["message"] == "Truy vấn lồng quá sâu: 6 cấp, tối đa 5 cấp."
    assert body.get("data") is None


async def test_aliases_are_counted_through_fragments_at_every_spread(client: httpx.AsyncClient) -> None:
    aliases = " ".join(f"a{i}: __typename" for i in range(10))
    within = f"fragment F on Query {{ {aliases} }} query {{ ...F ...F ...F }}"
    assert "errors" not in await gql(client, within)
    body = await gql(
        client, f"fragment F on Query {{ {aliases} }} query {{ ...F ...F ...F ...F }}", expect_errors=True
    )
    assert error_codes(body) == ["TOO_MANY_ALIASES"]
    assert body["errors"][0]["message"].startswith("Truy vấn dùng quá nhiều bí danh (alias): 40, tối đa 30")


async def test_fragments_doubling_each_other_are_refused_quickly(client: httpx.AsyncClient) -> None:
    # F0 has one alias; each Fi spreads F(i-1) twice: 2^30 aliases in a few hundred bytes.
    fragments = ["fragment F0 on Query { a: __typename }"]
    fragments += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, 31)]
    started = time.perf_counter()
    body = await gql(client, " ".join(fragments) + " query { ...F30 }", expect_errors=True)
    assert time.perf_counter() - started < 5
    assert "TOO_MANY_ALIASES" in error_codes(body)
    assert str(2**30) in body["errors"][error_codes(body).index("TOO_MANY_ALIASES")]["message"]


async def test_too_many_tokens_stop_the_parser(client: httpx.AsyncClient) -> None:
    body = await gql(client, "{ " + "__typename " * 6000 + "}", expect_errors=True)
    assert error_codes(body) == ["QUERY_TOO_LONG"]
    assert body["errors"][0]["message"] == "Truy vấn quá dài: tối đa 5000 token."


async def test_cost_multiplies_nested_lists(client: httpx.AsyncClient) -> None:
    # 10 roots x 10 children x ... six levels: an estimated million fields.
    body = await gql(client, nested(7), expect_errors=True)
    assert error_codes(body) == ["QUERY_TOO_COSTLY"]
    message = body["errors"][0]["message"]
    assert message.startswith("Truy vấn quá tốn kém: chi phí ước tính 1111111, tối đa 100000.")


async def test_cost_counts_first_and_variables_at_their_largest(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    literal = "{{ procedures(first: {first}) {{ totalCount edges {{ node {{ code name }} }} }} }}"
    variable = "query($n: Int{default}) {{ procedures(first: $n) {{ totalCount edges {{ node {{ code name }} }} }} }}"
    async with client_with(settings, session_factory, graphql_max_cost=300) as c:
        assert "errors" not in await gql(c, literal.format(first=50))  # 1 + 50 x 5
        refused = await gql(c, literal.format(first=100), expect_errors=True)
        assert error_codes(refused) == ["QUERY_TOO_COSTLY"]
        # a variable counts as the largest page, unless its default says otherwise
        body = await gql(c, variable.format(default=""), {"n": 5}, expect_errors=True)
        assert error_codes(body) == ["QUERY_TOO_COSTLY"]
        assert "errors" not in await gql(c, variable.format(default=" = 20"), {})


async def test_graphiql_introspection_passes_the_default_limits(client: httpx.AsyncClient) -> None:
    query = get_introspection_query(
        descriptions=True, input_value_deprecation=True, schema_description=True, directive_is_repeatable=True
    )
    body = await gql(client, query)
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_many_operations_in_one_document_are_refused(client: httpx.AsyncClient) -> None:
    document = " ".join(f"query Q{i} {{ __typename }}" for i in range(11))
    response = await client.post("/graphql", json={"query": document, "operationName": "Q1"})
    body = response.json()
    assert error_codes(body) == ["TOO_MANY_OPERATIONS"]
    assert (
        body["errors"][0]["message"] == "Một yêu cầu chứa tối đa 10 thao tác (operation); yêu cầu này có 11."
    )


async def test_batched_requests_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json=[{"query": "{ __typename }"}] * 50)
    assert response.status_code == 400


MERGE = """mutation($s: [String!]!) {
  agencyMerge(sourceCodes: $s, targetCode: "H44.99", effectiveDate: "2026-12-01") { __typename } }"""


async def test_long_lists_in_variables_are_refused(client: httpx.AsyncClient) -> None:
    body = await gql(client, MERGE, {"s": [f"X{i}" for i in range(101)]}, expect_errors=True)
    assert error_codes(body) == ["LIST_TOO_LONG"]
    assert "101 phần tử, tối đa 100" in body["errors"][0]["message"]
    # lists nested in JSON values are bounded too
    draft = (
        'mutation($f: JSON) { dossierSaveDraft(input: {procedureCode: "x", formData: $f}) { __typename } }'
    )
    body = await gql(client, draft, {"f": {"rows": [{"deep": list(range(500))}]}}, expect_errors=True)
    assert "LIST_TOO_LONG" in error_codes(body)


async def test_long_list_literals_are_refused(client: httpx.AsyncClient) -> None:
    codes = ", ".join(f'"X{i}"' for i in range(101))
    literal = f'mutation {{ agencyMerge(sourceCodes: [{codes}], targetCode: "H44.99", effectiveDate: "2026-12-01") {{ __typename }} }}'
    body = await gql(client, literal, expect_errors=True)
    assert error_codes(body) == ["LIST_TOO_LONG"]


async def test_no_field_or_argument_suggestions(client: httpx.AsyncClient) -> None:
    for query in ("{ procedurs { totalCount } }", "{ procedures(frist: 1) { totalCount } }"):
        body = await gql(client, query, expect_errors=True)
        assert body["errors"]
        for error in body["errors"]:
            assert "Did you mean" not in error["message"], error


async def test_introspection_and_graphiql_can_be_turned_off(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with client_with(settings, session_factory, graphql_introspection=False, graphiql=False) as c:
        body = await gql(c, "{ __schema { queryType { name } } }", expect_errors=True)
        assert error_codes(body) == ["INTROSPECTION_DISABLED"]
        body = await gql(c, '{ __type(name: "Query") { name } }', expect_errors=True)
        assert error_codes(body) == ["INTROSPECTION_DISABLED"]
        assert (await gql(c, "{ __typename }"))["data"] == {"__typename": "Query"}
        assert (await c.get("/graphql", headers={"Accept": "text/html"})).status_code == 404


async def test_an_invalid_query_is_logged_as_one_short_line(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A 14 kB query full of unknown fields once gave ~3,000 log lines at ERROR, with source
    snippets and the "Did you mean" suggestions the answer strips: now one line, truncated."""
    fields = " ".join(f"agencyTre{i} {{ cod }}" for i in range(700))
    query = "{ " + fields + " }"
    assert len(query) > 14_000
    with caplog.at_level(logging.DEBUG):
        body = await gql(client, query, expect_errors=True)
    assert len(body["errors"]) > 100  # the caller still gets every error
    lines = [r for r in caplog.records if r.name in {"strawberry.execution", "dvc"}]
    assert len(lines) == 1, [r.getMessage()[:100] for r in lines[:5]]
    (line,) = lines
    assert line.levelno == logging.INFO
    text = line.getMessage()
    assert "\n" not in text
    assert len(text) <= 300
    assert "Did you mean" not in text
    assert text.startswith("GraphQL request refused: ")
    assert line.exc_info is None
