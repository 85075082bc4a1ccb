"""Root fields in SQL: the services' statement (`schema.sql.Rows.select`) as the rows, each
source's table joined by key, and the field's shape — one object, a list, a page of items, or a
Relay connection with its cursors, `pageInfo` and edges built in the same aggregate (and
`totalCount` by a second scan, only when selected).

The statement is numbered in its own order (`row_number() OVER ()` over the ordered, limited
statement) and every list is aggregated `ORDER BY` that number, so joins never change the order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from graphql import FieldNode, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLString
from sqlalchemy import func

from auth.actor import Actor
from planner.compiler import Compiler, Source, _unwrap
from planner.statements import NotCompilable, base64url, fragment, placeholder, quote_literal
from schema.sql import AnySelect, Rows
from schema.types.pagination import Connection, CountedConnection

WINDOWED = "dvc_total"  # the window's column: the statement's rows before its limit

if TYPE_CHECKING:
    from planner.plans import Root


def root_sql(compiler: Compiler, root: Root, index: int, actor: Actor, nulls: set[str]) -> str:
    """A scalar sub-select giving the root field's JSON value."""
    rows = root.rows
    page = _Page(compiler, rows, f"r{index}_", actor, nulls)
    stmt = rows.select(actor, page.holders)
    if rows.shape == "connection" and page.windowed(root.nodes, _object(root.field_def.type)):
        stmt = stmt.add_columns(func.count().over().label(WINDOWED))
    inner = page.fragment(stmt)
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
    if rows.shape == "page":
        return f"(SELECT {page.items(_object(type_), scope, root.nodes)} FROM {numbered} GROUP BY ())"
    # GROUP BY (): one row, also when nothing aggregates (`{ __typename }`) or no row is found.
    return f"(SELECT {page.connection(_object(type_), scope, root.nodes)} FROM {numbered} GROUP BY ())"


