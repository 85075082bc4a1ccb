"""Validation of catalog content: pure functions over plain data.

They take what they need to know about the database (which codes exist) as arguments, so they
are tested without one. Messages are Vietnamese; codes are stable for clients.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from datetime import date
from decimal import ROUND_FLOOR, Decimal

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from auth.roles import WORKFLOW_ROLES
from core.settings import ELECTRONIC_ID_DEFAULT
from models.catalog import DeliveryMethod, OnlineMode, StepAgencyRef, TimeLimitUnit
from services.catalog.data import AgencyData, DecisionData, FieldData, ProcedureData
from services.errors import Issues

PROCEDURE_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-_]{1,39}$")
AGENCY_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-_]{0,39}$")
# An agency's electronic id (QCVN 102:2016 V1V2V3.Z1Z2.Y1Y2.MX1X2, e.g. 000.00.31.H34), as issued
# since the 2025 reorganisation: AGENCY_ELECTRONIC_ID_PATTERN, default core.settings.
ELECTRONIC_ID = re.compile(ELECTRONIC_ID_DEFAULT)
FIELD_CODE = re.compile(r"^[0-9A-Z_]{2,40}$")
PHONE = re.compile(r"^[0-9 +().\-]{6,40}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
HALF_DAY = Decimal("0.5")
MAX_DAYS = Decimal(365)
MAX_UPLOAD_MB = Decimal(200)
ROLE_NAMES = frozenset(r.value for r in WORKFLOW_ROLES)
DELIVERY_NAMES = frozenset(m.value for m in DeliveryMethod)

# Formats an applicant may attach; the files issue detects the real type from the bytes.
KNOWN_FORMATS = frozenset(
    {
        "application/pdf",
        "image/jpeg",
        "image/png",
        "image/tiff",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/xml",
        "application/zip",
    }
)


def _text(issues: Issues, path: tuple[str | int, ...], value: str, max_len: int) -> None:
    if not value.strip():
        issues.add(path, "REQUIRED", "Trường này không được để trống.")
    elif len(value) > max_len:
        issues.add(path, "TOO_LONG", f"Không được dài quá {max_len} ký tự.")


def _days(issues: Issues, path: tuple[str | int, ...], value: Decimal) -> None:
    if value < 0 or value > MAX_DAYS:
        issues.add(path, "OUT_OF_RANGE", f"Số ngày làm việc phải từ 0 đến {MAX_DAYS}.")
    elif value % HALF_DAY != 0:
        issues.add(path, "NOT_HALF_DAY", "Thời gian tính theo ngày làm việc, bội số của nửa ngày.")


def check_decision(decision: DecisionData, *, today: date) -> Issues:
    issues = Issues()
    _text(issues, ("decision", "number"), decision.number, 100)
    if decision.date > today:
        issues.add(("decision", "date"), "IN_FUTURE", "Ngày quyết định không được sau ngày hôm nay.")
    return issues


def check_field(data: FieldData) -> Issues:
    issues = Issues()
    if not FIELD_CODE.match(data.code):
        issues.add(("code",), "BAD_FORMAT", "Mã lĩnh vực gồm 2–40 chữ in hoa, số hoặc “_”.")
    _text(issues, ("name",), data.name, 300)
    return issues


def check_agency(
    data: AgencyData,
    *,
    levels: Collection[str],
    agencies: Collection[str],
    retired_levels: Collection[str] = (),
    electronic_id: re.Pattern[str] = ELECTRONIC_ID,
) -> Issues:
    """`agencies` are the codes that exist (for the parent reference); `levels` those an agency may
    take, `retired_levels` those that exist but were retired (the 2025 district level)."""
    issues = Issues()
    if not AGENCY_CODE.match(data.code):
        issues.add(("code",), "BAD_FORMAT", "Mã cơ quan chỉ gồm chữ, số, “.”, “-”, “_”.")
    if data.electronic_id is not None and not electronic_id.match(data.electronic_id):
        issues.add(
            ("electronicId",),
            "BAD_FORMAT",
            "Mã định danh điện tử không đúng định dạng (V1V2V3.Z1Z2.Y1Y2.MX1X2, ví dụ 000.00.31.H34).",
        )
    _text(issues, ("name",), data.name, 300)
    if data.level_code in retired_levels:
        issues.add(("levelCode",), "RETIRED", "Cấp hành chính này đã bãi bỏ: không dùng cho cơ quan mới.")
    elif data.level_code not in levels:
        issues.add(("levelCode",), "UNKNOWN", "Cấp hành chính không tồn tại.")
    if data.parent_code is not None:
        if data.parent_code == data.code:
            issues.add(("parentCode",), "CYCLE", "Cơ quan không thể là cấp trên của chính nó.")
        elif data.parent_code not in agencies:
            issues.add(("parentCode",), "UNKNOWN", "Cơ quan cấp trên không tồn tại.")
    if data.support_phone is not None and not PHONE.match(data.support_phone):
        issues.add(("supportPhone",), "BAD_FORMAT", "Số điện thoại hỗ trợ không hợp lệ.")
    if data.email is not None and not EMAIL.match(data.email):
        issues.add(("email",), "BAD_FORMAT", "Thư điện tử không hợp lệ.")
    if data.fee_account is not None:
        for name in ("number", "bank", "holder"):
            _text(issues, ("feeAccount", name), getattr(data.fee_account, name), 300)
    return issues


def check_procedure(
    data: ProcedureData,
    *,
    fields: Collection[str],
    levels: Collection[str],
    agencies: Mapping[str, bool],
) -> Issues:
    """Validate a procedure's content. `agencies` maps existing codes to is-one-stop-unit."""
    issues = Issues()
    if not PROCEDURE_CODE.match(data.code):
        issues.add(("code",), "BAD_FORMAT", "Mã thủ tục chỉ gồm chữ, số, “.”, “-”, “_” (2–40 ký tự).")
    _text(issues, ("name",), data.name, 1000)
    _text(issues, ("resultName",), data.result_name, 1000)
    if data.field_code not in fields:
        issues.add(("fieldCode",), "UNKNOWN", "Lĩnh vực không tồn tại.")
    if not data.levels:
        issues.add(("levels",), "REQUIRED", "Chọn ít nhất một cấp thực hiện.")
    for i, level in enumerate(data.levels):
        if level not in levels:
            issues.add(("levels", i), "UNKNOWN", f"Cấp hành chính “{level}” không tồn tại.")
    if data.competent_agency_code is not None and data.competent_agency_code not in agencies:
        issues.add(("competentAgencyCode",), "UNKNOWN", "Cơ quan có thẩm quyền không tồn tại.")
    for i, code in enumerate(data.receiving_agency_codes):
        if code not in agencies:
            issues.add(("receivingAgencyCodes", i), "UNKNOWN", f"Cơ quan “{code}” không tồn tại.")
        elif not agencies[code]:
            issues.add(
                ("receivingAgencyCodes", i),
                "NOT_ONE_STOP_UNIT",
                f"Cơ quan “{code}” không phải là Bộ phận Một cửa.",
            )

    _check_times(issues, data)
    _check_delivery(issues, data)
    _check_fees(issues, data)
    _check_components(issues, data)
    _check_form_schema(issues, data)
    _check_steps(issues, data, agencies)
    return issues


