"""The catalog's count reads the procedures alone when nothing reads their version; that holds
because a procedure in force or suspended always has its version in force (a CHECK constraint)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog import Procedure, ProcedureStatus
from services.catalog.queries import ProcedureFilter, procedures_counted, procedures_select


async def test_a_procedure_in_force_without_its_version_is_refused(session: AsyncSession) -> None:
    async with session.begin_nested():
        session.add(Procedure(code="KHONG-PHIEN-BAN", status=ProcedureStatus.PUBLISHED, revision=1))
        with pytest.raises(IntegrityError, match="ck_procedures_version_in_force"):
            await session.flush()


async def test_the_short_count_is_the_joined_count(session: AsyncSession, demo_catalog: object) -> None:
    flt = ProcedureFilter()
    short = procedures_counted(flt, may_see_drafts=False)
    joined = procedures_select(flt, may_see_drafts=False).with_only_columns(Procedure.id)
    assert "procedure_versions" not in str(short)
    counts = [await session.scalar(select(func.count()).select_from(s.subquery())) for s in (short, joined)]
    assert counts[0] == counts[1]
    assert counts[0]  # the demo catalog has procedures in force
    for staff_or_filtered in (
        procedures_counted(flt, may_see_drafts=True),
        procedures_counted(ProcedureFilter(level="commune"), may_see_drafts=False),
    ):
        assert "procedure_versions" in str(staff_or_filtered)
