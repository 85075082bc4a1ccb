"""Export of the catalog to CSV, in exactly the columns `importer.parse_csv` reads.

The exported file can be imported again (into this installation or another): each procedure's
published version — or its latest draft when it was never published — becomes one row, with its
publishing decision so that the import publishes it again. What CSV cannot carry (the e-form,
the detailed workflow, several fees) is simplified the way the import simplifies it: one charge
(the sum of the charges), the plain three-step workflow.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog import (
    Agency,
    Field,
    Procedure,
    ProcedureComponent,
    ProcedureFee,
    ProcedureReceivingAgency,
    ProcedureVersion,
)
from services.catalog.importer import CSV_COLUMNS, OPTIONAL_MARK

COLUMNS = tuple(CSV_COLUMNS)


def _days(value: Decimal | None) -> str:
    if value is None:
        return ""
    return str(value.normalize()) if value != value.to_integral_value() else str(int(value))


async def count_procedures(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Procedure)) or 0)


async def _version_of(session: AsyncSession, procedure: Procedure) -> ProcedureVersion | None:
    if procedure.published_version_id is not None:
        return await session.get(ProcedureVersion, procedure.published_version_id)
    return await session.scalar(
        select(ProcedureVersion)
        .where(ProcedureVersion.procedure_id == procedure.id)
        .order_by(ProcedureVersion.version_no.desc())
        .limit(1)
    )


async def rows(session: AsyncSession) -> AsyncIterator[dict[str, str]]:
    """One dict per procedure (by code), keyed by the import's column names."""
    fields = {f.id: f for f in await session.scalars(select(Field))}
    agencies: dict[uuid.UUID, str] = dict((await session.execute(select(Agency.id, Agency.code))).all())
    for procedure in await session.scalars(select(Procedure).order_by(Procedure.code)):
        version = await _version_of(session, procedure)
        if version is None:
            continue
        components = await session.scalars(
            select(ProcedureComponent)
            .where(ProcedureComponent.version_id == version.id)
            .order_by(ProcedureComponent.position)
        )
        fees = list(
            await session.scalars(
                select(ProcedureFee)
                .where(ProcedureFee.version_id == version.id)
                .order_by(ProcedureFee.position)
            )
        )
        receiving = await session.scalars(
            select(ProcedureReceivingAgency.agency_id)
            .where(ProcedureReceivingAgency.version_id == version.id)
            .order_by(ProcedureReceivingAgency.position)
        )
        fee = sum(f.amount for f in fees)
        has_online = any(f.online_amount is not None for f in fees)
        online_fee = sum(f.online_amount if f.online_amount is not None else f.amount for f in fees)
        field = fields[version.field_id]
        yield {
            "code": procedure.code,
            "name": version.name,
            "field_code": field.code,
            "field_name": field.name,
            "levels": "|".join(version.levels),
            "online_mode": version.online_mode.value,
            "processing_days": _days(version.processing_days),
            "online_processing_days": _days(version.online_processing_days),
            "time_limit_unit": version.time_limit_unit.value,
            "fee_vnd": str(fee) if fee else "",
            "online_fee_vnd": str(online_fee) if fee and has_online else "",
            "components": "|".join(c.name if c.required else f"{c.name} {OPTIONAL_MARK}" for c in components),
            "result": version.result_name,
            "delivery_methods": "|".join(version.delivery_methods),
            "competent_agency_code": agencies.get(version.competent_agency_id, "")
            if version.competent_agency_id
            else "",
            "receiving_agency_codes": "|".join(agencies[a] for a in receiving),
            "legal_basis": version.legal_basis,
            "decision_number": version.decision_number or "" if version.published_at else "",
            "decision_date": version.decision_date.isoformat()
            if version.decision_date and version.published_at
            else "",
        }


def header() -> str:
    return _line(dict(zip(COLUMNS, COLUMNS, strict=True)))


def _line(row: dict[str, str]) -> str:
    out = io.StringIO()
    csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n").writerow(row)
    return out.getvalue()


def line(row: dict[str, str]) -> str:
    """One CSV line (UTF-8 text, newline-terminated) for a row of `rows`."""
    return _line(row)
