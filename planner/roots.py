"""Root fields in SQL: the services' statement (`schema.sql.Rows.select`) as the rows, each
source's table joined by key, and the field's shape — one object, a list, or a Relay connection
paged by offset with its cursors, `pageInfo` and edges built in the same aggregate.

The statement is numbered in its own order (`row_number() OVER ()` over the ordered, limited
statement) and every list is aggregated `ORDER BY` that number, so joins never change the order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphql import FieldNode, GraphQLList, GraphQLNonNull, GraphQLObjectType

from auth.actor import Actor
from planner.compiler import Compiler, Source, _unwrap
from planner.statements import NotCompilable, base64url, fragment, placeholder, quote_literal
from schema.sql import AnySelect
from schema.types.pagination import Connection, CountedConnection

if TYPE_CHECKING:
    from planner.plans import Root


def root_sql(compiler: Compiler, root: Root, index: int, actor: Actor, nulls: set[str]) -> str:
    """A scalar sub-select giving the root field's JSON value."""
    rows = root.rows
    prefix = f"r{index}_"
    names = rows.parameters
    holders: dict[str, Any] = {name: None if name in nulls else placeholder(prefix + name) for name in names}
    stmt: AnySelect = rows.select(actor, holders)
    inner = fragment(stmt, compiler.params, {prefix + n for n in names if n not in nulls})
    scope, joins = _scope(compiler, rows, stmt)
    type_ = root.field_def.type
    if rows.shape == "one":
        if isinstance(type_, GraphQLNonNull):
            raise NotCompilable(f"{root.key}: a non-null root object")
        body = compiler.object(_object(type_), scope, root.nodes)
        return f"(SELECT {body} FROM ({inner}) k{joins} LIMIT 1)"
    numbered = f"(SELECT k.*, row_number() OVER () AS n FROM ({inner}) k) k{joins}"
    if rows.shape == "list":
        listed, _ = _unwrap(type_)
        if not isinstance(listed, GraphQLList):
            raise NotCompilable(f"{root.key}: not a list")
        body = compiler.object(_object(listed.of_type), scope, root.nodes)
        return f"(SELECT coalesce(json_agg({body} ORDER BY k.n), '[]'::json) FROM {numbered})"
    first = compiler.params.request(prefix + "first") + "::bigint"
    offset = compiler.params.request(prefix + "offset") + "::bigint"
    body = _connection(compiler, _object(type_), scope, root.nodes, first, offset)
    return f"(SELECT {body} FROM {numbered})"


def _scope(compiler: Compiler, rows: Any, stmt: AnySelect) -> tuple[dict[str, Source], str]:
    scope: dict[str, Source] = {}
    joins = []
    for name, model in rows.sources.items():
        if model is None:
            types = {str(c.key): c.type for c in stmt.selected_columns}
            scope[name] = Source("k", None, types, rows.non_null)
            continue
        alias = compiler.alias()
        scope[name] = Source(alias, model)
        joins.append(f" JOIN {model.__table__.name} {alias} ON {alias}.id = k.{name}")
    return scope, "".join(joins)


def _object(type_: Any) -> GraphQLObjectType:
    named, _ = _unwrap(type_)
    if isinstance(named, GraphQLList):
        named, _ = _unwrap(named.of_type)
    if not isinstance(named, GraphQLObjectType):
        raise NotCompilable("an abstract root type")
    return named


def _origin(type_: GraphQLObjectType) -> type | None:
    definition = type_.extensions.get("strawberry-definition")
    origin = getattr(definition, "origin", None)
    return origin if isinstance(origin, type) else None


def _cursor(offset_sql: str) -> str:
    """`services.pagination.encode_offset(offset)` in SQL."""
    return base64url(f"'o:' || ({offset_sql})::text")


def _connection(  # noqa: PLR0917
    compiler: Compiler,
    type_: GraphQLObjectType,
    scope: dict[str, Source],
    nodes: list[FieldNode],
    first: str,
    offset: str,
) -> str:
    origin = _origin(type_)
    if origin is None or not issubclass(origin, Connection) or issubclass(origin, CountedConnection):
        raise NotCompilable(f"{type_.name} is not an offset-paged connection")
    kept = f"count(*) FILTER (WHERE k.n <= {first})"
    pairs = []
    for key, fnodes in compiler.subfields(type_, nodes).items():
        name = fnodes[0].name.value
        if name == "__typename":
            value = quote_literal(type_.name)
        elif name == "edges":
            edge = _object(type_.fields["edges"].type)
            value = (
                f"coalesce(json_agg({_edge(compiler, edge, scope, fnodes, offset)} ORDER BY k.n) "
                f"FILTER (WHERE k.n <= {first}), '[]'::json)"
            )
        elif name == "pageInfo":
            info = _object(type_.fields["pageInfo"].type)
            page = {
                "hasNextPage": f"(count(*) > {first})",
                "hasPreviousPage": f"({offset} > 0)",
                "startCursor": f"CASE WHEN {kept} > 0 THEN {_cursor(f'{offset} + 1')} END",
                "endCursor": f"CASE WHEN {kept} > 0 THEN {_cursor(f'{offset} + {kept}')} END",
                "__typename": quote_literal(info.name),
            }
            inner = [
                f"{quote_literal(k)}, {page[f[0].name.value]}"
                for k, f in compiler.subfields(info, fnodes).items()
            ]
            value = f"json_build_object({', '.join(inner)})"
        else:
            raise NotCompilable(f"{type_.name}.{name}")
        pairs.append(f"{quote_literal(key)}, {value}")
    return f"json_build_object({', '.join(pairs)})"


def _edge(
    compiler: Compiler, edge: GraphQLObjectType, scope: dict[str, Source], nodes: list[FieldNode], offset: str
) -> str:
    pairs = []
    for key, fnodes in compiler.subfields(edge, nodes).items():
        name = fnodes[0].name.value
        if name == "__typename":
            value = quote_literal(edge.name)
        elif name == "cursor":
            value = _cursor(f"{offset} + k.n")
        elif name == "node":
            value = compiler.object(_object(edge.fields["node"].type), scope, fnodes)
        else:
            raise NotCompilable(f"{edge.name}.{name}")
        pairs.append(f"{quote_literal(key)}, {value}")
    return f"json_build_object({', '.join(pairs)})"
