"""The docs that must not drift: the dossier life-cycle diagram is the workflow table, and the
configuration reference names exactly the settings the service reads."""

from __future__ import annotations

import re
from pathlib import Path

from core.settings import Settings
from services.dossiers.workflow import FINAL, TRANSITIONS

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = ROOT / "docs" / "domain.md"
CONFIGURATION = ROOT / "docs" / "configuration.md"


def test_the_mermaid_life_cycle_lists_exactly_the_transitions() -> None:
    text = DOMAIN.read_text(encoding="utf-8")
    blocks = re.findall(r"```mermaid\n(stateDiagram-v2\n.*?)```", text, re.S)
    assert len(blocks) == 1
    edges = set(re.findall(r"^\s+(\w+) --> (\w+): (\w+)$", blocks[0], re.M))
    assert edges == {(s.value, t.value, a.value) for (s, a), t in TRANSITIONS.items()}
    finals = set(re.findall(r"^\s+(\w+) --> \[\*\]$", blocks[0], re.M))
    assert finals == {s.value for s in FINAL}
    assert "[*] --> DRAFT" in blocks[0]


def test_the_configuration_reference_names_every_setting_and_no_other() -> None:
    """Each row of docs/configuration.md's table names one or more variables (`A`, `B` / `C`);
    together they are exactly the settings class's fields, upper-cased."""
    text = CONFIGURATION.read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split(" | ")[0])}
    assert documented == {name.upper() for name in Settings.model_fields}
