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


def test_online_step_shares_must_fit_in_the_online_time() -> None:
    """Catalog decision (seed 003: a reduced time when submitted online): every online dossier is
    planned with the steps' shares of the online time, half a day at least for a step that has
    time. Four half-day steps cannot share one and a half days: refused when saved."""
    halves = tuple(
        StepData(f"Bước {i}", StepAgencyRef.COMPETENT, "SPECIALIST", Decimal("0.5")) for i in range(4)
    )
    data = procedure(steps=halves, online_processing_days=Decimal("1.5"))
    assert codes(data) == {("steps",): "ONLINE_TIME_EXCEEDED"}
    assert codes(
        procedure(steps=halves[:3], processing_days=Decimal("1.5"), online_processing_days=Decimal(1))
    ) == {("steps",): "ONLINE_TIME_EXCEEDED"}
    assert codes(procedure(online_processing_days=Decimal(1))) == {}


def test_online_shares_add_up_to_the_online_time() -> None:
    """The steps' shares of the online time: scaled alike, to the half day, by largest remainders,
    adding up to the online time (the factory procedure: 0.5 + 3 + 1 + 0.5 of 5 days, 4 online)."""
    days = (Decimal("0.5"), Decimal(3), Decimal(1), Decimal("0.5"))
    assert rules.online_shares(days, Decimal(5), Decimal(4)) == (
        Decimal("0.5"),
        Decimal("2.5"),
        Decimal("0.5"),
        Decimal("0.5"),
    )
    demo = (Decimal("0.5"), Decimal("1.5"), Decimal("0.5"), Decimal("0.5"))  # 3 days, 2 online
    assert sum(rules.online_shares(demo, Decimal(3), Decimal(2))) == 2
    assert rules.online_shares((Decimal(1), Decimal(0), Decimal(1)), Decimal(2), Decimal(1)) == (
        Decimal("0.5"),
        Decimal(0),
        Decimal("0.5"),
    )


@given(
    st.integers(min_value=1, max_value=400).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1)))
)
def test_default_workflow_fits_the_online_time(halves: tuple[int, int]) -> None:
    """Imported rows with a reduced online time (seed 003) get a default workflow whose online
    shares fit in it, so the import is never refused for its own plan."""
    days, online = Decimal(halves[0]) / 2, Decimal(halves[1]) / 2
    steps = default_workflow(days, online)
    assert sum((s.days for s in steps), Decimal(0)) == days
    data = procedure(
        processing_days=days, steps=steps, online_processing_days=online, online_mode=OnlineMode.FULL
    )
    assert ("steps",) not in codes(data)
