"""Per-request dataloaders, named `XByYLoader` after what they key on.

Built fresh for every request (a loader living across requests would leak one caller's rows
to another and serve stale data). Each batch is one SQL statement whatever its size.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
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
from services import feedback
from services.accounts import queries as account_queries
from services.catalog import queries
from services.dossiers import queries as dossier_queries
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
    def __init__(self, db: RequestDb) -> None:
        self.agency_by_id: DataLoader[uuid.UUID, Agency | None] = _loader(db, queries.agencies_by_ids)
        self.agency_by_code: DataLoader[str, Agency | None] = _loader(db, queries.agencies_by_codes)
        self.agencies_by_parent_id: DataLoader[uuid.UUID, list[Agency]] = _loader(
            db, queries.children_by_parent_ids
        )
        self.field_by_id: DataLoader[uuid.UUID, Field | None] = _loader(db, queries.fields_by_ids)
        self.level_by_code: DataLoader[str, AdministrativeLevel | None] = _loader(db, queries.levels_by_codes)
        self.components_by_version_id: DataLoader[uuid.UUID, list[ProcedureComponent]] = _loader(
            db, queries.components_by_version_ids
        )
        self.fees_by_version_id: DataLoader[uuid.UUID, list[ProcedureFee]] = _loader(
            db, queries.fees_by_version_ids
        )
        self.steps_by_version_id: DataLoader[uuid.UUID, list[WorkflowStep]] = _loader(
            db, queries.steps_by_version_ids
        )
        self.receiving_agencies_by_version_id: DataLoader[uuid.UUID, list[Agency]] = _loader(
            db, queries.receiving_agencies_by_version_ids
        )
        self.versions_by_procedure_id: DataLoader[uuid.UUID, list[ProcedureVersion]] = _loader(
            db, queries.versions_by_procedure_ids
        )
        self.events_by_procedure_id: DataLoader[uuid.UUID, list[ProcedureEvent]] = _loader(
            db, queries.events_by_procedure_ids
        )
        self.citizen_by_account_id: DataLoader[uuid.UUID, CitizenProfile | None] = _loader(
            db, account_queries.citizens_by_account_ids
        )
        self.organisation_by_account_id: DataLoader[uuid.UUID, OrganisationProfile | None] = _loader(
            db, account_queries.organisations_by_account_ids
        )
        self.assignments_by_account_id: DataLoader[uuid.UUID, list[StaffAssignment]] = _loader(
            db, account_queries.assignments_by_account_ids
        )
        self.vault_by_account_id: DataLoader[uuid.UUID, Vault | None] = _loader(
            db, account_queries.vaults_by_account_ids
        )
        self.steps_by_dossier_id: DataLoader[uuid.UUID, list[DossierStep]] = _loader(
            db, dossier_queries.steps_by_dossier_ids
        )
        self.events_by_dossier_id: DataLoader[uuid.UUID, list[DossierEvent]] = _loader(
            db, dossier_queries.events_by_dossier_ids
        )
        self.attachments_by_dossier_id: DataLoader[uuid.UUID, list[DossierAttachment]] = _loader(
            db, dossier_queries.attachments_by_dossier_ids
        )
        self.version_by_id: DataLoader[uuid.UUID, ProcedureVersion | None] = _loader(
            db, queries.versions_by_ids
        )
        self.procedure_by_id: DataLoader[uuid.UUID, Procedure | None] = _loader(db, queries.procedures_by_ids)
        self.file_by_id: DataLoader[uuid.UUID, StoredFile | None] = _loader(db, queries.files_by_ids)
        self.payments_by_dossier_id: DataLoader[uuid.UUID, list[tuple[Payment, Refund | None]]] = _loader(
            db, refunds.payments_by_dossier_ids
        )
        self.events_by_inquiry_id: DataLoader[uuid.UUID, list[InquiryEvent]] = _loader(
            db, feedback.events_by_inquiry_ids
        )
