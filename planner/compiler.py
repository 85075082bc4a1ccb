"""A selection set made into one SQL expression that builds its JSON: `json_build_object` in
selection order (never `jsonb`: it sorts keys), a lateral sub-select per relation, `json_agg` for
lists, every scalar printed as the executor prints it (`planner.statements`).

What the compiler cannot answer exactly it refuses (`NotCompilable`): a field without a
declaration, an argument on a nested field, a non-null field over a nullable column, a field
the caller's permissions refuse, an abstract type. The operation then runs through the executor.
"""

from __future__ import annotations

import enum
import itertools
import typing
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy
from graphql import (
    BooleanValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    VariableNode,
)
from sqlalchemy import inspect
from strawberry.permission import PermissionExtension
from strawberry.types.field import StrawberryField

from auth.actor import Actor
from planner.statements import (
    NotCompilable,
    Parameters,
    quote_literal,
    wire_date,
    wire_datetime,
    wire_float,
)
from schema.permissions import _Rule
from schema.sql import SQL, Embed, Expr, ForCaller, ToMany, ToOne
from schema.types.columns import Column

MAX_PAIRS = 50  # json_build_object takes at most 100 arguments


@dataclass(frozen=True)
class Source:
    """A source of a type's values in SQL: a table's alias (`model` its ORM class) or, with no
    model, a derived row whose columns are read by their labels (`types`, `non_null`)."""

    alias: str
    model: type[Any] | None = None
    types: Mapping[str, sqlalchemy.types.TypeEngine[Any]] | None = None
    non_null: frozenset[str] = frozenset()

    def column(self, attribute: str) -> tuple[str, sqlalchemy.types.TypeEngine[Any], bool]:
        """SQL, type and nullability of one attribute of the row."""
        if self.model is None:
            if self.types is None or attribute not in self.types:
                raise NotCompilable(f"no column {attribute} in the statement")
            return f"{self.alias}.{attribute}", self.types[attribute], attribute not in self.non_null
        prop = inspect(self.model).mapper.column_attrs.get(attribute)
        if prop is None:
            raise NotCompilable(f"{self.model.__name__} has no column {attribute}")
        col = prop.columns[0]
        return f"{self.alias}.{col.name}", col.type, bool(col.nullable)


Scope = Mapping[str, Source]  # a type's source names (`row`, `procedure`) → where they are


def sources_of(origin: type) -> dict[str, type[Any]]:
    """A strawberry type's sources: its `strawberry.Private` fields annotated with an ORM model."""
    found: dict[str, type[Any]] = {}
    for klass in reversed(origin.__mro__):
        for name, annotation in getattr(klass, "__annotations__", {}).items():
            text = annotation if isinstance(annotation, str) else repr(annotation)
            if "Private[" not in text:
                continue
            model = _private_model(klass, name)
            if model is not None:
                found[name] = model
    return found


def _private_model(klass: type, name: str) -> type[Any] | None:
    hints = typing.get_type_hints(klass, include_extras=True)
    args = typing.get_args(hints.get(name))
    model = args[0] if args else None
    return model if isinstance(model, type) and hasattr(model, "__mapper__") else None


def _unwrap(type_: GraphQLOutputType) -> tuple[GraphQLOutputType, bool]:
    if isinstance(type_, GraphQLNonNull):
        return type_.of_type, True
    return type_, False