def _check_times(issues: Issues, data: ProcedureData) -> None:
    _days(issues, ("processingDays",), data.processing_days)
    if data.time_limit_unit is TimeLimitUnit.CALENDAR_DAYS:
        values: list[tuple[tuple[str | int, ...], Decimal | None]] = [
            (("processingDays",), data.processing_days),
            (("onlineProcessingDays",), data.online_processing_days),
        ]
        values += [(("steps", i, "days"), s.days) for i, s in enumerate(data.steps)]
        for path, value in values:
            if value is not None and value != value.to_integral_value():
                issues.add(path, "NOT_WHOLE_DAY", "Thời hạn tính theo ngày (ngày lịch) là số ngày nguyên.")
    online = data.online_processing_days
    if online is not None:
        _days(issues, ("onlineProcessingDays",), online)
        if data.online_mode is OnlineMode.NONE:
            issues.add(
                ("onlineProcessingDays",),
                "NOT_ONLINE",
                "Thủ tục chưa cung cấp trực tuyến thì không có thời hạn rút ngắn khi nộp trực tuyến.",
            )
        elif online >= data.processing_days:
            issues.add(
                ("onlineProcessingDays",),
                "NOT_REDUCED",
                "Thời hạn khi nộp trực tuyến phải ngắn hơn thời hạn giải quyết.",
            )


