"""The payload examples of docs/integrations.md, read back so that tests compare them with what
the code really produces: a block marked `<!-- payload: NAME -->` is the fenced block right after
the marker. Only the shape is compared (keys, nesting, kinds of values), never the values."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.conftest import ROOT

GUIDE = ROOT / "docs" / "integrations.md"
_BLOCK = re.compile(r"<!-- payload: ([a-z0-9-]+) -->\n```[a-z]*\n(.*?)\n```", re.DOTALL)


def examples() -> dict[str, str]:
    """Every marked block of the guide, by name."""
    return {name: body for name, body in _BLOCK.findall(GUIDE.read_text(encoding="utf-8"))}


def example(name: str) -> str:
    blocks = examples()
    assert name in blocks, f"docs/integrations.md has no example marked {name!r}"
    return blocks[name]


def json_example(name: str) -> Any:
    return json.loads(example(name))


def header_names(name: str) -> set[str]:
    """The header names of an HTTP example (its first line is the request line), lower-cased."""
    lines = example(name).splitlines()[1:]
    return {line.split(":", 1)[0].strip().lower() for line in lines if ":" in line}


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def shape_problems(doc: Any, real: Any, path: str = "$", opaque: frozenset[str] = frozenset()) -> list[str]:
    """How `real` differs in shape from the documented `doc`: missing or undocumented keys, another
    kind of value (null matches anything: an example may show a value that is sometimes null).
    Keys named in `opaque` hold free-form data (an e-form): only their kind is compared. Each
    element of a real array must match one documented element."""
    if doc is None or real is None:
        return []
    if _kind(doc) != _kind(real):
        return [f"{path}: documented {_kind(doc)}, produced {_kind(real)}"]
    if path.rsplit(".", 1)[-1] in opaque:
        return []
    if isinstance(doc, dict):
        problems = [f"{path}.{k}: produced, not documented" for k in real.keys() - doc.keys()]
        problems += [f"{path}.{k}: documented, not produced" for k in doc.keys() - real.keys()]
        for key in doc.keys() & real.keys():
            problems += shape_problems(doc[key], real[key], f"{path}.{key}", opaque)
        return problems
    if isinstance(doc, list):
        if not doc:
            return []
        problems = []
        for i, item in enumerate(real):
            fits: list[list[str]] = [shape_problems(d, item, f"{path}[{i}]", opaque) for d in doc]
            if all(fits):
                problems += sorted(fits, key=len)[0]
        return problems
    return []


def assert_documented(name: str, real: Any, opaque: frozenset[str] = frozenset()) -> None:
    problems = shape_problems(json_example(name), real, opaque=opaque)
    assert not problems, f"docs/integrations.md `{name}` and the real payload differ: {problems}"
