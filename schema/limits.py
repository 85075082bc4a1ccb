"""GraphQL abuse controls: what one request may ask of the server, refused before it runs.

A document is refused at validation — before any resolver runs — when it is nested too deeply,
uses too many aliases (counted through fragments, once per spread), would cost too much (every
field 1, a list field multiplied by its `first`/`limit` argument or a default size, multiplied
again for each level of nesting), holds too many operations, or carries a list literal longer
than the limit; with introspection off, `__schema`/`__type` are refused too. The parser stops a
document with too many tokens, and lists in the variables are bounded before execution. An
operation that runs longer than the request time limit is cancelled and rolled back.

Every refusal is a top-level error with a Vietnamese message and a stable `extensions.code`.
The limits come from the settings (`GRAPHQL_*`, `REQUEST_TIMEOUT_SECONDS`); the rules for one
set of limits are built once, so strawberry's validation cache keeps working.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
)
from graphql.type.definition import GraphQLInterfaceType, GraphQLNamedType, GraphQLType
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType as StrawberryOperationType

from core.settings import Settings
from schema.context import Context

PAGE_ARGUMENTS = ("first", "last", "limit")
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")
_TOO_MANY_TOKENS = "Document contains more than"


@dataclass(frozen=True)
class Limits:
    """The bounds of one request (see `Settings`: GRAPHQL_MAX_*, REQUEST_TIMEOUT_SECONDS)."""

    max_depth: int = 20
    max_aliases: int = 30
    max_tokens: int = 5000
    max_cost: int = 100_000
    max_operations: int = 10
    max_list_items: int = 100
    default_list_size: int = 10
    max_page: int = 100
    introspection: bool = True
    timeout_seconds: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_depth=settings.graphql_max_depth,
            max_aliases=settings.graphql_max_aliases,
            max_tokens=settings.graphql_max_tokens,
            max_cost=settings.graphql_max_cost,
            max_operations=settings.graphql_max_operations,
            max_list_items=settings.graphql_max_list_items,
            default_list_size=settings.graphql_default_list_size,
            introspection=settings.graphql_introspection,
            timeout_seconds=settings.request_timeout_seconds,
        )


def refusal(message: str, code: str, nodes: Any = None) -> GraphQLError:
    return GraphQLError(message, nodes, extensions={"code": code})


@dataclass
class Measure:
    """What a selection set asks for: estimated cost, nesting depth, aliases used."""

    cost: int = 0
    depth: int = 0
    aliases: int = 0

    def add(self, other: Measure) -> None:
        self.cost += other.cost
        self.depth = max(self.depth, other.depth)
        self.aliases += other.aliases


def _is_list(type_: GraphQLType) -> bool:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


class Analyzer:
    """Measures operations; each fragment is measured once and added at every spread, so a
    document that spreads fragments inside fragments costs linear time to check, whatever the
    (exponential) size it describes."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode, limits: Limits) -> None:
        self.schema = schema
        self.limits = limits
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.memo: dict[str, Measure] = {}
        self.active: set[str] = set()
        self.defaults: dict[str, int] = {}

    def operation(self, node: OperationDefinitionNode) -> Measure:
        self.defaults = {
            v.variable.name.value: int(v.default_value.value)
            for v in node.variable_definitions or ()
            if isinstance(v.default_value, IntValueNode)
        }
        root = self.schema.get_root_type(node.operation)
        return self.selections(node.selection_set, root, paged=False) if root else Measure()

    def selections(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None, *, paged: bool
    ) -> Measure:
        total = Measure()
        if selection_set is None:
            return total
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total.add(self.field(selection, parent, paged=paged))
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                total.add(self.selections(selection.selection_set, inner, paged=paged))
            elif isinstance(selection, FragmentSpreadNode):
                total.add(self.fragment(selection.name.value))
        return total

    def fragment(self, name: str) -> Measure:
        if name in self.memo:
            return self.memo[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.active:
            return Measure()  # unknown fragments and cycles are reported by the standard rules
        self.active.add(name)
        measure = self.selections(
            definition.selection_set, self.schema.get_type(definition.type_condition.name.value), paged=False
        )
        self.active.discard(name)
        self.memo[name] = measure
        return measure

    def _definition(self, node: FieldNode, parent: GraphQLNamedType | None) -> GraphQLField | None:
        name = node.name.value
        if name == "__schema":
            return SchemaMetaFieldDef
        if name == "__type":
            return TypeMetaFieldDef
        if isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
            found: GraphQLField | None = parent.fields.get(name)
            return found
        return None

    def _page(self, node: FieldNode) -> int | None:
        for argument in node.arguments or ():
            if argument.name.value not in PAGE_ARGUMENTS:
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return max(0, int(value.value))
            if isinstance(value, VariableNode):
                # Unknown at validation: the variable's default, else the largest page allowed.
                return self.defaults.get(value.name.value, self.limits.max_page)
        return None

    def field(self, node: FieldNode, parent: GraphQLNamedType | None, *, paged: bool) -> Measure:
        definition = self._definition(node, parent)
        page = self._page(node)
        listed = definition is not None and _is_list(definition.type)
        if page is not None:
            multiplier = page
        elif listed and not paged:
            multiplier = self.limits.default_list_size
        else:
            multiplier = 1  # the list inside a paged connection is already counted by its page
        child_type = get_named_type(definition.type) if definition is not None else None
        inner = self.selections(node.selection_set, child_type, paged=page is not None and not listed)
        return Measure(
            cost=1 + multiplier * inner.cost,
            depth=1 + inner.depth,
            aliases=(1 if node.alias else 0) + inner.aliases,
        )


def _limits_rule(limits: Limits) -> type[ValidationRule]:
    class RequestLimitsRule(ValidationRule):
        """Depth, aliases, cost and number of operations of a document; length of list literals."""

        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.check(context.document)

        def check(self, document: DocumentNode) -> None:
            operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
            if len(operations) > limits.max_operations:
                self.report_error(
                    refusal(
                        f"Một yêu cầu chứa tối đa {limits.max_operations} thao tác (operation); "
                        f"yêu cầu này có {len(operations)}.",
                        "TOO_MANY_OPERATIONS",
                    )
                )
                return
            analyzer = Analyzer(self.context.schema, document, limits)
            for operation in operations:
                measure = analyzer.operation(operation)
                if measure.depth > limits.max_depth:
                    self.report_error(
                        refusal(
                            f"Truy vấn lồng quá sâu: {measure.depth} cấp, tối đa {limits.max_depth} cấp.",
                            "QUERY_TOO_DEEP",
                            operation,
                        )
                    )
                if measure.aliases > limits.max_aliases:
                    self.report_error(
                        refusal(
                            f"Truy vấn dùng quá nhiều bí danh (alias): {measure.aliases}, "
                            f"tối đa {limits.max_aliases} (tính cả trong các fragment).",
                            "TOO_MANY_ALIASES",
                            operation,
                        )
                    )
                if measure.cost > limits.max_cost:
                    self.report_error(
                        refusal(
                            f"Truy vấn quá tốn kém: chi phí ước tính {measure.cost}, "
                            f"tối đa {limits.max_cost}. "
                            "Hãy giảm số mục mỗi trang (first) hoặc bớt trường lồng nhau.",
                            "QUERY_TOO_COSTLY",
                            operation,
                        )
                    )

        def enter_list_value(self, node: ListValueNode, *_args: object) -> None:
            if len(node.values) > limits.max_list_items:
                self.report_error(
                    refusal(
                        f"Danh sách quá dài: {len(node.values)} phần tử, tối đa {limits.max_list_items}.",
                        "LIST_TOO_LONG",
                        node,
                    )
                )

    return RequestLimitsRule


class NoIntrospectionRule(ValidationRule):
    """Introspection off (production): `__schema` and `__type` are refused."""

    def enter_field(self, node: FieldNode, *_args: object) -> None:
        if node.name.value in ("__schema", "__type"):
            self.report_error(
                refusal(
                    "Máy chủ không cho phép truy vấn cấu trúc schema (introspection).",
                    "INTROSPECTION_DISABLED",
                    node,
                )
            )


@cache
def validation_rules(limits: Limits) -> tuple[type[ASTValidationRule], ...]:
    """The same rule classes for the same limits: the validation cache is keyed by them."""
    rules: list[type[ASTValidationRule]] = [_limits_rule(limits)]
    if not limits.introspection:
        rules.append(NoIntrospectionRule)
    return tuple(rules)


def longest_list(value: object, depth: int = 0) -> int:
    """The longest list anywhere in a decoded JSON value (the variables)."""
    if depth > 64:
        return 0
    if isinstance(value, list):
        return max([len(value), *(longest_list(v, depth + 1) for v in value)])
    if isinstance(value, dict):
        return max([0, *(longest_list(v, depth + 1) for v in value.values())])
    return 0


class RequestTimedOut(GraphQLError):
    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"Yêu cầu xử lý quá thời gian cho phép ({seconds:g} giây) nên đã bị huỷ; không có thay đổi "
            "nào được lưu. Vui lòng thu hẹp truy vấn hoặc thử lại sau.",
            extensions={"code": "REQUEST_TIMEOUT"},
        )


