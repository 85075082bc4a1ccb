"""procedureCreate: validation with field-level errors, and nothing left behind on failure."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog import Procedure, ProcedureVersion
from tests.catalog.factories import CREATE, procedure_input
from tests.conftest import admin_gql


async def test_creates_a_draft_with_everything(client: httpx.AsyncClient) -> None:
    result = (await admin_gql(client, CREATE, {"input": procedure_input()}))["procedureCreate"]
    assert result["__typename"] == "ProcedureSaved"
    p = result["procedure"]
    assert (p["code"], p["status"], p["version"], p["versionState"]) == ("9.999001", "DRAFT", 1, "DRAFT")
    assert p["competentAgency"] == {"code": "H44.19"}
    assert p["receivingAgencies"] == [{"code": "H44.99"}]
    assert p["fees"] == [
        {"kind": "CHARGE", "name": "Lệ phí cấp phép", "amount": 100000, "onlineAmount": 50000}
    ]
    assert [c["name"] for c in p["components"]] == ["Tờ khai theo mẫu", "Bản sao giấy tờ tùy thân"]
    assert p["components"][1]["maxSizeBytes"] == 5 * 1024 * 1024
    assert [s["days"] for s in p["workflow"]] == [0.5, 3, 1, 0.5]
    assert p["workflow"][2]["agency"] == {"code": "H44.96"}
    assert p["availableActions"] == ["AMEND", "PUBLISH", "ABOLISH"]


async def test_draft_is_invisible_to_the_public(client: httpx.AsyncClient) -> None:
    await admin_gql(client, CREATE, {"input": procedure_input()})
    response = await client.post("/graphql", json={"query": '{ procedure(code: "9.999001") { code } }'})
    assert response.json()["data"]["procedure"] is None


async def _errors(client: httpx.AsyncClient, **overrides: Any) -> dict[tuple[str, ...], str]:
    result = (await admin_gql(client, CREATE, {"input": procedure_input(**overrides)}))["procedureCreate"]
    assert result["__typename"] == "ValidationFailed", result
    assert result["code"] == "VALIDATION_FAILED"
    return {tuple(e["field"]): e["code"] for e in result["errors"]}


async def test_step_times_must_add_up(client: httpx.AsyncClient) -> None:
    errors = await _errors(client, processingDays=7)
    assert errors[("steps",)] == "TIME_MISMATCH"


async def test_a_step_plan_that_cannot_fit_the_online_time_is_refused(client: httpx.AsyncClient) -> None:
    """Catalog decision (seed 003: the reduced time when submitted online): the four steps of the
    factory plan need half a day each, more than an online time of 1.5 days — refused on save."""
    errors = await _errors(client, onlineProcessingDays=1.5)
    assert errors == {("steps",): "ONLINE_TIME_EXCEEDED"}


async def test_full_online_needs_online_result(client: httpx.AsyncClient) -> None:
    errors = await _errors(client, deliveryMethods=["COUNTER"])
    assert errors[("deliveryMethods",)] == "FULL_ONLINE_NEEDS_ONLINE_RESULT"


async def test_json_schema_must_be_valid(client: httpx.AsyncClient) -> None:
    errors = await _errors(client, formSchema={"type": "object", "properties": {"a": {"type": "strnig"}}})
    assert errors[("formSchema",)] == "INVALID_SCHEMA"
    errors = await _errors(client, formSchema={"type": "array"})
    assert errors[("formSchema",)] == "NOT_OBJECT"


async def test_every_problem_is_reported_at_once_with_its_path(client: httpx.AsyncClient) -> None:
    errors = await _errors(
        client,
        code="x",
        name=" ",
        fieldCode="NOPE",
        levels=["moon"],
        competentAgencyCode="H00",
        receivingAgencyCodes=["H44.96"],
        onlineProcessingDays=9,
        fees=[{"kind": "FEE", "name": "Phí", "amount": 10, "onlineAmount": 20}],
        components=[{"name": "Tờ khai", "count": 0, "acceptedFormats": ["text/html"], "maxSizeMb": 900}],
    )
    assert errors == {
        ("code",): "BAD_FORMAT",
        ("name",): "REQUIRED",
        ("fieldCode",): "UNKNOWN",
        ("levels", "0"): "UNKNOWN",
        ("competentAgencyCode",): "UNKNOWN",
        ("receivingAgencyCodes", "0"): "NOT_ONE_STOP_UNIT",
        ("onlineProcessingDays",): "NOT_REDUCED",
        ("fees", "0", "onlineAmount"): "OUT_OF_RANGE",
        ("components", "0", "count"): "OUT_OF_RANGE",
        ("components", "0", "acceptedFormats", "0"): "UNKNOWN_FORMAT",
        ("components", "0", "maxSizeMb"): "OUT_OF_RANGE",
    }


async def test_messages_are_vietnamese(client: httpx.AsyncClient) -> None:
    result = (await admin_gql(client, CREATE, {"input": procedure_input(processingDays=7)}))[
        "procedureCreate"
    ]
    assert "Tổng thời gian các bước" in result["errors"][0]["message"]


async def test_half_days_only(client: httpx.AsyncClient) -> None:
    errors = await _errors(
        client,
        processingDays=1.25,
        workflow=[{"name": "Xử lý", "agencyRef": "COMPETENT", "role": "SPECIALIST", "days": 1.25}],
        onlineProcessingDays=None,
    )
    assert errors[("processingDays",)] == "NOT_HALF_DAY"


async def test_inter_agency_step_needs_an_agency(client: httpx.AsyncClient) -> None:
    steps = procedure_input()["workflow"]
    steps[2] = {"name": "Liên thông", "agencyRef": "AGENCY", "role": "SPECIALIST", "days": 1}
    errors = await _errors(client, workflow=steps)
    assert errors[("steps", "2", "agencyCode")] == "REQUIRED"


async def test_duplicate_code_is_a_field_error_and_nothing_is_written(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    before = await session.scalar(select(func.count()).select_from(ProcedureVersion))
    errors = await _errors(client, code="1.001193")
    assert errors == {("code",): "DUPLICATE"}
    assert await session.scalar(select(func.count()).select_from(ProcedureVersion)) == before


async def test_failed_create_leaves_nothing(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await _errors(client, processingDays=7)
    assert await session.scalar(select(Procedure).where(Procedure.code == "9.999001")) is None


async def test_retrying_a_create_does_not_duplicate(client: httpx.AsyncClient, session: AsyncSession) -> None:
    first = (await admin_gql(client, CREATE, {"input": procedure_input()}))["procedureCreate"]
    again = (await admin_gql(client, CREATE, {"input": procedure_input()}))["procedureCreate"]
    assert first["__typename"] == "ProcedureSaved"
    assert again["errors"][0]["code"] == "DUPLICATE"
    count = await session.scalar(
        select(func.count()).select_from(Procedure).where(Procedure.code == "9.999001")
    )
    assert count == 1
