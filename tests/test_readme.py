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


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def test_every_relative_link_in_the_readme_and_docs_resolves() -> None:
    """Links into docs/ (and between the docs) name a file that exists, and a heading in it."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue  # http(s), mailto: not ours to check here
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.exists():
                broken.append(f"{page.name}: {target}")
                continue
            if anchor and file.suffix == ".md":
                headings = re.findall(r"^#+ (.+)$", file.read_text(encoding="utf-8"), re.M)
                if anchor not in {_slug(h) for h in headings}:
                    broken.append(f"{page.name}: {target} (no such heading)")
    assert not broken, broken