class Compiler:
    """Compiles selection sets for one operation, one caller: `fragments` and the directive
    `variables` of the document, `params` the plan's parameters (shared by its root fields)."""

    def __init__(  # noqa: PLR0917 — one operation's whole setting
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
        actor: Actor,
        zone: ZoneInfo,
        params: Parameters,
    ) -> None:
        self.schema, self.fragments, self.variables = schema, fragments, variables
        self.actor, self.zone, self.params = actor, zone, params
        self._aliases = itertools.count(1)

    def alias(self) -> str:
        return f"t{next(self._aliases)}"

    # --- objects -------------------------------------------------------------------------------

    def subfields(self, type_: GraphQLObjectType, nodes: list[FieldNode]) -> dict[str, list[FieldNode]]:
        return self.collect(type_, [n.selection_set for n in nodes if n.selection_set is not None])

    def collect(self, type_: GraphQLObjectType, sets: list[SelectionSetNode]) -> dict[str, list[FieldNode]]:
        """The fields selected on `type_` by response key, in first-seen order (as the executor
        collects them): fragments that apply to the type spread, `@skip`/`@include` decided."""
        fields: dict[str, list[FieldNode]] = {}
        seen: set[str] = set()

        def walk(selection_set: SelectionSetNode) -> None:
            for selection in selection_set.selections:
                if not self.included(selection):
                    continue
                if isinstance(selection, FieldNode):
                    key = selection.alias.value if selection.alias else selection.name.value
                    fields.setdefault(key, []).append(selection)
                elif isinstance(selection, InlineFragmentNode):
                    if self.applies(selection.type_condition, type_):
                        walk(selection.selection_set)
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = self.fragments.get(name)
                    if name in seen or fragment is None:
                        continue
                    seen.add(name)
                    if self.applies(fragment.type_condition, type_):
                        walk(fragment.selection_set)

        for selection_set in sets:
            walk(selection_set)
        if len(fields) > MAX_PAIRS:
            raise NotCompilable(f"more than {MAX_PAIRS} fields in one selection")
        return fields

    def included(self, selection: Any) -> bool:
        for directive in selection.directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                raise NotCompilable(f"the @{name} directive")
            value = directive.arguments[0].value
            if isinstance(value, VariableNode):
                flag = self.variables.get(value.name.value)
                if not isinstance(flag, bool):  # an explicit null: the executor reports it
                    raise NotCompilable(f"the @{name} condition is not a Boolean")
            elif isinstance(value, BooleanValueNode):
                flag = value.value
            else:
                raise NotCompilable("a directive argument")
            if bool(flag) is (name == "skip"):
                return False
        return True

    def applies(self, condition: Any, type_: GraphQLObjectType) -> bool:
        if condition is None or condition.name.value == type_.name:
            return True
        named = self.schema.get_type(condition.name.value)
        try:
            return named is not None and self.schema.is_sub_type(named, type_)  # type: ignore[arg-type]
        except (GraphQLError, TypeError):
            return False

    def object(self, type_: GraphQLObjectType, scope: Scope, nodes: list[FieldNode]) -> str:
        """`json_build_object` of the selection on `type_`, its values read from `scope`."""
        pairs = [
            f"{quote_literal(key)}, {self.field(type_, scope, fnodes)}"
            for key, fnodes in self.subfields(type_, nodes).items()
        ]
        return f"json_build_object({', '.join(pairs)})"

    def embedded(self, type_: GraphQLObjectType, embed: Embed, scope: Scope, nodes: list[FieldNode]) -> str:
        pairs = []
        for key, fnodes in self.subfields(type_, nodes).items():
            name = fnodes[0].name.value
            if name == "__typename":
                pairs.append(f"{quote_literal(key)}, {quote_literal(type_.name)}")
                continue
            field_def = type_.fields[name]
            python = _strawberry_field(field_def).python_name
            source = embed.fields.get(python)
            if source is None:
                raise NotCompilable(f"{type_.name}.{name} is not embedded")
            if isinstance(source, Expr):
                value = self.expression(source, scope, field_def.type, f"{type_.name}.{name}")
            else:
                value = self.column(scope[embed.source], source, field_def.type, f"{type_.name}.{name}")
            pairs.append(f"{quote_literal(key)}, {value}")
        body = f"json_build_object({', '.join(pairs)})"
        if embed.present is None:
            return body
        names = {name: source.alias for name, source in scope.items()}
        return f"(CASE WHEN {embed.present.format(**names)} THEN {body} END)"

    # --- fields --------------------------------------------------------------------------------

    def field(self, parent: GraphQLObjectType, scope: Scope, nodes: list[FieldNode]) -> str:
        name = nodes[0].name.value
        if name == "__typename":
            return quote_literal(parent.name)
        if nodes[0].arguments:
            raise NotCompilable(f"{parent.name}.{name} has arguments")
        field_def = parent.fields[name]
        definition = _strawberry_field(field_def)
        where = f"{parent.name}.{name}"
        self.check_permissions(definition, where)
        declared = definition.metadata.get(SQL)
        if isinstance(declared, ForCaller):  # decided for this caller's permission set
            declared = declared.choose(self.actor)
        if declared is None and isinstance(definition.default, Column):
            column = definition.default
            if column.convert not in (None, str, float):
                raise NotCompilable(f"{where} converts its value in Python")
            return self.column(scope[column.source], column.attribute or name, field_def.type, where)
        if isinstance(declared, Expr):
            return self.expression(declared, scope, field_def.type, where)
        if isinstance(declared, Embed):
            target, non_null = _unwrap(field_def.type)
            if not isinstance(target, GraphQLObjectType) or (non_null and declared.present):
                raise NotCompilable(f"{where} is not an object, or may be null")
            return self.embedded(target, declared, scope, nodes)
        if isinstance(declared, ToOne):
            return self.to_one(declared, scope, field_def.type, nodes, where)
        if isinstance(declared, ToMany):
            return self.to_many(declared, scope, field_def.type, nodes, where)
        raise NotCompilable(f"{where} has no SQL declaration")

    def check_permissions(self, definition: StrawberryField, where: str) -> None:
        """Field permissions decided now, for this caller: a field the executor would refuse is
        not compiled (the executor answers the refusal)."""
        for extension in definition.extensions:
            if not isinstance(extension, PermissionExtension):
                raise NotCompilable(f"{where} has a field extension")
            for permission in extension.permissions:
                if not isinstance(permission, _Rule) or not permission.allows(self.actor):
                    raise NotCompilable(f"{where} is refused to this caller")

    def column(self, source: Source, attribute: str, type_: GraphQLOutputType, where: str) -> str:
        sql, column_type, nullable = source.column(attribute)
        named, non_null = _unwrap(type_)
        if non_null and nullable:
            raise NotCompilable(f"{where} is non-null over a nullable column")
        return self.scalar(named, sql, column_type, where)

    def expression(self, expr: Expr, scope: Scope, type_: GraphQLOutputType, where: str) -> str:
        named, non_null = _unwrap(type_)
        if non_null and expr.nullable:
            raise NotCompilable(f"{where} is non-null over a nullable expression")
        if isinstance(named, GraphQLList):  # a list of scalars: an array, as the template says
            named, _ = _unwrap(named.of_type)
        if not isinstance(named, GraphQLScalarType | GraphQLEnumType):
            raise NotCompilable(f"{where}: an expression gives a scalar")
        names = {name: source.alias for name, source in scope.items()}
        if "{now}" in expr.template:
            names["now"] = self.params.request("now")
        return f"({expr.template.format(**names)})"

    def scalar(self, named: GraphQLOutputType, sql: str, column_type: Any, where: str) -> str:
        if isinstance(named, GraphQLEnumType):
            return self.enum(named, sql, column_type, where)
        if not isinstance(named, GraphQLScalarType):
            raise NotCompilable(f"{where} is not a scalar")
        python = _python_type(column_type)
        kind = named.name
        if kind in ("ID", "String") and python in (str, uuid.UUID):
            return f"{sql}::text" if python is uuid.UUID else sql
        if kind in ("Int", "ByteCount", "Float"):
            return _number(kind, python, sql, column_type, where)
        if kind == "Boolean" and python is bool:
            return sql
        if kind == "DateTime" and getattr(column_type, "timezone", False):
            return wire_datetime(sql, self.zone)
        if kind == "Date" and python is date:
            return wire_date(sql)
        raise NotCompilable(f"{where}: {kind} from {column_type!r} is printed by the executor")

    def enum(self, named: GraphQLEnumType, sql: str, column_type: Any, where: str) -> str:
        """An enum column stored by member name, and a GraphQL enum with the same names."""
        enum_class = getattr(column_type, "enum_class", None)
        stored = list(getattr(column_type, "enums", ()))
        if enum_class is None or not issubclass(enum_class, enum.Enum):
            raise NotCompilable(f"{where}: not an enum column")
        if stored != [m.name for m in enum_class] or not set(stored) <= set(named.values):
            raise NotCompilable(f"{where}: stored labels differ from the GraphQL names")
        return f"{sql}::text"

    # --- relations -----------------------------------------------------------------------------

    def to_one(
        self, declared: ToOne, scope: Scope, type_: GraphQLOutputType, nodes: list[FieldNode], where: str
    ) -> str:
        target, non_null = _unwrap(type_)
        if not isinstance(target, GraphQLObjectType):
            raise NotCompilable(f"{where} is abstract")
        if non_null and not declared.required:
            raise NotCompilable(f"{where} is non-null over an optional row")
        inner: dict[str, Source] = {}
        tables, conditions = [], []
        for name, join in declared.joins.items():
            alias = self.alias()
            inner[name] = Source(alias, join.model)
            key, _, _ = inner[name].column(join.key)
            on, _, _ = scope[join.source].column(join.on)
            tables.append(f"{join.model.__table__.name} {alias}")
            conditions.append(f"{key} = {on}")
        body = self.object(target, inner, nodes)
        return f"(SELECT {body} FROM {', '.join(tables)} WHERE {' AND '.join(conditions)})"

    def to_many(
        self, declared: ToMany, scope: Scope, type_: GraphQLOutputType, nodes: list[FieldNode], where: str
    ) -> str:
        listed, non_null = _unwrap(type_)
        item, item_non_null = _unwrap(listed.of_type) if isinstance(listed, GraphQLList) else (None, False)
        if not (non_null and item_non_null and isinstance(item, GraphQLObjectType)):
            raise NotCompilable(f"{where} is not a non-null list of objects")
        alias = self.alias()
        inner = {"row": Source(alias, declared.model)}
        key, _, _ = inner["row"].column(declared.key)
        on, _, _ = scope[declared.source].column(declared.on)
        body = self.object(item, inner, nodes)
        table = f"{declared.model.__table__.name} {alias}"
        if declared.where is not None and (declared.array or declared.link is not None):
            raise NotCompilable(f"{where}: a condition on linked rows")
        if declared.array:
            element = self.alias()
            return (
                f"(SELECT coalesce(json_agg({body} ORDER BY {element}.n), '[]'::json) "
                f"FROM unnest({on}) WITH ORDINALITY {element}(value, n) "
                f"JOIN {table} ON {key} = {element}.value)"
            )
        if declared.link is not None:
            link = Source(self.alias(), declared.link.model)
            parent, _, _ = link.column(declared.link.parent)
            child, _, _ = link.column(declared.link.child)
            order = declared.order_by.format(row=alias, link=link.alias)
            return (
                f"(SELECT coalesce(json_agg({body} ORDER BY {order}), '[]'::json) "
                f"FROM {declared.link.model.__table__.name} {link.alias} JOIN {table} ON {key} = {child} "
                f"WHERE {parent} = {on})"
            )
        order = declared.order_by.format(row=alias)
        seen = "" if declared.where is None else f" AND ({declared.where(self.actor).format(row=alias)})"
        return (
            f"(SELECT coalesce(json_agg({body} ORDER BY {order}), '[]'::json) "
            f"FROM {table} WHERE {key} = {on}{seen})"
        )


