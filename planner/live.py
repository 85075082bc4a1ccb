"""Live plans: a subscription whose payload is re-read on every change (`schema.sql.Live`) made,
once per document and permission set, into one statement that returns the row's key and the
`data` object as JSON text built by PostgreSQL.

`LivePlanner.prepare` takes a subscription request and answers a `LiveReady` — the plan, its
argument values and the group key (`group`): two subscribers with the same group key get the same
bytes from the same statement, so `web.live` runs it once for all of them. What the plan cannot
answer exactly (a field without declaration, a refused caller, arguments the old path answers
itself, the request's clock) raises `NotCompilable`: the subscription runs as it always did.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from graphql import FieldNode, GraphQLObjectType, OperationDefinitionNode, OperationType
from graphql.execution.values import get_argument_values

from auth.actor import ANONYMOUS, Actor
from planner.compiler import Compiler, Source, _strawberry_field, _unwrap
from planner.plans import (
    CACHE_SIZE,
    Document,
    Planner,
    Variables,
    _Lru,
    fresh,
    operation_variables,
    permission_key,
)
from planner.statements import NotCompilable, Parameters, fragment, placeholder, quote_literal
from schema.limits import longest_list
from schema.sql import SQL, Fallback, Live

NOW = "now"  # the request's clock: a live plan never reads it (the old path's clock is its start)


@dataclass(frozen=True)
class LivePlan:
    """`sql` answers (key, data) — the row's key as text, the `data` object as JSON text — or no
    row when the caller may not see it; `topic` announces its changes (`core.broker`)."""

    sql: str
    params: Parameters
    topic: str
    field: str  # the subscription field's name (operation metrics, logs)


@dataclass(frozen=True)
class LiveReady:
    plan: LivePlan
    arguments: tuple[Any, ...]
    operation_name: str | None

    @property
    def group(self) -> Hashable:
        """Same statement text, same values: the same answer, whoever asked."""
        return (self.plan.sql, _hashable(self.arguments))


@dataclass(frozen=True, eq=False)
class _Root:  # compared and hashed by identity: a plan's key holds it (no id reused while cached)
    key: str
    field_def: Any
    nodes: list[FieldNode]
    live: Live
    directive_values: tuple[tuple[str, Any], ...]


def _hashable(value: Any) -> Hashable:
    if isinstance(value, list | tuple):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value  # type: ignore[no-any-return]


class LivePlanner:
    """Live plans over a query planner's documents (parsed and validated once, its limits)."""

    def __init__(self, planner: Planner) -> None:
        self.planner = planner
        self._variables = _Lru(CACHE_SIZE)
        self._roots = _Lru(CACHE_SIZE)
        self._plans = _Lru(CACHE_SIZE)

    def prepare(
        self, text: str, name: str | None, raw_variables: dict[str, Any] | None, actor: Actor
    ) -> LiveReady:
        document = self.planner.document(text)
        variables = raw_variables or {}
        if longest_list(variables) > self.planner.limits.max_list_items:
            raise NotCompilable("a list in the variables is over the limit")
        definitions = self._definitions(text, document, name)
        coerced = definitions.coerce(self.planner.schema, variables)
        if coerced is None:
            raise NotCompilable("the variables are not valid")
        root = self._root(text, name, document, definitions.ast, coerced.coerced)
        arguments = get_argument_values(root.field_def, root.nodes[0], coerced)
        try:
            prepared = dict(root.live.rows.prepare(actor, arguments))
        except Fallback as fallback:
            raise NotCompilable(fallback.reason) from None
        except Exception as error:  # noqa: BLE001 — the services' checks: the old path answers
            raise NotCompilable(f"{root.key}: {type(error).__name__}") from None
        shape = tuple(sorted((k, v is None) for k, v in prepared.items()))
        key = (root, permission_key(actor), actor.id, shape)  # per account: its statement may hold it
        plan = self._plans.recall(key)
        if plan is None:
            plan = self._plans.remember(key, self._build(root, document, actor, shape))
        if isinstance(plan, NotCompilable):
            raise fresh(plan)
        return LiveReady(plan, tuple(plan.params.values(prepared)), name)

    def _definitions(self, text: str, document: Document, name: str | None) -> Variables:
        key = (text, name)  # by text, not by the document's id: the planner may drop and re-parse it
        found = self._variables.recall(key)
        if found is None:
            found = self._variables.remember(
                key, operation_variables(document, name, OperationType.SUBSCRIPTION)
            )
        if isinstance(found, NotCompilable):
            raise fresh(found)
        return found  # type: ignore[no-any-return]

    def _root(
        self,
        text: str,
        name: str | None,
        document: Document,
        ast: OperationDefinitionNode,
        variables: dict[str, Any],
    ) -> _Root:
        values = tuple((v, variables.get(v)) for v in document.directive_variables)
        key = (text, name, values)
        found = self._roots.recall(key)
        if found is None:
            found = self._roots.remember(key, self._find_root(document, ast, dict(values)))
        if isinstance(found, NotCompilable):
            raise fresh(found)
        return found  # type: ignore[no-any-return]

    def _find_root(
        self, document: Document, ast: OperationDefinitionNode, values: dict[str, Any]
    ) -> _Root | NotCompilable:
        subscription = self.planner.schema.subscription_type
        if subscription is None:
            return NotCompilable("no subscriptions")
        collector = Compiler(
            self.planner.schema, document.fragments, values, ANONYMOUS, self.planner.zone, Parameters()
        )
        try:
            fields = collector.collect(subscription, [ast.selection_set])
        except NotCompilable as refused:
            return refused
        if len(fields) != 1:
            return NotCompilable("not one subscription field")
        ((key, nodes),) = fields.items()
        field_name = nodes[0].name.value
        if field_name.startswith("__"):
            return NotCompilable(f"root {field_name}")
        field_def = subscription.fields[field_name]
        live = _strawberry_field(field_def).metadata.get(SQL)
        if not isinstance(live, Live) or live.rows.shape != "one":
            return NotCompilable(f"Subscription.{field_name} has no SQL declaration")
        return _Root(key, field_def, nodes, live, tuple(values.items()))

    def _build(self, root: _Root, document: Document, actor: Actor, shape: Any) -> LivePlan | NotCompilable:
        params = Parameters()
        compiler = Compiler(
            self.planner.schema,
            document.fragments,
            dict(root.directive_values),
            actor,
            self.planner.zone,
            params,
        )
        field_name = root.nodes[0].name.value
        try:
            compiler.check_permissions(_strawberry_field(root.field_def), f"Subscription.{field_name}")
            sql = _statement(compiler, root, actor, {name for name, is_null in shape if is_null})
        except NotCompilable as refused:
            return refused
        if any(p.request == NOW for p in params.items):
            return NotCompilable("the selection reads the clock")
        return LivePlan(sql, params, root.live.topic, field_name)