def _check_delivery(issues: Issues, data: ProcedureData) -> None:
    methods = data.delivery_methods
    if not methods:
        issues.add(("deliveryMethods",), "REQUIRED", "Chọn ít nhất một hình thức trả kết quả.")
    if len(set(methods)) != len(methods):
        issues.add(("deliveryMethods",), "DUPLICATE", "Hình thức trả kết quả bị trùng.")
    for i, method in enumerate(methods):
        if method not in DELIVERY_NAMES:
            issues.add(("deliveryMethods", i), "UNKNOWN", f"Hình thức “{method}” không hợp lệ.")
    online = DeliveryMethod.ONLINE.value in methods
    if data.online_mode is OnlineMode.FULL and not online:
        issues.add(
            ("deliveryMethods",),
            "FULL_ONLINE_NEEDS_ONLINE_RESULT",
            "Dịch vụ công trực tuyến toàn trình phải cho phép trả kết quả trực tuyến.",
        )
    if data.online_mode is OnlineMode.NONE and online:
        issues.add(
            ("deliveryMethods",),
            "NOT_ONLINE",
            "Thủ tục chưa cung cấp trực tuyến không thể trả kết quả trực tuyến.",
        )


def _check_fees(issues: Issues, data: ProcedureData) -> None:
    for i, fee in enumerate(data.fees):
        _text(issues, ("fees", i, "name"), fee.name, 500)
        if fee.amount < 0:
            issues.add(("fees", i, "amount"), "NEGATIVE", "Số tiền không được âm.")
        if fee.online_amount is not None:
            if data.online_mode is OnlineMode.NONE:
                issues.add(
                    ("fees", i, "onlineAmount"),
                    "NOT_ONLINE",
                    "Thủ tục chưa cung cấp trực tuyến thì không có mức thu khi nộp trực tuyến.",
                )
            elif not 0 <= fee.online_amount <= fee.amount:
                issues.add(
                    ("fees", i, "onlineAmount"),
                    "OUT_OF_RANGE",
                    "Mức thu khi nộp trực tuyến phải từ 0 đến mức thu thông thường.",
                )


def _check_components(issues: Issues, data: ProcedureData) -> None:
    if not data.components:
        issues.add(("components",), "REQUIRED", "Thủ tục phải có ít nhất một thành phần hồ sơ.")
    for i, comp in enumerate(data.components):
        _text(issues, ("components", i, "name"), comp.name, 1000)
        if not 1 <= comp.count <= 100:
            issues.add(("components", i, "count"), "OUT_OF_RANGE", "Số lượng từ 1 đến 100.")
        if not comp.accepted_formats:
            issues.add(("components", i, "acceptedFormats"), "REQUIRED", "Chọn ít nhất một định dạng tệp.")
        for j, fmt in enumerate(comp.accepted_formats):
            if fmt not in KNOWN_FORMATS:
                issues.add(
                    ("components", i, "acceptedFormats", j),
                    "UNKNOWN_FORMAT",
                    f"Định dạng “{fmt}” không được hỗ trợ.",
                )
        if not 0 < comp.max_size_mb <= MAX_UPLOAD_MB:
            issues.add(
                ("components", i, "maxSizeMb"),
                "OUT_OF_RANGE",
                f"Dung lượng tối đa phải lớn hơn 0 và không quá {MAX_UPLOAD_MB} MB.",
            )
        url = comp.template_url
        if url is not None and not url.startswith(("https://", "http://")):
            issues.add(("components", i, "templateUrl"), "BAD_FORMAT", "Đường dẫn mẫu không hợp lệ.")


