"""The paper conversion of an electronic document (Decree 45/2020/NĐ-CP art. 18; Kon Tum art. 15).

Art. 18.2 asks the paper to reflect the electronic document's whole content, to carry a distinctive
sign that it was converted, and to say who converted it; Kon Tum art. 15 adds that it is made
through the system. So the paper IS the document: every page of a PDF is copied (scaled into the
page above a band), an image (JPEG, PNG) is scaled into an A4 page, and EACH page carries, in a
band at its foot, the conversion marking — the sign (`Settings.paper_conversion_mark`), the article
it is made under, the system's name, the original's description and SHA-256, who converted it and
when, the verification code and URL, the page number — and a QR of the verification URL.

A file that cannot be printed faithfully (a word-processor file, a spreadsheet, a damaged or
password-protected PDF, a PDF without pages) is refused with `NotPrintable` (code NOT_PRINTABLE):
a cover sheet without the content would not be a conversion in the sense of art. 18.

The PDF pages are drawn with fpdf2 (the band) and merged with pypdf (the source page, scaled).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.fonts import TTFFont
from PIL import Image, ImageOps, UnidentifiedImageError
from pypdf import PdfReader, PdfWriter, Transformation
from pypdf.errors import PyPdfError
from pypdf.generic import RectangleObject

from services import legal
from services.documents.layout import CREATOR, FAMILY, FONT_DIR, draw_qr, fit_font_size, moment_text, pdf_text

DEFAULT_MARK = "BẢN CHUYỂN ĐỔI TỪ VĂN BẢN ĐIỆN TỬ"
LEGAL_BASIS = f"Điều 18 {legal.text('decree-45-2020').citation}"
PRINTABLE_IMAGES = frozenset({"JPEG", "PNG"})

MM = 72 / 25.4  # points per millimetre
A4_MM = (210.0, 297.0)
BAND_MM = 29.0  # the marking band at the foot of every page
QR_MM = 21.0
EDGE_MM = 5.0  # inside what printers print
IMAGE_MARGIN_MM = 10.0

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
# Document-level actions, scripts and embedded files of a source PDF, dropped from its paper.
_ACTIVE_CONTENT = ("/OpenAction", "/AA", "/Names", "/JavaScript")


class NotPrintable(Exception):
    """The file cannot be converted to paper with its content (code NOT_PRINTABLE)."""

    code = "NOT_PRINTABLE"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_NOT_PDF_OR_IMAGE = (
    "Chỉ chuyển đổi được sang bản giấy văn bản điện tử dạng PDF hoặc ảnh (JPEG, PNG); hãy chuyển đổi "
    "bản PDF của văn bản này."
)


@dataclass(frozen=True)
class Marking:
    """What each page of a paper conversion says about it (Decree 45/2020 art. 18.2)."""

    mark: str
    source_system: str
    converted_by: str
    converted_at: datetime
    source_description: str
    checksum_sha256: str
    verification_code: str
    verification_url: str

    def lines(self, zone: ZoneInfo, page: int, pages: int) -> list[tuple[str, str]]:
        """The band's lines, (style, text), the first in bold."""
        return [
            ("B", f"{self.mark} (theo {LEGAL_BASIS})"),
            ("", f"Hệ thống thông tin: {self.source_system}"),
            ("", f"Văn bản điện tử gốc: {self.source_description}"),
            (
                "",
                f"Người thực hiện chuyển đổi: {self.converted_by} · Thời điểm chuyển đổi: "
                f"{moment_text(self.converted_at, zone)}",
            ),
            ("", f"Mã băm SHA-256 của văn bản điện tử gốc: {self.checksum_sha256.lower()}"),
            (
                "",
                f"Mã kiểm tra: {self.verification_code} · Kiểm tra tại {self.verification_url} · "
                f"Trang {page}/{pages}",
            ),
        ]


class _Paper(FPDF):
    """Pages of any size in millimetres, with the documents' fonts and no header or footer."""

    def __init__(self, marking: Marking) -> None:
        super().__init__(unit="mm", format="A4")
        self.add_font(FAMILY, "", FONT_DIR / "DejaVuSans.ttf")
        self.add_font(FAMILY, "B", FONT_DIR / "DejaVuSans-Bold.ttf")
        self.set_creation_date(marking.converted_at.astimezone(UTC))
        self.set_title(pdf_text(f"{marking.mark} — {marking.source_description}"))
        self.set_author(pdf_text(marking.converted_by))
        self.set_subject(pdf_text(marking.source_system))
        self.set_creator(CREATOR)
        self.set_lang("vi")
        self.set_auto_page_break(False)
        self.set_margins(0, 0, 0)

    def finish(self) -> bytes:
        try:
            return bytes(self.output())
        finally:
            for font in self.fonts.values():
                if isinstance(font, TTFFont):
                    font.ttfont.close()


