"""Bring up what the configuration asks for: external servers, or embedded ones.

With no `DATABASE_URL` an embedded PostgreSQL runs under `DATA_DIR/postgres`; with no
`S3_ENDPOINT` an embedded SeaweedFS S3 runs under `DATA_DIR/s3`. Their addresses are exported
as the same environment variables an operator would set, so app worker processes, tools and
the migration runner see one configuration whichever way it came.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from core.settings import Settings, get_settings
from devservers import EmbeddedServices, clamd_binary, start_clamd

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def prepared(settings: Settings | None = None, *, database_only: bool = False) -> Iterator[Settings]:
    """`database_only`: PostgreSQL alone (no S3, no clamd), for a command that reads tables only.

    Any command may run beside `dvc serve` on the same DATA_DIR: the embedded PostgreSQL, S3 and
    clamd that a live process started are shared, and left running when the command ends."""
    settings = settings or get_settings()
    root = settings.data_dir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    need_pg = settings.database_url is None
    need_s3 = settings.s3_endpoint is None and not database_only
    scanner = contextlib.nullcontext(None) if database_only else _scanner(settings, root)
    with EmbeddedServices(root, postgres=need_pg, s3=need_s3) as services, scanner as socket:
        env: dict[str, str] = {}
        if services.postgres is not None:
            env["DATABASE_URL"] = services.postgres.database_url
        if services.s3 is not None:
            env.update(
                S3_ENDPOINT=services.s3.endpoint,
                S3_ACCESS_KEY=services.s3.access_key,
                S3_SECRET_KEY=services.s3.secret_key,
                S3_SECURE="false",
            )
        if socket is not None:
            env["CLAMD_SOCKET"] = socket
        if settings.jwt_secret is None:
            env["JWT_SECRET"] = _local_secret(root / "jwt-secret")
        os.environ.update(env)
        get_settings.cache_clear()
        try:
            yield get_settings()
        finally:
            get_settings.cache_clear()


@contextlib.contextmanager
def _scanner(settings: Settings, root: Path) -> Iterator[str | None]:
    """An embedded clamd when no external one is configured (and clamd is installed)."""
    if settings.clamd_socket is not None or clamd_binary() is None:
        if settings.clamd_socket is None:
            log.warning("clamd is not installed: uploads stay quarantined (run scripts/install-clamav.sh)")
        yield None
        return
    signatures = settings.clamav_signatures
    if signatures is None and settings.clamav_mirror_url:
        # freshclam keeps this folder current (storage/signatures.py); until its first update
        # succeeds, it holds the test signature only, so that clamd can start.
        signatures = root / "clamav" / "database"
        signatures.mkdir(parents=True, exist_ok=True)
        if not any(p.is_file() and not p.name.startswith(".") for p in signatures.iterdir()):
            shutil.copy2(ROOT / "assets" / "clamav" / "test.hdb", signatures / "test.hdb")
            log.warning("no ClamAV signature database yet: the test signature until freshclam's first update")
    if signatures is None:
        system = Path("/var/lib/clamav")
        real = system.is_dir() and any(system.glob("*.c[lv]d"))
        signatures = system if real else ROOT / "assets" / "clamav"
        if not real:
            log.warning("no ClamAV signature database: only the test signature is loaded; run freshclam")
    handle = start_clamd(root / "clamav", signatures=signatures, timeout=120)
    try:
        yield handle.socket_path
    finally:
        handle.stop()


def _local_secret(path: Path) -> str:
    """A key generated once and kept in DATA_DIR (readable by the owner only), so tokens
    survive restarts of a one-box installation."""
    if path.exists():
        return path.read_text().strip()
    token = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(token + "\n")
    return token
