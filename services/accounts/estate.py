"""The vault of a deceased or missing person (Trà Vinh art. 6.4.b; Decree 45/2020 art. 16;
Quảng Ngãi art. 21.5).

An account locked because its owner died (DECEASED) or was declared missing (MISSING) has its
vault SEALED for as long as that lock lasts:

- nobody signs in to it: the lock revokes every session, so the owner's tokens stop working, and
  with them every change to the vault and every new sharing;
- no sharing grant is honoured (`services.visibility.grants_covering`): for a death the live grants
  are revoked — consent is personal and ends with the person —; for a missing person they are only
  suspended, and lifting the lock (the person has come back, the court's declaration annulled)
  restores them as they were, with the rest of the account;
- what agencies read through a dossier they handle is unchanged: a dossier is the state's record;
- heirs, or the manager of a missing person's property that a court appointed (Civil Code art. 65),
  receive the vault's documents only through an admin act (`hand_over_vault`, a system admin's),
  which names the recipient, the legal basis (the court decision, the succession papers) and the
  reason, and is written to the account's journal.

Each of these steps is written to the account's journal (security events VAULT_SEALED,
VAULT_UNSEALED, VAULT_HAND_OVER).
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.engine import CursorResult, Row
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from models.accounts import VAULT_SEALING_LOCKS, Account, LockReason, Vault
from models.dossiers import StoredFile, VaultDocument, VaultGrant
from services.accounts.admin.reach import manageable
from services.accounts.journal import Journal, RequestMeta, security_event
from services.errors import Forbidden, Issues, Refused
from services.files import clean_filename, store_bytes
from storage.s3 import ObjectStore

SEALING = VAULT_SEALING_LOCKS


def _live(vault_id: uuid.UUID, now: datetime) -> list[ColumnElement[bool]]:
    return [VaultGrant.vault_id == vault_id, VaultGrant.revoked_at.is_(None), VaultGrant.expires_at > now]


async def _vault_id(session: AsyncSession, account: Account) -> uuid.UUID | None:
    return await session.scalar(select(Vault.id).where(Vault.account_id == account.id))


async def _live_grants(session: AsyncSession, vault_id: uuid.UUID | None, now: datetime) -> int:
    if vault_id is None:
        return 0
    return (
        await session.scalar(select(func.count()).select_from(VaultGrant).where(*_live(vault_id, now))) or 0
    )


async def seal(
    session: AsyncSession,
    account: Account,
    reason: LockReason,
    *,
    actor: Actor,
    now: datetime,
    meta: RequestMeta,
) -> None:
    """Seal the vault of an account just locked for `reason` (DECEASED or MISSING): a death revokes
    the live grants, a disappearance suspends them."""
    vault_id = await _vault_id(session, account)
    revoked = 0
    if reason is LockReason.DECEASED and vault_id is not None:
        done: CursorResult[tuple[()]] = await session.execute(  # type: ignore[assignment]
            update(VaultGrant).where(*_live(vault_id, now)).values(revoked_at=now)
        )
        revoked = done.rowcount
    suspended = await _live_grants(session, vault_id, now)
    session.add(
        security_event(
            "VAULT_SEALED",
            "SUCCESS",
            actor=actor,
            now=now,
            meta=meta,
            subject_id=account.id,
            detail={"reason": reason.value, "grantsRevoked": revoked, "grantsSuspended": suspended},
        )
    )


async def unseal(
    session: AsyncSession,
    account: Account,
    previous: LockReason,
    *,
    actor: Actor,
    now: datetime,
    meta: RequestMeta,
) -> None:
    """The lock that sealed the vault is lifted: the grants still live count again."""
    restored = await _live_grants(session, await _vault_id(session, account), now)
    session.add(
        security_event(
            "VAULT_UNSEALED",
            "SUCCESS",
            actor=actor,
            now=now,
            meta=meta,
            subject_id=account.id,
            detail={"previousReason": previous.value, "grantsRestored": restored},
        )
    )


@dataclass(frozen=True)
class Recipient:
    """Who receives a sealed vault, and on what basis."""

    name: str
    id_number: str
    basis: str  # the court decision, the succession papers…
    reason: str

    def check(self) -> None:
        issues = Issues()
        for field, value, message in (
            ("recipientName", self.name, "Nêu họ tên người nhận."),
            ("recipientIdNumber", self.id_number, "Nêu số định danh cá nhân của người nhận."),
            ("basis", self.basis, "Nêu căn cứ (quyết định của Toà án, văn bản khai nhận di sản…)."),
            ("reason", self.reason, "Nêu lý do bàn giao."),
        ):
            if not value.strip():
                issues.add((field,), "REQUIRED", message)
        issues.raise_if_any()


async def _pack(
    store: ObjectStore, rows: Sequence[Row[VaultDocument, StoredFile]], facts: dict[str, Any]
) -> tuple[bytes, list[dict[str, str]]]:
    """One zip: each document's bytes (checked against its checksum) and `ban-ke.json`, the facts
    with the list of documents."""
    listing = []
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as packed:
        for n, (doc, file) in enumerate(rows, start=1):
            data = await store.get_bytes(file.object_key)
            if hashlib.sha256(data).hexdigest() != file.sha256.lower():
                raise Refused("DAMAGED", f"Tệp “{file.filename}” trong kho không còn khớp mã băm đã lưu.")
            name = f"{n:03d}-{clean_filename(file.filename) or 'tep'}"
            packed.writestr(name, data)
            listing.append(
                {"file": name, "title": doc.title, "source": doc.source.value, "sha256": file.sha256.lower()}
            )
        listed = facts | {"documents": listing}
        packed.writestr("ban-ke.json", json.dumps(listed, ensure_ascii=False, indent=2))
    return buffer.getvalue(), listing


async def hand_over_vault(
    session: AsyncSession,
    store: ObjectStore,
    actor: Actor,
    account_id: uuid.UUID,
    recipient: Recipient,
    *,
    journal: Journal,
) -> tuple[StoredFile, int]:
    """Bàn giao dữ liệu (Trà Vinh art. 6.4): a system admin packs the current documents of a sealed
    vault — with a list naming each one's title, source and SHA-256 — into one zip the admin
    downloads and hands to the recipient; the act is written to the account's journal. Returns the
    zip and the number of documents."""
    if not actor.is_system_admin:
        raise Forbidden("Chỉ quản trị hệ thống được bàn giao kho dữ liệu.")
    account = await manageable(session, actor, account_id)
    if account.lock_reason not in SEALING:
        raise Refused(
            "NOT_SEALED",
            "Chỉ bàn giao kho dữ liệu của tài khoản đã khoá vì chủ tài khoản qua đời hoặc bị tuyên bố "
            "mất tích.",
        )
    recipient.check()
    rows = (
        await session.execute(
            select(VaultDocument, StoredFile)
            .join(Vault, Vault.id == VaultDocument.vault_id)
            .join(StoredFile, StoredFile.id == VaultDocument.file_id)
            .where(Vault.account_id == account.id, VaultDocument.deleted_at.is_(None))
            .order_by(VaultDocument.created_at, VaultDocument.id)
        )
    ).all()
    facts = {
        "account": str(account.id),
        "lockReason": account.lock_reason.value if account.lock_reason else None,
        "recipient": {"name": recipient.name.strip(), "idNumber": recipient.id_number.strip()},
        "basis": recipient.basis.strip(),
        "reason": recipient.reason.strip(),
        "handedOverBy": actor.label,
        "at": journal.now.isoformat(),
    }
    packed, listing = await _pack(store, rows, facts)
    output = await store_bytes(
        session,
        store,
        owner_id=actor.id,
        filename=f"ban-giao-kho-du-lieu-{account.id}.zip",
        content_type="application/zip",
        data=packed,
        now=journal.now,
    )
    session.add(
        security_event(
            "VAULT_HAND_OVER",
            "SUCCESS",
            actor=actor,
            now=journal.now,
            meta=journal.meta,
            subject_id=account.id,
            detail={
                "recipientName": recipient.name.strip(),
                "recipientIdNumber": recipient.id_number.strip(),
                "basis": recipient.basis.strip(),
                "reason": recipient.reason.strip(),
                "documents": len(listing),
                "fileId": str(output.id),
            },
        )
    )
    await session.flush()
    return output, len(listing)
