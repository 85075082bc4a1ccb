"""The HTTP surface: liveness, readiness against the real servers, GraphiQL, error masking."""

from __future__ import annotations

import httpx

from tests.conftest import gql


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_checks_database_and_object_store(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": True, "objectStore": True}}


async def test_graphiql_is_served_to_browsers(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_syntax_error_is_reported_not_masked(client: httpx.AsyncClient) -> None:
    body = await gql(client, "{ procedures(first: ) }", expect_errors=True)
    assert "Syntax Error" in body["errors"][0]["message"]


async def test_bad_bearer_token_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ fields { code } }"}, headers={"Authorization": "Bearer nope"}
    )
    assert response.status_code == 401


async def test_bad_cursor_is_a_clear_client_error(client: httpx.AsyncClient) -> None:
    body = await gql(client, '{ procedures(after: "%%%") { totalCount } }', expect_errors=True)
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_CURSOR"
    assert "phân trang" in error["message"]
