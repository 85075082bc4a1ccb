"""The GraphQL schema: one schema for procedures, dossiers, data vaults and feedback."""

from __future__ import annotations

import strawberry
from strawberry.extensions import AddValidationRules, ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig

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
)
from schema.limits import RequestLimits
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


def build_schema(*, tracing: bool = False) -> strawberry.Schema:
    """The schema; `tracing` adds one OpenTelemetry span per operation."""
    return strawberry.Schema(
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
