"""Every catalog mutation refuses anonymous callers and wrong tokens; drafts stay hidden.

The list of mutations is read from the schema itself, so a new mutation is covered by default.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog import Agency, Field, Procedure, ProcedureEvent
from schema import schema
from tests.catalog.factories import CREATE, procedure_input
from tests.conftest import admin_gql, gql

CALLS = {
    "procedureCreate": (CREATE, {"input": procedure_input()}),
    "procedureAmend": (
        'mutation { procedureAmend(code: "1.001193", input: {code: "1.001193", name: "x", fieldCode: "HOTICH", '
        'levels: ["commune"], onlineMode: PARTIAL, processingDays: 1, resultName: "x", deliveryMethods: [COUNTER], '
        "components: [], workflow: []}) { __typename } }",
        {},
    ),
    "procedurePublish": (
        'mutation { procedurePublish(code: "1.001193", decision: {number: "1", date: "2026-01-01"}) { __typename } }',
        {},
    ),
    "procedureSuspend": ('mutation { procedureSuspend(code: "1.001193", reason: "x") { __typename } }', {}),
    "procedureResume": ('mutation { procedureResume(code: "1.001193") { __typename } }', {}),
    "procedureAbolish": (
        'mutation { procedureAbolish(code: "1.001193", decision: {number: "1", date: "2026-01-01"}) { __typename } }',
        {},
    ),
    "agencyCreate": (
        'mutation { agencyCreate(input: {code: "X1", name: "X", levelCode: "commune"}) { __typename } }',
        {},
    ),
    "agencyUpdate": (
        'mutation { agencyUpdate(id: "00000000-0000-0000-0000-000000000000", input: {code: "X1", name: "X", '
        'levelCode: "commune"}) { __typename } }',
        {},
    ),
    "agencyMerge": (
        'mutation { agencyMerge(sourceCodes: ["H44.100"], targetCode: "H44.101", effectiveDate: "2026-01-01") '
        "{ __typename } }",
        {},
    ),
    "fieldCreate": ('mutation { fieldCreate(input: {code: "XX", name: "X"}) { __typename } }', {}),
    "fieldUpdate": (
        'mutation { fieldUpdate(id: "00000000-0000-0000-0000-000000000000", input: {code: "XX", name: "X"}) '
        "{ __typename } }",
        {},
    ),
}


def test_every_mutation_is_in_the_matrix() -> None:
    mutation_type = schema.get_type_by_name("Mutation")
    assert mutation_type is not None
    names = {f.graphql_name or f.name for f in mutation_type.fields}  # type: ignore[union-attr]
    assert {schema.config.name_converter.apply_naming_config(n) for n in names} == set(CALLS)


@pytest.mark.parametrize("name", sorted(CALLS))
async def test_anonymous_is_refused_and_nothing_changes(
    name: str, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    async def counts() -> tuple[int | None, ...]:
        return tuple(
            [
                await session.scalar(select(func.count()).select_from(t))
                for t in (Procedure, ProcedureEvent, Agency, Field)
            ]
        )

    before = await counts()
    query, variables = CALLS[name]
    body = await gql(client, query, variables, expect_errors=True)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "quyền" in body["errors"][0]["message"]
    assert await counts() == before


@pytest.mark.parametrize("name", sorted(CALLS))
async def test_forged_token_is_refused(name: str, client: httpx.AsyncClient) -> None:
    query, variables = CALLS[name]
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": "Bearer test-admin-token-0123456789abcdeX"},
    )
    assert response.status_code == 401


async def test_drafts_are_hidden_from_the_public_but_not_from_admins(client: httpx.AsyncClient) -> None:
    await admin_gql(client, CREATE, {"input": procedure_input()})
    query = "{ procedures(filter: {status: DRAFT}) { totalCount edges { node { code } } } }"
    public = (await gql(client, query))["data"]["procedures"]
    assert public["totalCount"] == 0
    admin = (await admin_gql(client, query))["procedures"]
    assert [e["node"]["code"] for e in admin["edges"]] == ["9.999001"]
    by_version = '{ procedure(code: "9.999001", version: 1) { code } }'
    assert (await gql(client, by_version))["data"]["procedure"] is None
    assert (await admin_gql(client, by_version))["procedure"] == {"code": "9.999001"}
