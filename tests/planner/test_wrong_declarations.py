"""The equivalence tests catch a wrong declaration: with one SQL declaration made wrong (for the
compiled path only — the executor's resolvers are untouched), the compiled path still answers,
and its JSON differs from the executor's; with the declaration restored, they agree again.

Each case asks a fresh document text (plans are cached by text), so that the plan is built from
the declaration as it is at that moment.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from models.dossiers import DossierStep
from resolvers.root import schema
from schema.sql import SQL, Expr, ToMany
from schema.types.dossiers import OVERDUE
from tests.planner.scene import Scene

_fresh = itertools.count()


def _definition(type_name: str, field: str) -> Any:
    graphql_type: Any = schema._schema.get_type(type_name)
    return graphql_type.fields[field].extensions["strawberry-definition"]


WRONG: dict[str, tuple[str, str, object, str, str]] = {
    # case: (type, field, wrong declaration, caller, selection on the dossier)
    "a column read from the wrong column": (
        "Dossier",
        "receivedAt",
        Expr("{row}.submitted_at"),
        "citizen_a",
        "code receivedAt",
    ),
    "an expression that drops a condition": (
        "Dossier",
        "overdue",
        Expr(OVERDUE.template.replace("{row}.paused_at IS NULL AND ", ""), nullable=False),
        "tax",
        "code pausedAt overdue",
    ),
    "a list in the wrong order": (
        "Dossier",
        "steps",
        ToMany(DossierStep, "dossier_id", "id", "{row}.position DESC"),
        "citizen_a",
        "steps { position name }",
    ),
}


async def _ask(scene: Scene, caller: str, label: str, selection: str) -> tuple[str, str, bool]:
    query = f"query($id: ID!) {{ check{next(_fresh)}: dossier(id: $id) {{ {selection} }} }}"
    return await scene.compare(caller, query, {"id": scene.dossiers[label]})


@pytest.mark.parametrize("case", sorted(WRONG))
async def test_a_wrong_declaration_is_caught_by_the_comparison(
    case: str, scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    type_name, field, wrong, caller, selection = WRONG[case]
    label = "paused" if field == "overdue" else "ready"
    compiled, executed, planned = await _ask(scene, caller, label, selection)
    assert planned
    assert compiled == executed, (compiled, executed)

    definition = _definition(type_name, field)
    monkeypatch.setattr(definition, "metadata", {**definition.metadata, SQL: wrong})
    compiled, executed, planned = await _ask(scene, caller, label, selection)
    assert planned, "the wrong declaration was not compiled"
    assert compiled != executed, f"the comparison missed {case}: {compiled}"

    monkeypatch.undo()
    compiled, executed, planned = await _ask(scene, caller, label, selection)
    assert planned
    assert compiled == executed, (compiled, executed)
