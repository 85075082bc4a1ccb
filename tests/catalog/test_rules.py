"""Pure catalog rules: validation and the life-cycle table, without a database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.catalog import OnlineMode, StepAgencyRef
from models.catalog import ProcedureStatus as S
from services.catalog import rules
from services.catalog.data import ComponentData, DecisionData, ProcedureData, StepData
from services.catalog.importer import default_workflow
from services.catalog.lifecycle import TRANSITIONS, CatalogAction, available_actions, next_status
from services.errors import InvalidTransition

AGENCIES = {"H44.19": True, "H44.96": False}


def procedure(**overrides: object) -> ProcedureData:
    base = {
        "code": "1.000001",
        "name": "Thủ tục mẫu",
        "field_code": "HOTICH",
        "levels": ("commune",),
        "online_mode": OnlineMode.PARTIAL,
        "processing_days": Decimal(2),
        "result_name": "Giấy xác nhận",
        "delivery_methods": ("COUNTER",),
        "components": (ComponentData("Tờ khai"),),
        "steps": (
            StepData("Thẩm định", StepAgencyRef.COMPETENT, "SPECIALIST", Decimal("1.5")),
            StepData("Ký", StepAgencyRef.COMPETENT, "LEADER", Decimal("0.5")),
        ),
    }
    base.update(overrides)
    return ProcedureData(**base)  # type: ignore[arg-type]


def codes(data: ProcedureData) -> dict[tuple[str | int, ...], str]:
    issues = rules.check_procedure(data, fields={"HOTICH"}, levels={"commune", "province"}, agencies=AGENCIES)
    return {i.path: i.code for i in issues.items}


def test_a_valid_procedure_has_no_issues() -> None:
    assert codes(procedure()) == {}


def test_not_online_cannot_deliver_online_or_reduce() -> None:
    data = procedure(
        online_mode=OnlineMode.NONE,
        delivery_methods=("ONLINE",),
        online_processing_days=Decimal(1),
    )
    assert codes(data) == {("deliveryMethods",): "NOT_ONLINE", ("onlineProcessingDays",): "NOT_ONLINE"}


def test_duplicate_and_unknown_delivery_methods() -> None:
    assert codes(procedure(delivery_methods=("COUNTER", "COUNTER", "DRONE"))) == {
        ("deliveryMethods",): "DUPLICATE",
        ("deliveryMethods", 2): "UNKNOWN",
    }


def test_step_role_must_be_a_workflow_role() -> None:
    data = procedure(steps=(StepData("Ký", StepAgencyRef.COMPETENT, "SYSTEM_ADMIN", Decimal(2)),))
    assert codes(data) == {("steps", 0, "role"): "UNKNOWN"}


def test_agency_code_only_on_inter_agency_steps() -> None:
    data = procedure(
        steps=(StepData("Ký", StepAgencyRef.COMPETENT, "LEADER", Decimal(2), agency_code="H44.19"),)
    )
    assert codes(data) == {("steps", 0, "agencyCode"): "UNEXPECTED"}


def test_decision_date_not_in_future() -> None:
    issues = rules.check_decision(DecisionData("1/QĐ", date(2026, 12, 1)), today=date(2026, 11, 26))
    assert [i.code for i in issues.items] == ["IN_FUTURE"]


@given(st.integers(min_value=0, max_value=400).map(lambda n: Decimal(n) / 2))
def test_default_workflow_always_adds_up(days: Decimal) -> None:
    steps = default_workflow(days)
    assert sum((s.days for s in steps), Decimal(0)) == days
    assert all(s.days >= 0 and s.days % Decimal("0.5") == 0 for s in steps)
    if days <= 365:
        assert codes(procedure(processing_days=days, steps=steps)) == {}


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("action", list(CatalogAction))
def test_transition_table_is_the_only_truth(status: S, action: CatalogAction) -> None:
    if (status, action) in TRANSITIONS:
        assert next_status(status, action) is TRANSITIONS[(status, action)]
        assert action in available_actions(status, has_draft=True)
    else:
        with pytest.raises(InvalidTransition) as raised:
            next_status(status, action)
        assert raised.value.status == status.value
        assert action not in available_actions(status, has_draft=True)


def test_abolished_is_final() -> None:
    assert available_actions(S.ABOLISHED, has_draft=True) == []


def test_publish_needs_a_draft() -> None:
    assert CatalogAction.PUBLISH not in available_actions(S.PUBLISHED, has_draft=False)
