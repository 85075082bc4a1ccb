"""Plans: a validated query operation made, once, into one SQL statement that returns its `data`.

`Planner.prepare` takes a request (document text, operation name, variables, caller) and answers
a `Ready` request — the plan and its parameter values — or raises `NotCompilable` with the reason.
Everything that can be decided once is decided once and cached: the parsed and validated document
(by its text), the operation's root fields after `@skip`/`@include` (by the directive variables'
values), and the statement (by the caller's permission set and which arguments are null). What
is left per request: coercing the variables, each root field's `prepare` (its argument checks),
and the parameter list.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    get_operation_ast,
    parse,
    specified_rules,
    visit,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from graphql.language import Visitor
from strawberry.schema.schema import validate_document

from auth.actor import ANONYMOUS, Actor
from planner.compiler import Compiler, _strawberry_field
from planner.roots import root_sql
from planner.statements import NotCompilable, Parameters
from schema.extensions import RejectNulInLiterals
from schema.limits import Limits, longest_list, validation_rules
from schema.sql import SQL, Fallback, Rows

CACHE_SIZE = 1024
# An operation in the caches: the document's text, the operation's name, the values of the
# variables its `@skip`/`@include` read.
OpKey = tuple[str, str | None, tuple[tuple[str, Any], ...]]


def fresh(refused: NotCompilable) -> NotCompilable:
    """A new exception for a cached refusal. Raising the cached instance itself would chain each
    raise's traceback onto it — every request's frames and their locals (its session and the ORM
    objects it loaded) kept alive for as long as the cache holds the document."""
    return NotCompilable(*refused.args)


class _Lru(OrderedDict[Hashable, Any]):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def remember(self, key: Hashable, value: Any) -> Any:
        self[key] = value
        if len(self) > self.size:
            self.popitem(last=False)
        return value

    def recall(self, key: Hashable) -> Any:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value


@dataclass(frozen=True)
class Document:
    """A parsed, validated document and the variables its `@skip`/`@include` read."""

    node: DocumentNode
    fragments: dict[str, FragmentDefinitionNode]
    directive_variables: tuple[str, ...]


@dataclass(frozen=True)
class Root:
    """One root field of an operation: its response key, definition, nodes and declaration."""

    key: str
    field_def: Any
    nodes: list[FieldNode]
    rows: Rows


@dataclass(frozen=True)
class Operation:
    name: str | None
    roots: tuple[Root, ...]
    fragments: dict[str, FragmentDefinitionNode]
    directive_values: dict[str, Any]


# Scalars whose variables are coerced here as graphql-core coerces them (`_simple`): the common
# case of a hot read (`$code: String!`, `$first: Int`) skips the general machinery.
_NOT: Any = object()
_SCALARS: dict[str, Any] = {
    "String": lambda v: v if isinstance(v, str) else _NOT,
    "ID": lambda v: (
        v if isinstance(v, str) else str(v) if isinstance(v, int) and not isinstance(v, bool) else _NOT
    ),
    "Int": lambda v: v if isinstance(v, int) and not isinstance(v, bool) and -(2**31) <= v < 2**31 else _NOT,
    "Boolean": lambda v: v if isinstance(v, bool) else _NOT,
}


@dataclass(frozen=True)
class Variables:
    """How an operation's variables are coerced: `simple` (name, scalar, non-null) when every one
    is a plain scalar without a default, else None (graphql-core coerces them)."""

    ast: OperationDefinitionNode
    simple: tuple[tuple[str, Any, bool], ...] | None

    @classmethod
    def of(cls, ast: OperationDefinitionNode) -> Variables:
        simple = []
        for definition in ast.variable_definitions or ():
            type_, non_null = definition.type, False
            if isinstance(type_, NonNullTypeNode):
                type_, non_null = type_.type, True
            if definition.default_value is not None or not isinstance(type_, NamedTypeNode):
                return cls(ast, None)
            coerce = _SCALARS.get(type_.name.value)
            if coerce is None:
                return cls(ast, None)
            simple.append((definition.variable.name.value, coerce, non_null))
        return cls(ast, tuple(simple))

    def coerce(self, schema: GraphQLSchema, inputs: dict[str, Any]) -> VariableValues | None:
        """The coerced variables, or None when they are not valid (the executor says why)."""
        if self.simple is not None:
            coerced: dict[str, Any] = {}
            for name, coerce, non_null in self.simple:
                value = inputs.get(name)
                if value is None:
                    if non_null:
                        return None
                    if name in inputs:
                        coerced[name] = None
                    continue
                value = coerce(value)
                if value is _NOT:
                    return None
                coerced[name] = value
            return VariableValues({}, coerced)
        try:
            found = get_variable_values(schema, self.ast.variable_definitions or (), inputs)
        except GraphQLError:  # too many errors: the executor reports them
            return None
        return None if isinstance(found, list) else found


@dataclass(frozen=True)
class Plan:
    """One statement (`sql`, returning the `data` object as JSON text) and its parameters."""

    sql: str
    params: Parameters
    roots: tuple[Root, ...]


@dataclass
class Ready:
    """A request the plan answers: the plan and the values of its parameters."""

    plan: Plan
    values: dict[str, Any] = field(default_factory=dict)
    operation_name: str | None = None

    def arguments(self) -> list[Any]:
        return self.plan.params.values(self.values)


def permission_key(actor: Actor) -> Hashable:
    """What of the caller a plan depends on: kind, app, scopes, roles with their agencies. Not
    the account: a plan whose statement holds the caller's account (a citizen's own dossiers)
    is cached per account besides (`Planner._plan`), every other plan once for all who share
    a permission set."""
    roles = tuple(
        sorted(
            (role.value, None if where is None else tuple(sorted(where)))
            for role, where in actor.roles.items()
        )
    )
    return (actor.kind, actor.client_id, tuple(sorted(actor.scopes)), roles)


PER_ACCOUNT = object()  # in the plans' cache: this plan depends on the account, look it up by it


def _twin(actor: Actor) -> Actor:
    """The same permissions under another account: what a plan's text may not depend on."""
    return dataclasses.replace(actor, id=uuid.uuid4(), name=None)


