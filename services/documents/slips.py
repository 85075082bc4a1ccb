"""The official slips of a dossier, rendered as PDF from the form set it was received under
(`services.documents.forms`: Circular 01/2018/TT-VPCP's six forms before 15 September 2025,
Circular 03/2025/TT-VPCP's seven from that day).

- 01 Giấy tiếp nhận hồ sơ và hẹn trả kết quả — :func:`receipt`
- 02 Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ — :func:`completion_request`
- 03 Phiếu từ chối tiếp nhận giải quyết hồ sơ — :func:`refusal_of_receipt`
- 04 Phiếu xin lỗi và hẹn lại ngày trả kết quả (03/2025: văn bản xin lỗi và đề nghị gia hạn thời
  gian giải quyết) — :func:`apology`
- 05 (03/2025 only) Thông báo dừng giải quyết hồ sơ — :func:`stop_notice`
- 05/06 Phiếu kiểm soát quá trình giải quyết hồ sơ and 06/07 Sổ theo dõi hồ sơ — in
  `services.documents.registers`

Each renderer takes the form's template (`forms.FormTemplate`); left out, the template is the one
of the set in force on the dossier's reception date. The template gives the number and title
printed; the renderer prints every field the template lists (checked by tests/test_forms.py).

The A5 slips carry the national motto, the issuing agency, the dossier code in print and as a
Code 39 barcode (for the scanners at counters and kiosks), and a QR code (ISO/IEC 18004) at the
top-left corner. The drawing primitives, the dates and the determinism of the output are in
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

from services.documents import forms
from services.documents.forms import FormKind, FormTemplate
from services.documents.layout import (
    A5,
    BLANK,
    BODY_SIZE,
    FIXED_DATE,
    LINE_HEIGHT,
    PdfDocument,
    centered_code_line,
    code_block,
    date_text,
    draw_title,
    field_line,
    field_pair,
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
    "Signer",
    "SlipComponent",
    "SlipDossier",
    "TrailRow",
    "apology",
    "completion_request",
    "lookup_url",
    "qr_payload",
    "receipt",
    "refusal_of_receipt",
    "stop_notice",
    "template_for",
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
    applicant_email: str | None = None
    processing_time: str | None = None  # form 01: the statutory time, e.g. "05 ngày làm việc"
    result_place: str | None = None  # form 01: where (how) the result will be collected
    book_volume: str | None = None  # form 01: the tracking book's volume (quyển số)
    book_number: str | None = None  # form 01: the dossier's number in that volume (số thứ tự)
    contact_phone: str | None = None  # form 02: the phone number of the one who guides
    lead_agency: str | None = None  # form 05/06: the agency settling the dossier
    partner_agencies: tuple[str, ...] = ()  # form 05/06: the agencies taking part


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
class Signer:
    """Who signs a letter (forms 04 and 05 of Circular 03/2025): the agency issuing it, the
    signature block's title, and the name (None: signed by hand)."""

    agency: str
    title: str = "THỦ TRƯỞNG CƠ QUAN, ĐƠN VỊ"
    name: str | None = None


@dataclass(frozen=True)
class BookRow:
    """One dossier in the tracking book (form 06/07)."""

    code: str
    applicant_name: str
    procedure_name: str
    received_at: datetime | None
    appointment_at: datetime | None
    finished_at: datetime | None
    status: str  # a dossier status code (IN_PROGRESS, CLOSED…) or a label printed as is
    punctuality: str | None
    applicant_address: str | None = None
    applicant_phone: str | None = None
    lead_agency: str | None = None  # cơ quan chủ trì giải quyết
    count: int = 1  # số lượng hồ sơ (bộ)
    handovers: tuple[tuple[datetime, str], ...] = ()  # chuyển hồ sơ đến cơ quan giải quyết: (when, to whom)
    result_at: datetime | None = None  # có kết quả
    returned_to: str | None = None  # trả kết quả: who it was handed over to (signs for it)


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


def label_of(labels: Mapping[str, str], value: str | None) -> str:
    if value is None:
        return ""
    return labels.get(value.strip().upper(), value)


def template_for(kind: FormKind, received_at: datetime | None, zone: ZoneInfo) -> FormTemplate:
    """The form of `kind` in the set in force on the local date of `received_at` (today's set
    when the dossier has no date yet); ValueError if that set has no such form."""
    day = (received_at or datetime.now(zone)).astimezone(zone).date()
    form_set = forms.set_on(day)
    template = form_set.form(kind)
    if template is None:
        raise ValueError(f"{form_set.circular} has no form {kind.value}")
    return template


def new_slip(d: SlipDossier, form: FormTemplate, created: datetime | None) -> PdfDocument:
    return PdfDocument(
        size=A5,
        created=created or d.received_at or FIXED_DATE,
        title=f"{form.title} — {d.code}",
        author=d.agency_name,
        subject=f"{form.label} ({form.circular}) — {d.procedure_name}",
        footer_text=f"{form.label} · Mã hồ sơ {d.code}",
        running_header=f"{form.title} — Mã hồ sơ {d.code}",
    )


