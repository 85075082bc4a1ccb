"""No N+1: a nested procedure list costs the same number of SQL statements for 1, 10, 100 rows.

The test makes 100 procedures of the same shape (competent agency with a parent, receiving
unit, fees, components, an inter-agency step), so every page exercises every relation.
"""

from __future__ import annotations

from decimal import Decimal

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog import FeeKind, OnlineMode, StepAgencyRef
from services.catalog import commands
from services.catalog.data import ComponentData, FeeData, FieldData, ProcedureData, StepData
from tests.conftest import ADMIN_TOKEN, NOW, StatementCounter, gql

NESTED = """
query($first: Int!) {
  procedures(first: $first, filter: {fieldCode: "NPLUS1", status: DRAFT}) {
    totalCount
    edges { node {
      code name
      field { code name }
      levels { code name }
      competentAgency { code name parent { code } }
      receivingAgencies { code name level { code } }
      fees { kind amount onlineAmount }
      components { name required acceptedFormats }
      workflow { name role days agency { code name } }
      versions { version state }
      availableActions
    } }
  }
}"""


async def _make_procedures(session: AsyncSession, n: int) -> None:
    await commands.create_field(session, FieldData("NPLUS1", "Đếm câu lệnh"))
    for i in range(n):
        data = ProcedureData(
            code=f"8.{i:06d}",
            name=f"Thủ tục đếm câu lệnh số {i}",
            field_code="NPLUS1",
            levels=("province",),
            online_mode=OnlineMode.PARTIAL,
            processing_days=Decimal(3),
            result_name="Giấy phép",
            delivery_methods=("COUNTER",),
            components=(ComponentData("Tờ khai"), ComponentData("Bản sao", required=False)),
            steps=(
                StepData("Tiếp nhận", StepAgencyRef.RECEIVING, "RECEPTION_OFFICER", Decimal("0.5")),
                StepData("Thẩm định", StepAgencyRef.COMPETENT, "SPECIALIST", Decimal("1.5")),
                StepData(
                    "Ý kiến thuế", StepAgencyRef.AGENCY, "SPECIALIST", Decimal("0.5"), agency_code="H44.96"
                ),
                StepData("Phê duyệt", StepAgencyRef.COMPETENT, "LEADER", Decimal("0.5")),
            ),
            fees=(FeeData(FeeKind.CHARGE, "Lệ phí", 50000),),
            competent_agency_code="H44.19",
            receiving_agency_codes=("H44.99",),
        )
        await commands.create_procedure(session, data, actor="test", now=NOW)
    await session.commit()


async def test_nested_list_statement_count_is_constant(
    client: httpx.AsyncClient, session: AsyncSession, statements: StatementCounter
) -> None:
    await _make_procedures(session, 100)
    counts = {}
    for first in (1, 10, 100):
        statements.count = 0
        statements.statements.clear()
        data = (await gql(client, NESTED, {"first": first}, token=ADMIN_TOKEN))["data"]
        assert len(data["procedures"]["edges"]) == first
        counts[first] = statements.count
    assert counts[1] == counts[10] == counts[100], counts
    # the caller's account and roles, count, page, one per relation, and the test's savepoint pair
    assert counts[1] <= 16, statements.statements
