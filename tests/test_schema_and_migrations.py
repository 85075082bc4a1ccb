"""schema.graphql is current; migrations match the models and go down and up cleanly."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from core import migrate
from core.partitions import include_name
from models import Base
from models.statistics import OPEN_SPAN
from resolvers.root import schema
from tests.conftest import Servers

ROOT = Path(__file__).resolve().parent.parent
SPAN = "ix_dossier_facts_open_span"


def test_schema_graphql_is_current() -> None:
    committed = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    assert committed == schema.as_str() + "\n", "schema.graphql is stale: run `make schema`"


def test_every_type_and_field_is_described() -> None:
    missing = []
    for name, graphql_type in schema._schema.type_map.items():
        if name.startswith("__") or name in {
            "String",
            "Int",
            "Float",
            "Boolean",
            "ID",
            "Date",
            "DateTime",
            "JSON",
        }:
            continue
        if not graphql_type.description:
            missing.append(name)
        for field_name, field in (getattr(graphql_type, "fields", None) or {}).items():
            if not field.description:
                missing.append(f"{name}.{field_name}")
    assert missing == []


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def test_migrations_match_models_and_round_trip(servers: Servers) -> None:
    async def fresh_database() -> None:
        conn = await asyncpg.connect(_dsn(servers.database_url))
        await conn.execute("DROP DATABASE IF EXISTS migration_check")
        await conn.execute("CREATE DATABASE migration_check")
        await conn.close()

    asyncio.run(fresh_database())
    url = servers.database_url.replace("/postgres?", "/migration_check?", 1)
    migrate.upgrade(url)
    migrate.downgrade(url, "base")
    migrate.upgrade(url)

    async def diff() -> tuple[list[object], str | None]:
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            result = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"include_name": include_name}), Base.metadata
                )
            )
            span = await conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_dossier_facts_open_span'"
            )
            definition = span.scalar()
        await engine.dispose()
        # Alembic cannot compare a GiST index on an expression (it reports it removed and added
        # again): its definition is compared with the model's here instead.
        return [
            d for d in result if not (d[0] in ("add_index", "remove_index") and d[1].name == SPAN)
        ], definition

    found, definition = asyncio.run(diff())
    assert found == []
    assert definition is not None
    assert f"USING gist ({OPEN_SPAN})" in " ".join(definition.split())
    assert definition.endswith("WHERE (received_at IS NOT NULL)")
