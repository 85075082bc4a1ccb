"""Agencies and fields: create, update, cycles, merge with an effective date."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import admin_gql, gql

AGENCY_CREATE = """
mutation($input: AgencyInput!) { agencyCreate(input: $input) {
  __typename
  ... on AgencySaved { agency { id code name electronicId isOneStopUnit level { code } parent { code }
      feeAccount { number bank holder } supportPhone } }
  ... on ValidationFailed { errors { field code message } }
} }"""
AGENCY_UPDATE = """
mutation($id: ID!, $input: AgencyInput!) { agencyUpdate(id: $id, input: $input) {
  __typename
  ... on AgencySaved { agency { code name parent { code } } }
  ... on ValidationFailed { errors { field code } }
} }"""


def agency(**overrides: Any) -> dict[str, Any]:
    data = {
        "code": "H44.300",
        "name": "UBND xã Thử Nghiệm",
        "levelCode": "commune",
        "electronicId": "000.30.00.H44",
        "parentCode": "H44",
        "isOneStopUnit": True,
        "feeAccount": {
            "number": "3511.0.1234567",
            "bank": "Kho bạc Nhà nước Phú Thọ",
            "holder": "UBND xã Thử Nghiệm",
        },
        "supportPhone": "0210 3812 345",
    }
    data.update(overrides)
    return data


async def test_create_agency_under_the_province(client: httpx.AsyncClient) -> None:
    result = (await admin_gql(client, AGENCY_CREATE, {"input": agency()}))["agencyCreate"]
    assert result["__typename"] == "AgencySaved"
    a = result["agency"]
    assert (a["code"], a["level"], a["parent"]) == ("H44.300", {"code": "commune"}, {"code": "H44"})
    assert a["feeAccount"]["bank"] == "Kho bạc Nhà nước Phú Thọ"


async def test_agency_validation(client: httpx.AsyncClient) -> None:
    result = (
        await admin_gql(
            client,
            AGENCY_CREATE,
            {
                "input": agency(
                    code="H44.19", electronicId="12.3", levelCode="x", parentCode="NOPE", supportPhone="abc"
                )
            },
        )
    )["agencyCreate"]
    assert {tuple(e["field"]): e["code"] for e in result["errors"]} == {
        ("code",): "DUPLICATE",
        ("electronicId",): "BAD_FORMAT",
        ("levelCode",): "UNKNOWN",
        ("parentCode",): "UNKNOWN",
        ("supportPhone",): "BAD_FORMAT",
    }


async def test_duplicate_electronic_id_is_a_field_error(client: httpx.AsyncClient) -> None:
    result = (await admin_gql(client, AGENCY_CREATE, {"input": agency(electronicId="000.00.19.H44")}))[
        "agencyCreate"
    ]
    assert result["__typename"] == "ValidationFailed"
    assert result["errors"][0]["code"] == "DUPLICATE"


async def test_moving_an_agency_under_its_own_child_is_refused(client: httpx.AsyncClient) -> None:
    parent = (await admin_gql(client, AGENCY_CREATE, {"input": agency()}))["agencyCreate"]["agency"]
    await admin_gql(
        client,
        AGENCY_CREATE,
        {"input": agency(code="H44.301", electronicId=None, parentCode="H44.300", name="Thôn A")},
    )
    result = await admin_gql(
        client, AGENCY_UPDATE, {"id": parent["id"], "input": agency(parentCode="H44.301")}
    )
    assert result["agencyUpdate"]["errors"] == [{"field": ["parentCode"], "code": "CYCLE"}]


async def test_rename_agency(client: httpx.AsyncClient) -> None:
    created = (await admin_gql(client, AGENCY_CREATE, {"input": agency()}))["agencyCreate"]["agency"]
    result = await admin_gql(
        client, AGENCY_UPDATE, {"id": created["id"], "input": agency(name="UBND phường Mới")}
    )
    assert result["agencyUpdate"]["agency"]["name"] == "UBND phường Mới"


async def test_update_unknown_or_malformed_id(client: httpx.AsyncClient) -> None:
    missing = await admin_gql(
        client, AGENCY_UPDATE, {"id": "00000000-0000-0000-0000-000000000000", "input": agency()}
    )
    assert missing["agencyUpdate"]["__typename"] == "NotFound"
    bad = await admin_gql(client, AGENCY_UPDATE, {"id": "not-a-uuid", "input": agency()})
    assert bad["agencyUpdate"]["errors"][0]["code"] == "BAD_ID"


async def test_merge_keeps_history_and_names_a_successor(client: httpx.AsyncClient) -> None:
    query = """mutation { agencyMerge(sourceCodes: ["H44.100", "H44.101"], targetCode: "H44.102", effectiveDate: "2026-12-01") {
        __typename ... on AgenciesMerged { successor { code } } } }"""
    assert (await admin_gql(client, query))["agencyMerge"]["successor"] == {"code": "H44.102"}
    merged = await gql(client, '{ agency(code: "H44.100") { validUntil isOneStopUnit successor { code } } }')
    assert merged["data"]["agency"] == {
        "validUntil": "2026-11-30",
        "isOneStopUnit": False,
        "successor": {"code": "H44.102"},
    }


async def test_merge_validation(client: httpx.AsyncClient) -> None:
    query = """mutation { agencyMerge(sourceCodes: ["H44.102", "NOPE"], targetCode: "H44.102", effectiveDate: "2026-12-01") {
        ... on ValidationFailed { errors { field code } } } }"""
    errors = (await admin_gql(client, query))["agencyMerge"]["errors"]
    assert errors == [
        {"field": ["sourceCodes", "0"], "code": "SAME_AS_TARGET"},
        {"field": ["sourceCodes", "1"], "code": "UNKNOWN"},
    ]


async def test_fields(client: httpx.AsyncClient) -> None:
    create = """mutation($code: String!) { fieldCreate(input: {code: $code, name: "Thử nghiệm"}) {
        __typename ... on FieldSaved { field { id code name } } ... on ValidationFailed { errors { field code } } } }"""
    created = (await admin_gql(client, create, {"code": "THUNGHIEM"}))["fieldCreate"]
    assert created["field"]["name"] == "Thử nghiệm"
    assert (await admin_gql(client, create, {"code": "THUNGHIEM"}))["fieldCreate"]["errors"][0][
        "code"
    ] == "DUPLICATE"
    assert (await admin_gql(client, create, {"code": "bad code"}))["fieldCreate"]["errors"][0][
        "code"
    ] == "BAD_FORMAT"
    update = """mutation($id: ID!) { fieldUpdate(id: $id, input: {code: "THUNGHIEM", name: "Đổi tên"}) {
        ... on FieldSaved { field { name } } } }"""
    assert (await admin_gql(client, update, {"id": created["field"]["id"]}))["fieldUpdate"]["field"][
        "name"
    ] == "Đổi tên"
