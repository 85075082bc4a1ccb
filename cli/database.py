"""The database and object store as a whole: `dvc migrate`, `dvc backup`, `dvc restore` and
`dvc verify` (the work itself is in cli/backup.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from cli.partitions import ensure_now
from cli.support import console, in_session, progress_bar
from core import environment, migrate
from core.settings import Settings

T = TypeVar("T")


def migrate_cmd() -> None:
    """Apply database migrations up to the latest revision."""
    with environment.prepared() as settings:
        migrate.upgrade(settings.database_url or "")
        ensure_now(settings)  # the yearly partitions (services.partitions), as the daily jobs do
        console.print("Đã cập nhật cơ sở dữ liệu.")


def _minio(settings: Settings) -> Any:
    from minio import Minio

    return Minio(
        settings.s3_endpoint or "",
        access_key=settings.s3_access_key or "",
        secret_key=settings.s3_secret_key or "",
        secure=settings.s3_secure,
        region=settings.s3_region,
    )


def _copying_objects(description: str, work: Callable[[Callable[[int], None]], T]) -> T:
    """Runs a backup or restore with a progress bar counting objects; a BackupError exits 1."""
    from cli import backup

    with progress_bar() as bar:
        task = bar.add_task(description, total=None)
        try:
            return work(lambda n: bar.advance(task, n))
        except backup.BackupError as error:
            console.print(f"[red]{error}[/red]")
            raise typer.Exit(1) from None


def backup_cmd(
    target: Annotated[Path, typer.Argument(help="Thư mục (trống) để ghi bản sao lưu.")],
) -> None:
    """Back up the database (pg_dump) and then every object of the store, with a manifest of
    SHA-256 digests. Restore with `dvc restore`."""
    from cli import backup

    with environment.prepared() as settings:
        revision = in_session(settings, _revision, commit=False)
        manifest = _copying_objects(
            "Sao chép đối tượng",
            lambda progress: backup.backup(
                settings.database_url or "",
                _minio(settings),
                settings.s3_bucket,
                target,
                revision=revision,
                progress=progress,
            ),
        )
    size = manifest["database"]["size"] + sum(o["size"] for o in manifest["objects"])
    console.print(
        f"Đã sao lưu vào {target}: cơ sở dữ liệu (migration {manifest['migration']}) và "
        f"{len(manifest['objects'])} đối tượng, {size / 1e6:.1f} MB."
    )


def restore_cmd(
    source: Annotated[Path, typer.Argument(help="Thư mục bản sao lưu (do `dvc backup` tạo).")],
) -> None:
    """Restore a backup into an empty database and bucket, checking every digest, then verify
    that every file the database names is in the store and every trail checks."""
    from cli import backup

    with environment.prepared() as settings:
        empty = in_session(settings, _database_is_empty, commit=False)
        manifest = _copying_objects(
            "Khôi phục đối tượng",
            lambda progress: backup.restore(
                settings.database_url or "",
                _minio(settings),
                settings.s3_bucket,
                source,
                database_is_empty=empty,
                progress=progress,
            ),
        )
        migrate.upgrade(settings.database_url or "")  # a backup from an older release moves forward
        found = _verify(settings, deep=True)
    console.print(f"Đã khôi phục {len(manifest['objects'])} đối tượng và cơ sở dữ liệu từ {source}.")
    _report(found)


def verify_cmd(
    deep: Annotated[bool, typer.Option(help="Đọc lại từng tệp và so SHA-256 (chậm hơn).")] = False,
) -> None:
    """Check that every READY file the database names is in the object store (size, and with
    --deep its digest) and that every dossier's process trail checks. Exit 1 on any problem."""
    with environment.prepared() as settings:
        found = _verify(settings, deep=deep)
    _report(found)


async def _revision(session: AsyncSession) -> str | None:
    from sqlalchemy import text

    found = await session.scalar(text("SELECT version_num FROM alembic_version"))
    return str(found) if found is not None else None


async def _database_is_empty(session: AsyncSession) -> bool:
    from sqlalchemy import text

    count = await session.scalar(
        text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
    )
    return not count


def _verify(settings: Settings, *, deep: bool) -> Any:
    from cli import backup
    from storage.s3 import ObjectStore, S3Config

    store = ObjectStore(S3Config.of(settings))

    async def work(session: AsyncSession) -> backup.Verification:
        return await backup.verify(session, store, deep=deep)

    return in_session(settings, work, commit=False)


def _report(found: Any) -> None:
    console.print(
        f"Kiểm tra: {found.files} tệp, {found.dossiers} hồ sơ; thiếu {len(found.missing)}, sai "
        f"{len(found.different)}, chuỗi nhật ký hỏng {len(found.broken_trails)}."
    )
    for key in found.missing:
        console.print(f"[red]thiếu tệp {key}[/red]")
    for key in found.different:
        console.print(f"[red]tệp khác bản ghi {key}[/red]")
    for code in found.broken_trails:
        console.print(f"[red]nhật ký xử lý hồ sơ {code} không khớp[/red]")
    if not found.ok:
        raise typer.Exit(1)
