"""The personal data vault (kho quản lý dữ liệu điện tử, Decree 45/2020 art. 16).

Each account's documents — uploads, electronic copies issued from an original register or
certified from an original, digitised papers, and every result returned — with type, issuer,
dates, source, versions and checksum. The owner reuses them in new dossiers without uploading
again. An agency reads one only through a dossier it handles or a grant the owner gave
(scope, purpose, expiry, revocable; Quảng Ngãi art. 21.5), and every such read is logged for the
owner to see.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ARRAY, ColumnElement, Select, Text, all_, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor, ActorKind
from auth.roles import StaffRole
from models.accounts import Vault
from models.catalog import Agency, ProcedureComponent
from models.dossiers import (
    AttachmentKind,
    Dossier,
    DossierAttachment,
    FileStatus,
    StoredFile,
    VaultAccess,
    VaultDocument,
    VaultDocumentVersion,
    VaultGrant,
    VaultSource,
)
from services import visibility
from services.errors import FieldIssue, Issues, NotFound, Refused, ValidationFailed
from services.text import check_search, fold, words

# Results and copies issued by the state are the legal record: the owner cannot delete them.
KEPT = frozenset({VaultSource.RESULT, VaultSource.ISSUED_COPY, VaultSource.CERTIFIED_COPY})


async def vault_of(session: AsyncSession, account_id: uuid.UUID) -> Vault:
    vault = await session.scalar(select(Vault).where(Vault.account_id == account_id))
    if vault is None:
        raise NotFound("kho dữ liệu", str(account_id))
    return vault


def _owner(actor: Actor) -> uuid.UUID:
    if actor.kind not in (ActorKind.CITIZEN, ActorKind.ORGANISATION, ActorKind.STAFF) or actor.id is None:
        raise Refused("NOT_A_PERSON", "Chỉ chủ tài khoản mới dùng được kho dữ liệu của mình.")
    return actor.id


async def _ready_file(session: AsyncSession, actor: Actor, file_id: uuid.UUID, path: str) -> StoredFile:
    file = await session.get(StoredFile, file_id)
    if file is None or file.owner_account_id != actor.id:
        raise ValidationFailed([FieldIssue((path,), "UNKNOWN", "Không tìm thấy tệp.")])
    if file.status is not FileStatus.READY:
        raise ValidationFailed(
            [FieldIssue((path,), "NOT_READY", "Tệp chưa được kiểm tra xong hoặc đã bị từ chối.")]
        )
    return file


@dataclass(frozen=True)
class DocumentData:
    title: str
    doc_type: str | None = None
    issuer: str | None = None
    issued_on: date | None = None
    expires_on: date | None = None
    source: VaultSource = VaultSource.UPLOAD


def _check(data: DocumentData) -> None:
    issues = Issues()
    if not data.title.strip() or len(data.title) > 300:
        issues.add(("title",), "REQUIRED", "Nhập tên giấy tờ (tối đa 300 ký tự).")
    if data.issued_on and data.expires_on and data.expires_on < data.issued_on:
        issues.add(("expiresOn",), "BEFORE_ISSUE", "Ngày hết hạn phải sau ngày cấp.")
    if data.source in (VaultSource.RESULT, VaultSource.DIGITISED):
        issues.add(("source",), "SYSTEM_ONLY", "Nguồn này do hệ thống ghi, không tự khai được.")
    issues.raise_if_any()


def _new_document(
    vault_id: uuid.UUID, file_id: uuid.UUID, data: DocumentData, now: datetime, **extra: object
) -> VaultDocument:
    return VaultDocument(
        id=uuid.uuid4(),
        vault_id=vault_id,
        file_id=file_id,
        title=data.title.strip(),
        search_text=fold(" ".join(filter(None, [data.title, data.doc_type, data.issuer]))),
        doc_type=data.doc_type,
        issuer=data.issuer,
        issued_on=data.issued_on,
        expires_on=data.expires_on,
        source=data.source,
        version=1,
        **extra,
    )


async def add_document(
    session: AsyncSession, actor: Actor, file_id: uuid.UUID, data: DocumentData, *, now: datetime
) -> VaultDocument:
    vault = await vault_of(session, _owner(actor))
    _check(data)
    file = await _ready_file(session, actor, file_id, "fileId")
    doc = _new_document(vault.id, file.id, data, now)
    session.add(doc)
    await session.flush()
    session.add(VaultDocumentVersion(document_id=doc.id, version=1, file_id=file.id, created_at=now))
    await session.flush()
    return doc


async def _mine(session: AsyncSession, actor: Actor, document_id: uuid.UUID) -> VaultDocument:
    await vault_of(session, _owner(actor))
    doc = await session.scalar(
        select(VaultDocument)
        .where(VaultDocument.id == document_id, visibility.vault_documents(actor))
        .with_for_update()
    )
    if doc is None:
        raise NotFound("giấy tờ", str(document_id))
    return doc


async def rename(session: AsyncSession, actor: Actor, document_id: uuid.UUID, title: str) -> VaultDocument:
    doc = await _mine(session, actor, document_id)
    if not title.strip() or len(title) > 300:
        raise ValidationFailed([FieldIssue(("title",), "REQUIRED", "Nhập tên giấy tờ (tối đa 300 ký tự).")])
    doc.title = title.strip()
    doc.search_text = fold(" ".join(filter(None, [doc.title, doc.doc_type, doc.issuer])))
    await session.flush()
    return doc


async def new_version(
    session: AsyncSession, actor: Actor, document_id: uuid.UUID, file_id: uuid.UUID, *, now: datetime
) -> VaultDocument:
    doc = await _mine(session, actor, document_id)
    if doc.source in KEPT:
        raise Refused("KEPT_BY_LAW", "Kết quả và bản sao do cơ quan nhà nước cấp không thay nội dung được.")
    file = await _ready_file(session, actor, file_id, "fileId")
    doc.version += 1
    doc.file_id = file.id
    session.add(
        VaultDocumentVersion(document_id=doc.id, version=doc.version, file_id=file.id, created_at=now)
    )
    await session.flush()
    return doc


async def delete(
    session: AsyncSession, actor: Actor, document_id: uuid.UUID, *, now: datetime
) -> VaultDocument:
    doc = await _mine(session, actor, document_id)
    if doc.source in KEPT:
        raise Refused(
            "KEPT_BY_LAW",
            "Kết quả giải quyết và bản sao do cơ quan nhà nước cấp được lưu giữ, không xoá được.",
        )
    doc.deleted_at = now
    await session.flush()
    return doc


def search_patterns(search: str | None) -> list[str] | None:
    """The `LIKE` patterns of a search: each distinct folded word, anywhere in the folded title,
    type and issuer (backslash escapes); None when there is no word to look for."""
    found = [
        "%" + w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        for w in dict.fromkeys(words(search or ""))
    ]
    return found or None


def documents_rows(
    actor: Actor,
    *,
    me: visibility.AccountKey,
    patterns: visibility.Bound[list[str]] | None,
    offset: visibility.Bound[int],
    limit: visibility.Bound[int],
) -> Select[VaultDocument]:
    """The owner's current documents matching every pattern, newest first: `limit` rows after
    `offset`. The statement of `documents` and of the compiled `vaultDocuments` (`me`, the
    patterns and the bounds as values or bound parameters)."""
    stmt = select(VaultDocument).where(visibility.vault_documents(actor, me))
    if patterns is not None:
        array = patterns if isinstance(patterns, ColumnElement) else literal(patterns, ARRAY(Text))
        stmt = stmt.where(VaultDocument.search_text.like(all_(array)))
    return stmt.order_by(VaultDocument.created_at.desc(), VaultDocument.id).offset(offset).limit(limit)


def check_reader(actor: Actor, search: str | None) -> None:
    """What `documents` refuses before reading: a search over the limits, a caller without an
    account of their own (`Refused`)."""
    check_search(search, ("search",))
    _owner(actor)


async def documents(
    session: AsyncSession, actor: Actor, *, search: str | None, offset: int, limit: int
) -> tuple[list[VaultDocument], bool]:
    """A page of the owner's documents (none when the account has no vault) and whether more
    follow."""
    check_reader(actor, search)
    stmt = documents_rows(actor, me=None, patterns=search_patterns(search), offset=offset, limit=limit + 1)
    rows = list(await session.scalars(stmt))
    return rows[:limit], len(rows) > limit


@dataclass(frozen=True)
class Suggestion:
    component: ProcedureComponent
    documents: list[VaultDocument]


async def suggestions(session: AsyncSession, actor: Actor, version_id: uuid.UUID) -> list[Suggestion]:
    """For each component of a procedure version, the owner's documents whose title or type
    shares the component's meaningful words (diacritics and case ignored), best first."""
    await vault_of(session, _owner(actor))
    docs = list(await session.scalars(select(VaultDocument).where(visibility.vault_documents(actor))))
    stop = {
        "ban",
        "sao",
        "chinh",
        "theo",
        "mau",
        "cua",
        "va",
        "hoac",
        "co",
        "giay",
        "to",
        "nguoi",
        "neu",
        "cac",
        "tu",
    }
    result = []
    for component in await session.scalars(
        select(ProcedureComponent)
        .where(ProcedureComponent.version_id == version_id)
        .order_by(ProcedureComponent.position)
    ):
        key = {w for w in words(component.name) if w not in stop and len(w) > 1}
        scored = sorted(
            ((len(key & set(doc.search_text.split())), doc) for doc in docs),
            key=lambda pair: (-pair[0], pair[1].title),
        )
        result.append(
            Suggestion(component, [doc for score, doc in scored if score >= 2 or (key and score == len(key))])
        )
    return result