def _form(kind: FormKind, given: FormTemplate | None, d: SlipDossier, zone: ZoneInfo) -> FormTemplate:
    return given or template_for(kind, d.received_at, zone)


def _applicant_fields(pdf: FPDF, d: SlipDossier, *, lead: str, size: float = BODY_SIZE) -> None:
    line = LINE_HEIGHT * size / BODY_SIZE
    field_line(pdf, lead, d.applicant_name, size=size, line=line)
    if d.applicant_id:
        field_line(pdf, "Số định danh cá nhân/mã số", d.applicant_id, size=size, line=line)
    field_line(pdf, "Địa chỉ", d.applicant_address, size=size, line=line)
    field_pair(pdf, ("Số điện thoại", d.applicant_phone), ("Email", d.applicant_email), size=size)
    field_line(pdf, "Nội dung yêu cầu giải quyết", d.procedure_name, size=size, line=line)
    field_line(pdf, "Mã thủ tục", d.procedure_code, size=size, line=line)


# --------------------------------------------------------------------------------------------
# Forms 01–05


def receipt(
    d: SlipDossier,
    components: Sequence[SlipComponent],
    *,
    officer: str,
    zone: ZoneInfo,
    form: FormTemplate | None = None,
) -> bytes:
    """Form 01: Giấy tiếp nhận hồ sơ và hẹn trả kết quả."""
    template = _form(FormKind.RECEIPT, form, d, zone)
    with new_slip(d, template, d.received_at) as pdf:
        slip_header(pdf, d.agency_name, qr_payload(d))
        code_block(pdf, d.code)
        draw_title(pdf, template.title)
        centered_code_line(pdf, d.code)
        pdf.ln(2)
        field_line(pdf, "Bộ phận tiếp nhận và trả kết quả", d.agency_name, size=8.0, line=3.9)
        _applicant_fields(pdf, d, lead="Tiếp nhận hồ sơ của", size=8.0)
        paragraph(pdf, "1. Thành phần hồ sơ nộp gồm:")
        pdf.ln(1)
        table(
            pdf,
            ["TT", "Tên loại giấy tờ", "Hình thức (bản chính, bản sao hoặc bản chụp)", "Số lượng"],
            [
                [str(i), c.name, label_of(COPY_TYPE_LABELS, c.copy_type), f"{c.count:02d}"]
                for i, c in enumerate(components, start=1)
            ],
            [8, 68, 38, 14],
            ["CENTER", "LEFT", "LEFT", "CENTER"],
            size=7.5,
            line_height=3.6,
        )
        pdf.ln(1)
        items = [
            ("2. Số lượng hồ sơ", "01 (bộ)"),
            ("3. Thời gian giải quyết hồ sơ theo quy định là", d.processing_time),
            ("4. Thời gian nhận hồ sơ", moment_text(d.received_at, zone)),
            ("5. Thời gian trả kết quả giải quyết hồ sơ", moment_text(d.appointment_at, zone)),
            ("6. Đăng ký nhận kết quả tại", d.result_place),
        ]
        for label, value in items:
            field_line(pdf, label, value, size=8.0, line=3.9)
        book = f"{d.book_volume or BLANK}; Số thứ tự: {d.book_number or BLANK}"
        field_line(pdf, "Vào Sổ theo dõi hồ sơ, Quyển số", book, size=8.0, line=3.9)
        paragraph(
            pdf,
            "Tra cứu hồ sơ: mã hồ sơ trên Cổng dịch vụ công, hoặc mã QR ở góc trên bên trái.",
            size=7.0,
            line=3.4,
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
    d: SlipDossier,
    items: Sequence[str],
    *,
    officer: str,
    at: datetime,
    zone: ZoneInfo,
    form: FormTemplate | None = None,
) -> bytes:
    """Form 02: Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ — every item to complete, at once."""
    template = _form(FormKind.COMPLETION_REQUEST, form, d, zone)
    with new_slip(d, template, at) as pdf:
        slip_header(pdf, d.agency_name, qr_payload(d), dated=date_text(at, zone).capitalize())
        code_block(pdf, d.code)
        draw_title(pdf, template.title)
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
        phone = d.contact_phone or "........"
        paragraph(
            pdf,
            "Trong quá trình hoàn thiện hồ sơ, nếu có vướng mắc, Ông/Bà liên hệ với "
            f"{officer} — {d.agency_name}, số điện thoại {phone} để được hướng dẫn.",
        )
        signature_blocks(pdf, [("NGƯỜI HƯỚNG DẪN", "(Ký và ghi rõ họ tên)", officer)])
        return pdf.finish()


