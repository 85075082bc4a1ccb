"""The official slips of Circular 01/2018/TT-VPCP and the paper conversion of an electronic
document, rendered as PDF.

Forms (Circular 01/2018/TT-VPCP, appendix; QR code per Circular 01/2023/TT-VPCP):

- 01 Giấy tiếp nhận hồ sơ và hẹn trả kết quả — :func:`receipt`
- 02 Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ — :func:`completion_request`
- 03 Phiếu từ chối tiếp nhận giải quyết hồ sơ — :func:`refusal_of_receipt`
- 04 Phiếu xin lỗi và hẹn lại ngày trả kết quả — :func:`apology`
- 05 Phiếu kiểm soát quá trình giải quyết hồ sơ — :func:`control_slip`
- 06 Sổ theo dõi hồ sơ — :func:`tracking_book`

plus the paper converted from an electronic document (Decree 45/2020/NĐ-CP art. 18) —
:func:`conversion`.

Forms 01–05 are A5 portrait; each carries the national motto, the issuing agency, the dossier code
in print and as a Code 39 barcode (for the scanners at counters and kiosks), and a QR code
(ISO/IEC 18004) at the top-left corner. Form 06 and the conversion are A4 (06 landscape).

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

Dates are printed the Vietnamese way in the given zone ("09 giờ 30 phút, ngày 27 tháng 11 năm
2026"); every datetime must be timezone-aware. The output is deterministic: the PDF creation date
is the document's own moment (reception, issue, conversion, last event…), never the clock, so the
same input gives the same bytes. Fonts (DejaVu Sans, Vietnamese glyphs) are embedded as subsets.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import segno
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace, TTFFont

__all__ = [
    "BookRow",
    "Conversion",
    "SlipComponent",
    "SlipDossier",
    "TrailRow",
    "apology",
    "completion_request",
    "control_slip",
    "conversion",
    "lookup_url",
    "qr_payload",
    "receipt",
    "refusal_of_receipt",
    "tracking_book",
]

FONT_DIR = Path(__file__).resolve().parents[2] / "assets" / "fonts"
FAMILY = "DejaVu"
CREATOR = "Hệ thống thông tin giải quyết thủ tục hành chính"

A5 = (148.0, 210.0)  # mm, portrait (a tuple: fpdf2 warns about its own "a5" name)
A4 = (210.0, 297.0)  # mm, portrait; landscape by orientation

MOTTO = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO_2 = "Độc lập - Tự do - Hạnh phúc"
CONVERSION_MARK = "BẢN CHUYỂN ĐỔI TỪ VĂN BẢN ĐIỆN TỬ"

# When a document has no moment of its own to stamp as its creation date.
_FIXED_DATE = datetime(2018, 11, 12, tzinfo=UTC)  # the date of Circular 01/2018/TT-VPCP

_BODY_SIZE = 9.0
_LINE = 4.6
_BLANK = "........"

_CODE39 = re.compile(r"[0-9A-Z\-. $/+%]+")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")

PUNCTUALITY_LABELS = {"EARLY": "Trước hạn", "ON_TIME": "Đúng hạn", "LATE": "Quá hạn"}

STATUS_LABELS = {
    "DRAFT": "Đang soạn",
    "SUBMITTED": "Chờ tiếp nhận",
    "AWAITING_COMPLETION": "Chờ bổ sung, hoàn thiện",
    "IN_PROGRESS": "Đang giải quyết",
    "SUPPLEMENT_REQUESTED": "Chờ bổ sung (tạm dừng tính thời gian)",
    "RESULT_READY": "Có kết quả, chờ trả",
    "REFUSED": "Từ chối giải quyết",
    "CLOSED": "Đã trả kết quả",
    "REJECTED": "Từ chối tiếp nhận",
    "WITHDRAWN": "Đã rút hồ sơ",
}

ACTION_LABELS = {
    "SUBMIT": "Nộp hồ sơ",
    "RECEIVE": "Tiếp nhận hồ sơ",
    "REQUEST_COMPLETION": "Yêu cầu bổ sung, hoàn thiện hồ sơ",
    "REFUSE_RECEIPT": "Từ chối tiếp nhận hồ sơ",
    "RESUBMIT": "Nộp lại hồ sơ đã hoàn thiện",
    "ASSIGN": "Phân công xử lý",
    "FORWARD": "Chuyển xử lý",
    "SEND_BACK": "Trả lại bước trước",
    "REQUEST_SUPPLEMENT": "Yêu cầu bổ sung (tạm dừng tính thời gian)",
    "SUPPLEMENT": "Bổ sung hồ sơ",
    "APOLOGIZE": "Xin lỗi, hẹn lại ngày trả kết quả",
    "APPROVE": "Phê duyệt kết quả",
    "REFUSE": "Từ chối giải quyết",
    "RETURN": "Trả kết quả",
    "WITHDRAW": "Rút hồ sơ",
    "PAY": "Thanh toán phí, lệ phí trực tuyến",
    "REFUND": "Hoàn trả phí, lệ phí đã nộp trực tuyến",
}

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


@dataclass(frozen=True)
class Conversion:
    """A paper conversion of an electronic document (Decree 45/2020 art. 18)."""

    title: str
    source_system: str
    converted_by: str
    converted_at: datetime
    source_description: str
    checksum_sha256: str
    verification_code: str
    verification_url: str
    body_lines: Sequence[str]


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


# --------------------------------------------------------------------------------------------
# Text


def _t(text: str) -> str:
    """NFC (the fonts have the precomposed Vietnamese letters, not the stacking of marks), with
    tabs and stray control characters made spaces."""
    text = unicodedata.normalize("NFC", text)
    return "".join(" " if (unicodedata.category(ch) == "Cc" and ch != "\n") else ch for ch in text)


def _local(value: datetime, zone: ZoneInfo) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"a timezone-aware datetime is required, got a naive one: {value!r}")
    return value.astimezone(zone)


def moment_text(value: datetime | None, zone: ZoneInfo) -> str:
    """'09 giờ 30 phút, ngày 27 tháng 11 năm 2026' (dotted blanks to fill by hand for None)."""
    if value is None:
        return f"{_BLANK} giờ {_BLANK} phút, ngày {_BLANK} tháng {_BLANK} năm {_BLANK}"
    t = _local(value, zone)
    return f"{t:%H} giờ {t:%M} phút, ngày {t:%d} tháng {t:%m} năm {t:%Y}"


def date_text(value: datetime | None, zone: ZoneInfo) -> str:
    """'ngày 27 tháng 11 năm 2026'."""
    if value is None:
        return f"ngày {_BLANK} tháng {_BLANK} năm {_BLANK}"
    t = _local(value, zone)
    return f"ngày {t:%d} tháng {t:%m} năm {t:%Y}"


def _cell_moment(value: datetime | None, zone: ZoneInfo) -> str:
    """The short form for table cells: '09 giờ 30' over '27/11/2026'."""
    if value is None:
        return ""
    t = _local(value, zone)
    return f"{t:%H} giờ {t:%M}\n{t:%d/%m/%Y}"


def _label(labels: dict[str, str], value: str | None) -> str:
    if value is None:
        return ""
    return labels.get(value.strip().upper(), value)


# --------------------------------------------------------------------------------------------
# The page


class _Pdf(FPDF):
    def __init__(
        self,
        *,
        size: tuple[float, float],
        landscape: bool = False,
        created: datetime,
        title: str,
        author: str,
        subject: str,
        footer_text: str,
        running_header: str | None = None,
    ) -> None:
        if created.tzinfo is None or created.utcoffset() is None:
            raise ValueError(f"a timezone-aware datetime is required, got a naive one: {created!r}")
        super().__init__(orientation="L" if landscape else "P", unit="mm", format=size)
        self._footer_text = _t(footer_text)
        self._running_header = _t(running_header) if running_header else None
        self.add_font(FAMILY, "", FONT_DIR / "DejaVuSans.ttf")
        self.add_font(FAMILY, "B", FONT_DIR / "DejaVuSans-Bold.ttf")
        self.set_creation_date(created.astimezone(UTC))
        self.set_title(_t(title))
        self.set_author(_t(author))
        self.set_subject(_t(subject))
        self.set_creator(CREATOR)
        self.set_lang("vi")
        self.set_margins(10, 10, 10)
        self.set_auto_page_break(True, margin=14)
        self.set_font(FAMILY, "", _BODY_SIZE)
        self.add_page()

    def header(self) -> None:
        if self.page_no() > 1 and self._running_header:
            self.set_font(FAMILY, "", 7)
            self.set_text_color(80)
            self.cell(0, 4, self._running_header, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.set_text_color(0)
            self.ln(2)

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(FAMILY, "", 6.5)
        self.set_text_color(80)
        self.cell(0, 4, f"{self._footer_text} · Trang {self.page_no()}/{{nb}}", align="C")
        self.set_text_color(0)

    def __enter__(self) -> _Pdf:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close_fonts()

    def close_fonts(self) -> None:
        """fpdf2 opens the font files lazily through fontTools and never closes them; close them
        here, or every document leaks two file handles (and a ResourceWarning)."""
        for font in self.fonts.values():
            if isinstance(font, TTFFont):
                font.ttfont.close()

    def finish(self) -> bytes:
        return bytes(self.output())


def _fit_size(pdf: FPDF, text: str, style: str, size: float, width: float, *, smallest: float = 5.0) -> float:
    """The font size, at most `size`, at which `text` fits on one line of `width`; the font is set."""
    pdf.set_font(FAMILY, style, size)
    measured = pdf.get_string_width(text)
    if measured > width:
        size = max(smallest, size * width / measured * 0.98)
        pdf.set_font(FAMILY, style, size)
    return size


def _draw_qr(pdf: FPDF, payload: str, x: float, y: float, size: float) -> None:
    """A QR code (ISO/IEC 18004, error correction M or better) drawn as vector squares; the page
    around it must leave the 4-module quiet zone white."""
    qr = segno.make(payload, error="m", micro=False)
    matrix = qr.matrix
    n = len(matrix)
    module = size / n
    pdf.set_fill_color(0)
    for r, row in enumerate(matrix):
        c = 0
        while c < n:
            if row[c]:
                start = c
                while c < n and row[c]:
                    c += 1
                pdf.rect(x + start * module, y + r * module, (c - start) * module, module, style="F")
            else:
                c += 1


def _draw_code39(pdf: FPDF, code: str, *, center_x: float, y: float, height: float, max_width: float) -> bool:
    """A Code 39 barcode of `code`, centered; False (nothing drawn) if the code has characters
    Code 39 cannot carry (it has 0-9, A-Z, '-', '.', space, '$', '/', '+', '%')."""
    if not code or not _CODE39.fullmatch(code):
        return False
    symbols = len(code) + 2  # with the '*' start and stop characters
    narrow = min(0.25, max_width / (symbols * 16))  # 3 wide + 6 narrow + 1 gap = 16 narrow
    width = symbols * 16 * narrow - narrow
    pdf.set_fill_color(0)
    pdf.code39(f"*{code}*", x=center_x - width / 2, y=y, w=narrow * 3, h=height)
    return True


def _slip_header(pdf: FPDF, agency: str, qr: str | None, *, dated: str | None = None) -> None:
    """QR top-left; the agency; the national motto (and the date line) on the right."""
    top = 8.0
    qr_size = 24.0 if qr else 0.0
    if qr:
        _draw_qr(pdf, qr, x=8.0, y=top, size=qr_size)
    page_w = pdf.w
    left = 8.0 + qr_size + 3.0 if qr else pdf.l_margin
    motto_w = min(66.0, (page_w - left - 8.0) * 0.62)
    motto_x = page_w - (8.0 if qr else pdf.r_margin) - motto_w
    agency_w = motto_x - left - 2.0

    pdf.set_font(FAMILY, "B", 7.5)
    pdf.set_xy(left, top + 1)
    pdf.multi_cell(agency_w, 3.6, _t(agency).upper(), align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
    agency_bottom = pdf.get_y() + 0.8
    mid = left + agency_w / 2
    pdf.set_line_width(0.25)
    pdf.line(mid - 8, agency_bottom, mid + 8, agency_bottom)

    _fit_size(pdf, MOTTO, "B", 7.5, motto_w)
    pdf.set_xy(motto_x, top + 1)
    pdf.cell(motto_w, 3.6, MOTTO, align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font(FAMILY, "B", 8)
    pdf.cell(motto_w, 4.0, MOTTO_2, align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
    half = pdf.get_string_width(MOTTO_2) / 2
    mid = motto_x + motto_w / 2
    motto_bottom = pdf.get_y() + 0.5
    pdf.line(mid - half, motto_bottom, mid + half, motto_bottom)
    if dated:
        pdf.set_font(FAMILY, "", 7.5)
        pdf.set_xy(motto_x, motto_bottom + 2)
        pdf.cell(motto_w, 4.0, _t(dated), align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
        motto_bottom = pdf.get_y()

    pdf.set_y(max(top + qr_size, agency_bottom, motto_bottom) + 3)
    pdf.set_x(pdf.l_margin)
    pdf.set_font(FAMILY, "", _BODY_SIZE)


def _code_block(pdf: FPDF, code: str) -> None:
    """The dossier code as a barcode, with the code in print below it."""
    y = pdf.get_y()
    if _draw_code39(pdf, code, center_x=pdf.w / 2, y=y, height=8.0, max_width=pdf.w - 2 * 12.0):
        pdf.set_y(y + 8.6)
    pdf.set_font(FAMILY, "", 7.5)
    pdf.cell(0, 3.6, code, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2.5)


def _title(pdf: FPDF, title: str) -> None:
    width = pdf.w - pdf.l_margin - pdf.r_margin
    _fit_size(pdf, title, "B", 11.0, width, smallest=8.0)
    pdf.multi_cell(0, 5.6, title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)
    pdf.set_font(FAMILY, "", _BODY_SIZE)


def _centered_code_line(pdf: FPDF, code: str) -> None:
    pdf.set_font(FAMILY, "", _BODY_SIZE)
    text = f"Mã hồ sơ: {code}"
    pdf.cell(0, _LINE, text, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _field(
    pdf: FPDF, label: str, value: str | None, *, size: float = _BODY_SIZE, line: float = _LINE
) -> None:
    """'Label: value' between the margins — the value in bold, wrapping under the label; dotted
    when unknown."""
    pdf.set_x(pdf.l_margin)
    pdf.set_font(FAMILY, "", size)
    pdf.write(line, f"{label}: ")
    if value and value.strip():
        pdf.set_font(FAMILY, "B", size)
        pdf.write(line, _t(value.strip()))
    else:
        pdf.write(line, _BLANK * 3)
    pdf.ln(line)
    pdf.set_font(FAMILY, "", _BODY_SIZE)


def _para(
    pdf: FPDF,
    text: str,
    *,
    style: str = "",
    align: str = "J",
    size: float = _BODY_SIZE,
    line: float = _LINE,
    after: float = 1.0,
) -> None:
    pdf.set_font(FAMILY, style, size)
    pdf.set_x(pdf.l_margin)
    pdf.multi_cell(0, line, _t(text), align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(after)
    pdf.set_font(FAMILY, "", _BODY_SIZE)


def _numbered(pdf: FPDF, items: Sequence[str], *, indent: float = 3.0) -> None:
    """1., 2., … with the text hanging under its first line."""
    pdf.set_font(FAMILY, "", _BODY_SIZE)
    number_w = 6.0
    for i, item in enumerate(items, start=1):
        pdf.set_x(pdf.l_margin + indent)
        pdf.cell(number_w, _LINE, f"{i}.")
        pdf.multi_cell(0, _LINE, _t(item.strip()), align="J", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _signatures(pdf: FPDF, blocks: Sequence[tuple[str, str, str]]) -> None:
    """Signature blocks side by side: (title, hint, name); a single block sits on the right."""
    needed = 32.0
    if pdf.get_y() + needed > pdf.page_break_trigger:
        pdf.add_page()
    pdf.ln(3)
    y = pdf.get_y()
    usable = pdf.w - pdf.l_margin - pdf.r_margin
    columns = max(2, len(blocks))
    width = usable / columns
    first = columns - len(blocks)
    for i, (title, hint, name) in enumerate(blocks):
        x = pdf.l_margin + (first + i) * width
        pdf.set_xy(x, y)
        pdf.set_font(FAMILY, "B", 8.5)
        pdf.multi_cell(width, 4.2, title, align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_font(FAMILY, "", 7)
        pdf.multi_cell(width, 3.4, hint, align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_xy(x, y + 26)
        pdf.set_font(FAMILY, "B", 8.5)
        pdf.multi_cell(width, 4.2, _t(name), align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_xy(pdf.l_margin, y + 31)
    pdf.set_font(FAMILY, "", _BODY_SIZE)


def _table(
    pdf: FPDF,
    headings: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths: Sequence[float],
    aligns: Sequence[str],
    *,
    size: float,
    line_height: float,
    min_row_height: float | None = None,
) -> None:
    pdf.set_font(FAMILY, "", size)
    pdf.set_line_width(0.2)
    style = FontFace(family=FAMILY, emphasis="BOLD", size_pt=size, fill_color=(235, 235, 235))
    with pdf.table(
        col_widths=tuple(widths),
        width=pdf.w - pdf.l_margin - pdf.r_margin,
        text_align=tuple(aligns),
        headings_style=style,
        line_height=line_height,
        padding=(0.8, 1.0),
        min_row_height=min_row_height,
        repeat_headings=1,
    ) as table:
        heading = table.row()
        for text in headings:
            heading.cell(text, align="C")
        for values in rows:
            row = table.row()
            for value in values:
                row.cell(_t(value))
    pdf.set_font(FAMILY, "", _BODY_SIZE)


def _new_slip(d: SlipDossier, form: str, title: str, created: datetime | None) -> _Pdf:
    return _Pdf(
        size=A5,
        created=created or d.received_at or _FIXED_DATE,
        title=f"{title} — {d.code}",
        author=d.agency_name,
        subject=f"{form} (Thông tư 01/2018/TT-VPCP) — {d.procedure_name}",
        footer_text=f"{form} · Mã hồ sơ {d.code}",
        running_header=f"{title} — Mã hồ sơ {d.code}",
    )


def _applicant_fields(pdf: FPDF, d: SlipDossier, *, lead: str) -> None:
    _field(pdf, lead, d.applicant_name)
    if d.applicant_id:
        _field(pdf, "Số định danh cá nhân/mã số", d.applicant_id)
    _field(pdf, "Địa chỉ", d.applicant_address)
    _field(pdf, "Số điện thoại", d.applicant_phone)
    _field(pdf, "Nội dung yêu cầu giải quyết", d.procedure_name)
    _field(pdf, "Mã thủ tục", d.procedure_code)


# --------------------------------------------------------------------------------------------
# Forms 01–06


def receipt(d: SlipDossier, components: Sequence[SlipComponent], *, officer: str, zone: ZoneInfo) -> bytes:
    """Form 01: Giấy tiếp nhận hồ sơ và hẹn trả kết quả."""
    title = "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ"
    with _new_slip(d, "Mẫu số 01", title, d.received_at) as pdf:
        _slip_header(pdf, d.agency_name, qr_payload(d))
        _code_block(pdf, d.code)
        _title(pdf, title)
        _centered_code_line(pdf, d.code)
        pdf.ln(2)
        _field(pdf, "Bộ phận tiếp nhận và trả kết quả", d.agency_name)
        _applicant_fields(pdf, d, lead="Tiếp nhận hồ sơ của")
        pdf.ln(1)
        _para(pdf, "1. Thành phần hồ sơ nộp gồm:")
        pdf.ln(1)
        _table(
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
        _field(pdf, "2. Số lượng hồ sơ", "01 (bộ)")
        _field(pdf, "3. Thời gian nhận hồ sơ", moment_text(d.received_at, zone))
        _field(pdf, "4. Thời gian trả kết quả giải quyết hồ sơ", moment_text(d.appointment_at, zone))
        _para(
            pdf,
            "Tra cứu tình trạng hồ sơ bằng mã hồ sơ trên Cổng dịch vụ công, hoặc quét mã QR ở góc trên "
            "bên trái phiếu này.",
            size=7.5,
            line=3.6,
        )
        _signatures(
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
        _slip_header(pdf, d.agency_name, qr_payload(d), dated=date_text(at, zone).capitalize())
        _code_block(pdf, d.code)
        _title(pdf, title)
        _centered_code_line(pdf, d.code)
        pdf.ln(2)
        _field(pdf, "Hồ sơ của", d.applicant_name)
        if d.applicant_id:
            _field(pdf, "Số định danh cá nhân/mã số", d.applicant_id)
        _field(pdf, "Nội dung yêu cầu giải quyết", d.procedure_name)
        _field(pdf, "Mã thủ tục", d.procedure_code)
        pdf.ln(1)
        _para(
            pdf,
            "Sau khi xem xét thành phần hồ sơ, đối chiếu với các quy định hiện hành, Bộ phận tiếp nhận và "
            f"trả kết quả — {d.agency_name} yêu cầu Ông/Bà bổ sung, hoàn thiện hồ sơ gồm những nội dung "
            "sau:",
        )
        _numbered(pdf, items)
        pdf.ln(1)
        _para(
            pdf,
            "Trong quá trình hoàn thiện hồ sơ, nếu có vướng mắc, Ông/Bà liên hệ với "
            f"{officer} — {d.agency_name} để được hướng dẫn.",
        )
        _signatures(pdf, [("NGƯỜI HƯỚNG DẪN", "(Ký và ghi rõ họ tên)", officer)])
        return pdf.finish()


def refusal_of_receipt(
    d: SlipDossier, reasons: Sequence[str], *, officer: str, at: datetime, zone: ZoneInfo
) -> bytes:
    """Form 03: Phiếu từ chối tiếp nhận giải quyết hồ sơ, with the reasons."""
    title = "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ"
    with _new_slip(d, "Mẫu số 03", title, at) as pdf:
        _slip_header(pdf, d.agency_name, qr_payload(d), dated=date_text(at, zone).capitalize())
        _code_block(pdf, d.code)
        _title(pdf, title)
        _centered_code_line(pdf, d.code)
        pdf.ln(2)
        _field(pdf, "Bộ phận tiếp nhận và trả kết quả", d.agency_name)
        _applicant_fields(pdf, d, lead="Tiếp nhận hồ sơ của")
        pdf.ln(1)
        _para(
            pdf,
            "Qua xem xét, Bộ phận tiếp nhận và trả kết quả thông báo không tiếp nhận, giải quyết hồ sơ "
            "này với lý do cụ thể như sau:",
        )
        _numbered(pdf, reasons)
        pdf.ln(1)
        _para(pdf, "Xin thông báo cho Ông/Bà được biết và thực hiện./.")
        _signatures(pdf, [("NGƯỜI TIẾP NHẬN HỒ SƠ", "(Ký và ghi rõ họ tên)", officer)])
        return pdf.finish()


def apology(
    d: SlipDossier, reason: str, new_appointment: datetime, *, signer: str, at: datetime, zone: ZoneInfo
) -> bytes:
    """Form 04: Phiếu xin lỗi và hẹn lại ngày trả kết quả."""
    title = "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ"
    with _new_slip(d, "Mẫu số 04", title, at) as pdf:
        _slip_header(pdf, d.agency_name, qr_payload(d), dated=date_text(at, zone).capitalize())
        _code_block(pdf, d.code)
        _title(pdf, title)
        pdf.ln(1)
        _field(pdf, "Kính gửi", d.applicant_name)
        pdf.ln(1)
        _para(
            pdf,
            f"{d.agency_name} đã tiếp nhận hồ sơ của Ông/Bà đề nghị giải quyết thủ tục hành chính: "
            f"{d.procedure_name} (mã thủ tục {d.procedure_code}).",
        )
        _field(pdf, "Mã hồ sơ", d.code)
        _field(pdf, "Thời gian hẹn trả kết quả", moment_text(d.appointment_at, zone))
        _para(
            pdf,
            f"Tuy nhiên đến nay, {d.agency_name} chưa trả kết quả giải quyết hồ sơ của Ông/Bà đúng hẹn "
            "ghi trong Giấy tiếp nhận hồ sơ và hẹn trả kết quả.",
        )
        _field(pdf, "Lý do", reason)
        _para(
            pdf,
            f"Sự chậm trễ này đã gây phiền hà, tốn kém chi phí, công sức của Ông/Bà. {d.agency_name} xin "
            "lỗi Ông/Bà và sẽ trả kết quả giải quyết hồ sơ cho Ông/Bà vào:",
        )
        _para(pdf, moment_text(new_appointment, zone), style="B", align="C")
        _para(pdf, "Xin trân trọng cảm ơn sự hợp tác của Ông/Bà./.")
        _signatures(pdf, [("THỦ TRƯỞNG CƠ QUAN", "(Ký, ghi rõ họ tên và đóng dấu)", signer)])
        return pdf.finish()


def control_slip(d: SlipDossier, rows: Sequence[TrailRow], *, zone: ZoneInfo) -> bytes:
    """Form 05: Phiếu kiểm soát quá trình giải quyết hồ sơ — one row per hand-over, with room
    for the signatures of who handed the dossier over and who took it; as many pages as needed."""
    title = "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ"
    last = max((r.at for r in rows), default=None)
    with _new_slip(d, "Mẫu số 05", title, last) as pdf:
        _slip_header(pdf, d.agency_name, qr_payload(d))
        _code_block(pdf, d.code)
        _title(pdf, title)
        _centered_code_line(pdf, d.code)
        pdf.ln(2)
        _field(pdf, "Kèm theo hồ sơ của", d.applicant_name)
        _field(pdf, "Nội dung yêu cầu giải quyết", d.procedure_name)
        _field(pdf, "Cơ quan tiếp nhận", d.agency_name)
        _field(pdf, "Thời gian nhận hồ sơ", moment_text(d.received_at, zone))
        _field(pdf, "Thời gian hẹn trả kết quả", moment_text(d.appointment_at, zone))
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
                    _cell_moment(r.at, zone),
                    r.from_party,
                    r.to_party,
                    "\n".join(content),
                    _label(PUNCTUALITY_LABELS, r.punctuality),
                    "",
                    "",
                ]
            )
        _table(
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
    with _Pdf(
        size=A4,
        landscape=True,
        created=max(moments, default=_FIXED_DATE),
        title=f"{title} — {agency_name} — {period}",
        author=agency_name,
        subject="Mẫu số 06 (Thông tư 01/2018/TT-VPCP)",
        footer_text=f"Mẫu số 06 · Sổ theo dõi hồ sơ · {agency_name} · {period}",
        running_header=f"{title} — {agency_name} — {period}",
    ) as pdf:
        _slip_header(pdf, agency_name, None)
        _title(pdf, title)
        _para(pdf, f"Kỳ: {period}", align="C")
        pdf.ln(2)
        body = [
            [
                str(i),
                r.code,
                r.procedure_name,
                r.applicant_name,
                _cell_moment(r.received_at, zone),
                _cell_moment(r.appointment_at, zone),
                _cell_moment(r.finished_at, zone),
                _label(STATUS_LABELS, r.status),
                _label(PUNCTUALITY_LABELS, r.punctuality),
                "",
            ]
            for i, r in enumerate(rows, start=1)
        ]
        _table(
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
        _para(pdf, f"Tổng số: {len(rows)} hồ sơ ({summary}).")
        return pdf.finish()


# --------------------------------------------------------------------------------------------
# Paper conversion (Decree 45/2020 art. 18)


def conversion(c: Conversion, *, zone: ZoneInfo) -> bytes:
    """The paper form of an electronic document: the document's text under a framed statement
    that it is a conversion — from which system and document, by whom, when — with the SHA-256
    checksum of the electronic original, the verification code and a QR (top-left) of the
    verification URL; every page's footer repeats the mark and the code."""
    checksum = c.checksum_sha256.strip()
    if not _SHA256.fullmatch(checksum):
        raise ValueError("checksum_sha256 must be 64 hexadecimal digits")
    checksum = checksum.lower()
    with _Pdf(
        size=A4,
        created=c.converted_at,
        title=f"{CONVERSION_MARK} — {c.title}",
        author=c.converted_by,
        subject=f"{c.source_description} — {c.source_system}",
        footer_text=f"Bản chuyển đổi từ văn bản điện tử · Mã kiểm tra: {c.verification_code}",
        running_header=f"{c.title} — bản chuyển đổi từ văn bản điện tử, mã kiểm tra {c.verification_code}",
    ) as pdf:
        top, qr_size = 10.0, 30.0
        _draw_qr(pdf, c.verification_url, x=10.0, y=top, size=qr_size)

        x = 10.0 + qr_size + 4.0
        width = pdf.w - pdf.r_margin - x
        pad = 2.5
        inner = width - 2 * pad
        # The statement is written between temporary margins: the inside of its frame.
        pdf.set_left_margin(x + pad)
        pdf.set_right_margin(pdf.w - (x + width - pad))
        pdf.set_xy(x + pad, top + pad)
        _fit_size(pdf, CONVERSION_MARK, "B", 11.0, inner)
        pdf.cell(inner, 5.5, CONVERSION_MARK, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(0.8)
        facts = [
            ("Văn bản điện tử gốc", c.source_description),
            ("Hệ thống thông tin", c.source_system),
            ("Người thực hiện chuyển đổi", c.converted_by),
            ("Thời điểm chuyển đổi", moment_text(c.converted_at, zone)),
            ("Mã kiểm tra", c.verification_code),
        ]
        for label, value in facts:
            _field(pdf, label, value, size=8.0, line=3.9)
        pdf.set_font(FAMILY, "", 8)
        pdf.cell(inner, 3.9, "Mã băm SHA-256 của văn bản điện tử gốc:", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        _fit_size(pdf, checksum, "B", 8.0, inner)
        pdf.cell(inner, 3.9, checksum, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        _para(
            pdf,
            f"Kiểm tra tính xác thực: quét mã QR bên trái hoặc truy cập {c.verification_url} và nhập mã "
            "kiểm tra.",
            align="L",
            size=7.5,
            line=3.6,
        )
        bottom = max(pdf.get_y() + pad, top + qr_size)
        pdf.set_line_width(0.5)
        pdf.rect(x, top, width, bottom - top)
        pdf.set_line_width(0.2)
        pdf.rect(x + 0.9, top + 0.9, width - 1.8, bottom - top - 1.8)
        pdf.set_margins(10, 10, 10)

        pdf.set_xy(pdf.l_margin, bottom + 8)
        _title(pdf, _t(c.title).upper())
        for line in c.body_lines:
            if line.strip():
                _para(pdf, line)
            else:
                pdf.ln(_LINE)
        _signatures(pdf, [("NGƯỜI THỰC HIỆN CHUYỂN ĐỔI", "(Ký và ghi rõ họ tên)", c.converted_by)])
        return pdf.finish()