async def copy_results(session: AsyncSession, dossier: Dossier, *, result_name: str, now: datetime) -> int:
    """On return, every result goes into the applicant's vault (source RESULT, kept by law)."""
    if dossier.applicant_account_id is None:
        return 0
    vault = await vault_of(session, dossier.applicant_account_id)
    results = list(
        await session.scalars(
            select(DossierAttachment).where(
                DossierAttachment.dossier_id == dossier.id,
                DossierAttachment.kind == AttachmentKind.RESULT,
                DossierAttachment.removed_at.is_(None),
            )
        )
    )
    for attachment in results:
        data = DocumentData(
            title=f"{result_name} — hồ sơ {dossier.code}",
            doc_type=result_name,
            source=VaultSource.RESULT,
            issued_on=now.date(),
        )
        doc = _new_document(vault.id, attachment.file_id, data, now, source_dossier_id=dossier.id)
        session.add(doc)
        await session.flush()
        session.add(
            VaultDocumentVersion(document_id=doc.id, version=1, file_id=attachment.file_id, created_at=now)
        )
    await session.flush()
    return len(results)


async def vault_file_ids(
    session: AsyncSession, account_id: uuid.UUID | None, file_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of these files are current documents of that account's vault (reusable as components)."""
    if account_id is None or not file_ids:
        return set()
    rows = await session.scalars(
        select(VaultDocument.file_id)
        .join(Vault, Vault.id == VaultDocument.vault_id)
        .where(
            Vault.account_id == account_id,
            VaultDocument.deleted_at.is_(None),
            VaultDocument.file_id.in_(file_ids),
        )
    )
    return set(rows)


# --- consent -----------------------------------------------------------------------------------


async def grant(
    session: AsyncSession,
    actor: Actor,
    *,
    agency_code: str,
    document_ids: Sequence[uuid.UUID] | None,
    purpose: str,
    expires_at: datetime,
    now: datetime,
) -> VaultGrant:
    vault = await vault_of(session, _owner(actor))
    issues = Issues()
    agency = await session.scalar(select(Agency).where(Agency.code == agency_code))
    if agency is None:
        issues.add(("agencyCode",), "UNKNOWN", "Cơ quan không tồn tại.")
    if not purpose.strip():
        issues.add(("purpose",), "REQUIRED", "Nêu mục đích chia sẻ.")
    if expires_at <= now:
        issues.add(("expiresAt",), "IN_PAST", "Thời hạn chia sẻ phải ở tương lai.")
    if document_ids:
        owned = set(
            await session.scalars(
                select(VaultDocument.id).where(
                    VaultDocument.vault_id == vault.id, VaultDocument.id.in_(document_ids)
                )
            )
        )
        for i, doc_id in enumerate(document_ids):
            if doc_id not in owned:
                issues.add(("documentIds", i), "UNKNOWN", "Không tìm thấy giấy tờ.")
    issues.raise_if_any()
    assert agency is not None
    row = VaultGrant(
        vault_id=vault.id,
        agency_id=agency.id,
        document_ids=list(document_ids) if document_ids else None,
        purpose=purpose.strip(),
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    return row


async def revoke_grant(
    session: AsyncSession, actor: Actor, grant_id: uuid.UUID, *, now: datetime
) -> VaultGrant:
    vault = await vault_of(session, _owner(actor))
    row = await session.scalar(
        select(VaultGrant).where(VaultGrant.id == grant_id, VaultGrant.vault_id == vault.id)
    )
    if row is None:
        raise NotFound("chia sẻ", str(grant_id))
    row.revoked_at = row.revoked_at or now
    await session.flush()
    return row


async def grants_of(session: AsyncSession, actor: Actor) -> list[VaultGrant]:
    vault = await vault_of(session, _owner(actor))
    return list(
        await session.scalars(
            select(VaultGrant).where(VaultGrant.vault_id == vault.id).order_by(VaultGrant.created_at.desc())
        )
    )


async def accesses_of(session: AsyncSession, actor: Actor) -> list[VaultAccess]:
    vault = await vault_of(session, _owner(actor))
    return list(
        await session.scalars(
            select(VaultAccess)
            .join(VaultDocument, VaultDocument.id == VaultAccess.document_id)
            .where(VaultDocument.vault_id == vault.id)
            .order_by(VaultAccess.at.desc())
            .limit(200)
        )
    )


# --- who may fetch a file -------------------------------------------------------------------------


async def download_basis(
    session: AsyncSession, actor: Actor, file: StoredFile, *, now: datetime
) -> str | None:
    """Why `actor` may download `file`, or None: which part of `visibility.files` lets them, in
    this order — OWNER, VAULT (their own vault), DOSSIER, VAULT_GRANT. A staff member reading
    someone's vault document is logged for the owner."""
    if actor.id is not None and file.owner_account_id == actor.id:
        return "OWNER"
    via_dossier = await session.scalar(visibility.dossiers_holding(actor, file.id).limit(1))
    own_vault = visibility.own_vault_documents_of(actor, file.id)
    if own_vault is not None and await session.scalar(own_vault.limit(1)) is not None:
        return "VAULT"
    if via_dossier is not None:
        await _log_vault_reads(session, actor, file, basis="DOSSIER", reference=via_dossier, now=now)
        return "DOSSIER"
    grants = visibility.grants_covering(actor, file.id, now)
    granted = await session.scalar(grants.limit(1)) if grants is not None else None
    if granted is not None:
        await _log_vault_reads(session, actor, file, basis="GRANT", reference=granted, now=now)
        return "VAULT_GRANT"
    return None


async def _log_vault_reads(
    session: AsyncSession, actor: Actor, file: StoredFile, *, basis: str, reference: uuid.UUID, now: datetime
) -> None:
    """One access record per current vault document holding the file, for its owner to see."""
    for doc in await session.scalars(
        select(VaultDocument).where(VaultDocument.file_id == file.id, VaultDocument.deleted_at.is_(None))
    ):
        session.add(
            VaultAccess(document_id=doc.id, actor_label=actor.label, at=now, basis=basis, reference=reference)
        )


async def digitise_into_vault(
    session: AsyncSession,
    actor: Actor,
    dossier_id: uuid.UUID,
    file_id: uuid.UUID,
    title: str,
    *,
    consent: bool,
    now: datetime,
) -> VaultDocument:
    """Counter digitisation (Decree 107/2021 art. 21a): a scan an officer attached to a dossier
    goes into the applicant's vault — only with the applicant's consent, recorded by an officer
    of the receiving unit."""
    dossier = await session.scalar(
        select(Dossier).where(Dossier.id == dossier_id, visibility.dossiers(actor))
    )
    if dossier is None or not actor.has_role(StaffRole.RECEPTION_OFFICER, dossier.receiving_agency_id):
        raise NotFound("hồ sơ", str(dossier_id))
    if not consent:
        raise ValidationFailed(
            [FieldIssue(("consent",), "REQUIRED", "Cần sự đồng ý của người nộp để lưu vào kho.")]
        )
    if dossier.applicant_account_id is None:
        raise Refused("NO_ACCOUNT", "Người nộp chưa có tài khoản để lưu vào kho dữ liệu.")
    attached = await session.scalar(
        select(DossierAttachment.id).where(
            DossierAttachment.dossier_id == dossier.id,
            DossierAttachment.file_id == file_id,
            DossierAttachment.removed_at.is_(None),
        )
    )
    if attached is None:
        raise ValidationFailed([FieldIssue(("fileId",), "UNKNOWN", "Tệp không thuộc hồ sơ này.")])
    vault = await vault_of(session, dossier.applicant_account_id)
    data = DocumentData(title=title, source=VaultSource.DIGITISED, issuer=actor.label)
    doc = _new_document(vault.id, file_id, data, now, source_dossier_id=dossier.id)
    session.add(doc)
    await session.flush()
    session.add(VaultDocumentVersion(document_id=doc.id, version=1, file_id=file_id, created_at=now))
    await session.flush()
    return doc
