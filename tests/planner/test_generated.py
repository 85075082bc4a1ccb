"""Generated operations over the compiled roots (tests/planner/generate.py), asked by random callers
of both read paths on the seeded scene: the same JSON, byte for byte; and when the executor
answers without an error, the compiled path answered it itself (the generator selects only what
the planner compiles).

Hypothesis runs in a worker thread (its test function is synchronous) and sends each request to
the test's event loop; the examples are derandomised, so CI sees the same ones every run.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from tests.planner.generate import Operation, operations
from tests.planner.scene import Scene

EXAMPLES = int(os.environ.get("PLANNER_EXAMPLES", "150"))  # ~50 ms each; more, locally, to hunt


async def test_generated_operations_are_answered_alike(scene: Scene) -> None:
    loop = asyncio.get_running_loop()
    planned: list[bool] = []
    refused: list[str] = []  # the executor's error code, for what the compiled path handed over

    def ask(op: Operation) -> tuple[Any, Any, bool]:
        return asyncio.run_coroutine_threadsafe(scene.both(op.caller, op.query, op.variables), loop).result()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(operations(scene))
    def check(op: Operation) -> None:
        compiled, executed, was_planned = ask(op)
        assert json.dumps(compiled) == json.dumps(executed), (op, compiled, executed)
        if "errors" not in executed:
            assert was_planned, f"not compiled: {op}"
        planned.append(was_planned)
        if not was_planned:
            refused.append(str((executed.get("errors") or [{}])[0].get("extensions", {}).get("code")))

    await asyncio.to_thread(check)
    # The generator is worth something only if much of what it draws is compiled (the rest: what
    # the executor refuses to the caller drawn — a citizen asking for the inbox, say).
    assert sum(planned) >= len(planned) // 3, (sum(planned), len(planned), Counter(refused))


# Variables the executor refuses or coerces (defaults, explicit nulls, wrong types, unused ones):
# the compiled path hands them over, or answers exactly as the executor does.
VARIABLES = [
    ('query($c: String = "x") { dossierStatus(code: $c) { public { code } } }', {"c": None}),
    ('query($c: String = "x") { dossierStatus(code: $c) { public { code } } }', {}),
    ('query($c: String! = "x") { dossierStatus(code: $c) { public { code } } }', {"c": 5}),
    ("query($f: Int = 2) { inbox(first: $f) { edges { cursor } } }", {"f": None}),
    ("query($f: Int = 2) { inbox(first: $f) { edges { cursor } } }", {"f": 2.0}),
    ("query($f: Int) { inbox(first: $f) { edges { cursor } } }", {"f": 2.0}),
    ("query($f: Int) { inbox(first: $f) { edges { cursor } } }", {"f": None}),
    ("query($f: Int) { inbox(first: $f) { edges { cursor } } }", {"f": 2**31}),
    ("query($a: String) { inbox(after: $a) { edges { cursor } } }", {"a": None}),
    ("query($a: String) { inbox(after: $a) { edges { cursor } } }", {"a": ["bzox"]}),
    ("query($i: ID!) { dossier(id: $i) { code } }", {"i": 12}),
    ("query($i: ID!) { dossier(id: $i) { code } }", {"i": True}),
    ("query($i: ID! = 5) { dossier(id: $i) { code } }", {}),
    ("query($s: Boolean!) { dossier(id: 5) @skip(if: $s) { code } }", {"s": "yes"}),
    ("query($s: Boolean = true) { dossier(id: 5) @skip(if: $s) { code } }", {"s": None}),
    ("query($f: Int, $g: Int) { inbox(first: $f) { edges { cursor } } }", {"f": "x", "g": "y"}),
]


@pytest.mark.parametrize(("query", "variables"), VARIABLES)
async def test_variables_are_coerced_or_refused_as_the_executor_does(
    query: str, variables: dict[str, Any], scene: Scene
) -> None:
    compiled, executed, planned = await scene.compare("specialist", query, variables)
    assert compiled == executed
    assert not (planned and '"errors"' in executed), executed


TWO = """query Lookup($code: String!) { dossierStatus(code: $code) { public { code status } } }
query Inbox { inbox(first: 2) { edges { cursor node { code } } } }"""


@pytest.mark.parametrize(
    ("operation", "planned_expected"), [("Lookup", True), ("Inbox", True), (None, False), ("Other", False)]
)
async def test_the_operation_is_chosen_by_name_as_the_executor_chooses(
    operation: str | None, planned_expected: bool, scene: Scene
) -> None:
    variables = {"code": scene.codes["ready"]} if operation == "Lookup" else {}
    compiled, executed, planned = await scene.compare("specialist", TWO, variables, operation)
    assert compiled == executed
    assert planned is planned_expected, executed
