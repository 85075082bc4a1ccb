"""Backup and restore: a PostgreSQL dump plus a mirror of the object store, with a manifest.

A backup folder holds:

    database.dump        pg_dump custom format (--no-owner --no-privileges)
    objects/<key>        every object of the bucket, byte for byte
    manifest.json        when, which migration, the dump's SHA-256, and each object's key,
                         size, content type and SHA-256

**Order matters.** The database is dumped first, then the bucket is mirrored: objects only come
into existence before the rows that name them are committed, so every file a dumped row refers to
is already in the store when the mirror runs (a file deleted in between — an abandoned upload
cleaned, a vault document erased — is reported by `verify`, not silently missed).

**Restore** goes into an empty database and bucket (it refuses to overwrite a database that
already has tables): `pg_restore --exit-on-error --single-transaction`, then each object is
checked against its SHA-256 before it is uploaded. `verify` then checks that every READY file the
database names is in the store with the size and digest the database records — the same check
the tests run after a restore.

The binaries are PostgreSQL's own `pg_dump` / `pg_restore`: those bundled with the embedded
server (pgserver, PostgreSQL 16) when present, else the first on PATH (their major version must
be at least the server's).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from minio import Minio

MANIFEST = "manifest.json"
DUMP = "database.dump"
OBJECTS = "objects"
Progress = Callable[[int], None]


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why."""


def pg_binary(name: str) -> str:
    try:
        import pgserver

        bundled = Path(pgserver.__file__).parent / "pginstall" / "bin" / name
        if bundled.exists():
            return str(bundled)
    except ImportError:
        pass
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"Không tìm thấy {name} (PostgreSQL client).")
    return found


def libpq_url(database_url: str) -> str:
    """`postgresql+asyncpg://…` (SQLAlchemy) → `postgresql://…` (libpq)."""
    parts = urlsplit(database_url)
    return urlunsplit(("postgresql", *parts[1:]))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _run(args: list[str]) -> None:
    done = subprocess.run(args, capture_output=True, text=True, check=False)  # noqa: S603 — our own binaries
    if done.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} thất bại: {done.stderr.strip()[-2000:]}")


@dataclass(frozen=True)
class ObjectEntry:
    key: str
    size: int
    sha256: str
    content_type: str


def _safe_path(root: Path, key: str) -> Path:
    """Where an object key lives in the backup; keys never climb out of the folder."""
    target = (root / OBJECTS / key).resolve()
    if not target.is_relative_to((root / OBJECTS).resolve()):
        raise BackupError(f"Khoá đối tượng không hợp lệ: {key!r}")
    return target


def list_objects(client: Minio, bucket: str) -> Iterator[Any]:
    return iter(client.list_objects(bucket, recursive=True))


def backup(
    database_url: str,
    client: Minio,
    bucket: str,
    target: Path,
    *,
    revision: str | None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Dump the database, then mirror the bucket; write and return the manifest."""
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"Thư mục {target} không trống.")
    target.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    dump = target / DUMP
    _run(
        [
            pg_binary("pg_dump"),
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            f"--file={dump}",
            f"--dbname={libpq_url(database_url)}",
        ]
    )
    entries: list[ObjectEntry] = []
    for item in list_objects(client, bucket):
        key = str(item.object_name)
        path = _safe_path(target, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        stat = client.fget_object(bucket, key, str(path))
        entries.append(
            ObjectEntry(
                key,
                path.stat().st_size,
                sha256_of(path),
                str(stat.content_type or "application/octet-stream"),
            )
        )
        if progress:
            progress(1)
    manifest = {
        "format": 1,
        "startedAt": started.isoformat(),
        "finishedAt": datetime.now(UTC).isoformat(),
        "migration": revision,
        "bucket": bucket,
        "database": {"file": DUMP, "sha256": sha256_of(dump), "size": dump.stat().st_size},
        "objects": [e.__dict__ for e in entries],
    }
    (target / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest


def read_manifest(source: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise BackupError(f"Không đọc được {source / MANIFEST}: {error}") from None
    if manifest.get("format") != 1:
        raise BackupError("Định dạng bản sao lưu không được hỗ trợ.")
    return manifest


def check(source: Path) -> dict[str, Any]:
    """The backup is whole: the dump and every object match the manifest's digests."""
    manifest = read_manifest(source)
    dump = source / manifest["database"]["file"]
    if not dump.exists() or sha256_of(dump) != manifest["database"]["sha256"]:
        raise BackupError("Tệp cơ sở dữ liệu trong bản sao lưu bị thiếu hoặc đã bị sửa.")
    for entry in manifest["objects"]:
        path = _safe_path(source, entry["key"])
        if not path.exists() or sha256_of(path) != entry["sha256"]:
            raise BackupError(f"Đối tượng {entry['key']} bị thiếu hoặc đã bị sửa.")
    return manifest


def restore(
    database_url: str,
    client: Minio,
    bucket: str,
    source: Path,
    *,
    database_is_empty: bool,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Into an empty database and bucket: the dump, then the objects (each checked first)."""
    manifest = check(source)
    if not database_is_empty:
        raise BackupError("Cơ sở dữ liệu đích đã có dữ liệu: chỉ khôi phục vào cơ sở dữ liệu trống.")
    if not client.bucket_exists(bucket):
        client.make_bucket(bucket)
    if next(list_objects(client, bucket), None) is not None:
        raise BackupError(f"Bucket {bucket} đã có dữ liệu: chỉ khôi phục vào bucket trống.")
    _run(
        [
            pg_binary("pg_restore"),
            "--exit-on-error",
            "--single-transaction",
            "--no-owner",
            "--no-privileges",
            f"--dbname={libpq_url(database_url)}",
            str(source / manifest["database"]["file"]),
        ]
    )
    for entry in manifest["objects"]:
        client.fput_object(
            bucket, entry["key"], str(_safe_path(source, entry["key"])), content_type=entry["content_type"]
        )
        if progress:
            progress(1)
    return manifest


@dataclass
class Verification:
    """What `verify` found: files the database names but the store lacks or holds otherwise,
    and dossiers whose process trail no longer checks."""

    files: int = 0
    missing: list[str] = field(default_factory=list)
    different: list[str] = field(default_factory=list)
    dossiers: int = 0
    broken_trails: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.different or self.broken_trails)


async def verify(session: Any, store: Any, *, deep: bool, progress: Progress | None = None) -> Verification:
    """Every READY (or DAMAGED) file is in the store (size, and with `deep` its SHA-256); every
    dossier's hash-chained trail checks."""
    from sqlalchemy import select

    from models.dossiers import Dossier, FileStatus, StoredFile
    from services.dossiers.queries import check_trail
    from services.files import compare_stored

    found = Verification()
    files = await session.scalars(
        select(StoredFile).where(StoredFile.status.in_((FileStatus.READY, FileStatus.DAMAGED)))
    )
    for row in files:
        found.files += 1
        compared = await compare_stored(store, row, deep=deep)
        if compared == "missing":
            found.missing.append(row.object_key)
        elif compared == "different":
            found.different.append(row.object_key)
        if progress:
            progress(1)
    for dossier in await session.scalars(select(Dossier).order_by(Dossier.created_at)):
        found.dossiers += 1
        checked = await check_trail(session, dossier)
        if not checked.valid:
            found.broken_trails.append(dossier.code or str(dossier.id))
    return found
