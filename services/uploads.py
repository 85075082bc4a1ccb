"""Uploads that never pass through the API process, and downloads only for those allowed.

1. `start_upload`: the caller declares name, type, size and SHA-256; the answer is a presigned
   form POST the object store enforces (exactly this size and type, 15 minutes) to the file's
   **staging key** (`uploads/<file id>`), never to the key files are served from. The file is
   QUARANTINED and unusable.
2. The client sends the bytes straight to the store.
3. `complete_upload`: the staging object is copied inside the store to the file's own key, which
   only the service writes, and the staging object removed; then the bytes at that key are
   streamed back once, in chunks — size, checksum, the real type from the first bytes (not the
   name, not the declared type), and a malware scan (clamd) all in the same pass, so memory stays
   flat for a 200 MB file. A file that fails any check is REJECTED with its reason and its bytes
   removed; otherwise READY. What was checked is what is served: the form stays valid until it
   expires, but a second POST only reaches the staging key, which nothing reads any more
   (`sweep_staging` removes it).
Uploads never completed expire and are removed by `clean_expired`. `verify_stored` re-reads
READY files on a schedule: bytes that no longer match the row make the file DAMAGED (not served).
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import filetype
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from core.observability import FILE_INTEGRITY_FAILURES
from models.dossiers import FileDownload, FileStatus, StoredFile
from services.catalog.rules import KNOWN_FORMATS
from services.errors import Issues, NotFound, Refused
from services.files import clean_filename, compare_stored, object_key
from storage.clamav import ScanError
from storage.s3 import ObjectStore

UPLOAD_WINDOW = timedelta(minutes=15)
DOWNLOAD_WINDOW = timedelta(minutes=5)
MAX_SIZE = 200 * 1024 * 1024
SHA256 = re.compile(r"^[0-9a-f]{64}$")
STAGING_PREFIX = "uploads/"

log = logging.getLogger(__name__)


def staging_key(file_id: uuid.UUID) -> str:
    """Where a direct upload's form POST puts the bytes; never served, emptied on completion."""
    return f"{STAGING_PREFIX}{file_id.hex}"


class ScanVerdict(Protocol):
    @property
    def clean(self) -> bool: ...

    @property
    def signature(self) -> str | None: ...


class Scanner(Protocol):
    async def scan_stream(self, chunks: AsyncIterator[bytes]) -> ScanVerdict: ...

    async def ping(self) -> bool: ...


@dataclass(frozen=True)
class UploadTicket:
    file: StoredFile
    url: str
    fields: dict[str, str]
    expires_at: datetime


