"""Publish, amend into a new version, suspend, resume, abolish — and versions stay readable."""

from __future__ import annotations

from typing import Any

import httpx

from tests.catalog.factories import AMEND, CREATE, PUBLISH, TRANSITION_ERRORS, procedure_input
from tests.conftest import ADMIN_ID, admin_gql, gql

STATUS = (
    """
mutation($code: String!) {
  suspend: procedureSuspend(code: $code, reason: "Chờ sửa đổi văn bản") { __typename ... on ProcedureStatusChanged { procedure { status } } %s }
}"""
    % TRANSITION_ERRORS
)


async def _create_and_publish(client: httpx.AsyncClient) -> dict[str, Any]:
    await admin_gql(client, CREATE, {"input": procedure_input()})
    result = await admin_gql(
        client, PUBLISH, {"code": "9.999001", "number": "100/QĐ-UBND", "date": "2026-11-20"}
    )
    published: dict[str, Any] = result["procedurePublish"]
    return published


async def test_publish_makes_it_public(client: httpx.AsyncClient) -> None:
    published = await _create_and_publish(client)
    assert published["__typename"] == "ProcedurePublished"
    p = published["procedure"]
    assert (p["status"], p["versionState"], p["decision"]) == (
        "PUBLISHED",
        "PUBLISHED",
        {"number": "100/QĐ-UBND", "date": "2026-11-20"},
    )
    public = (await gql(client, '{ procedure(code: "9.999001") { status name } }'))["data"]["procedure"]
    assert public == {"status": "PUBLISHED", "name": "Thủ tục cấp giấy phép thử nghiệm"}


async def test_publish_needs_a_draft_and_a_valid_decision(client: httpx.AsyncClient) -> None:
    await _create_and_publish(client)
    again = await admin_gql(
        client, PUBLISH, {"code": "9.999001", "number": "101/QĐ-UBND", "date": "2026-11-21"}
    )
    assert again["procedurePublish"]["__typename"] == "InvalidTransition"
    await admin_gql(client, AMEND, {"code": "9.999001", "input": procedure_input(name="Tên mới")})
    future = await admin_gql(
        client, PUBLISH, {"code": "9.999001", "number": "102/QĐ-UBND", "date": "2027-01-01"}
    )
    assert future["procedurePublish"]["errors"][0]["code"] == "IN_FUTURE"


async def test_amending_makes_a_new_version_and_keeps_the_old_one(client: httpx.AsyncClient) -> None:
    await _create_and_publish(client)
    amended = (
        await admin_gql(
            client,
            AMEND,
            {
                "code": "9.999001",
                "input": procedure_input(
                    name="Thủ tục cấp giấy phép thử nghiệm (sửa đổi)", changeNote="Đổi tên"
                ),
            },
        )
    )["procedureAmend"]
    assert amended["__typename"] == "ProcedureSaved"
    assert (amended["procedure"]["version"], amended["procedure"]["versionState"]) == (2, "DRAFT")
    # The public still sees version 1 until the amendment is published.
    public = (await gql(client, '{ procedure(code: "9.999001") { version name } }'))["data"]["procedure"]
    assert public == {"version": 1, "name": "Thủ tục cấp giấy phép thử nghiệm"}
    # Reworking the open draft does not make a third version.
    rework = await admin_gql(
        client, AMEND, {"code": "9.999001", "input": procedure_input(name="Tên lần hai")}
    )
    assert rework["procedureAmend"]["procedure"]["version"] == 2
    await admin_gql(client, PUBLISH, {"code": "9.999001", "number": "200/QĐ-UBND", "date": "2026-11-25"})
    query = """{ now: procedure(code: "9.999001") { version name versions { version state } }
                 old: procedure(code: "9.999001", version: 1) { version versionState name } }"""
    data = (await gql(client, query))["data"]
    assert data["now"]["version"] == 2
    assert data["now"]["name"] == "Tên lần hai"
    assert data["now"]["versions"] == [
        {"version": 1, "state": "SUPERSEDED"},
        {"version": 2, "state": "PUBLISHED"},
    ]
    assert data["old"] == {
        "version": 1,
        "versionState": "SUPERSEDED",
        "name": "Thủ tục cấp giấy phép thử nghiệm",
    }


