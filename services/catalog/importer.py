"""Bulk loading of a catalog: the demo catalog (JSON) and CSV imports.

Both are all-or-nothing: every row is parsed and validated first, errors are reported with
their row and column, and only a clean file is written, in the caller's single transaction.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog import (
    AdministrativeLevel,
    CopyType,
    FeeKind,
    OnlineMode,
    Procedure,
    StepAgencyRef,
    TimeLimitUnit,
)
from services.catalog import commands, rules
from services.catalog.data import (
    AgencyData,
    ComponentData,
    DecisionData,
    FeeAccountData,
    FeeData,
    FieldData,
    ProcedureData,
    StepData,
)

# --- the demo catalog (seed/demo_catalog.json) ----------------------------------------------


def _procedure_from_json(p: dict[str, Any]) -> ProcedureData:
    return ProcedureData(
        code=p["code"],
        name=p["name"],
        field_code=p["field_code"],
        levels=tuple(p["levels"]),
        online_mode=OnlineMode(p["online_mode"]),
        processing_days=Decimal(str(p["processing_days"])),
        online_processing_days=Decimal(str(p["online_processing_days"]))
        if p.get("online_processing_days") is not None
        else None,
        time_limit_unit=TimeLimitUnit(p.get("time_limit_unit", TimeLimitUnit.WORKING_DAYS.value)),
        result_name=p["result"],
        delivery_methods=tuple(p["delivery_methods"]),
        components=tuple(
            ComponentData(
                name=c["name"],
                required=c["required"],
                copy_type=CopyType(c["copy_type"]),
                count=c.get("count", 1),
                template_url=c.get("template_url"),
                accepted_formats=tuple(c["accepted_formats"]),
                max_size_mb=Decimal(str(c["max_size_mb"])),
            )
            for c in p["components"]
        ),
        steps=tuple(
            StepData(
                name=s["name"],
                agency_ref=StepAgencyRef.AGENCY
                if s["agency"] not in ("RECEIVING", "COMPETENT")
                else StepAgencyRef(s["agency"]),
                role=s["role"],
                days=Decimal(str(s["days"])),
                agency_code=s["agency"] if s["agency"] not in ("RECEIVING", "COMPETENT") else None,
            )
            for s in p["steps"]
        ),
        form_schema=p["form_schema"],
        fees=tuple(
            FeeData(FeeKind(f["kind"]), f["name"], int(f["amount"]), f.get("online_amount"), f.get("note"))
            for f in p["fees"]
        ),
        competent_agency_code=p.get("competent_agency_code"),
        receiving_agency_codes=tuple(p.get("receiving_agency_codes", [])),
        legal_basis=p.get("legal_basis", ""),
    )


async def catalog_is_empty(session: AsyncSession) -> bool:
    return not await session.scalar(select(func.count()).select_from(Procedure))


async def load_document(
    session: AsyncSession, doc: dict[str, Any], *, actor: str, now: datetime, today: date
) -> dict[str, int]:
    """Load levels, fields, agencies and procedures (published by their decisions)."""
    known_levels = set((await session.scalars(select(AdministrativeLevel.code))).all())
    for level in doc.get("levels", []):
        if level["code"] not in known_levels:
            session.add(AdministrativeLevel(code=level["code"], name=level["name"], rank=level["rank"]))
    await session.flush()
    for f in doc.get("fields", []):
        await commands.create_field(session, FieldData(code=f["code"], name=f["name"]))
    for a in doc.get("agencies", []):
        acc = a.get("fee_account")
        await commands.create_agency(
            session,
            AgencyData(
                code=a["code"],
                name=a["name"],
                level_code=a["level"],
                electronic_id=a.get("electronic_id"),
                parent_code=a.get("parent_code"),
                is_one_stop_unit=bool(a.get("is_one_stop_unit")),
                fee_account=FeeAccountData(acc["number"], acc["bank"], acc["holder"]) if acc else None,
                support_phone=a.get("support_phone"),
                address=a.get("address"),
                email=a.get("email"),
            ),
        )
    for p in doc.get("procedures", []):
        data = _procedure_from_json(p)
        await commands.create_procedure(session, data, actor=actor, now=now)
        decision = p.get("decision")
        if decision:
            await commands.publish_procedure(
                session,
                data.code,
                DecisionData(decision["number"], date.fromisoformat(decision["date"])),
                actor=actor,
                now=now,
                today=today,
            )
    return {
        "fields": len(doc.get("fields", [])),
        "agencies": len(doc.get("agencies", [])),
        "procedures": len(doc.get("procedures", [])),
    }


# --- CSV import ---------------------------------------------------------------------------

CSV_COLUMNS = {
    "code": "mã thủ tục trên CSDL quốc gia (bắt buộc)",
    "name": "tên thủ tục (bắt buộc)",
    "field_code": "mã lĩnh vực (bắt buộc; tạo mới nếu có field_name)",
    "field_name": "tên lĩnh vực (khi tạo lĩnh vực mới)",
    "levels": "các cấp, cách nhau bởi '|': province|commune (bắt buộc)",
    "online_mode": "FULL, PARTIAL hoặc NONE (bắt buộc)",
    "processing_days": "thời hạn giải quyết, ngày làm việc (bắt buộc)",
    "online_processing_days": "thời hạn khi nộp trực tuyến (tuỳ chọn)",
    "time_limit_unit": "đơn vị thời hạn: WORKING_DAYS (mặc định), HALF_DAYS, WORKING_HOURS, CALENDAR_DAYS",
    "fee_vnd": "lệ phí VND (tuỳ chọn, 0 hoặc trống = miễn phí)",
    "online_fee_vnd": "lệ phí khi nộp trực tuyến (tuỳ chọn)",
    "components": "thành phần hồ sơ, cách nhau bởi '|'; thêm '(không bắt buộc)' ở cuối nếu tuỳ chọn",
    "result": "kết quả thực hiện (bắt buộc)",
    "delivery_methods": "ONLINE|POST|COUNTER (bắt buộc)",
    "competent_agency_code": "mã cơ quan có thẩm quyền (tuỳ chọn)",
    "receiving_agency_codes": "mã Bộ phận Một cửa tiếp nhận, cách nhau bởi '|' (tuỳ chọn)",
    "legal_basis": "căn cứ pháp lý (tuỳ chọn)",
    "decision_number": "số quyết định công bố (tuỳ chọn; có thì công bố ngay)",
    "decision_date": "ngày quyết định YYYY-MM-DD (cùng decision_number)",
}
REQUIRED_COLUMNS = (
    "code",
    "name",
    "field_code",
    "levels",
    "online_mode",
    "processing_days",
    "components",
    "result",
    "delivery_methods",
)
OPTIONAL_MARK = "(không bắt buộc)"


@dataclass
class RowError:
    row: int  # 1-based line in the file, header = 1
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"dòng {self.row}" + (f", cột {self.column}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass
class ParsedCsv:
    rows: list[tuple[int, ProcedureData, DecisionData | None]] = field(default_factory=list)
    new_fields: dict[str, str] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)


def default_workflow(days: Decimal, online_days: Decimal | None = None) -> tuple[StepData, ...]:
    """A plain three-step workflow for imported rows: receive, examine, approve and sign.

    Step times add up to the processing time, as validation demands; admins refine it later.
    Fewer steps when the reduced online time could not give each half a day (the rule of
    `rules.online_shares`).
    """
    half = Decimal("0.5")
    fit = days if online_days is None else min(days, online_days)
    if fit <= half:
        return (StepData("Thẩm định, giải quyết", StepAgencyRef.COMPETENT, "SPECIALIST", days),)
    if fit <= 1:
        return (
            StepData("Thẩm định hồ sơ", StepAgencyRef.COMPETENT, "SPECIALIST", days - half),
            StepData("Phê duyệt, ký kết quả", StepAgencyRef.COMPETENT, "LEADER", half),
        )
    return (
        StepData("Tiếp nhận, chuyển hồ sơ", StepAgencyRef.RECEIVING, "RECEPTION_OFFICER", half),
        StepData("Thẩm định hồ sơ", StepAgencyRef.COMPETENT, "SPECIALIST", days - 2 * half),
        StepData("Phê duyệt, ký kết quả", StepAgencyRef.COMPETENT, "LEADER", half),
    )


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split("|") if part.strip()]


def _decimal(value: str, column: str, line: int, errors: list[RowError]) -> Decimal | None:
    try:
        result = Decimal(value.strip().replace(",", "."))
    except InvalidOperation:
        errors.append(RowError(line, column, f"“{value}” không phải là số."))
        return None
    if not result.is_finite():
        errors.append(RowError(line, column, f"“{value}” không phải là số."))
        return None
    return result


def parse_csv(text: str) -> ParsedCsv:
    """Parse every row; collect every problem. Nothing here touches the database."""
    out = ParsedCsv()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        out.errors.append(RowError(1, None, "thiếu cột bắt buộc: " + ", ".join(missing)))
        return out
    seen: set[str] = set()
    for line, raw in enumerate(reader, start=2):
        row = {k: (v or "").strip() for k, v in raw.items() if k is not None}
        blank = [RowError(line, c, "không được để trống.") for c in REQUIRED_COLUMNS if not row.get(c)]
        if blank:
            out.errors.extend(blank)
            continue
        if row["code"] in seen:
            out.errors.append(RowError(line, "code", f"mã “{row['code']}” lặp lại trong tệp."))
            continue
        seen.add(row["code"])
        errors: list[RowError] = []
        terms = _row_terms(row, line, errors)
        decision = _row_decision(row, line, errors)
        if row.get("field_name"):
            out.new_fields.setdefault(row["field_code"], row["field_name"])
        if errors or terms.days is None:
            out.errors.extend(errors)
            continue
        out.rows.append((line, _row_procedure(row, terms, terms.days), decision))
    return out


@dataclass(frozen=True)
class _RowTerms:
    """A CSV row's online mode, processing times and fee (None where the row's value is wrong)."""

    mode: OnlineMode
    days: Decimal | None
    online_days: Decimal | None
    fees: tuple[FeeData, ...]
    unit: TimeLimitUnit = TimeLimitUnit.WORKING_DAYS


def _row_terms(row: dict[str, str], line: int, errors: list[RowError]) -> _RowTerms:
    try:
        mode = OnlineMode(row["online_mode"].upper())
    except ValueError:
        errors.append(RowError(line, "online_mode", "phải là FULL, PARTIAL hoặc NONE."))
        mode = OnlineMode.NONE
    days = _decimal(row["processing_days"], "processing_days", line, errors)
    online_days = (
        _decimal(row["online_processing_days"], "online_processing_days", line, errors)
        if row.get("online_processing_days")
        else None
    )
    fees: tuple[FeeData, ...] = ()
    fee = _decimal(row["fee_vnd"], "fee_vnd", line, errors) if row.get("fee_vnd") else None
    online_fee = (
        _decimal(row["online_fee_vnd"], "online_fee_vnd", line, errors) if row.get("online_fee_vnd") else None
    )
    if fee:
        fees = (
            FeeData(FeeKind.CHARGE, "Lệ phí", int(fee), int(online_fee) if online_fee is not None else None),
        )
    try:
        unit = TimeLimitUnit((row.get("time_limit_unit") or "WORKING_DAYS").strip().upper())
    except ValueError:
        errors.append(
            RowError(
                line, "time_limit_unit", "phải là WORKING_DAYS, HALF_DAYS, WORKING_HOURS hoặc CALENDAR_DAYS."
            )
        )
        unit = TimeLimitUnit.WORKING_DAYS
    return _RowTerms(mode, days, online_days, fees, unit)


def _row_decision(row: dict[str, str], line: int, errors: list[RowError]) -> DecisionData | None:
    """The publishing decision (quyết định công bố), when the row names one."""
    if not row.get("decision_number"):
        return None
    try:
        return DecisionData(row["decision_number"], date.fromisoformat(row.get("decision_date", "")))
    except ValueError:
        errors.append(RowError(line, "decision_date", "ngày quyết định phải có dạng YYYY-MM-DD."))
        return None


def _row_procedure(row: dict[str, str], terms: _RowTerms, days: Decimal) -> ProcedureData:
    components = tuple(
        ComponentData(
            name=part.removesuffix(OPTIONAL_MARK).strip(),
            required=not part.endswith(OPTIONAL_MARK),
        )
        for part in _split(row["components"])
    )
    return ProcedureData(
        code=row["code"],
        name=row["name"],
        field_code=row["field_code"],
        levels=tuple(_split(row["levels"])),
        online_mode=terms.mode,
        processing_days=days,
        online_processing_days=terms.online_days,
        time_limit_unit=terms.unit,
        result_name=row["result"],
        delivery_methods=tuple(m.upper() for m in _split(row["delivery_methods"])),
        components=components,
        steps=default_workflow(days, terms.online_days),
        fees=terms.fees,
        competent_agency_code=row.get("competent_agency_code") or None,
        receiving_agency_codes=tuple(_split(row.get("receiving_agency_codes", ""))),
        legal_basis=row.get("legal_basis", ""),
    )


_CAMEL_TO_COLUMN = {
    "fieldCode": "field_code",
    "processingDays": "processing_days",
    "onlineProcessingDays": "online_processing_days",
    "resultName": "result",
    "deliveryMethods": "delivery_methods",
    "competentAgencyCode": "competent_agency_code",
    "receivingAgencyCodes": "receiving_agency_codes",
    "steps": "processing_days",
    "fees": "fee_vnd",
}


async def import_csv(
    session: AsyncSession, text: str, *, actor: str, now: datetime, today: date
) -> tuple[int, int, list[RowError]]:
    """Validate the whole file, then create or amend (and publish) each procedure.

    Returns (created, amended, errors); with any error nothing has been written.
    """
    parsed = parse_csv(text)
    ref = await commands.load_reference(session)
    fields = set(ref.fields) | set(parsed.new_fields)
    errors = list(parsed.errors)
    for code, name in parsed.new_fields.items():
        if code not in ref.fields:
            for issue in rules.check_field(FieldData(code, name)).items:
                errors.append(RowError(0, "field_code", f"{code}: {issue.message}"))
    for line, data, decision in parsed.rows:
        issues = rules.check_procedure(data, fields=fields, levels=ref.levels, agencies=ref.agency_flags)
        if decision is not None:
            issues.items.extend(rules.check_decision(decision, today=today).items)
        for issue in issues.items:
            column = _CAMEL_TO_COLUMN.get(str(issue.path[0]), str(issue.path[0])) if issue.path else None
            errors.append(RowError(line, column, issue.message))
    if errors:
        return 0, 0, sorted(errors, key=lambda e: e.row)
    for code, name in parsed.new_fields.items():
        if code not in ref.fields:
            await commands.create_field(session, FieldData(code, name))
    existing = set((await session.scalars(select(Procedure.code))).all())
    created = amended = 0
    for _line, data, decision in parsed.rows:
        if data.code in existing:
            await commands.amend_procedure(session, data.code, data, actor=actor, now=now)
            amended += 1
        else:
            await commands.create_procedure(session, data, actor=actor, now=now)
            created += 1
        if decision is not None:
            await commands.publish_procedure(session, data.code, decision, actor=actor, now=now, today=today)
    return created, amended, []
