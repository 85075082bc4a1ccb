"""Stored files: bytes in the object store under keys that reveal nothing, facts in PostgreSQL.

This module stores bytes the service already holds (a scan at the counter, a result produced by
an officer); direct uploads through presigned URLs, type detection and malware scanning come
with the files work and end in the same `StoredFile` rows.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from models.dossiers import FileStatus, StoredFile
from storage.s3 import ObjectStore


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