async def test_code_cannot_change_on_amend(client: httpx.AsyncClient) -> None:
    await _create_and_publish(client)
    result = await admin_gql(client, AMEND, {"code": "9.999001", "input": procedure_input(code="9.999002")})
    assert result["procedureAmend"]["errors"][0]["code"] == "IMMUTABLE"


async def test_suspend_resume_abolish(client: httpx.AsyncClient) -> None:
    await _create_and_publish(client)
    suspended = (await admin_gql(client, STATUS, {"code": "9.999001"}))["suspend"]
    assert suspended["procedure"]["status"] == "SUSPENDED"
    listed = (await gql(client, '{ procedures(search: "giay phep thu nghiem") { totalCount } }'))["data"]
    assert listed["procedures"]["totalCount"] == 0  # the public list shows procedures in force
    again = (await admin_gql(client, STATUS, {"code": "9.999001"}))["suspend"]
    assert again["__typename"] == "InvalidTransition"
    assert again["status"] == "SUSPENDED"
    resume = 'mutation { procedureResume(code: "9.999001") { ... on ProcedureStatusChanged { procedure { status } } } }'
    assert (await admin_gql(client, resume))["procedureResume"]["procedure"]["status"] == "PUBLISHED"
    abolish = """mutation { procedureAbolish(code: "9.999001", decision: {number: "300/QĐ-UBND", date: "2026-11-26"}) {
        __typename ... on ProcedureStatusChanged { procedure { status availableActions } } } }"""
    result = (await admin_gql(client, abolish))["procedureAbolish"]
    assert result["procedure"] == {"status": "ABOLISHED", "availableActions": []}
    amend = (await admin_gql(client, AMEND, {"code": "9.999001", "input": procedure_input()}))[
        "procedureAmend"
    ]
    assert amend["__typename"] == "InvalidTransition"


async def test_history_records_every_decision(client: httpx.AsyncClient) -> None:
    await _create_and_publish(client)
    await admin_gql(client, STATUS, {"code": "9.999001"})
    query = (
        '{ procedure(code: "9.999001") { history { action fromStatus toStatus actor decisionNumber note } } }'
    )
    history = (await admin_gql(client, query))["procedure"]["history"]
    assert [(h["action"], h["fromStatus"], h["toStatus"]) for h in history] == [
        ("CREATE", None, "DRAFT"),
        ("PUBLISH", "DRAFT", "PUBLISHED"),
        ("SUSPEND", "PUBLISHED", "SUSPENDED"),
    ]
    assert history[1]["decisionNumber"] == "100/QĐ-UBND"
    assert history[2]["note"] == "Chờ sửa đổi văn bản"
    assert {h["actor"] for h in history} == {f"staff:{ADMIN_ID}"}
    # The public sees no history.
    public = (await gql(client, query))["data"]["procedure"]["history"]
    assert public == []


async def test_stale_revision_is_refused(client: httpx.AsyncClient) -> None:
    created = (await admin_gql(client, CREATE, {"input": procedure_input()}))["procedureCreate"]["procedure"]
    rev = created["revision"]
    ok = await admin_gql(client, AMEND, {"code": "9.999001", "input": procedure_input(name="A"), "rev": rev})
    assert ok["procedureAmend"]["__typename"] == "ProcedureSaved"
    stale = await admin_gql(
        client, AMEND, {"code": "9.999001", "input": procedure_input(name="B"), "rev": rev}
    )
    assert stale["procedureAmend"]["__typename"] == "Conflict"
    assert stale["procedureAmend"]["code"] == "CHANGED_BY_SOMEONE_ELSE"


async def test_unknown_code_is_not_found(client: httpx.AsyncClient) -> None:
    result = await admin_gql(client, PUBLISH, {"code": "0.000000", "number": "1/QĐ", "date": "2026-11-20"})
    assert result["procedurePublish"]["__typename"] == "NotFound"