def refusal_of_receipt(
    d: SlipDossier,
    reasons: Sequence[str],
    *,
    officer: str,
    at: datetime,
    zone: ZoneInfo,
    form: FormTemplate | None = None,
) -> bytes:
    """Form 03: Phiếu từ chối tiếp nhận giải quyết hồ sơ, with the reasons."""
    template = _form(FormKind.REFUSAL, form, d, zone)
    with new_slip(d, template, at) as pdf:
        slip_header(pdf, d.agency_name, qr_payload(d), dated=date_text(at, zone).capitalize())
        code_block(pdf, d.code)
        draw_title(pdf, template.title)
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
    d: SlipDossier,
    reason: str,
    new_appointment: datetime,
    *,
    signer: Signer | str,
    at: datetime,
    zone: ZoneInfo,
    form: FormTemplate | None = None,
) -> bytes:
    """Form 04: Phiếu xin lỗi và hẹn lại ngày trả kết quả (Circular 01/2018), or Văn bản xin lỗi
    và đề nghị gia hạn thời gian giải quyết (Circular 03/2025): the reason and the new date,
    issued and signed by the agency that caused the delay (`signer`; a bare name signs for the
    dossier's agency)."""
    template = _form(FormKind.APOLOGY, form, d, zone)
    who = signer if isinstance(signer, Signer) else Signer(agency=d.agency_name, name=signer)
    issuer = who.agency
    extension = template.title.startswith("VĂN BẢN")
    with new_slip(d, template, at) as pdf:
        slip_header(pdf, issuer, qr_payload(d), dated=date_text(at, zone).capitalize())
        code_block(pdf, d.code)
        draw_title(pdf, template.title)
        pdf.ln(1)
        field_line(pdf, "Kính gửi", d.applicant_name)
        pdf.ln(1)
        paragraph(
            pdf,
            f"{_sentence_case(date_text(d.received_at, zone))}, {d.agency_name} đã tiếp nhận hồ sơ của "
            f"Ông/Bà đề nghị giải quyết thủ tục hành chính: {d.procedure_name} (mã thủ tục "
            f"{d.procedure_code}).",
        )
        field_line(pdf, "Mã hồ sơ", d.code)
        field_line(pdf, "Thời gian hẹn trả kết quả giải quyết hồ sơ", moment_text(d.appointment_at, zone))
        paragraph(
            pdf,
            f"Tuy nhiên đến nay, {issuer} chưa trả kết quả giải quyết hồ sơ của Ông/Bà đúng hẹn ghi trong "
            "Giấy tiếp nhận hồ sơ và hẹn trả kết quả.",
        )
        field_line(pdf, "Lý do", reason)
        promise = (
            "xin lỗi Ông/Bà và đề nghị gia hạn thời gian giải quyết hồ sơ đến:"
            if extension
            else "xin lỗi Ông/Bà và sẽ trả kết quả giải quyết hồ sơ cho Ông/Bà vào:"
        )
        paragraph(
            pdf, f"Sự chậm trễ này đã gây phiền hà, tốn kém chi phí, công sức của Ông/Bà. {issuer} {promise}"
        )
        paragraph(pdf, moment_text(new_appointment, zone), style="B", align="C")
        paragraph(pdf, "Xin trân trọng cảm ơn sự hợp tác của Ông/Bà./.")
        signature_blocks(pdf, [(who.title, f"(Ký, ghi rõ họ tên và đóng dấu)\n{issuer}", who.name or "")])
        return pdf.finish()


def stop_notice(
    d: SlipDossier,
    reason: str,
    stopped_at: datetime,
    *,
    signer: Signer,
    zone: ZoneInfo,
    form: FormTemplate | None = None,
) -> bytes:
    """Form 05 of Circular 03/2025: Thông báo dừng giải quyết hồ sơ — issued when a dossier is
    withdrawn or its processing is stopped, with the reason and the moment."""
    template = _form(FormKind.STOP_NOTICE, form, d, zone)
    with new_slip(d, template, stopped_at) as pdf:
        slip_header(pdf, signer.agency, qr_payload(d), dated=date_text(stopped_at, zone).capitalize())
        code_block(pdf, d.code)
        draw_title(pdf, template.title)
        pdf.ln(1)
        field_line(pdf, "Kính gửi", d.applicant_name)
        field_line(pdf, "Mã hồ sơ", d.code)
        field_line(pdf, "Nội dung yêu cầu giải quyết", d.procedure_name)
        field_line(pdf, "Thời gian nhận hồ sơ", moment_text(d.received_at, zone))
        pdf.ln(1)
        paragraph(pdf, f"{signer.agency} thông báo dừng giải quyết hồ sơ của Ông/Bà.")
        field_line(pdf, "Lý do", reason)
        field_line(pdf, "Thời điểm dừng giải quyết", moment_text(stopped_at, zone))
        paragraph(pdf, "Xin thông báo cho Ông/Bà được biết./.")
        signature_blocks(
            pdf, [(signer.title, f"(Ký, ghi rõ họ tên và đóng dấu)\n{signer.agency}", signer.name or "")]
        )
        return pdf.finish()
