"""The paper conversion of an electronic document (Decree 45/2020/NĐ-CP art. 18), rendered as PDF
(A4): the document's text under a framed statement that it is a conversion — from which system and
document, by whom, when — with the SHA-256 checksum of the electronic original, the verification
code and a QR of the verification URL. Drawn with `services.documents.layout`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from fpdf.enums import XPos, YPos

from services.documents.layout import (
    A4,
    FAMILY,
    LINE_HEIGHT,
    PdfDocument,
    draw_qr,
    draw_title,
    field_line,
    fit_font_size,
    moment_text,
    paragraph,
    pdf_text,
    signature_blocks,
)

CONVERSION_MARK = "BẢN CHUYỂN ĐỔI TỪ VĂN BẢN ĐIỆN TỬ"

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


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


def conversion(c: Conversion, *, zone: ZoneInfo) -> bytes:
    """The paper form of an electronic document: the document's text under a framed statement
    that it is a conversion — from which system and document, by whom, when — with the SHA-256
    checksum of the electronic original, the verification code and a QR (top-left) of the
    verification URL; every page's footer repeats the mark and the code."""
    checksum = c.checksum_sha256.strip()
    if not _SHA256.fullmatch(checksum):
        raise ValueError("checksum_sha256 must be 64 hexadecimal digits")
    checksum = checksum.lower()
    with PdfDocument(
        size=A4,
        created=c.converted_at,
        title=f"{CONVERSION_MARK} — {c.title}",
        author=c.converted_by,
        subject=f"{c.source_description} — {c.source_system}",
        footer_text=f"Bản chuyển đổi từ văn bản điện tử · Mã kiểm tra: {c.verification_code}",
        running_header=f"{c.title} — bản chuyển đổi từ văn bản điện tử, mã kiểm tra {c.verification_code}",
    ) as pdf:
        top, qr_size = 10.0, 30.0
        draw_qr(pdf, c.verification_url, x=10.0, y=top, size=qr_size)

        x = 10.0 + qr_size + 4.0
        width = pdf.w - pdf.r_margin - x
        pad = 2.5
        inner = width - 2 * pad
        # The statement is written between temporary margins: the inside of its frame.
        pdf.set_left_margin(x + pad)
        pdf.set_right_margin(pdf.w - (x + width - pad))
        pdf.set_xy(x + pad, top + pad)
        fit_font_size(pdf, CONVERSION_MARK, "B", 11.0, inner)
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
            field_line(pdf, label, value, size=8.0, line=3.9)
        pdf.set_font(FAMILY, "", 8)
        pdf.cell(inner, 3.9, "Mã băm SHA-256 của văn bản điện tử gốc:", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        fit_font_size(pdf, checksum, "B", 8.0, inner)
        pdf.cell(inner, 3.9, checksum, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        paragraph(
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
        draw_title(pdf, pdf_text(c.title).upper())
        for line in c.body_lines:
            if line.strip():
                paragraph(pdf, line)
            else:
                pdf.ln(LINE_HEIGHT)
        signature_blocks(pdf, [("NGƯỜI THỰC HIỆN CHUYỂN ĐỔI", "(Ký và ghi rõ họ tên)", c.converted_by)])
        return pdf.finish()