def _statement(compiler: Compiler, root: _Root, actor: Actor, nulls: set[str]) -> str:
    """(key, data) of the row the services' statement finds, each source's table joined by id."""
    rows = root.live.rows
    holders = {n: None if n in nulls else placeholder(n) for n in rows.parameters}
    named = {n for n in rows.parameters if n not in nulls}
    inner = fragment(rows.select(actor, holders), compiler.params, named)
    scope: dict[str, Source] = {}
    joins = []
    for source, model in rows.sources.items():
        if model is None:
            raise NotCompilable("a live object from a derived row")
        alias = compiler.alias()
        scope[source] = Source(alias, model)
        joins.append(f" JOIN {model.__table__.name} {alias} ON {alias}.id = k.{source}")
    if root.live.key not in scope:
        raise NotCompilable(f"no source {root.live.key}")
    target, _ = _unwrap(root.field_def.type)
    if not isinstance(target, GraphQLObjectType):
        raise NotCompilable(f"Subscription.{root.nodes[0].name.value} is not an object")
    body = compiler.object(target, scope, root.nodes)
    data = f"json_build_object({quote_literal(root.key)}, {body})::text"
    return f"SELECT k.{root.live.key}::text, {data} FROM ({inner}) k{''.join(joins)} LIMIT 1"
