"""CSV catalog import: a clean file is imported whole; a file with bad rows imports nothing."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog import Procedure, ProcedureStatus, ProcedureVersion, TimeLimitUnit
from services.catalog.importer import CSV_COLUMNS, import_csv
from tests.conftest import NOW

HEADER = ",".join(CSV_COLUMNS)


def row(**values: str) -> str:
    base = {
        "code": "7.000001",
        "name": "Thủ tục nhập từ tệp",
        "field_code": "NHAPTEP",
        "field_name": "Lĩnh vực nhập từ tệp",
        "levels": "province",
        "online_mode": "PARTIAL",
        "processing_days": "5",
        "online_processing_days": "",
        "time_limit_unit": "",
        "fee_vnd": "50000",
        "online_fee_vnd": "25000",
        "components": "Tờ khai | Bản sao giấy tờ tùy thân (không bắt buộc)",
        "result": "Giấy phép",
        "delivery_methods": "COUNTER|POST",
        "competent_agency_code": "H44.19",
        "receiving_agency_codes": "H44.99",
        "legal_basis": "Nghị định 61/2018/NĐ-CP",
        "decision_number": "500/QĐ-UBND",
        "decision_date": "2026-11-01",
    }
    base.update(values)
    return ",".join(f'"{base[c]}"' for c in CSV_COLUMNS)


async def _run(session: AsyncSession, text: str) -> tuple[int, int, list[str]]:
    created, amended, errors = await import_csv(session, text, actor="test", now=NOW, today=NOW.date())
    return created, amended, [str(e) for e in errors]


async def test_clean_file_is_imported_and_published(session: AsyncSession) -> None:
    text = "\n".join([HEADER, row(), row(code="7.000002", name="Thủ tục thứ hai", processing_days="0.5")])
    assert await _run(session, text) == (2, 0, [])
    procedure = await session.scalar(select(Procedure).where(Procedure.code == "7.000001"))
    assert procedure is not None
    assert procedure.status is ProcedureStatus.PUBLISHED
    version = await session.get_one(ProcedureVersion, procedure.published_version_id)
    assert version.name == "Thủ tục nhập từ tệp"


async def test_existing_codes_are_amended_into_a_new_version(session: AsyncSession) -> None:
    await _run(session, "\n".join([HEADER, row()]))
    assert await _run(
        session, "\n".join([HEADER, row(name="Tên sửa đổi", decision_number="501/QĐ-UBND")])
    ) == (0, 1, [])
    versions = await session.scalar(
        select(func.count())
        .select_from(ProcedureVersion)
        .join(Procedure, Procedure.id == ProcedureVersion.procedure_id)
        .where(Procedure.code == "7.000001")
    )
    assert versions == 2


async def test_bad_rows_are_all_reported_and_nothing_is_written(session: AsyncSession) -> None:
    before = await session.scalar(select(func.count()).select_from(Procedure))
    text = "\n".join(
        [
            HEADER,
            row(),  # fine, but must not be imported because others are bad
            row(code="7.000003", processing_days="năm"),
            row(code="7.000004", online_mode="LEVEL4", competent_agency_code="H00"),
            row(code="7.000001"),  # repeated in the file
            row(code="7.000005", name=""),
            row(code="7.000006", decision_date="01/11/2026"),
        ]
    )
    created, amended, errors = await _run(session, text)
    assert (created, amended) == (0, 0)
    assert errors == [
        "dòng 3, cột processing_days: “năm” không phải là số.",
        "dòng 4, cột online_mode: phải là FULL, PARTIAL hoặc NONE.",
        "dòng 5, cột code: mã “7.000001” lặp lại trong tệp.",
        "dòng 6, cột name: không được để trống.",
        "dòng 7, cột decision_date: ngày quyết định phải có dạng YYYY-MM-DD.",
    ]
    assert await session.scalar(select(func.count()).select_from(Procedure)) == before


async def test_rule_violations_name_their_column(session: AsyncSession) -> None:
    text = "\n".join(
        [HEADER, row(competent_agency_code="H00", delivery_methods="ONLINE", online_mode="NONE")]
    )
    _, _, errors = await _run(session, text)
    assert errors == [
        "dòng 2, cột competent_agency_code: Cơ quan có thẩm quyền không tồn tại.",
        "dòng 2, cột delivery_methods: Thủ tục chưa cung cấp trực tuyến không thể trả kết quả trực tuyến.",
        "dòng 2, cột fee_vnd: Thủ tục chưa cung cấp trực tuyến thì không có mức thu khi nộp trực tuyến.",
    ]


async def test_missing_columns(session: AsyncSession) -> None:
    _, _, errors = await _run(session, "code,name\n1,2\n")
    assert errors == [
        "dòng 1: thiếu cột bắt buộc: field_code, levels, online_mode, processing_days, components, result, "
        "delivery_methods"
    ]


async def test_csv_time_limit_unit_column_defaults_to_working_days(session: AsyncSession) -> None:
    """Issue 16 item 7: a procedure's time limit may be in working hours, half days or calendar
    days; the CSV's optional `time_limit_unit` column says which (empty: working days)."""
    text = "\n".join(
        [
            HEADER,
            row(),
            row(code="7.000002", time_limit_unit="working_hours"),
            row(code="7.000003", time_limit_unit="X"),
        ]
    )
    created, _, errors = await _run(session, text)
    assert errors == [
        "dòng 4, cột time_limit_unit: phải là WORKING_DAYS, HALF_DAYS, WORKING_HOURS hoặc CALENDAR_DAYS."
    ]
    assert created == 0
    assert await _run(
        session, "\n".join([HEADER, row(), row(code="7.000002", time_limit_unit="working_hours")])
    ) == (
        2,
        0,
        [],
    )
    units = {
        code: unit
        for code, unit in await session.execute(
            select(Procedure.code, ProcedureVersion.time_limit_unit)
            .join(ProcedureVersion, ProcedureVersion.id == Procedure.published_version_id)
            .where(Procedure.code.in_(["7.000001", "7.000002"]))
        )
    }
    assert units == {"7.000001": TimeLimitUnit.WORKING_DAYS, "7.000002": TimeLimitUnit.WORKING_HOURS}
