"""The amount a dossier owes, from the procedure's fees and the channel it came in by."""

from __future__ import annotations

import pytest

from models.catalog import FeeKind, ProcedureFee
from models.dossiers import Channel
from services.dossiers.fees import fees_due


def _fee(position: int, amount: int, online: int | None, kind: FeeKind = FeeKind.CHARGE) -> ProcedureFee:
    return ProcedureFee(
        position=position, kind=kind, name=f"Khoản {position}", amount=amount, online_amount=online
    )


FEES = [
    _fee(2, 30000, None, FeeKind.FEE),
    _fee(1, 100000, 50000),
    _fee(3, 20000, 0),
]


@pytest.mark.parametrize("channel", [Channel.ONLINE, Channel.NATIONAL_PORTAL])
def test_online_submission_gets_the_reduced_amounts(channel: Channel) -> None:
    due = fees_due(FEES, channel)
    assert [(x.name, x.amount, x.ordinary_amount) for x in due.lines] == [
        ("Khoản 1", 50000, 100000),
        ("Khoản 2", 30000, 30000),  # no online amount: the ordinary one
        ("Khoản 3", 0, 20000),  # waived online
    ]
    assert (due.total, due.reduction) == (80000, 70000)


@pytest.mark.parametrize("channel", [Channel.COUNTER, Channel.POST])
def test_counter_and_post_pay_the_ordinary_amounts(channel: Channel) -> None:
    due = fees_due(FEES, channel)
    assert [x.amount for x in due.lines] == [100000, 30000, 20000]
    assert (due.total, due.reduction) == (150000, 0)


def test_a_procedure_without_fees_owes_nothing() -> None:
    due = fees_due([], Channel.ONLINE)
    assert (due.lines, due.total, due.reduction) == ((), 0, 0)
