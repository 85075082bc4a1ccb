"""The root types — Query, Mutation, Subscription — assembled from each area's fields, and the
executable schema built on them. The one module above both `resolvers` and `schema`'s parts:
the web layer (and the schema export) import the schema from here."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import strawberry

from core.settings import DEFAULT_TIMEZONE
from resolvers.accounts.administration import AccountAdminMutation, AppMutation
from resolvers.accounts.own_account import OwnAccountMutation
from resolvers.accounts.queries import AccountQuery
from resolvers.accounts.registration import RegistrationMutation
from resolvers.accounts.sessions import NationalIdentityMutation, SessionMutation
from resolvers.calendar import CalendarMutation, CalendarQuery
from resolvers.catalog.mutations import CatalogMutation
from resolvers.catalog.queries import CatalogQuery
from resolvers.catalog.subscriptions import CatalogSubscription
from resolvers.dossiers.handling import DossierHandlingMutation
from resolvers.dossiers.queries import DossierQuery
from resolvers.dossiers.ratings import RatingMutation, RatingQuery
from resolvers.dossiers.reception import DossierReceptionMutation
from resolvers.dossiers.subscriptions import DossierSubscription
from resolvers.feedback import FeedbackMutation, FeedbackQuery
from resolvers.files.archive import ArchiveMutation
from resolvers.files.counter import CounterMutation
from resolvers.files.documents import DocumentMutation, DocumentQuery
from resolvers.files.uploads import UploadMutation
from resolvers.files.vault import VaultMutation, VaultQuery
from resolvers.outbox import OutboxMutation, OutboxQuery
from resolvers.payments import PaymentMutation
from resolvers.statistics import StatisticsQuery
from schema.assembly import assemble


@strawberry.type(description="Truy vấn.")
class Query(
    CatalogQuery,
    AccountQuery,
    DossierQuery,
    CalendarQuery,
    OutboxQuery,
    VaultQuery,
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
    RegistrationMutation,
    SessionMutation,
    OwnAccountMutation,
    NationalIdentityMutation,
    AccountAdminMutation,
    AppMutation,
    DossierReceptionMutation,
    DossierHandlingMutation,
    CalendarMutation,
    OutboxMutation,
    UploadMutation,
    VaultMutation,
    DocumentMutation,
    CounterMutation,
    ArchiveMutation,
    RatingMutation,
    PaymentMutation,
    FeedbackMutation,
):
    pass


def build_schema(*, zone: ZoneInfo, tracing: bool = False) -> strawberry.Schema:
    """The schema, printing every `DateTime` in `zone` (the province's, `Settings.zone`); `tracing`
    adds one OpenTelemetry span per operation."""
    return assemble(Query, Mutation, Subscription, zone=zone, tracing=tracing)


# The schema of the default province zone: its SDL (`dvc export-schema`) and the tests' direct
# executions. The app builds its own from its settings (`app.create_app`).
schema = build_schema(zone=ZoneInfo(DEFAULT_TIMEZONE))
