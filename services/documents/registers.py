"""The two registers among the official forms: the process control slip (phiếu kiểm soát quá trình
giải quyết hồ sơ — form 05 of Circular 01/2018, 06 of Circular 03/2025; A5, one row per
hand-over, as many pages as needed) and the tracking book (sổ theo dõi hồ sơ — form 06, resp. 07;
A4 landscape, the table's heading repeated on every page). See `services.documents.slips` for the
inputs and `services.documents.forms` for the templates.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from services.documents.forms import FormKind, FormTemplate
from services.documents.layout import (
    A4,
    FIXED_DATE,
    PdfDocument,
    cell_moment,
    centered_code_line,
    code_block,
    draw_title,
    field_line,
    moment_text,
    paragraph,
    slip_header,
    table,
)
from services.documents.slips import (
    ACTION_LABELS,
    PUNCTUALITY_LABELS,
    STATUS_LABELS,
    BookRow,
    SlipDossier,
    TrailRow,
    label_of,
    new_slip,
    qr_payload,
    template_for,
)

__all__ = ["control_slip", "tracking_book"]


def control_slip(
    d: SlipDossier, rows: Sequence[TrailRow], *, zone: ZoneInfo, form: FormTemplate | None = None
) -> bytes:
    """Phiếu kiểm soát quá trình giải quyết hồ sơ — one row per hand-over: the agencies (who hands
    over, who takes), when, what, early/on time/late, and room for both signatures."""
    template = form or template_for(FormKind.CONTROL_SLIP, d.received_at, zone)
    last = max((r.at for r in rows), default=None)
    with new_slip(d, template, last) as pdf:
        slip_header(pdf, d.agency_name, qr_payload(d))
        code_block(pdf, d.code)
        draw_title(pdf, template.title)
        centered_code_line(pdf, d.code)
        pdf.ln(2)
        field_line(pdf, "Kèm theo hồ sơ của", d.applicant_name)
        field_line(pdf, "Nội dung yêu cầu giải quyết", d.procedure_name)
        field_line(pdf, "Cơ quan tiếp nhận", d.agency_name)
        field_line(pdf, "Cơ quan (bộ phận) giải quyết hồ sơ", d.lead_agency)
        field_line(pdf, "Cơ quan phối hợp giải quyết hồ sơ", ", ".join(d.partner_agencies) or "Không")
        field_line(pdf, "Thời gian nhận hồ sơ", moment_text(d.received_at, zone))
        field_line(pdf, "Thời gian hẹn trả kết quả", moment_text(d.appointment_at, zone))
        pdf.ln(2)
        body: list[list[str]] = []
        for i, r in enumerate(rows, start=1):
            content = [label_of(ACTION_LABELS, r.action)]
            if r.step:
                content.append(f"Bước: {r.step}")
            if r.comment:
                content.append(f"Ý kiến: {r.comment}")
            body.append(
                [
                    str(i),
                    f"Bên giao: {r.from_party}\nBên nhận: {r.to_party}",
                    cell_moment(r.at, zone),
                    "\n".join(content),
                    label_of(PUNCTUALITY_LABELS, r.punctuality),
                    "",
                    "",
                    "",
                ]
            )
        table(
            pdf,
            [
                "TT",
                "TÊN CƠ QUAN",
                "THỜI GIAN GIAO, NHẬN HỒ SƠ",
                "Nội dung",
                "KẾT QUẢ GIẢI QUYẾT HỒ SƠ (Trước hạn/đúng hạn/quá hạn)",
                "Người giao ký",
                "Người nhận ký",
                "GHI CHÚ",
            ],
            body,
            [6, 32, 17, 25, 17, 11, 11, 9],
            ["CENTER", "LEFT", "LEFT", "LEFT", "CENTER", "CENTER", "CENTER", "LEFT"],
            size=5.8,
            line_height=2.8,
            min_row_height=11.0,
        )
        return pdf.finish()


def _address_phone(r: BookRow) -> str:
    return "\n".join(part for part in (r.applicant_address, r.applicant_phone) if part)


def _handovers(r: BookRow, zone: ZoneInfo) -> str:
    return "\n".join(f"{to} ({at.astimezone(zone):%d/%m/%Y})" for at, to in r.handovers)


def _returned(r: BookRow, zone: ZoneInfo) -> str:
    if r.finished_at is None:
        return ""
    moment = cell_moment(r.finished_at, zone)
    return f"{moment}\n{r.returned_to}" if r.returned_to else moment


# The tracking book's columns (their headings are the template's fields, in order): widths in mm
# and alignments.
_BOOK_WIDTHS = [8, 35, 28, 10, 24, 26, 23, 16, 16, 27, 16, 18, 12, 18]
_BOOK_ALIGN = (
    ["CENTER", "LEFT", "LEFT", "CENTER", "LEFT", "LEFT", "LEFT"]
    + ["CENTER"] * 2
    + ["LEFT"]
    + ["CENTER"] * 3
    + ["LEFT"]
)


def _book_row(number: int, r: BookRow, zone: ZoneInfo) -> list[str]:
    """One line of the book, in the template's column order."""
    judged = (label_of(STATUS_LABELS, r.status), label_of(PUNCTUALITY_LABELS, r.punctuality))
    return [
        str(number),
        r.code,
        r.procedure_name,
        f"{r.count:02d}",
        r.applicant_name,
        _address_phone(r),
        r.lead_agency or "",
        cell_moment(r.received_at, zone),
        cell_moment(r.appointment_at, zone),
        _handovers(r, zone),
        cell_moment(r.result_at, zone),
        _returned(r, zone),
        "",  # ký nhận: signed on paper
        "\n".join(x for x in judged if x),
    ]


