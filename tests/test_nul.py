"""U+0000 cannot be stored in PostgreSQL text: it is refused with a clear error, never a crash
(found by the fuzzer: a NUL in a procedure code was a masked server error)."""

from __future__ import annotations

import httpx

from tests.conftest import ADMIN_TOKEN, gql


async def test_nul_in_a_literal_is_refused_at_validation(client: httpx.AsyncClient) -> None:
    query = 'mutation { procedureResume(code: "\\u0000") { __typename } }'
    body = await gql(client, query, token=ADMIN_TOKEN, expect_errors=True)
    assert body["errors"][0]["extensions"]["code"] == "BAD_CHARACTER"
    assert "NUL" in body["errors"][0]["message"]


async def test_nul_in_variables_is_refused_before_execution(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql",
        json={
            "query": "query($q: String) { procedures(search: $q) { totalCount } }",
            "variables": {"q": "a\x00b"},
        },
    )
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_CHARACTER"
    assert "NUL" in error["message"]


async def test_nul_in_a_rest_path_or_parameter_is_refused(client: httpx.AsyncClient) -> None:
    # one middleware for every route (tests/hardening/test_odd_requests.py tries each of them)
    for url in ("/tra-cuu/a%00b", "/open311/v2/services.json?jurisdiction_id=%00"):
        response = await client.get(url)
        assert response.status_code == 400, url
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_CHARACTER"
