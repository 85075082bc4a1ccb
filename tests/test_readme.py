"""The README's dossier life-cycle diagram is the workflow table, not a drawing that drifts."""

from __future__ import annotations

import re
from pathlib import Path

from services.dossiers.workflow import FINAL, TRANSITIONS

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_mermaid_life_cycle_lists_exactly_the_transitions() -> None:
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"```mermaid\n(stateDiagram-v2\n.*?)```", text, re.S)
    assert len(blocks) == 1
    edges = set(re.findall(r"^\s+(\w+) --> (\w+): (\w+)$", blocks[0], re.M))
    assert edges == {(s.value, t.value, a.value) for (s, a), t in TRANSITIONS.items()}
    finals = set(re.findall(r"^\s+(\w+) --> \[\*\]$", blocks[0], re.M))
    assert finals == {s.value for s in FINAL}
    assert "[*] --> DRAFT" in blocks[0]
