"""The equivalence tests catch a wrong declaration: with one SQL declaration made wrong (for the
compiled path only — the executor's resolvers are untouched), the compiled path still answers,
and its JSON differs from the executor's; with the declaration restored, they agree again.

Each case asks a fresh document text (plans are cached by text), so that the plan is built from
the declaration as it is at that moment.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pytest

from models.dossiers import DossierStep
from resolvers.root import schema
from schema.sql import SQL, Embed, Expr, ToMany
from schema.types.dossiers import OVERDUE, PUBLIC_STATUS
from tests.planner.scene import Scene

_fresh = itertools.count()


def _definition(type_name: str, field: str) -> Any:
    graphql_type: Any = schema._schema.get_type(type_name)
    return graphql_type.fields[field].extensions["strawberry-definition"]


ONE = "query($id: ID!) { check%d: dossier(id: $id) { %s } }"
LOOKUP = "query($code: String!) { check%d: dossierStatus(code: $code) { public { %s } } }"


@dataclass(frozen=True)
class Wrong:
    type_name: str
    field: str
    declaration: object  # the wrong one
    caller: str
    template: str  # ONE or LOOKUP
    selection: str
    dossier: str = "ready"  # the scene's label of the dossier asked for


WRONG = {
    "a column read from the wrong column": Wrong(
        "Dossier", "receivedAt", Expr("{row}.submitted_at"), "citizen_a", ONE, "code receivedAt"
    ),
    "an expression that drops a condition": Wrong(
        "Dossier",
        "overdue",
        Expr(OVERDUE.template.replace("{row}.paused_at IS NULL AND ", ""), nullable=False),
        "tax",
        ONE,
        "code pausedAt overdue",
        dossier="paused",
    ),
    "a list in the wrong order": Wrong(
        "Dossier",
        "steps",
        ToMany(DossierStep, "dossier_id", "id", "{row}.position DESC"),
        "citizen_a",
        ONE,
        "steps { position name }",
    ),
    "an embedded field from the wrong label": Wrong(
        "DossierLookup",
        "public",
        Embed({**PUBLIC_STATUS.fields, "received_at": "appointment_at"}),
        "anonymous",
        LOOKUP,
        "code receivedAt appointmentAt",
    ),
}


async def _ask(scene: Scene, wrong: Wrong) -> tuple[str, str, bool]:
    query = wrong.template % (next(_fresh), wrong.selection)
    if wrong.template == ONE:
        variables = {"id": scene.dossiers[wrong.dossier]}
    else:
        variables = {"code": scene.codes[wrong.dossier]}
    return await scene.compare(wrong.caller, query, variables)


@pytest.mark.parametrize("case", sorted(WRONG))
async def test_a_wrong_declaration_is_caught_by_the_comparison(
    case: str, scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = WRONG[case]
    compiled, executed, planned = await _ask(scene, wrong)
    assert planned
    assert compiled == executed, (compiled, executed)

    definition = _definition(wrong.type_name, wrong.field)
    monkeypatch.setattr(definition, "metadata", {**definition.metadata, SQL: wrong.declaration})
    compiled, executed, planned = await _ask(scene, wrong)
    assert planned, "the wrong declaration was not compiled"
    assert compiled != executed, f"the comparison missed {case}: {compiled}"

    monkeypatch.undo()
    compiled, executed, planned = await _ask(scene, wrong)
    assert planned
    assert compiled == executed, (compiled, executed)
