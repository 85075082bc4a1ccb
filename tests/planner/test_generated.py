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
from typing import Any

from hypothesis import HealthCheck, given, settings

from tests.planner.generate import Operation, operations
from tests.planner.scene import Scene

EXAMPLES = int(os.environ.get("PLANNER_EXAMPLES", "60"))  # more, locally, to hunt


async def test_generated_operations_are_answered_alike(scene: Scene) -> None:
    loop = asyncio.get_running_loop()
    planned: list[bool] = []

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

    await asyncio.to_thread(check)
    # The generator is worth something only if most of what it draws is compiled.
    assert sum(planned) >= len(planned) // 2, (sum(planned), len(planned))
