"""The official slips of Circular 01/2018/TT-VPCP, rendered as PDF.

Forms (Circular 01/2018/TT-VPCP, appendix; QR code per Circular 01/2023/TT-VPCP):

- 01 Giấy tiếp nhận hồ sơ và hẹn trả kết quả — :func:`receipt`
- 02 Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ — :func:`completion_request`
- 03 Phiếu từ chối tiếp nhận giải quyết hồ sơ — :func:`refusal_of_receipt`
- 04 Phiếu xin lỗi và hẹn lại ngày trả kết quả — :func:`apology`
- 05 Phiếu kiểm soát quá trình giải quyết hồ sơ — :func:`control_slip`
- 06 Sổ theo dõi hồ sơ — :func:`tracking_book`

Forms 01–05 are A5 portrait; each carries the national motto, the issuing agency, the dossier code
in print and as a Code 39 barcode (for the scanners at counters and kiosks), and a QR code
(ISO/IEC 18004) at the top-left corner. Form 06 is A4 landscape. Statuses and actions are printed
in the workflow's words (`services.dossiers.workflow.STATUS_LABELS`, `ACTION_LABELS`), with a
capital first letter. The drawing primitives, the dates and the determinism of the output are in
`services.documents.layout`; the paper conversion of an electronic document is in
`services.documents.conversion`.

What the slips' QR carries (:func:`qr_payload`) is the dossier's lookup URL::

    <lookup base>/tra-cuu/<dossier code>#s=<lookup secret>&tt=<procedure code>&nd=<applicant id>

``s`` is the dossier's secret lookup token (the second factor that only the printed QR carries),
``tt`` the procedure code (mã thủ tục), ``nd`` the applicant's identifier (số định danh; left out
when the dossier has none). They travel in the URL's *fragment*: a browser never sends a fragment
to a server, so neither the secret nor the personal identifier lands in an access log or a proxy's
log, while a scanner app reads the whole text. The lookup page answers the same without them.
:func:`lookup_url` builds exactly that. A caller may pass any URL as ``SlipDossier.lookup_url``;
:func:`qr_payload` then adds to its fragment what Circular 01/2023 requires the QR to carry and the
URL lacks: ``tt`` and ``nd`` as above, and ``ma=<dossier code>`` if the code is not in the path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from fpdf import FPDF

from services.documents.layout import (
    A4,
    A5,
    FIXED_DATE,
    PdfDocument,
    cell_moment,
    centered_code_line,
    code_block,
    date_text,
    draw_title,
    field_line,
    moment_text,
    numbered_list,
    paragraph,
    signature_blocks,
    slip_header,
    table,
)
from services.dossiers import workflow

__all__ = [
    "BookRow",
    "SlipComponent",
    "SlipDossier",
    "TrailRow",
    "apology",
    "completion_request",
    "control_slip",
    "lookup_url",
    "qr_payload",
    "receipt",
    "refusal_of_receipt",
    "tracking_book",
]


def _sentence_case(label: str) -> str:
    return label[:1].upper() + label[1:]


PUNCTUALITY_LABELS = {"EARLY": "Trước hạn", "ON_TIME": "Đúng hạn", "LATE": "Quá hạn"}
STATUS_LABELS = {status.value: _sentence_case(label) for status, label in workflow.STATUS_LABELS.items()}
ACTION_LABELS = {action: _sentence_case(label) for action, label in workflow.ACTION_LABELS.items()}

COPY_TYPE_LABELS = {
    "ORIGINAL": "Bản chính",
    "COPY": "Bản sao",
    "CERTIFIED_COPY": "Bản sao chứng thực",
    "ORIGINAL_OR_COPY": "Bản chính hoặc bản sao",
}


# --------------------------------------------------------------------------------------------
# Inputs


@dataclass(frozen=True)
class SlipDossier:
    """What every slip prints about a dossier."""

    code: str
    procedure_code: str
    procedure_name: str
    applicant_name: str
    applicant_id: str | None
    applicant_address: str | None
    applicant_phone: str | None
    agency_name: str
    received_at: datetime | None
    appointment_at: datetime | None
    lookup_url: str  # full URL for the QR; see the module docstring and `lookup_url()`


@dataclass(frozen=True)
class SlipComponent:
    """One component of the dossier as received (form 01's table)."""

    name: str
    copy_type: str  # ORIGINAL | COPY | CERTIFIED_COPY | ORIGINAL_OR_COPY, or a label printed as is
    count: int


@dataclass(frozen=True)
class TrailRow:
    """One hand-over on the process control slip (form 05)."""

    at: datetime
    action: str  # a workflow action code (RECEIVE, FORWARD…) or a label printed as is
    from_party: str
    to_party: str
    step: str | None
    punctuality: str | None  # EARLY | ON_TIME | LATE, or a label printed as is
    comment: str | None


@dataclass(frozen=True)
class BookRow:
    """One dossier in the tracking book (form 06)."""

    code: str
    applicant_name: str
    procedure_name: str
    received_at: datetime | None
    appointment_at: datetime | None
    finished_at: datetime | None
    status: str  # a dossier status code (IN_PROGRESS, CLOSED…) or a label printed as is
    punctuality: str | None


# --------------------------------------------------------------------------------------------
# The QR


def lookup_url(base: str, code: str, *, secret: str, procedure_code: str, applicant_id: str | None) -> str:
    """The canonical lookup URL a slip's QR carries (see the module docstring): the secret and the
    applicant's identifier in the fragment, never in the path or the query a server logs."""
    fragment = [("s", secret), ("tt", procedure_code)]
    if applicant_id:
        fragment.append(("nd", applicant_id))
    return f"{base.rstrip('/')}/tra-cuu/{quote(code, safe='')}#{urlencode(fragment)}"


def qr_payload(d: SlipDossier) -> str:
    """What the slips' QR carries: `d.lookup_url`, its fragment completed with the dossier code
    (``ma``), the procedure code (``tt``) and the applicant's identifier (``nd``) where the URL
    lacks them."""
    if not d.lookup_url.strip():
        raise ValueError("the dossier's lookup_url is empty")
    parts = urlsplit(d.lookup_url.strip())
    present = {
        key for part in (parts.query, parts.fragment) for key, _ in parse_qsl(part, keep_blank_values=True)
    }
    extra: list[tuple[str, str]] = []
    if d.code not in unquote(parts.path) and "ma" not in present:
        extra.append(("ma", d.code))
    if "tt" not in present:
        extra.append(("tt", d.procedure_code))
    if d.applicant_id and "nd" not in present:
        extra.append(("nd", d.applicant_id))
    if not extra:
        return d.lookup_url.strip()
    fragment = f"{parts.fragment}&{urlencode(extra)}" if parts.fragment else urlencode(extra)
    return urlunsplit(parts._replace(fragment=fragment))


def _label(labels: Mapping[str, str], value: str | None) -> str:
    if value is None:
        return ""
    return labels.get(value.strip().upper(), value)


def _new_slip(d: SlipDossier, form: str, title: str, created: datetime | None) -> PdfDocument:
    return PdfDocument(
        size=A5,
        created=created or d.received_at or FIXED_DATE,
        title=f"{title} — {d.code}",
        author=d.agency_name,
        subject=f"{form} (Thông tư 01/2018/TT-VPCP) — {d.procedure_name}",
        footer_text=f"{form} · Mã hồ sơ {d.code}",
        running_header=f"{title} — Mã hồ sơ {d.code}",
    )


def _applicant_fields(pdf: FPDF, d: SlipDossier, *, lead: str) -> None:
    field_line(pdf, lead, d.applicant_name)
    if d.applicant_id:
        field_line(pdf, "Số định danh cá nhân/mã số", d.applicant_id)
    field_line(pdf, "Địa chỉ", d.applicant_address)
    field_line(pdf, "Số điện thoại", d.applicant_phone)
    field_line(pdf, "Nội dung yêu cầu giải quyết", d.procedure_name)
    field_line(pdf, "Mã thủ tục", d.procedure_code)


# --------------------------------------------------------------------------------------------
# Forms 01–06


def receipt(d: SlipDossier, components: Sequence[SlipComponent], *, officer: str, zone: ZoneInfo) -> bytes:
    """Form 01: Giấy tiếp nhận hồ sơ và hẹn trả kết quả."""
    title = "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ"
    with _new_slip(d, "Mẫu số 01", title, d.received_at) as pdf:
        slip_header(pdf, d.agency_name, qr_payload(d))
        code_block(pdf, d.code)
        draw_title(pdf, title)
        centered_code_line(pdf, d.code)
        pdf.ln(2)
        field_line(pdf, "Bộ phận tiếp nhận và trả kết quả", d.agency_name)
        _applicant_fields(pdf, d, lead="Tiếp nhận hồ sơ của")
        pdf.ln(1)
        paragraph(pdf, "1. Thành phần hồ sơ nộp gồm:")
        pdf.ln(1)
        table(
            pdf,
            ["TT", "Tên loại giấy tờ", "Hình thức (bản chính, bản sao hoặc bản chụp)", "Số lượng"],
            [
                [str(i), c.name, _label(COPY_TYPE_LABELS, c.copy_type), f"{c.count:02d}"]
                for i, c in enumerate(components, start=1)
            ],
            [8, 68, 38, 14],
            ["CENTER", "LEFT", "LEFT", "CENTER"],
            size=7.5,
            line_height=3.6,
        )
        pdf.ln(2)
        field_line(pdf, "2. Số lượng hồ sơ", "01 (bộ)")
        field_line(pdf, "3. Thời gian nhận hồ sơ", moment_text(d.received_at, zone))
        field_line(pdf, "4. Thời gian trả kết quả giải quyết hồ sơ", moment_text(d.appointment_at, zone))
        paragraph(
            pdf,
            "Tra cứu tình trạng hồ sơ bằng mã hồ sơ trên Cổng dịch vụ công, hoặc quét mã QR ở góc trên "
            "bên trái phiếu này.",
            size=7.5,
            line=3.6,
        )
        signature_blocks(
            pdf,
            [
                ("NGƯỜI NỘP HỒ SƠ", "(Ký và ghi rõ họ tên)", d.applicant_name),
                ("NGƯỜI TIẾP NHẬN HỒ SƠ", "(Ký và ghi rõ họ tên)", officer),
            ],
        )
        return pdf.finish()


def completion_request(
    d: SlipDossier, items: Sequence[str], *, officer: str, at: datetime, zone: ZoneInfo
) -> bytes:
    """Form 02: Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ — every item to complete, at once."""
    title = "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ"
    with _new_slip(d, "Mẫu số 02", title, at) as pdf:
        slip_header(pdf, d.agency_name, qr_payload(d), dated=date_text(at, zone).capitalize())
        code_block(pdf, d.code)
        draw_title(pdf, title)
        centered_code_line(pdf, d.code)
        pdf.ln(2)
        field_line(pdf, "Hồ sơ của", d.applicant_name)
        if d.applicant_id:
            field_line(pdf, "Số định danh cá nhân/mã số", d.applicant_id)
        field_line(pdf, "Nội dung yêu cầu giải quyết", d.procedure_name)
        field_line(pdf, "Mã thủ tục", d.procedure_code)
        pdf.ln(1)
        paragraph(
            pdf,
            "Sau khi xem xét thành phần hồ sơ, đối chiếu với các quy định hiện hành, Bộ phận tiếp nhận và "
            f"trả kết quả — {d.agency_name} yêu cầu Ông/Bà bổ sung, hoàn thiện hồ sơ gồm những nội dung "
            "sau:",
        )
        numbered_list(pdf, items)
        pdf.ln(1)
        paragraph(
            pdf,
            "Trong quá trình hoàn thiện hồ sơ, nếu có vướng mắc, Ông/Bà liên hệ với "
            f"{officer} — {d.agency_name} để được hướng dẫn.",
        )
        signature_blocks(pdf, [("NGƯỜI HƯỚNG DẪN", "(Ký và ghi rõ họ tên)", officer)])
        return pdf.finish()


def refusal_of_receipt(
    d: SlipDossier, reasons: Sequence[str], *, officer: str, at: datetime, zone: ZoneInfo
) -> bytes:
    """Form 03: Phiếu từ chối tiếp nhận giải quyết hồ sơ, with the reasons."""
    title = "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ"
    with _new_slip(d, "Mẫu số 03", title, at) as pdf:
        slip_header(pdf, d.agency_name, qr_payload(d), dated=date_text(at, zone).capitalize())
        code_block(pdf, d.code)
        draw_title(pdf, title)
        centered_code_line(pdf, d.code)
        pdf.ln(2)
        field_line(pdf, "Bộ phận tiếp nhận và trả kết quả", d.agency_name)
        _applicant_fields(pdf, d, lead="Tiếp nhận hồ sơ của")
        pdf.ln(1)
        paragraph(
            pdf,
            "Qua xem xét, Bộ phận tiếp nhận và trả kết quả thông báo không tiếp nhận, giải quyết hồ sơ "
            "này với lý do cụ thể như sau:",
        )
        numbered_list(pdf, reasons)
        pdf.ln(1)
        paragraph(pdf, "Xin thông báo cho Ông/Bà được biết và thực hiện./.")
        signature_blocks(pdf, [("NGƯỜI TIẾP NHẬN HỒ SƠ", "(Ký và ghi rõ họ tên)", officer)])
        return pdf.finish()


def apology(
    d: SlipDossier, reason: str, new_appointment: datetime, *, signer: str, at: datetime, zone: ZoneInfo
) -> bytes:
    """Form 04: Phiếu xin lỗi và hẹn lại ngày trả kết quả."""
    title = "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ"
    with _new_slip(d, "Mẫu số 04", title, at) as pdf:
        slip_header(pdf, d.agency_name, qr_payload(d), dated=date_text(at, zone).capitalize())
        code_block(pdf, d.code)
        draw_title(pdf, title)
        pdf.ln(1)
        field_line(pdf, "Kính gửi", d.applicant_name)
        pdf.ln(1)
        paragraph(
            pdf,
            f"{d.agency_name} đã tiếp nhận hồ sơ của Ông/Bà đề nghị giải quyết thủ tục hành chính: "
            f"{d.procedure_name} (mã thủ tục {d.procedure_code}).",
        )
        field_line(pdf, "Mã hồ sơ", d.code)
        field_line(pdf, "Thời gian hẹn trả kết quả", moment_text(d.appointment_at, zone))
        paragraph(
            pdf,
            f"Tuy nhiên đến nay, {d.agency_name} chưa trả kết quả giải quyết hồ sơ của Ông/Bà đúng hẹn "
            "ghi trong Giấy tiếp nhận hồ sơ và hẹn trả kết quả.",
        )
        field_line(pdf, "Lý do", reason)
        paragraph(
            pdf,
            f"Sự chậm trễ này đã gây phiền hà, tốn kém chi phí, công sức của Ông/Bà. {d.agency_name} xin "
            "lỗi Ông/Bà và sẽ trả kết quả giải quyết hồ sơ cho Ông/Bà vào:",
        )
        paragraph(pdf, moment_text(new_appointment, zone), style="B", align="C")
        paragraph(pdf, "Xin trân trọng cảm ơn sự hợp tác của Ông/Bà./.")
        signature_blocks(pdf, [("THỦ TRƯỞNG CƠ QUAN", "(Ký, ghi rõ họ tên và đóng dấu)", signer)])
        return pdf.finish()


def control_slip(d: SlipDossier, rows: Sequence[TrailRow], *, zone: ZoneInfo) -> bytes:
    """Form 05: Phiếu kiểm soát quá trình giải quyết hồ sơ — one row per hand-over, with room
    for the signatures of who handed the dossier over and who took it; as many pages as needed."""
    title = "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ"
    last = max((r.at for r in rows), default=None)
    with _new_slip(d, "Mẫu số 05", title, last) as pdf:
        slip_header(pdf, d.agency_name, qr_payload(d))
        code_block(pdf, d.code)
        draw_title(pdf, title)
        centered_code_line(pdf, d.code)
        pdf.ln(2)
        field_line(pdf, "Kèm theo hồ sơ của", d.applicant_name)
        field_line(pdf, "Nội dung yêu cầu giải quyết", d.procedure_name)
        field_line(pdf, "Cơ quan tiếp nhận", d.agency_name)
        field_line(pdf, "Thời gian nhận hồ sơ", moment_text(d.received_at, zone))
        field_line(pdf, "Thời gian hẹn trả kết quả", moment_text(d.appointment_at, zone))
        pdf.ln(2)
        body: list[list[str]] = []
        for i, r in enumerate(rows, start=1):
            content = [_label(ACTION_LABELS, r.action)]
            if r.step:
                content.append(f"Bước: {r.step}")
            if r.comment:
                content.append(f"Ý kiến: {r.comment}")
            body.append(
                [
                    str(i),
                    cell_moment(r.at, zone),
                    r.from_party,
                    r.to_party,
                    "\n".join(content),
                    _label(PUNCTUALITY_LABELS, r.punctuality),
                    "",
                    "",
                ]
            )
        table(
            pdf,
            [
                "TT",
                "Thời gian giao, nhận",
                "Bên giao",
                "Bên nhận",
                "Nội dung",
                "Trước/ đúng/ quá hạn",
                "Người giao ký",
                "Người nhận ký",
            ],
            body,
            [6, 19, 20, 20, 25, 14, 12, 12],
            ["CENTER", "LEFT", "LEFT", "LEFT", "LEFT", "CENTER", "CENTER", "CENTER"],
            size=6.3,
            line_height=3.0,
            min_row_height=11.0,
        )
        return pdf.finish()


def tracking_book(agency_name: str, period: str, rows: Sequence[BookRow], *, zone: ZoneInfo) -> bytes:
    """Form 06: Sổ theo dõi hồ sơ of an agency for a period — A4 landscape, the table's heading
    repeated on every page."""
    title = "SỔ THEO DÕI HỒ SƠ"
    moments = [m for r in rows for m in (r.received_at, r.appointment_at, r.finished_at) if m is not None]
    with PdfDocument(
        size=A4,
        landscape=True,
        created=max(moments, default=FIXED_DATE),
        title=f"{title} — {agency_name} — {period}",
        author=agency_name,
        subject="Mẫu số 06 (Thông tư 01/2018/TT-VPCP)",
        footer_text=f"Mẫu số 06 · Sổ theo dõi hồ sơ · {agency_name} · {period}",
        running_header=f"{title} — {agency_name} — {period}",
    ) as pdf:
        slip_header(pdf, agency_name, None)
        draw_title(pdf, title)
        paragraph(pdf, f"Kỳ: {period}", align="C")
        pdf.ln(2)
        body = [
            [
                str(i),
                r.code,
                r.procedure_name,
                r.applicant_name,
                cell_moment(r.received_at, zone),
                cell_moment(r.appointment_at, zone),
                cell_moment(r.finished_at, zone),
                _label(STATUS_LABELS, r.status),
                _label(PUNCTUALITY_LABELS, r.punctuality),
                "",
            ]
            for i, r in enumerate(rows, start=1)
        ]
        table(
            pdf,
            [
                "STT",
                "Mã hồ sơ",
                "Tên thủ tục hành chính",
                "Tên cá nhân, tổ chức",
                "Nhận hồ sơ",
                "Hẹn trả kết quả",
                "Có kết quả / trả kết quả",
                "Tình trạng",
                "Kết quả (trước/ đúng/ quá hạn)",
                "Ghi chú",
            ],
            body,
            [10, 40, 62, 38, 22, 22, 22, 25, 20, 16],
            ["CENTER", "LEFT", "LEFT", "LEFT", "CENTER", "CENTER", "CENTER", "LEFT", "CENTER", "LEFT"],
            size=7.0,
            line_height=3.3,
        )
        counts = {key: 0 for key in PUNCTUALITY_LABELS}
        for r in rows:
            key = (r.punctuality or "").strip().upper()
            if key in counts:
                counts[key] += 1
        pdf.ln(2)
        summary = "; ".join(f"{PUNCTUALITY_LABELS[k].lower()}: {v}" for k, v in counts.items())
        paragraph(pdf, f"Tổng số: {len(rows)} hồ sơ ({summary}).")
        return pdf.finish()
