"""Stored files: bytes in the object store under keys that reveal nothing, facts in PostgreSQL.

This module stores bytes the service already holds (a scan at the counter, a result produced by
an officer); direct uploads through presigned URLs, type detection and malware scanning come
with the files work and end in the same `StoredFile` rows.
"""

from __future__ import annotations

import asyncio
import hashlib
import unicodedata
import uuid
from datetime import datetime
from pathlib import Path
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from models.dossiers import FileStatus, StoredFile
from storage.s3 import ObjectStore, is_missing

Comparison = Literal["same", "missing", "different"]

FILENAME_MAX = 255  # characters, after cleaning


def clean_filename(raw: str) -> str | None:
    """A file name as a client gives it, cleaned the one way every path stores it: surrounding
    spaces dropped, the path separators `/` and `\\` turned into `_`. None when nothing is left,
    when longer than FILENAME_MAX characters, or when it holds a control character (Unicode Cc:
    NUL, line breaks, tabs, DEL… — they would break a download's Content-Disposition)."""
    name = raw.strip().replace("/", "_").replace("\\", "_")
    if not name or len(name) > FILENAME_MAX:
        return None
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        return None
    return name


def object_key(file_id: uuid.UUID, now: datetime) -> str:
    # Random, dated for lifecycle rules; never a name, an ID number or a dossier code.
    return f"files/{now:%Y/%m}/{file_id.hex}"


async def store_bytes(
    session: AsyncSession,
    store: ObjectStore,
    *,
    owner_id: uuid.UUID | None,
    filename: str,
    content_type: str,
    data: bytes,
    now: datetime,
) -> StoredFile:
    file_id = uuid.uuid4()
    key = object_key(file_id, now)
    await store.put_bytes(key, data, content_type)
    row = StoredFile(
        id=file_id,
        owner_account_id=owner_id,
        object_key=key,
        filename=filename[:300],
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        status=FileStatus.READY,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def store_file(
    session: AsyncSession,
    store: ObjectStore,
    *,
    owner_id: uuid.UUID | None,
    filename: str,
    content_type: str,
    path: Path,
    now: datetime,
) -> StoredFile:
    """Like `store_bytes`, for a file on disk: never held in memory whole."""
    sha256, size = await asyncio.to_thread(_digest, path)
    file_id = uuid.uuid4()
    key = object_key(file_id, now)
    await store.put_file(key, str(path), content_type)
    row = StoredFile(
        id=file_id,
        owner_account_id=owner_id,
        object_key=key,
        filename=filename[:300],
        content_type=content_type,
        size=size,
        sha256=sha256,
        status=FileStatus.READY,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row


def _digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as source:
        for chunk in iter(lambda: source.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


async def compare_stored(store: ObjectStore, row: StoredFile, *, deep: bool) -> Comparison:
    """Whether the store holds what the row records: the size, and with `deep` the SHA-256 of
    the bytes read again in full (streamed). Used by `dvc verify` and the scheduled check."""
    size = await store.size_of(row.object_key)
    if size is None:
        return "missing"
    if size != row.size:
        return "different"
    if deep:
        digest = hashlib.sha256()
        try:
            async for chunk in store.chunks(row.object_key):
                digest.update(chunk)
        except Exception as error:
            if is_missing(error):  # removed since the size was read
                return "missing"
            raise
        if digest.hexdigest() != row.sha256:
            return "different"
    return "same"
