"""Row visibility (phạm vi được xem): which dossiers, stored files, vault documents, inquiries and
payments an actor may read, each written once as a SQL predicate (`ColumnElement[bool]`).

The services' reads add these predicates to their statements (lists with `.where(...)`, one row
with the id and the predicate in the same statement), and a compiled GraphQL read uses the same
functions, so both paths answer the same question the same way. A row outside its predicate does
not exist for the caller: it is "not found", never "forbidden".

The agency scope comes from the actor: `Actor.roles` maps each role to the agencies where it
applies, sub-agencies already expanded from the assignments (`services.accounts.actors.roles_of`),
or to EVERYWHERE. What an actor may *do* to a visible row is decided elsewhere (the workflow
table, the feedback and payment rules); this module only says what they may *see*.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TypeAlias, TypeVar

from sqlalchemy import (
    ColumnElement,
    Select,
    SQLColumnExpression,
    and_,
    any_,
    exists,
    false,
    or_,
    select,
    true,
)

from auth.actor import Actor, ActorKind
from auth.roles import StaffRole
from models.accounts import VAULT_SEALING_LOCKS, Account, Vault
from models.dossiers import (
    Dossier,
    DossierAttachment,
    DossierStatus,
    DossierStep,
    StoredFile,
    VaultDocument,
    VaultGrant,
)
from models.feedback import Inquiry, InquiryStatus
from models.payments import Payment

T = TypeVar("T")
# A value, or a bound parameter standing for it (a compiled read: `planner`).
Bound: TypeAlias = T | SQLColumnExpression[T]
FileId = uuid.UUID | SQLColumnExpression[uuid.UUID]  # one file, or the column of a file's id
# The caller's own account in a predicate: `actor.id` (None: the default), or a bound parameter
# standing for it (a compiled read's plan is shared by callers with the same permissions).
AccountKey = uuid.UUID | SQLColumnExpression[uuid.UUID] | None


def _me(actor: Actor, me: AccountKey) -> uuid.UUID | SQLColumnExpression[uuid.UUID]:
    assert actor.id is not None
    return actor.id if me is None else me


# --- dossiers (hồ sơ) ------------------------------------------------------------------------------

# Roles that let staff read the dossiers received by, or passing through, their agencies.
DOSSIER_ROLES = (
    StaffRole.RECEPTION_OFFICER,
    StaffRole.SPECIALIST,
    StaffRole.LEADER,
    StaffRole.POSTAL_STAFF,
    StaffRole.STATISTICS_VIEWER,
)


def dossier_agencies(actor: Actor) -> frozenset[uuid.UUID] | None:
    """Agencies where the actor holds any dossier role; None: everywhere."""
    found: set[uuid.UUID] = set()
    for role in DOSSIER_ROLES:
        agencies = actor.agencies_with(role)
        if agencies is None:
            return None
        found |= agencies
    return frozenset(found)


def dossiers(actor: Actor, me: AccountKey = None) -> ColumnElement[bool]:
    """An applicant reads their own dossiers (drafts too); staff read the submitted ones received by,
    or with a step at, an agency where they hold a dossier role; a system admin reads all.
    (`me`: see `AccountKey`.)"""
    if actor.is_system_admin:
        return true()
    if actor.kind in (ActorKind.CITIZEN, ActorKind.ORGANISATION) and actor.id is not None:
        return Dossier.applicant_account_id == _me(actor, me)
    if actor.kind is ActorKind.STAFF:
        agencies = dossier_agencies(actor)
        if agencies is None:
            return Dossier.status != DossierStatus.DRAFT
        if not agencies:
            return false()
        return and_(
            Dossier.status != DossierStatus.DRAFT,
            or_(
                Dossier.receiving_agency_id.in_(agencies),
                exists().where(DossierStep.dossier_id == Dossier.id, DossierStep.agency_id.in_(agencies)),
            ),
        )
    return false()


def sees_agency_dossiers(actor: Actor, agency_id: uuid.UUID) -> bool:
    """Python twin of the staff part of `dossiers`, for one agency: whether the actor reads the
    dossiers an agency receives or handles (a system admin reads every agency's)."""
    if actor.is_system_admin:
        return True
    agencies = dossier_agencies(actor)
    return agencies is None or agency_id in agencies


# --- stored files (tệp) ----------------------------------------------------------------------------

# Roles through which an agency uses what an owner shared with it from their vault.
GRANT_ROLES = (StaffRole.RECEPTION_OFFICER, StaffRole.SPECIALIST, StaffRole.LEADER)


def file_owned(actor: Actor) -> ColumnElement[bool]:
    """The actor uploaded (owns) the file."""
    return StoredFile.owner_account_id == actor.id if actor.id is not None else false()


def dossiers_holding(actor: Actor, file_id: FileId) -> Select[uuid.UUID]:
    """Dossiers the actor reads that hold the file as a current attachment."""
    return (
        select(Dossier.id)
        .join(DossierAttachment, DossierAttachment.dossier_id == Dossier.id)
        .where(DossierAttachment.file_id == file_id, DossierAttachment.removed_at.is_(None), dossiers(actor))
    )


def own_vault_documents_of(actor: Actor, file_id: FileId) -> Select[uuid.UUID] | None:
    """The actor's own current vault documents with the file; None when the actor has no account."""
    if actor.id is None:
        return None
    return (
        select(VaultDocument.id)
        .join(Vault, Vault.id == VaultDocument.vault_id)
        .where(
            Vault.account_id == actor.id, VaultDocument.file_id == file_id, VaultDocument.deleted_at.is_(None)
        )
    )


def grant_agencies(actor: Actor) -> frozenset[uuid.UUID]:
    """Agencies where a staff member may use vault grants (roles held everywhere do not count)."""
    if actor.kind is not ActorKind.STAFF:
        return frozenset()
    agencies: set[uuid.UUID] = set()
    for role in GRANT_ROLES:
        held = actor.agencies_with(role)
        if held:
            agencies |= held
    return frozenset(agencies)


def grants_covering(actor: Actor, file_id: FileId, now: datetime) -> Select[uuid.UUID] | None:
    """Live grants (not revoked, not expired) to one of the actor's agencies covering a current
    vault document with the file (Quảng Ngãi art. 21.5), in a vault that is not sealed; None when
    the actor can use no grant."""
    agencies = grant_agencies(actor)
    if not agencies:
        return None
    return (
        select(VaultGrant.id)
        .join(VaultDocument, VaultDocument.vault_id == VaultGrant.vault_id)
        .join(Vault, Vault.id == VaultGrant.vault_id)
        .join(Account, Account.id == Vault.account_id)
        .where(
            VaultDocument.file_id == file_id,
            # a sealed vault (its owner dead or missing: services.accounts.estate) honours no grant
            or_(Account.lock_reason.is_(None), Account.lock_reason.not_in(VAULT_SEALING_LOCKS)),
            VaultDocument.deleted_at.is_(None),
            VaultGrant.agency_id.in_(agencies),
            VaultGrant.revoked_at.is_(None),
            VaultGrant.expires_at > now,
            or_(VaultGrant.document_ids.is_(None), VaultDocument.id == any_(VaultGrant.document_ids)),
        )
    )


def files(actor: Actor, now: datetime) -> ColumnElement[bool]:
    """A stored file is read by its owner, by whoever reads a dossier it is attached to, by the
    owner of a vault holding it, and by staff of an agency holding a live grant covering it.
    (`services.vault.download_basis` tells which of these applies, and logs vault reads.)"""
    conditions = [
        file_owned(actor),
        dossiers_holding(actor, StoredFile.id).exists(),
    ]
    for found in (own_vault_documents_of(actor, StoredFile.id), grants_covering(actor, StoredFile.id, now)):
        if found is not None:
            conditions.append(found.exists())
    return or_(*conditions)


# --- vault documents (giấy tờ trong kho dữ liệu) ------------------------------------------------


def vault_documents(actor: Actor, me: AccountKey = None) -> ColumnElement[bool]:
    """The current documents of the actor's own vault (Decree 45/2020 art. 16). An agency never
    lists someone's vault: it reaches a document's file only through `files` (a dossier or a
    grant), and that read is logged for the owner. (`me`: see `AccountKey`.)"""
    if not actor.is_person or actor.id is None:
        return false()
    return and_(
        VaultDocument.deleted_at.is_(None),
        VaultDocument.vault_id.in_(select(Vault.id).where(Vault.account_id == _me(actor, me))),
    )


# --- inquiries (phản ánh, kiến nghị, hỏi đáp) ------------------------------------------------------

ANSWER_ROLES = (StaffRole.SPECIALIST, StaffRole.LEADER, StaffRole.FEEDBACK_FOCAL_POINT)


def _focal_of(actor: Actor) -> ColumnElement[bool]:
    agencies = actor.agencies_with(StaffRole.FEEDBACK_FOCAL_POINT)
    if agencies is None:
        return Inquiry.focal_agency_id.is_not(None)
    return Inquiry.focal_agency_id.in_(agencies) if agencies else false()


def _answerer_of(actor: Actor) -> ColumnElement[bool]:
    everywhere = False
    agencies: set[uuid.UUID] = set()
    for role in ANSWER_ROLES:
        held = actor.agencies_with(role)
        if held is None:
            everywhere = True
        else:
            agencies |= held
    if everywhere:
        return Inquiry.competent_agency_id.is_not(None)
    return Inquiry.competent_agency_id.in_(agencies) if agencies else false()


def submitted_inquiries(actor: Actor, me: AccountKey = None) -> ColumnElement[bool]:
    """The inquiries a citizen or organisation sent from their account."""
    if actor.id is not None and actor.kind in (ActorKind.CITIZEN, ActorKind.ORGANISATION):
        return Inquiry.submitter_account_id == _me(actor, me)
    return false()


def inquiries(actor: Actor, me: AccountKey = None) -> ColumnElement[bool]:
    """In full: the submitter; focal points of the focal agency (đầu mối tiếp nhận); staff of the
    competent agency; the officer who entered it; admins and the system. (Everyone reads the
    redacted published answers: `published_inquiries`; `me`: see `AccountKey`.)"""
    if actor.kind is ActorKind.SYSTEM or actor.is_system_admin:
        return Inquiry.id.is_not(None)
    conditions = [submitted_inquiries(actor, me)]
    if actor.kind is ActorKind.STAFF:
        conditions += [_focal_of(actor), _answerer_of(actor)]
        if actor.id is not None:
            conditions.append(Inquiry.entered_by_id == _me(actor, me))  # the officer who entered a letter
    return or_(*conditions)


def published_inquiries() -> ColumnElement[bool]:
    """The answers made public (công khai kết quả trả lời), redacted, for anyone."""
    return Inquiry.status == InquiryStatus.PUBLISHED


# --- payments (thanh toán trực tuyến) --------------------------------------------------------------


def payments(actor: Actor) -> ColumnElement[bool]:
    """A payment attempt (and its refund) is read by whoever reads its dossier."""
    return Payment.dossier_id.in_(select(Dossier.id).where(dossiers(actor)))