class _Page:
    """The parameters of one root field (`r<index>_<name>`) and the paged shapes built on them."""

    def __init__(self, compiler: Compiler, rows: Rows, prefix: str, actor: Actor, nulls: set[str]) -> None:
        self.compiler, self.rows, self.prefix, self.actor = compiler, rows, prefix, actor
        self.names = [n for n in rows.parameters if n not in nulls]
        self.holders: dict[str, Any] = {
            n: None if n in nulls else placeholder(prefix + n) for n in rows.parameters
        }
        self.holders.setdefault("now", placeholder("now"))  # the request's clock (as `{now}`)
        self.window = False  # `totalCount` by a window over the page's statement (`windowed`)

    def windowed(self, nodes: list[FieldNode], type_: GraphQLObjectType) -> bool:
        """Whether `totalCount` is selected and the root field counts it in the page's scan."""
        if self.rows.windowed_count is None or self.rows.count is None:
            return False
        if not self.rows.windowed_count(self.holders):
            return False
        chosen = self.compiler.subfields(type_, nodes).values()
        self.window = any(f[0].name.value == "totalCount" for f in chosen)
        return self.window

    def fragment(self, stmt: AnySelect) -> str:
        return fragment(stmt, self.compiler.params, {self.prefix + n for n in self.names} | {"now"})

    def param(self, name: str, cast: str) -> str:
        if name not in self.names:
            raise NotCompilable(f"the root field's prepare gives no {name}")
        return f"{self.compiler.params.request(self.prefix + name)}::{cast}"

    def items(self, type_: GraphQLObjectType, scope: dict[str, Source], nodes: list[FieldNode]) -> str:
        """`{ items hasNextPage }`: `first` rows, and whether the statement found one more."""
        if set(type_.fields) != {"items", "hasNextPage"}:
            raise NotCompilable(f"{type_.name} is not a page")
        pairs = []
        for key, fnodes in self.compiler.subfields(type_, nodes).items():
            name = fnodes[0].name.value
            if name == "items":
                first = self.param("first", "bigint")
                body = self.compiler.object(_object(type_.fields["items"].type), scope, fnodes)
                value = f"coalesce(json_agg({body} ORDER BY k.n) FILTER (WHERE k.n <= {first}), '[]'::json)"
            elif name == "hasNextPage":
                value = f"(count(*) > {self.param('first', 'bigint')})"
            else:
                value = quote_literal(type_.name)
            pairs.append(f"{quote_literal(key)}, {value}")
        return f"json_build_object({', '.join(pairs)})"

    def cursor(self, scope: dict[str, Source]) -> str:
        """The row's cursor, as `services.pagination` encodes it."""
        declared = self.rows.cursor
        if callable(declared):
            declared = declared(self.holders)
        if declared is None:
            offset = self.param("offset", "bigint")
            return base64url(f"'o:' || ({offset} + k.n)::text")
        key = self.compiler.expression(declared, scope, GraphQLNonNull(GraphQLString), "the cursor")
        return base64url(f"'k:' || {key}")

    def connection(self, type_: GraphQLObjectType, scope: dict[str, Source], nodes: list[FieldNode]) -> str:
        origin = _origin(type_)
        if origin is None or not issubclass(origin, Connection):
            raise NotCompilable(f"{type_.name} is not a connection")
        pairs = []
        for key, fnodes in self.compiler.subfields(type_, nodes).items():
            name = fnodes[0].name.value
            if name == "__typename":
                value = quote_literal(type_.name)
            elif name == "edges":
                first = self.param("first", "bigint")
                edge = _object(type_.fields["edges"].type)
                value = (
                    f"coalesce(json_agg({self.edge(edge, scope, fnodes)} ORDER BY k.n) "
                    f"FILTER (WHERE k.n <= {first}), '[]'::json)"
                )
            elif name == "pageInfo":
                value = self.page_info(_object(type_.fields["pageInfo"].type), scope, fnodes)
            elif name == "totalCount" and issubclass(origin, CountedConnection) and self.rows.count:
                counted = self.fragment(self.rows.count(self.actor, self.holders))
                value = f"(SELECT count(*) FROM ({counted}) c)"
                if self.window:  # counted in the page's scan; by itself only past the end
                    value = f"coalesce(max(k.{WINDOWED}), {value})"
            else:
                raise NotCompilable(f"{type_.name}.{name}")
            pairs.append(f"{quote_literal(key)}, {value}")
        return f"json_build_object({', '.join(pairs)})"

    def page_info(self, info: GraphQLObjectType, scope: dict[str, Source], nodes: list[FieldNode]) -> str:
        """`pageInfo`: each value (and the parameters it reads) only when selected."""

        def cursors() -> str:
            first = self.param("first", "bigint")
            return f"(array_agg({self.cursor(scope)} ORDER BY k.n) FILTER (WHERE k.n <= {first}))"

        page: dict[str, Callable[[], str]] = {
            "hasNextPage": lambda: f"(count(*) > {self.param('first', 'bigint')})",
            "hasPreviousPage": lambda: self.param("has_previous", "boolean"),
            "startCursor": lambda: f"{cursors()}[1]",
            "endCursor": lambda: (
                f"{cursors()}[count(*) FILTER (WHERE k.n <= {self.param('first', 'bigint')})]"
            ),
            "__typename": lambda: quote_literal(info.name),
        }
        chosen = self.compiler.subfields(info, nodes).items()
        inner = [f"{quote_literal(k)}, {page[f[0].name.value]()}" for k, f in chosen]
        return f"json_build_object({', '.join(inner)})"

    def edge(self, edge: GraphQLObjectType, scope: dict[str, Source], nodes: list[FieldNode]) -> str:
        pairs = []
        for key, fnodes in self.compiler.subfields(edge, nodes).items():
            name = fnodes[0].name.value
            if name == "__typename":
                value = quote_literal(edge.name)
            elif name == "cursor":
                value = self.cursor(scope)
            elif name == "node":
                value = self.compiler.object(_object(edge.fields["node"].type), scope, fnodes)
            else:
                raise NotCompilable(f"{edge.name}.{name}")
            pairs.append(f"{quote_literal(key)}, {value}")
        return f"json_build_object({', '.join(pairs)})"


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