def _band(pdf: _Paper, marking: Marking, zone: ZoneInfo, page: int, pages: int) -> None:
    """The marking band at the foot of the current page: QR left, the statement right."""
    width, height = pdf.w, pdf.h
    top = height - BAND_MM
    pdf.set_draw_color(0)
    pdf.set_line_width(0.3)
    pdf.line(EDGE_MM, top, width - EDGE_MM, top)
    qr = min(QR_MM, BAND_MM - 2 * EDGE_MM, width / 4)
    draw_qr(pdf, marking.verification_url, x=EDGE_MM, y=top + (BAND_MM - qr) / 2, size=qr)
    x = EDGE_MM + qr + 2.0
    inner = width - x - EDGE_MM
    y = top + (BAND_MM - 6 * 3.9) / 2
    for style, line in marking.lines(zone, page, pages):
        text = pdf_text(line)
        fit_font_size(pdf, text, style, 6.8, inner, smallest=4.0)
        while pdf.get_string_width(text) > inner and len(text) > 1:  # a very long file name
            text = text[: max(1, int(len(text) * inner / pdf.get_string_width(text)) - 2)] + "…"
        pdf.set_xy(x, y)
        pdf.cell(inner, 3.9, text)
        y += 3.9


def _checked(marking: Marking) -> Marking:
    if not _SHA256.fullmatch(marking.checksum_sha256.strip()):
        raise ValueError("checksum_sha256 must be 64 hexadecimal digits")
    return marking


def paper_of(data: bytes, marking: Marking, *, zone: ZoneInfo) -> bytes:
    """The paper conversion of `data` (a PDF or a JPEG/PNG image) with the marking on each page;
    `NotPrintable` for anything else."""
    marking = _checked(marking)
    if data.lstrip()[:5] == b"%PDF-":
        return _pdf_paper(data, marking, zone)
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            if kind not in PRINTABLE_IMAGES:
                raise NotPrintable(_NOT_PDF_OR_IMAGE)
            image.load()
            upright = ImageOps.exif_transpose(image)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        raise NotPrintable(_NOT_PDF_OR_IMAGE) from error
    try:
        return _image_paper(upright, marking, zone)
    except (OSError, ValueError) as error:  # a mode or encoding the PDF writer cannot embed
        raise NotPrintable(_NOT_PDF_OR_IMAGE) from error


def _pdf_pages(data: bytes) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise NotPrintable("Tệp PDF có mật khẩu bảo vệ nên không chuyển đổi được sang bản giấy.")
        if len(reader.pages) == 0:
            raise NotPrintable("Tệp PDF không có trang nào để in thành bản giấy.")
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise NotPrintable("Tệp PDF bị hỏng hoặc không đọc được nên không chuyển đổi được.") from error
    return reader


def _pdf_paper(data: bytes, marking: Marking, zone: ZoneInfo) -> bytes:
    """Each source page scaled, centred, into a page of its own size above the marking band."""
    reader = _pdf_pages(data)
    try:
        writer = PdfWriter(clone_from=reader)
        for key in _ACTIVE_CONTENT:  # a paper prints; it runs nothing and carries no attachments
            writer._root_object.pop(key, None)
        boxes = []
        for page in writer.pages:
            page.pop("/AA", None)
            if page.rotation % 360:
                page.transfer_rotation_to_content()
            box = page.cropbox
            boxes.append((float(box.left), float(box.bottom), float(box.width), float(box.height)))
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise NotPrintable("Tệp PDF bị hỏng hoặc không đọc được nên không chuyển đổi được.") from error
    paper = _Paper(marking)
    for number, (_, _, w, h) in enumerate(boxes, start=1):
        paper.add_page(format=(w / MM, h / MM))
        _band(paper, marking, zone, number, len(boxes))
    bands = PdfReader(io.BytesIO(paper.finish()))
    for page, band, (left, bottom, w, h) in zip(writer.pages, bands.pages, boxes, strict=True):
        scale = (h - BAND_MM * MM) / h
        page.add_transformation(
            Transformation()
            .translate(-left, -bottom)
            .scale(scale, scale)
            .translate(w * (1 - scale) / 2, BAND_MM * MM)
        )
        for name in ("/CropBox", "/BleedBox", "/TrimBox", "/ArtBox"):
            page.pop(name, None)
        page.mediabox = RectangleObject((0, 0, w, h))
        page.merge_page(band)
    writer.metadata = None
    writer.add_metadata({k: v for k, v in (bands.metadata or {}).items()})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def image_box(pixels: tuple[int, int], page: tuple[float, float]) -> tuple[float, float, float, float]:
    """Where an image of `pixels` goes on a page of `page` mm: x, y, width, height in mm — as large
    as fits between the margins and above the band, its proportions kept, centred."""
    area_w = page[0] - 2 * IMAGE_MARGIN_MM
    area_h = page[1] - IMAGE_MARGIN_MM - BAND_MM - 2.0
    scale = min(area_w / pixels[0], area_h / pixels[1])
    w, h = pixels[0] * scale, pixels[1] * scale
    return (page[0] - w) / 2, IMAGE_MARGIN_MM + (area_h - h) / 2, w, h


def _image_paper(image: Image.Image, marking: Marking, zone: ZoneInfo) -> bytes:
    landscape = image.width > image.height
    size = (A4_MM[1], A4_MM[0]) if landscape else A4_MM
    paper = _Paper(marking)
    paper.add_page(format=size)
    x, y, w, h = image_box((image.width, image.height), size)
    paper.image(image, x=x, y=y, w=w, h=h)
    _band(paper, marking, zone, 1, 1)
    return paper.finish()
