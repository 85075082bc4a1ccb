"""Hypothesis strategies for query operations over the compiled root fields.

An operation selects one to three of the `ROOTS` (each with its arguments, as literals or as
variables) and, under each, a random sub-selection of the fields the planner may compile —
walked from the GraphQL schema (`resolvers.root.schema`): the fields with a SQL declaration
(`schema.sql`) or read straight from a column, the fields of an embedded object that the `Embed`
lists, every field of a connection, its edges and `pageInfo`, and `__typename`. Fields get
aliases, are selected twice (merged), are wrapped in inline fragments (with and without a type
condition) and named fragments, and carry `@skip` / `@include` with literal or variable
conditions.

A new compiled root is one line in `ROOTS`: its field name and a strategy of its arguments drawn
from the seeded scene (`tests.planner.scene.Scene`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
)
from hypothesis import strategies as st

from resolvers.root import schema as strawberry_schema
from schema.sql import SQL, Embed
from schema.types.columns import Column
from tests.planner.scene import CALLERS, Scene

SCHEMA: GraphQLSchema = strawberry_schema._schema
MAX_DEPTH = 4  # object levels under a root field
ROOT_SHAPES = ("PageInfo",)  # types whose fields the root field's shape builds (with *Connection, *Edge)

Arguments = Callable[[Scene], st.SearchStrategy[dict[str, Any]]]


def _dossier_arguments(scene: Scene) -> st.SearchStrategy[dict[str, Any]]:
    ids = [*scene.dossiers.values(), str(uuid.UUID(int=7)), "khong-phai-uuid"]
    return st.fixed_dictionaries({"id": st.sampled_from(ids)})


def _inbox_arguments(scene: Scene) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "first": st.sampled_from([0, 1, 2, 3, 20, 100, 101, -1]),
            "after": st.sampled_from([None, *scene.cursors, "khong-phai-con-tro"]),
        },
    )


def _status_arguments(scene: Scene) -> st.SearchStrategy[dict[str, Any]]:
    codes = list(scene.codes.values())
    typed = [*codes, codes[0].lower(), f"  {codes[1]} ", "000.00.99.H44-000000-0000", ""]
    return st.fixed_dictionaries(
        {"code": st.sampled_from(typed)},
        optional={
            "idNumber": st.sampled_from([None, *scene.id_numbers.values(), "025190000000"]),
            "secret": st.sampled_from([None, *scene.secrets.values(), "sai"]),
        },
    )


@dataclass(frozen=True)
class CompiledRoot:
    """A root field the planner compiles, and its arguments from the scene."""

    field: str
    arguments: Arguments


ROOTS = [
    CompiledRoot("dossier", _dossier_arguments),
    CompiledRoot("inbox", _inbox_arguments),
    CompiledRoot("dossierStatus", _status_arguments),
]


def selectable(type_: GraphQLObjectType, embed: Embed | None = None) -> list[str]:
    """The fields of `type_` the planner may compile (and `__typename`)."""
    names = ["__typename"]
    whole = type_.name.endswith(("Connection", "Edge")) or type_.name in ROOT_SHAPES
    for name, definition in type_.fields.items():
        strawberry_field = definition.extensions.get("strawberry-definition")
        if definition.args or strawberry_field is None:
            continue
        if (
            whole
            or (embed is not None and strawberry_field.python_name in embed.fields)
            or (embed is None and _declared(strawberry_field))
        ):
            names.append(name)
    return names


def _declared(strawberry_field: Any) -> bool:
    """A SQL declaration, or a column read as it is (or as text)."""
    if strawberry_field.metadata.get(SQL) is not None:
        return True
    default = strawberry_field.default
    return isinstance(default, Column) and default.convert in (None, str)


def _object_type(definition: GraphQLField) -> GraphQLObjectType | None:
    named = get_named_type(definition.type)
    return named if isinstance(named, GraphQLObjectType) else None


def _embed(definition: GraphQLField) -> Embed | None:
    declared = definition.extensions["strawberry-definition"].metadata.get(SQL)
    return declared if isinstance(declared, Embed) else None


def _type_text(type_: Any) -> str:
    if isinstance(type_, GraphQLNonNull):
        return _type_text(type_.of_type) + "!"
    if isinstance(type_, GraphQLList):
        return f"[{_type_text(type_.of_type)}]"
    return str(type_.name)


_DEFAULTED = object()  # a variable left out of the request: its declared default applies


def _literal(value: Any) -> str:
    return "null" if value is None else json.dumps(value, ensure_ascii=False)


@dataclass
class Builder:
    """One operation being drawn: its variables and named fragments."""

    draw: Any
    variables: dict[str, tuple[str, Any]] = field(default_factory=dict)  # name -> (declared, value)
    fragments: list[str] = field(default_factory=list)
    aliases: int = 0

    def variable(self, type_text: str, value: Any) -> str:
        """A variable given `value`: in the request, or as the default it is declared with."""
        name = f"v{len(self.variables)}"
        if value is not None and self.draw(st.integers(0, 3)) == 0:
            self.variables[name] = (f"{type_text} = {_literal(value)}", _DEFAULTED)
        else:
            self.variables[name] = (type_text, value)
        return f"${name}"

    def directives(self) -> str:
        kind = self.draw(st.sampled_from(["", "", "", "", "skip", "include"]))
        if not kind:
            return ""
        flag = self.draw(st.booleans())
        if self.draw(st.booleans()):
            return f" @{kind}(if: {self.variable('Boolean!', flag)})"
        return f" @{kind}(if: {json.dumps(flag)})"

    def alias(self) -> str:
        if self.draw(st.integers(0, 3)) != 0:
            return ""
        self.aliases += 1
        return f"al{self.aliases}: "

    def selection(self, type_: GraphQLObjectType, embed: Embed | None, depth: int) -> str:
        names = selectable(type_, embed)
        if depth >= MAX_DEPTH:
            names = [n for n in names if n == "__typename" or _object_type(type_.fields[n]) is None]
        chosen = self.draw(st.lists(st.sampled_from(names), min_size=1, max_size=min(6, len(names))))
        parts = [self.field(type_, name, depth) for name in chosen]
        return " ".join(self.wrapped(type_, part) for part in parts)

    def field(self, type_: GraphQLObjectType, name: str, depth: int) -> str:
        text = f"{self.alias()}{name}{self.directives()}"
        if name == "__typename":
            return text
        definition = type_.fields[name]
        target = _object_type(definition)
        if target is None:
            return text
        return f"{text} {{ {self.selection(target, _embed(definition), depth + 1)} }}"

    def wrapped(self, type_: GraphQLObjectType, part: str) -> str:
        how = self.draw(st.sampled_from(["plain", "plain", "plain", "inline", "typed", "named"]))
        if how == "inline":
            return f"...{self.directives()} {{ {part} }}"
        if how == "typed":
            return f"... on {type_.name}{self.directives()} {{ {part} }}"
        if how == "named":
            name = f"F{len(self.fragments)}"
            self.fragments.append(f"fragment {name} on {type_.name} {{ {part} }}")
            return f"...{name}{self.directives()}"
        return part

    def arguments(self, definition: GraphQLField, values: dict[str, Any]) -> str:
        given = []
        for name, value in values.items():
            if self.draw(st.booleans()):
                text = self.variable(_type_text(definition.args[name].type), value)
            else:
                text = _literal(value)
            given.append(f"{name}: {text}")
        return f"({', '.join(given)})" if given else ""


@dataclass(frozen=True)
class Operation:
    caller: str
    query: str
    variables: dict[str, Any]


@st.composite
def operations(draw: Any, scene: Scene) -> Operation:
    """An operation over one to three compiled roots, and who asks it."""
    builder = Builder(draw)
    query_type = SCHEMA.query_type
    assert query_type is not None
    roots = draw(st.lists(st.sampled_from(ROOTS), min_size=1, max_size=3))
    parts = []
    for index, root in enumerate(roots):
        definition = query_type.fields[root.field]
        values = draw(root.arguments(scene))
        arguments = builder.arguments(definition, values)
        alias = f"r{index}: " if index or draw(st.booleans()) else ""
        target = _object_type(definition)
        assert target is not None
        selection = builder.selection(target, None, 1)
        parts.append(f"{alias}{root.field}{arguments}{builder.directives()} {{ {selection} }}")
    declared = ", ".join(f"${n}: {t}" for n, (t, _) in builder.variables.items())
    header = f"query Q({declared})" if declared else "query Q"
    query = "\n".join([f"{header} {{ {' '.join(parts)} }}", *builder.fragments])
    variables = {n: v for n, (_, v) in builder.variables.items() if v is not _DEFAULTED}
    return Operation(draw(st.sampled_from(CALLERS)), query, variables)