def _strawberry_field(field_def: Any) -> StrawberryField:
    definition = field_def.extensions.get("strawberry-definition")
    if not isinstance(definition, StrawberryField):
        raise NotCompilable("a field strawberry did not define")
    return definition


def _number(kind: str, python: type | None, sql: str, column_type: Any, where: str) -> str:
    if kind == "Int" and python is int:
        # a 64-bit value past Int's range: the cast fails the statement, and the executor answers
        # (its error) — never a number GraphQL's Int cannot be
        return f"({sql})::integer" if isinstance(column_type, sqlalchemy.BigInteger) else sql
    if kind == "ByteCount" and python is int:
        return sql
    if kind == "Float" and python is Decimal and _short_numeric(column_type):
        return wire_float(sql)
    raise NotCompilable(f"{where}: {kind} from {column_type!r} is printed by the executor")


def _short_numeric(column_type: Any) -> bool:
    """A `numeric(p, s)` whose every value Python prints as PostgreSQL does (`wire_float`): at most
    15 digits (a float keeps them), at most 4 after the point (no exponent below 1e-4)."""
    precision, scale = getattr(column_type, "precision", None), getattr(column_type, "scale", None)
    if not isinstance(column_type, sqlalchemy.Numeric) or precision is None or scale is None:
        return False
    return bool(precision <= 15 and 0 <= scale <= 4)


def _python_type(column_type: Any) -> type | None:
    try:
        return column_type.python_type  # type: ignore[no-any-return]
    except NotImplementedError:
        return None