def _limits_of(context: object) -> Limits:
    if isinstance(context, Context):
        return Limits.from_settings(context.settings)
    return Limits()


def without_suggestions(message: str) -> str:
    """`message` without graphql-core's "Did you mean …?" (they list the schema's names)."""
    return _SUGGESTION.sub("", message)


def _clarify(error: GraphQLError, limits: Limits) -> None:
    if error.original_error is None and _TOO_MANY_TOKENS in error.message:
        error.message = f"Truy vấn quá dài: tối đa {limits.max_tokens} token."
        error.extensions = {"code": "QUERY_TOO_LONG"}
    elif "Did you mean" in error.message:
        error.message = without_suggestions(error.message)


class RequestLimits(SchemaExtension):
    """Applies `Limits`: parser token limit, validation rules, list sizes in the variables, the
    time limit of execution; and takes "Did you mean …" suggestions out of every error."""

    def on_operation(self) -> Iterator[None]:
        ec = self.execution_context
        limits = _limits_of(ec.context)
        ec.parse_options["max_tokens"] = limits.max_tokens
        ec.validation_rules = (*ec.validation_rules, *validation_rules(limits))
        try:
            yield
        except GraphQLError as raised:  # the parser cache parses in a hook: its errors are raised
            _clarify(raised, limits)
            raise
        for error in getattr(ec.result, "errors", None) or ():
            _clarify(error, limits)

    def on_validate(self) -> Iterator[None]:
        # Runs after the validation cache has validated (it is listed before this extension).
        ec = self.execution_context
        limits = _limits_of(ec.context)
        longest = longest_list(ec.variables or {})
        if longest > limits.max_list_items:
            refused = refusal(
                f"Danh sách trong biến (variables) quá dài: {longest} phần tử, "
                f"tối đa {limits.max_list_items}.",
                "LIST_TOO_LONG",
            )
            ec.pre_execution_errors = [*(ec.pre_execution_errors or []), refused]
        yield

    async def on_execute(self) -> AsyncIterator[None]:
        ec = self.execution_context
        limits = _limits_of(ec.context)
        if ec.operation_type is StrawberryOperationType.SUBSCRIPTION:
            yield  # a subscription lives as long as its client wants
            return
        try:
            async with asyncio.timeout(limits.timeout_seconds):
                yield
        except TimeoutError:
            # Raised out of execution: the transaction boundary rolls back; nothing is committed.
            raise RequestTimedOut(limits.timeout_seconds) from None


__all__ = ["Limits", "RequestLimits", "RequestTimedOut", "longest_list", "validation_rules"]