def _book_summary(rows: Sequence[BookRow]) -> str:
    """«Tổng số: n hồ sơ (trước hạn: a; đúng hạn: b; quá hạn: c).»"""
    counts = {key: 0 for key in PUNCTUALITY_LABELS}
    for r in rows:
        key = (r.punctuality or "").strip().upper()
        if key in counts:
            counts[key] += 1
    summary = "; ".join(f"{PUNCTUALITY_LABELS[k].lower()}: {v}" for k, v in counts.items())
    return f"Tổng số: {len(rows)} hồ sơ ({summary})."


def tracking_book(
    agency_name: str,
    period: str,
    rows: Sequence[BookRow],
    *,
    zone: ZoneInfo,
    form: FormTemplate | None = None,
    kept_at: datetime | None = None,
) -> bytes:
    """Sổ theo dõi hồ sơ of an agency for a period: the template is the one in force at `kept_at`
    (default: the latest reception listed)."""
    moments = [m for r in rows for m in (r.received_at, r.appointment_at, r.finished_at) if m is not None]
    latest = max(moments, default=FIXED_DATE)
    template = form or template_for(FormKind.TRACKING_BOOK, kept_at or latest, zone)
    headings = list(template.fields)
    assert len(headings) == len(_BOOK_WIDTHS), f"{template.label}: a width for each column"
    title = template.title
    with PdfDocument(
        size=A4,
        landscape=True,
        created=latest,
        title=f"{title} — {agency_name} — {period}",
        author=agency_name,
        subject=f"{template.label} ({template.circular})",
        footer_text=f"{template.label} · Sổ theo dõi hồ sơ · {agency_name} · {period}",
        running_header=f"{title} — {agency_name} — {period}",
    ) as pdf:
        slip_header(pdf, agency_name, None)
        draw_title(pdf, title)
        paragraph(pdf, f"Kỳ: {period}", align="C")
        pdf.ln(2)
        body = [_book_row(i, r, zone) for i, r in enumerate(rows, start=1)]
        table(pdf, headings, body, _BOOK_WIDTHS, _BOOK_ALIGN, size=6.0, line_height=2.9)
        pdf.ln(2)
        paragraph(pdf, _book_summary(rows))
        return pdf.finish()