def _check_form_schema(issues: Issues, data: ProcedureData) -> None:
    schema = data.form_schema
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        issues.add(("formSchema",), "INVALID_SCHEMA", f"Biểu mẫu điện tử không hợp lệ: {exc.message}")
        return
    if schema.get("type") != "object":
        issues.add(("formSchema",), "NOT_OBJECT", "Biểu mẫu điện tử phải là một đối tượng (type: object).")


def _check_steps(issues: Issues, data: ProcedureData, agencies: Mapping[str, bool]) -> None:
    if not data.steps:
        issues.add(("steps",), "REQUIRED", "Quy trình nội bộ phải có ít nhất một bước.")
        return
    for i, step in enumerate(data.steps):
        _text(issues, ("steps", i, "name"), step.name, 500)
        _days(issues, ("steps", i, "days"), step.days)
        if step.role not in ROLE_NAMES:
            issues.add(
                ("steps", i, "role"), "UNKNOWN", f"Vai trò “{step.role}” không xử lý được bước quy trình."
            )
        if step.agency_ref is StepAgencyRef.AGENCY:
            if step.agency_code is None:
                issues.add(("steps", i, "agencyCode"), "REQUIRED", "Chọn cơ quan thực hiện bước này.")
            elif step.agency_code not in agencies:
                issues.add(("steps", i, "agencyCode"), "UNKNOWN", "Cơ quan thực hiện không tồn tại.")
        elif step.agency_code is not None:
            issues.add(
                ("steps", i, "agencyCode"),
                "UNEXPECTED",
                "Chỉ ghi cơ quan cụ thể khi bước do cơ quan khác (liên thông) thực hiện.",
            )
    total = sum((s.days for s in data.steps), Decimal(0))
    if total != data.processing_days:
        issues.add(
            ("steps",),
            "TIME_MISMATCH",
            f"Tổng thời gian các bước ({total} ngày) phải bằng thời hạn giải quyết "
            f"({data.processing_days} ngày).",
        )
    _check_online_shares(issues, data)


def online_shares(
    step_days: Sequence[Decimal], processing_days: Decimal, online_days: Decimal
) -> tuple[Decimal, ...]:
    """The steps' shares of the reduced online time, in half days: each step's share of the full
    time scaled alike, apportioned by largest remainders so that they add up to the online time,
    half a day at least for a step that has time. When there are more such steps than half days in
    the online time they add up to more (such a plan is refused when the procedure is saved)."""
    if not processing_days:
        return tuple(step_days)
    units = int(online_days * 2)
    quota = [d * 2 * online_days / processing_days for d in step_days]
    halves = [max(1, int(q.to_integral_value(ROUND_FLOOR))) if q else 0 for q in quota]
    order = range(len(halves))
    while sum(halves) > units:
        over = [i for i in order if halves[i] > 1]
        if not over:
            break
        halves[max(over, key=lambda i: (halves[i] - quota[i], halves[i], i))] -= 1
    while sum(halves) < units:
        halves[max(order, key=lambda i: (quota[i] - halves[i], -i))] += 1
    return tuple(Decimal(h) / 2 for h in halves)


def _check_online_shares(issues: Issues, data: ProcedureData) -> None:
    """The online shares of the steps must fit in the online time of the catalog decision: every
    online dossier (this portal or the national one) is planned with them."""
    online = data.online_processing_days
    if online is None or not data.processing_days or online >= data.processing_days:
        return
    total = sum(online_shares([s.days for s in data.steps], data.processing_days, online), Decimal(0))
    if total > online:
        issues.add(
            ("steps",),
            "ONLINE_TIME_EXCEEDED",
            f"Khi nộp trực tuyến, mỗi bước cần ít nhất nửa ngày: tổng thời gian các bước khi rút ngắn "
            f"({total} ngày) vượt thời hạn giải quyết trực tuyến ({online} ngày); giảm số bước hoặc "
            "điều chỉnh thời gian các bước.",
        )
