"""Every query the documentation shows — docs/examples/*.py, the persisted queries
(assets/persisted-queries.json), the ```graphql blocks of the README, the tour and the GraphQL guide — asked
of both read paths by every kind of caller on the seeded scene: the same JSON, byte for byte.

A query whose root fields all have a SQL declaration (`schema.sql.Rows`) and that the executor
answers without an error must be answered by the compiled path itself; any other the compiled
app hands to the executor, and the answers must still be the same.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    OperationDefinitionNode,
    OperationType,
    Visitor,
    parse,
    print_ast,
    visit,
)

from resolvers.root import schema
from schema.sql import SQL, Rows
from tests.planner.scene import CALLERS, Scene

ROOT = Path(__file__).resolve().parents[2]
CODE = re.compile(r'"\d{3}\.\d{2}\.\d{2}\.H\d{2}-\d{6}-\d{4}"')  # a dossier code written in a doc


def _operations(source: str, text: str) -> list[tuple[str, str]]:
    """The query operations of a document, each alone with the document's fragments."""
    document: DocumentNode = parse(text)
    fragments = [d for d in document.definitions if isinstance(d, FragmentDefinitionNode)]
    found = []
    for index, definition in enumerate(document.definitions):
        if isinstance(definition, OperationDefinitionNode) and definition.operation is OperationType.QUERY:
            name = definition.name.value if definition.name else str(index)
            alone = DocumentNode(definitions=(definition, *fragments))
            found.append((f"{source}:{name}", print_ast(alone)))
    return found


def documented_queries() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for path in sorted((ROOT / "docs" / "examples").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "gql":
                argument = node.args[0]
                assert isinstance(argument, ast.Constant), path
                found += _operations(path.name, str(argument.value))
    manifest = json.loads((ROOT / "assets" / "persisted-queries.json").read_text(encoding="utf-8"))
    for operation in manifest["operations"]:
        found += [(f"persisted:{operation['name']}", q) for _, q in _operations("", operation["body"])]
    for page in ("README.md", "docs/tour.md", "docs/graphql-guide.md"):
        blocks = re.findall(r"```graphql\n(.*?)```", (ROOT / page).read_text(encoding="utf-8"), re.S)
        for number, block in enumerate(blocks):
            found += _operations(f"{page}#{number}", block)
    return found


QUERIES = documented_queries()


def test_the_docs_show_the_compiled_roots() -> None:
    """The harvest is not empty: the hot reads (persisted) and the doc's lookup are in it."""
    names = {name for name, _ in QUERIES}
    assert {"persisted:PublicDossierStatus", "persisted:StaffInbox"} <= names, names
    assert len(QUERIES) >= 6, names


def variables_for(query: str, scene: Scene) -> dict[str, Any]:
    """Values from the scene for the variables a documented query declares."""
    known: dict[str, Any] = {
        "after": None,
        "search": "khai sinh",
        "code": scene.codes["ready"],
        "id": scene.dossiers["ready"],
        "first": 5,
    }
    operation = next(d for d in parse(query).definitions if isinstance(d, OperationDefinitionNode))
    names = [v.variable.name.value for v in operation.variable_definitions or ()]
    unknown = [n for n in names if n not in known]
    assert not unknown, f"give the scene a value for ${unknown} (tests/planner/test_examples.py)"
    return {n: known[n] for n in names}


# Fields answered by Python on purpose (docs/status.md, "Compiled reads"): a query selecting one
# is handed to the executor whole.
EXECUTOR_ONLY = {"availableActions", "formSchema"}


def declared_roots(query: str) -> bool:
    """Whether every root field of the query has a SQL declaration and it selects no field kept
    for the executor (the planner may answer it)."""
    document = parse(query)
    selected: set[str] = set()
    visit(document, _Names(selected))
    if selected & EXECUTOR_ONLY:
        return False
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    query_type = schema._schema.query_type
    assert query_type is not None
    fields = query_type.fields
    for selection in operation.selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.name.value not in fields:
            return False
        definition = fields[selection.name.value].extensions.get("strawberry-definition")
        if not isinstance(definition.metadata.get(SQL), Rows):
            return False
    return True


class _Names(Visitor):
    def __init__(self, names: set[str]) -> None:
        super().__init__()
        self.names = names

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        self.names.add(node.name.value)


@pytest.mark.parametrize(("name", "query"), QUERIES, ids=[n for n, _ in QUERIES])
async def test_a_documented_query_is_answered_alike_by_every_caller(
    name: str, query: str, scene: Scene
) -> None:
    query = CODE.sub(json.dumps(scene.codes["ready"]), query)
    variables = variables_for(query, scene)
    compilable = declared_roots(query)
    planned_by = []
    for caller in CALLERS:
        compiled, executed, planned = await scene.both(caller, query, variables)
        assert json.dumps(compiled) == json.dumps(executed), (caller, compiled, executed)
        if compilable and "errors" not in executed:
            assert planned, f"{caller}: the compiled path did not answer {query}"
            planned_by.append(caller)
        elif planned:
            planned_by.append(caller)
    if compilable:
        assert planned_by, f"nobody's {name} was compiled"
