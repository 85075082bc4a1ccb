"""Per-request dataloaders, named `XByYLoader` after what they key on.

Built fresh for every request (a loader living across requests would leak one caller's rows
to another and serve stale data). Each batch is one SQL statement whatever its size.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from functools import cached_property
from typing import TypeVar

from aiodataloader import DataLoader
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import RequestDb
from models.accounts import CitizenProfile, OrganisationProfile, StaffAssignment, Vault
from models.catalog import (
    AdministrativeLevel,
    Agency,
    Field,
    Procedure,
    ProcedureComponent,
    ProcedureEvent,
    ProcedureFee,
    ProcedureVersion,
    WorkflowStep,
)
from models.dossiers import DossierAttachment, DossierEvent, DossierStep, StoredFile
from models.feedback import InquiryEvent
from models.payments import Payment, Refund
from services.accounts import queries as account_queries
from services.catalog import queries
from services.dossiers import queries as dossier_queries
from services.feedback import queries as feedback_queries
from services.payments import refunds

K = TypeVar("K")
V = TypeVar("V")


def _loader(
    db: RequestDb, fetch: Callable[[AsyncSession, Sequence[K]], Awaitable[list[V]]]
) -> DataLoader[K, V]:
    async def batch(keys: list[K]) -> list[V]:
        async with db.session() as session:
            return await fetch(session, keys)

    return DataLoader(batch)


class Loaders:
    """The request's loaders, each built on first use (most requests touch one or two)."""

    def __init__(self, db: RequestDb) -> None:
        self._db = db

    @cached_property
    def agency_by_id(self) -> DataLoader[uuid.UUID, Agency | None]:
        return _loader(self._db, queries.agencies_by_ids)

    @cached_property
    def agency_by_code(self) -> DataLoader[str, Agency | None]:
        return _loader(self._db, queries.agencies_by_codes)

    @cached_property
    def agencies_by_parent_id(self) -> DataLoader[uuid.UUID, list[Agency]]:
        return _loader(self._db, queries.children_by_parent_ids)

    @cached_property
    def field_by_id(self) -> DataLoader[uuid.UUID, Field | None]:
        return _loader(self._db, queries.fields_by_ids)

    @cached_property
    def level_by_code(self) -> DataLoader[str, AdministrativeLevel | None]:
        return _loader(self._db, queries.levels_by_codes)

    @cached_property
    def components_by_version_id(self) -> DataLoader[uuid.UUID, list[ProcedureComponent]]:
        return _loader(self._db, queries.components_by_version_ids)

    @cached_property
    def fees_by_version_id(self) -> DataLoader[uuid.UUID, list[ProcedureFee]]:
        return _loader(self._db, queries.fees_by_version_ids)

    @cached_property
    def steps_by_version_id(self) -> DataLoader[uuid.UUID, list[WorkflowStep]]:
        return _loader(self._db, queries.steps_by_version_ids)

    @cached_property
    def receiving_agencies_by_version_id(self) -> DataLoader[uuid.UUID, list[Agency]]:
        return _loader(self._db, queries.receiving_agencies_by_version_ids)

    @cached_property
    def versions_by_procedure_id(self) -> DataLoader[uuid.UUID, list[ProcedureVersion]]:
        return _loader(self._db, queries.versions_by_procedure_ids)

    @cached_property
    def events_by_procedure_id(self) -> DataLoader[uuid.UUID, list[ProcedureEvent]]:
        return _loader(self._db, queries.events_by_procedure_ids)

    @cached_property
    def citizen_by_account_id(self) -> DataLoader[uuid.UUID, CitizenProfile | None]:
        return _loader(self._db, account_queries.citizens_by_account_ids)

    @cached_property
    def organisation_by_account_id(self) -> DataLoader[uuid.UUID, OrganisationProfile | None]:
        return _loader(self._db, account_queries.organisations_by_account_ids)

    @cached_property
    def assignments_by_account_id(self) -> DataLoader[uuid.UUID, list[StaffAssignment]]:
        return _loader(self._db, account_queries.assignments_by_account_ids)

    @cached_property
    def vault_by_account_id(self) -> DataLoader[uuid.UUID, Vault | None]:
        return _loader(self._db, account_queries.vaults_by_account_ids)

    @cached_property
    def steps_by_dossier_id(self) -> DataLoader[uuid.UUID, list[DossierStep]]:
        return _loader(self._db, dossier_queries.steps_by_dossier_ids)

    @cached_property
    def events_by_dossier_id(self) -> DataLoader[uuid.UUID, list[DossierEvent]]:
        return _loader(self._db, dossier_queries.events_by_dossier_ids)

    @cached_property
    def attachments_by_dossier_id(self) -> DataLoader[uuid.UUID, list[DossierAttachment]]:
        return _loader(self._db, dossier_queries.attachments_by_dossier_ids)

    @cached_property
    def version_by_id(self) -> DataLoader[uuid.UUID, ProcedureVersion | None]:
        return _loader(self._db, queries.versions_by_ids)

    @cached_property
    def procedure_by_id(self) -> DataLoader[uuid.UUID, Procedure | None]:
        return _loader(self._db, queries.procedures_by_ids)

    @cached_property
    def file_by_id(self) -> DataLoader[uuid.UUID, StoredFile | None]:
        return _loader(self._db, queries.files_by_ids)

    @cached_property
    def payments_by_dossier_id(self) -> DataLoader[uuid.UUID, list[tuple[Payment, Refund | None]]]:
        return _loader(self._db, refunds.payments_by_dossier_ids)

    @cached_property
    def events_by_inquiry_id(self) -> DataLoader[uuid.UUID, list[InquiryEvent]]:
        return _loader(self._db, feedback_queries.events_by_inquiry_ids)