async def start_upload(
    session: AsyncSession,
    store: ObjectStore,
    actor: Actor,
    *,
    filename: str,
    content_type: str,
    size: int,
    sha256: str,
    now: datetime,
) -> UploadTicket:
    if not actor.is_person or actor.id is None:
        raise Refused("NOT_A_PERSON", "Chỉ người dùng đã đăng nhập được tải tệp lên.")
    issues = Issues()
    name = clean_filename(filename) or ""
    if not name:
        issues.add(("filename",), "BAD_FORMAT", "Tên tệp không hợp lệ.")
    if content_type not in KNOWN_FORMATS:
        issues.add(("contentType",), "UNKNOWN_FORMAT", f"Định dạng “{content_type}” không được hỗ trợ.")
    if not 1 <= size <= MAX_SIZE:
        issues.add(("size",), "OUT_OF_RANGE", "Dung lượng tệp từ 1 byte đến 200 MB.")
    if not SHA256.match(sha256.lower()):
        issues.add(("sha256",), "BAD_FORMAT", "Mã băm SHA-256 gồm 64 ký tự hexa.")
    issues.raise_if_any()
    file_id = uuid.uuid4()
    expires_at = now + UPLOAD_WINDOW
    row = StoredFile(
        id=file_id,
        owner_account_id=actor.id,
        object_key=object_key(file_id, now),
        filename=name,
        content_type=content_type,
        size=size,
        sha256=sha256.lower(),
        status=FileStatus.QUARANTINED,
        created_at=now,
        upload_expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    url, fields = store.presigned_upload(
        staging_key(file_id), content_type=content_type, size=size, expires=UPLOAD_WINDOW
    )
    return UploadTicket(row, url, fields, expires_at)


async def _owned(session: AsyncSession, actor: Actor, file_id: uuid.UUID) -> StoredFile:
    row = await session.scalar(select(StoredFile).where(StoredFile.id == file_id).with_for_update())
    if row is None or row.owner_account_id is None or row.owner_account_id != actor.id:
        raise NotFound("tệp", str(file_id))
    return row


async def complete_upload(
    session: AsyncSession,
    store: ObjectStore,
    scanner: Scanner | None,
    actor: Actor,
    file_id: uuid.UUID,
    *,
    now: datetime,
) -> StoredFile:
    """Check what arrived; READY or REJECTED (with the reason, bytes removed). Idempotent."""
    row = await _owned(session, actor, file_id)
    if row.status is not FileStatus.QUARANTINED:
        return row
    return await check_stored(session, store, scanner, row, source=staging_key(row.id), now=now)


async def check_stored(  # noqa: PLR0911 — one return per verdict reads best
    session: AsyncSession,
    store: ObjectStore,
    scanner: Scanner | None,
    row: StoredFile,
    *,
    source: str,
    now: datetime,
) -> StoredFile:
    """The checks of a QUARANTINED file — size, SHA-256, malware scan and the type read from the
    bytes, in one streamed pass — for every way bytes arrive: `source` is where they were put (a
    direct upload's staging key; the file's own key when the service wrote them itself, e.g. a
    dossier from the national portal). Bytes from elsewhere are first copied to the file's own
    key, and the checks read that copy: what is checked is what is served."""
    if scanner is None:
        raise Refused(
            "SCANNER_UNAVAILABLE", "Dịch vụ quét mã độc đang không hoạt động; vui lòng thử lại sau."
        )
    if source != row.object_key and await store.size_of(source) is not None:
        # The client may POST its form again at any time; the copy is one version of the staging
        # object, and nobody but the service writes the file's own key.
        await store.copy(source, row.object_key)
        await store.remove(source)
    stored = await store.size_of(row.object_key)
    if stored is None:
        if row.upload_expires_at is not None and row.upload_expires_at < now:
            return await _reject(session, store, row, "Hết thời hạn tải lên.", now, remove=False)
        raise Refused("NOT_UPLOADED", "Chưa nhận được nội dung tệp; hãy tải lên rồi xác nhận lại.")
    if stored != row.size:
        return await _reject(session, store, row, "Dung lượng tệp khác với khai báo.", now)
    digest = hashlib.sha256()
    head = bytearray()

    async def tee() -> AsyncIterator[bytes]:
        async for chunk in store.chunks(row.object_key):
            digest.update(chunk)
            if len(head) < 8192:
                head.extend(chunk[: 8192 - len(head)])
            yield chunk

    try:
        verdict = await scanner.scan_stream(tee())
    except ScanError as error:  # never "clean": not scanned
        if error.kind == "too_large":
            return await _reject(session, store, row, "Tệp vượt quá dung lượng quét tối đa.", now)
        raise Refused(
            "SCANNER_UNAVAILABLE", "Dịch vụ quét mã độc đang không hoạt động; vui lòng thử lại sau."
        ) from error
    row.checked_at = now
    row.scan_verdict = "CLEAN" if verdict.clean else "INFECTED"
    row.scan_signature = verdict.signature
    if not verdict.clean:
        return await _reject(session, store, row, f"Tệp chứa mã độc ({verdict.signature}).", now)
    if digest.hexdigest() != row.sha256:
        return await _reject(session, store, row, "Mã băm SHA-256 không khớp: tệp bị lỗi khi tải lên.", now)
    detected = filetype.guess_mime(bytes(head))
    if detected != row.content_type:
        return await _reject(
            session,
            store,
            row,
            f"Nội dung tệp là {detected or 'không xác định'}, không phải {row.content_type}.",
            now,
        )
    row.status = FileStatus.READY
    row.upload_expires_at = None
    row.verified_at = now
    await session.flush()
    return row


async def _reject(
    session: AsyncSession,
    store: ObjectStore,
    row: StoredFile,
    reason: str,
    now: datetime,
    *,
    remove: bool = True,
) -> StoredFile:
    row.status = FileStatus.REJECTED
    row.rejection = reason
    row.checked_at = now
    row.upload_expires_at = None
    if remove:
        await store.remove(row.object_key)
    await session.flush()
    return row


async def clean_expired(session: AsyncSession, store: ObjectStore, *, now: datetime) -> int:
    """Uploads never completed: bytes (if any, staged or copied) removed, the row marked rejected."""
    rows = list(
        await session.scalars(
            select(StoredFile)
            .where(StoredFile.status == FileStatus.QUARANTINED, StoredFile.upload_expires_at < now)
            .with_for_update(skip_locked=True)
            .limit(500)
        )
    )
    for row in rows:
        await store.remove(staging_key(row.id))  # removing a missing object is not an error in S3
        await store.remove(row.object_key)
        await _reject(session, store, row, "Hết thời hạn tải lên.", now, remove=False)
    return len(rows)


async def sweep_staging(session: AsyncSession, store: ObjectStore, *, limit: int = 10_000) -> int:
    """Staging objects nothing will read: their file is no longer waiting for completion (a form
    POSTed again after completion, or after the upload was rejected), or there is no such file.
    Returns how many were removed."""
    keys = await store.keys(STAGING_PREFIX, limit=limit)
    by_id: dict[uuid.UUID, str] = {}
    strays: list[str] = []
    for key in keys:
        try:
            by_id[uuid.UUID(hex=key.removeprefix(STAGING_PREFIX))] = key
        except ValueError:
            strays.append(key)
    waiting = (
        set(
            await session.scalars(
                select(StoredFile.id).where(
                    StoredFile.id.in_(list(by_id)), StoredFile.status == FileStatus.QUARANTINED
                )
            )
        )
        if by_id
        else set()
    )
    doomed = strays + [key for file_id, key in by_id.items() if file_id not in waiting]
    for key in doomed:
        await store.remove(key)
    return len(doomed)


@dataclass
class IntegrityRound:
    """One round of `verify_stored`: how many files were read, which became DAMAGED, which READY again."""

    checked: int = 0
    damaged: list[uuid.UUID] = field(default_factory=list)
    restored: list[uuid.UUID] = field(default_factory=list)


async def verify_stored(
    session: AsyncSession, store: ObjectStore, *, now: datetime, limit: int
) -> IntegrityRound:
    """Re-read up to `limit` READY or DAMAGED files, those checked longest ago first, and compare
    size and SHA-256 with the row (the digest check of `dvc verify --deep`). A READY file that no
    longer matches becomes DAMAGED — never served again, its bytes kept for investigation — and
    is logged at ERROR and counted; a DAMAGED file that matches again (its object restored from a
    backup) is READY again. Never commits."""
    found = IntegrityRound()
    rows = await session.scalars(
        select(StoredFile)
        .where(StoredFile.status.in_((FileStatus.READY, FileStatus.DAMAGED)))
        .order_by(StoredFile.verified_at.asc().nulls_first(), StoredFile.id)
        .limit(limit)
    )
    for row in list(rows):
        compared = await compare_stored(store, row, deep=True)
        found.checked += 1
        row.verified_at = now
        if compared != "same" and row.status is FileStatus.READY:
            row.status = FileStatus.DAMAGED
            found.damaged.append(row.id)
            FILE_INTEGRITY_FAILURES.labels(compared).inc()
            log.error(
                "stored file %s (%s) is %s in the object store: it no longer matches the size and "
                "SHA-256 it was checked with; marked DAMAGED, no longer served",
                row.id,
                row.object_key,
                compared,
            )
        elif compared == "same" and row.status is FileStatus.DAMAGED:
            row.status = FileStatus.READY
            found.restored.append(row.id)
            log.warning("stored file %s (%s) matches its row again: READY", row.id, row.object_key)
    await session.flush()
    return found


@dataclass(frozen=True)
class Download:
    url: str
    expires_at: datetime
    file: StoredFile


async def download(
    session: AsyncSession,
    store: ObjectStore,
    actor: Actor,
    file: StoredFile,
    *,
    basis: str,
    now: datetime,
    address: str | None,
) -> Download:
    """A short-lived presigned URL, recorded. The caller has already decided `actor` may see it."""
    if file.status is not FileStatus.READY:
        raise Refused("NOT_READY", "Tệp chưa sẵn sàng để tải về.")
    session.add(
        FileDownload(
            file_id=file.id, actor_id=actor.id, actor_label=actor.label, at=now, address=address, basis=basis
        )
    )
    await session.flush()
    url = store.presigned_download(file.object_key, filename=file.filename, expires=DOWNLOAD_WINDOW)
    return Download(url, now + DOWNLOAD_WINDOW, file)
