"""The executable schema: strawberry's `Schema` with the request extensions, for given root types.

The root types themselves are assembled above this package, in `resolvers.root`.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

import strawberry
from graphql import GraphQLError
from strawberry.extensions import AddValidationRules, ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext
from strawberry.utils.logging import StrawberryLogger

from schema.extensions import (
    MaskInternalErrors,
    OperationMetrics,
    OperationTracing,
    RejectNulInLiterals,
    TransactionBoundary,
    should_mask,
)
from schema.limits import RequestLimits, without_suggestions
from schema.scalars import scalar_map

log = logging.getLogger("dvc")
REFUSAL_LOG_CHARS = 200


class Schema(strawberry.Schema):
    """strawberry's schema, logging errors by whose they are: an internal error with its traceback
    (at ERROR), a refused request — a parse or validation error, a limit, a caller's mistake — as
    one INFO line: how many errors and the first, on one line, without suggestions, truncated.
    (strawberry logs each error at ERROR with its source snippet: one 14 kB query gave ~3,000 lines.)"""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        refused = [error for error in errors if not should_mask(error)]
        for error in errors:
            if should_mask(error):
                StrawberryLogger.error(error, execution_context)
        if refused:
            first = " ".join(without_suggestions(refused[0].message).split())
            if len(first) > REFUSAL_LOG_CHARS:
                first = first[: REFUSAL_LOG_CHARS - 1] + "…"
            log.info("GraphQL request refused: %d error(s), first: %s", len(refused), first)


def assemble(
    query: type, mutation: type, subscription: type, *, zone: ZoneInfo, tracing: bool = False
) -> strawberry.Schema:
    """The executable schema of these root types, with the request extensions; every `DateTime` it
    returns is printed in `zone` (the province's, `schema.scalars`); `tracing` adds one
    OpenTelemetry span per operation."""
    return Schema(
        query=query,
        mutation=mutation,
        subscription=subscription,
        # No "Did you mean …" for clients (RequestLimits strips the other suggestions).
        config=StrawberryConfig(
            auto_camel_case=True, disable_field_suggestions=True, scalar_map=scalar_map(zone)
        ),
        extensions=[
            OperationMetrics,
            TransactionBoundary,
            MaskInternalErrors,
            lambda: AddValidationRules([RejectNulInLiterals]),
            lambda: ParserCache(maxsize=512),
            lambda: ValidationCache(maxsize=512),
            # After the validation cache: adds the limit rules, checks variables once validated.
            RequestLimits,
            *([OperationTracing] if tracing else []),
        ],
    )