def _same_text(one: Plan, other: Plan) -> bool:
    """The same statement and the same parameters (fixed values and request names alike)."""

    def values(plan: Plan) -> list[tuple[str | None, Any]]:
        return [(p.request, p.fixed) for p in plan.params.items]

    return one.sql == other.sql and values(one) == values(other)


def operation_variables(
    document: Document, name: str | None, kind: OperationType
) -> Variables | NotCompilable:
    """The variable definitions of the operation `name` of `document`, if it is of `kind`."""
    ast = get_operation_ast(document.node, name)
    if not isinstance(ast, OperationDefinitionNode):
        return NotCompilable("no such operation")
    if ast.operation is not kind:
        return NotCompilable(f"a {ast.operation.value}")
    return Variables.of(ast)


class _DirectiveVariables(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_directive(self, node: Any, *_args: Any) -> None:
        if node.name.value in ("skip", "include"):
            for argument in node.arguments:
                if isinstance(argument.value, VariableNode):
                    self.names.add(argument.value.name.value)


class Planner:
    """Plans for one schema and one set of limits (the executor's: `schema.limits`)."""

    def __init__(self, schema: GraphQLSchema, limits: Limits, zone: ZoneInfo) -> None:
        self.schema, self.limits, self.zone = schema, limits, zone
        self._rules = (*specified_rules, RejectNulInLiterals, *validation_rules(limits))
        self._documents = _Lru(CACHE_SIZE)
        self._operations = _Lru(CACHE_SIZE)
        self._variables = _Lru(CACHE_SIZE)
        self._plans = _Lru(CACHE_SIZE)

    def document(self, text: str) -> Document:
        found = self._documents.recall(text)
        if found is None:
            found = self._documents.remember(text, self._parse(text))
        if isinstance(found, NotCompilable):
            raise fresh(found)
        return found  # type: ignore[no-any-return]

    def _parse(self, text: str) -> Document | NotCompilable:
        try:
            node = parse(text, max_tokens=self.limits.max_tokens)
        except GraphQLError:
            return NotCompilable("the document does not parse")
        if validate_document(self.schema, node, self._rules):
            return NotCompilable("the document is not valid")
        fragments = {d.name.value: d for d in node.definitions if isinstance(d, FragmentDefinitionNode)}
        finder = _DirectiveVariables()
        visit(node, finder)
        return Document(node, fragments, tuple(sorted(finder.names)))

    def operation(self, key: OpKey, document: Document, ast: OperationDefinitionNode) -> Operation:
        """The operation's root fields for these `@skip`/`@include` values; `key` is the document's
        text, the operation's name and those values (by text: see `variables`)."""
        found = self._operations.recall(key)
        if found is None:
            found = self._operations.remember(key, self._operation(document, ast, dict(key[2])))
        if isinstance(found, NotCompilable):
            raise fresh(found)
        return found  # type: ignore[no-any-return]

    def _operation(
        self, document: Document, ast: OperationDefinitionNode, values: dict[str, Any]
    ) -> Operation | NotCompilable:
        query = self.schema.query_type
        assert query is not None
        collector = Compiler(self.schema, document.fragments, values, ANONYMOUS, self.zone, Parameters())
        try:
            fields = collector.collect(query, [ast.selection_set])
        except NotCompilable as refused:
            return refused
        roots = []
        for key, nodes in fields.items():
            field_name = nodes[0].name.value
            if field_name.startswith("__"):
                return NotCompilable(f"root {field_name}")
            field_def = query.fields[field_name]
            rows = _strawberry_field(field_def).metadata.get(SQL)
            if not isinstance(rows, Rows):
                return NotCompilable(f"Query.{field_name} has no SQL declaration")
            roots.append(Root(key, field_def, nodes, rows))
        return Operation(ast.name.value if ast.name else None, tuple(roots), document.fragments, values)

    def variables(self, text: str, document: Document, name: str | None) -> Variables:
        """The operation's variable definitions, by the document's text (never by the id of a
        parsed document: one dropped from its cache may leave its id to another)."""
        key = (text, name)
        found = self._variables.recall(key)
        if found is None:
            found = self._variables.remember(key, operation_variables(document, name, OperationType.QUERY))
        if isinstance(found, NotCompilable):
            raise fresh(found)
        return found  # type: ignore[no-any-return]

    def prepare(
        self, text: str, name: str | None, raw_variables: dict[str, Any] | None, actor: Actor
    ) -> Ready:
        """The request's plan and values, or `NotCompilable` (the executor answers it)."""
        document = self.document(text)
        variables = raw_variables or {}
        if longest_list(variables) > self.limits.max_list_items:
            raise NotCompilable("a list in the variables is over the limit")
        definitions = self.variables(text, document, name)
        coerced = definitions.coerce(self.schema, variables)
        if coerced is None:
            raise NotCompilable("the variables are not valid")
        directives = tuple((v, coerced.coerced.get(v)) for v in document.directive_variables)
        op_key: OpKey = (text, name, directives)  # by text: see `variables`
        op = self.operation(op_key, document, definitions.ast)
        values: dict[str, Any] = {}
        shapes = []
        for index, root in enumerate(op.roots):
            try:
                arguments = get_argument_values(root.field_def, root.nodes[0], coerced)
            except GraphQLError:  # an explicit null for a non-null argument: the executor says so
                raise NotCompilable(f"{root.key}: an argument is not valid") from None
            try:
                prepared = root.rows.prepare(actor, arguments)
            except Fallback as fallback:
                raise NotCompilable(fallback.reason) from None
            except Exception as error:  # noqa: BLE001 — the services' checks: the executor answers
                raise NotCompilable(f"{root.key}: {type(error).__name__}") from None
            shapes.append(tuple(sorted((k, v is None) for k, v in prepared.items())))
            values.update({f"r{index}_{k}": v for k, v in prepared.items()})
        plan = self._plan(op_key, op, actor, tuple(shapes))
        if isinstance(plan, NotCompilable):
            raise fresh(plan)
        return Ready(plan, values, op.name)

    def _plan(
        self, op_key: OpKey, op: Operation, actor: Actor, shapes: tuple[Any, ...]
    ) -> Plan | NotCompilable:
        """The cached plan for this permission set, or for this account when the statement holds
        the account: found out when it is first built, by building it for a twin caller with
        the same permissions and another account and comparing the two."""
        key: Hashable = (op_key, permission_key(actor), shapes)
        plan = self._plans.recall(key)
        if plan is PER_ACCOUNT:
            key = (key, actor.id)
            plan = self._plans.recall(key)
            if plan is None:
                plan = self._plans.remember(key, self._build(op, actor, shapes))
            return plan  # type: ignore[no-any-return]
        if plan is not None:
            return plan  # type: ignore[no-any-return]
        plan = self._build(op, actor, shapes)
        if isinstance(plan, Plan) and actor.id is not None:
            twin = self._build(op, _twin(actor), shapes)
            if not isinstance(twin, Plan) or not _same_text(plan, twin):
                self._plans.remember(key, PER_ACCOUNT)
                key = (key, actor.id)
        return self._plans.remember(key, plan)  # type: ignore[no-any-return]

    def _build(self, op: Operation, actor: Actor, shapes: tuple[Any, ...]) -> Plan | NotCompilable:
        params = Parameters()
        compiler = Compiler(self.schema, op.fragments, op.directive_values, actor, self.zone, params)
        try:
            pairs = []
            for index, (root, shape) in enumerate(zip(op.roots, shapes, strict=True)):
                compiler.check_permissions(
                    _strawberry_field(root.field_def), f"Query.{root.nodes[0].name.value}"
                )
                nulls = {name for name, is_null in shape if is_null}
                sql = root_sql(compiler, root, index, actor, nulls)
                pairs.append(f"'{root.key}', {sql}")
        except NotCompilable as refused:
            return refused
        sql = f"SELECT json_build_object({', '.join(pairs)})::text"
        if params.unused(sql):
            return NotCompilable("a parameter the statement does not read")
        return Plan(sql, params, op.roots)
