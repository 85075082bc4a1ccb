"""The drawing primitives of the printed documents (PDF, fpdf2): the page with its fonts and
metadata, Vietnamese dates, the QR code and the Code 39 barcode, the slip header with the national
motto, and the building blocks the forms are written with — fields, paragraphs, numbered lists,
tables, signature blocks.

Dates are printed the Vietnamese way in the given zone ("09 giờ 30 phút, ngày 27 tháng 11 năm
2026"); every datetime must be timezone-aware. The output is deterministic: the PDF creation date
is the document's own moment (reception, issue, conversion, last event…), never the clock, so the
same input gives the same bytes. Fonts (DejaVu Sans, Vietnamese glyphs) are embedded as subsets.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import segno
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace, TTFFont

FONT_DIR = Path(__file__).resolve().parents[2] / "assets" / "fonts"
FAMILY = "DejaVu"
CREATOR = "Hệ thống thông tin giải quyết thủ tục hành chính"

A5 = (148.0, 210.0)  # mm, portrait (a tuple: fpdf2 warns about its own "a5" name)
A4 = (210.0, 297.0)  # mm, portrait; landscape by orientation

MOTTO = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO_2 = "Độc lập - Tự do - Hạnh phúc"

# When a document has no moment of its own to stamp as its creation date.
FIXED_DATE = datetime(2018, 11, 12, tzinfo=UTC)  # the date of Circular 01/2018/TT-VPCP

BODY_SIZE = 9.0
LINE_HEIGHT = 4.6
BLANK = "........"

_CODE39 = re.compile(r"[0-9A-Z\-. $/+%]+")


# --------------------------------------------------------------------------------------------
# Text


def pdf_text(text: str) -> str:
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
        return f"{BLANK} giờ {BLANK} phút, ngày {BLANK} tháng {BLANK} năm {BLANK}"
    t = _local(value, zone)
    return f"{t:%H} giờ {t:%M} phút, ngày {t:%d} tháng {t:%m} năm {t:%Y}"


def date_text(value: datetime | None, zone: ZoneInfo) -> str:
    """'ngày 27 tháng 11 năm 2026'."""
    if value is None:
        return f"ngày {BLANK} tháng {BLANK} năm {BLANK}"
    t = _local(value, zone)
    return f"ngày {t:%d} tháng {t:%m} năm {t:%Y}"


def cell_moment(value: datetime | None, zone: ZoneInfo) -> str:
    """The short form for table cells: '09 giờ 30' over '27/11/2026'."""
    if value is None:
        return ""
    t = _local(value, zone)
    return f"{t:%H} giờ {t:%M}\n{t:%d/%m/%Y}"


# --------------------------------------------------------------------------------------------
# The page


class PdfDocument(FPDF):
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
        self._footer_text = pdf_text(footer_text)
        self._running_header = pdf_text(running_header) if running_header else None
        self.add_font(FAMILY, "", FONT_DIR / "DejaVuSans.ttf")
        self.add_font(FAMILY, "B", FONT_DIR / "DejaVuSans-Bold.ttf")
        self.set_creation_date(created.astimezone(UTC))
        self.set_title(pdf_text(title))
        self.set_author(pdf_text(author))
        self.set_subject(pdf_text(subject))
        self.set_creator(CREATOR)
        self.set_lang("vi")
        self.set_margins(10, 10, 10)
        self.set_auto_page_break(True, margin=14)
        self.set_font(FAMILY, "", BODY_SIZE)
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

    def __enter__(self) -> PdfDocument:
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


def fit_font_size(
    pdf: FPDF, text: str, style: str, size: float, width: float, *, smallest: float = 5.0
) -> float:
    """The font size, at most `size`, at which `text` fits on one line of `width`; the font is set."""
    pdf.set_font(FAMILY, style, size)
    measured = pdf.get_string_width(text)
    if measured > width:
        size = max(smallest, size * width / measured * 0.98)
        pdf.set_font(FAMILY, style, size)
    return size


def draw_qr(pdf: FPDF, payload: str, x: float, y: float, size: float) -> None:
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


def draw_code39(pdf: FPDF, code: str, *, center_x: float, y: float, height: float, max_width: float) -> bool:
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


def slip_header(pdf: FPDF, agency: str, qr: str | None, *, dated: str | None = None) -> None:
    """QR top-left; the agency; the national motto (and the date line) on the right."""
    top = 8.0
    qr_size = 24.0 if qr else 0.0
    if qr:
        draw_qr(pdf, qr, x=8.0, y=top, size=qr_size)
    page_w = pdf.w
    left = 8.0 + qr_size + 3.0 if qr else pdf.l_margin
    motto_w = min(66.0, (page_w - left - 8.0) * 0.62)
    motto_x = page_w - (8.0 if qr else pdf.r_margin) - motto_w
    agency_w = motto_x - left - 2.0

    pdf.set_font(FAMILY, "B", 7.5)
    pdf.set_xy(left, top + 1)
    pdf.multi_cell(agency_w, 3.6, pdf_text(agency).upper(), align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
    agency_bottom = pdf.get_y() + 0.8
    mid = left + agency_w / 2
    pdf.set_line_width(0.25)
    pdf.line(mid - 8, agency_bottom, mid + 8, agency_bottom)

    fit_font_size(pdf, MOTTO, "B", 7.5, motto_w)
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
        pdf.cell(motto_w, 4.0, pdf_text(dated), align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
        motto_bottom = pdf.get_y()

    pdf.set_y(max(top + qr_size, agency_bottom, motto_bottom) + 3)
    pdf.set_x(pdf.l_margin)
    pdf.set_font(FAMILY, "", BODY_SIZE)


def code_block(pdf: FPDF, code: str) -> None:
    """The dossier code as a barcode, with the code in print below it."""
    y = pdf.get_y()
    if draw_code39(pdf, code, center_x=pdf.w / 2, y=y, height=8.0, max_width=pdf.w - 2 * 12.0):
        pdf.set_y(y + 8.6)
    pdf.set_font(FAMILY, "", 7.5)
    pdf.cell(0, 3.6, code, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2.5)


def draw_title(pdf: FPDF, title: str) -> None:
    width = pdf.w - pdf.l_margin - pdf.r_margin
    fit_font_size(pdf, title, "B", 11.0, width, smallest=8.0)
    pdf.multi_cell(0, 5.6, title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)
    pdf.set_font(FAMILY, "", BODY_SIZE)


def centered_code_line(pdf: FPDF, code: str) -> None:
    pdf.set_font(FAMILY, "", BODY_SIZE)
    text = f"Mã hồ sơ: {code}"
    pdf.cell(0, LINE_HEIGHT, text, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def field_line(
    pdf: FPDF, label: str, value: str | None, *, size: float = BODY_SIZE, line: float = LINE_HEIGHT
) -> None:
    """'Label: value' between the margins — the value in bold, wrapping under the label; dotted
    when unknown."""
    pdf.set_x(pdf.l_margin)
    pdf.set_font(FAMILY, "", size)
    pdf.write(line, f"{label}: ")
    if value and value.strip():
        pdf.set_font(FAMILY, "B", size)
        pdf.write(line, pdf_text(value.strip()))
    else:
        pdf.write(line, BLANK * 3)
    pdf.ln(line)
    pdf.set_font(FAMILY, "", BODY_SIZE)


def field_pair(
    pdf: FPDF, first: tuple[str, str | None], second: tuple[str, str | None], *, size: float = BODY_SIZE
) -> None:
    """Two short fields on one line ('Số điện thoại: … Email: …'), as `field_line` prints each."""
    line = LINE_HEIGHT * size / BODY_SIZE
    pdf.set_x(pdf.l_margin)
    for i, (label, value) in enumerate((first, second)):
        pdf.set_font(FAMILY, "", size)
        pdf.write(line, f"{'    ' if i else ''}{label}: ")
        if value and value.strip():
            pdf.set_font(FAMILY, "B", size)
            pdf.write(line, pdf_text(value.strip()))
        else:
            pdf.write(line, BLANK * 2)
    pdf.ln(line)
    pdf.set_font(FAMILY, "", BODY_SIZE)


def paragraph(
    pdf: FPDF,
    text: str,
    *,
    style: str = "",
    align: str = "J",
    size: float = BODY_SIZE,
    line: float = LINE_HEIGHT,
    after: float = 1.0,
) -> None:
    pdf.set_font(FAMILY, style, size)
    pdf.set_x(pdf.l_margin)
    pdf.multi_cell(0, line, pdf_text(text), align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(after)
    pdf.set_font(FAMILY, "", BODY_SIZE)


def numbered_list(pdf: FPDF, items: Sequence[str], *, indent: float = 3.0) -> None:
    """1., 2., … with the text hanging under its first line."""
    pdf.set_font(FAMILY, "", BODY_SIZE)
    number_w = 6.0
    for i, item in enumerate(items, start=1):
        pdf.set_x(pdf.l_margin + indent)
        pdf.cell(number_w, LINE_HEIGHT, f"{i}.")
        pdf.multi_cell(0, LINE_HEIGHT, pdf_text(item.strip()), align="J", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def signature_blocks(pdf: FPDF, blocks: Sequence[tuple[str, str, str]]) -> None:
    """Signature blocks side by side: (title, hint, name); a single block sits on the right."""
    needed = 34.5  # the gap, the title and hint, the room to sign and the name
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
        pdf.multi_cell(width, 4.2, pdf_text(name), align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_xy(pdf.l_margin, y + 31)
    pdf.set_font(FAMILY, "", BODY_SIZE)


def table(
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
                row.cell(pdf_text(value))
    pdf.set_font(FAMILY, "", BODY_SIZE)
