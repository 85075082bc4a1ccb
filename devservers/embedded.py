"""PostgreSQL and the S3 store together under one data folder (`EmbeddedServices`)."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Self

from devservers.postgres import EmbeddedPostgres, start_postgres
from devservers.s3 import EmbeddedS3, _PendingS3

__all__ = ["EmbeddedServices"]


class EmbeddedServices:
    """Context manager that runs the embedded PostgreSQL and/or S3 store under one folder.

    `root/postgres` is PGDATA and `root/s3` holds SeaweedFS. Both start together (weed's few
    seconds overlap PostgreSQL's half second) and stop in reverse order, the second stop being
    attempted even if the first fails.
    """

    def __init__(
        self, root: Path, *, postgres: bool = True, s3: bool = True, s3_port: int | None = None
    ) -> None:
        self.root = root
        self.want_postgres = postgres
        self.want_s3 = s3
        self.s3_port = s3_port
        self.postgres: EmbeddedPostgres | None = None
        self.s3: EmbeddedS3 | None = None

    def start(self) -> Self:
        """Start what was asked for; on failure, stop whatever did start and re-raise."""
        try:
            pending = _PendingS3(self.root / "s3", self.s3_port) if self.want_s3 else None
            try:
                if self.want_postgres:
                    self.postgres = start_postgres(self.root / "postgres")
            finally:
                if pending is not None:
                    # Even when PostgreSQL failed, take the handle so stop() reaches weed.
                    self.s3 = pending.handle
            if pending is not None:
                self.s3 = pending.wait()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop S3, then PostgreSQL; raise the first error only after both were attempted.

        The handles stay set (their `stop` is idempotent) so callers can still read pids/ports.
        """
        errors: list[BaseException] = []
        for name in ("s3", "postgres"):
            handle: EmbeddedS3 | EmbeddedPostgres | None = getattr(self, name)
            if handle is None:
                continue
            try:
                handle.stop()
            except Exception as exc:  # noqa: BLE001 - re-raised once the other one was stopped
                errors.append(exc)
        if errors:
            raise errors[0]

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.stop()
        except Exception:
            if exc is None:
                raise
