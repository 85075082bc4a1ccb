"""Alembic environment: async engine, URL from `DATABASE_URL` or the caller's config."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from core.partitions import include_name
from models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        from core.settings import get_settings

        url = get_settings().database_url
    if not url:
        raise RuntimeError("DATABASE_URL is not set")
    return str(url)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


# A PostgreSQL advisory lock held while migrating: N app hosts start together and each migrates
# at start (`dvc serve`, dvc-migrate.service), so the others wait, then find nothing left to do.
MIGRATION_LOCK = 4242010


async def _run_async() -> None:
    engine = create_async_engine(_url())
    async with engine.connect() as connection:
        # A session lock (not a transaction's): it outlives the commits of the migrations.
        await connection.execute(text(f"SELECT pg_advisory_lock({MIGRATION_LOCK})"))
        await connection.commit()
        try:
            await connection.run_sync(_run)
        finally:
            if connection.in_transaction():  # a failed migration: its transaction is rolled back
                await connection.rollback()
            await connection.execute(text(f"SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
            await connection.commit()
    await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:  # called from code that already holds a connection
        _run(connection)
    else:
        asyncio.run(_run_async())


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
