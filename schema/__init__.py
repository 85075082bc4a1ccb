"""The GraphQL schema: one schema for procedures, dossiers, data vaults and feedback."""

from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError
from strawberry.extensions import AddValidationRules, ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext
from strawberry.utils.logging import StrawberryLogger

from resolvers.accounts import AccountMutation, AccountQuery
from resolvers.calendar import CalendarMutation, CalendarQuery
from resolvers.catalog.mutations import CatalogMutation
from resolvers.catalog.queries import CatalogQuery
from resolvers.dossiers import DossierMutation, DossierQuery, DossierSubscription, RatingMutation, RatingQuery
from resolvers.feedback import FeedbackMutation, FeedbackQuery
from resolvers.files import (
    ArchiveMutation,
    CounterMutation,
    DocumentMutation,
    DocumentQuery,
    FileMutation,
    FileQuery,
)
from resolvers.outbox import OutboxMutation, OutboxQuery
from resolvers.payments import PaymentMutation
from resolvers.statistics import StatisticsQuery
from schema.extensions import (
    MaskInternalErrors,
    OperationMetrics,
    OperationTracing,
    RejectNulInLiterals,
    TransactionBoundary,
    should_mask,
)
from schema.limits import RequestLimits, without_suggestions
from schema.subscriptions import CatalogSubscription


@strawberry.type(description="Truy vấn.")
class Query(
    CatalogQuery,
    AccountQuery,
    DossierQuery,
    CalendarQuery,
    OutboxQuery,
    FileQuery,
    DocumentQuery,
    RatingQuery,
    FeedbackQuery,
    StatisticsQuery,
):
    pass


@strawberry.type(description="Đăng ký nhận thay đổi trực tiếp.")
class Subscription(CatalogSubscription, DossierSubscription):
    pass


@strawberry.type(description="Thao tác ghi.")
class Mutation(
    CatalogMutation,
    AccountMutation,
    DossierMutation,
    CalendarMutation,
    OutboxMutation,
    FileMutation,
    DocumentMutation,
    CounterMutation,
    ArchiveMutation,
    RatingMutation,
    PaymentMutation,
    FeedbackMutation,
):
    pass


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


def build_schema(*, tracing: bool = False) -> strawberry.Schema:
    """The schema; `tracing` adds one OpenTelemetry span per operation."""
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        # No "Did you mean …" for clients (RequestLimits strips the other suggestions).
        config=StrawberryConfig(auto_camel_case=True, disable_field_suggestions=True),
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


schema = build_schema()
