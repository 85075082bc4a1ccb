"""The paper conversion of an electronic document (Decree 45/2020/NĐ-CP art. 18; Kon Tum art. 15):
the paper carries the document itself — every PDF page, an image scaled into the page — and, on
EACH page, the conversion marking and a QR that decodes to the verification URL. A file that
cannot be printed is refused with NOT_PRINTABLE. The files come from the real object store.

Page 1 of a conversion is saved to tests/artifacts/ for a person to look at.
"""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pypdfium2 as pdfium
import pytest
import zxingcpp
from fpdf import FPDF
from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from models.accounts import Account
from models.dossiers import StoredFile
from services.documents.conversion import BAND_MM, MM, Marking, NotPrintable, image_box, paper_of
from services.documents.paper import NOT_READY
from services.files import store_bytes
from storage.s3 import ObjectStore
from tests.accounts.helpers import citizen_input, token_for
from tests.conftest import NOW, gql
from tests.test_uploads import served

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
URL = "https://dichvucong.phutho.gov.vn/xac-minh/7K4P9XQ2AB3C"
MARKING = Marking(
    mark="BẢN CHUYỂN ĐỔI TỪ VĂN BẢN ĐIỆN TỬ",
    source_system="Hệ thống thông tin giải quyết thủ tục hành chính tỉnh Phú Thọ",
    converted_by="Trần Văn Hùng",
    converted_at=datetime(2026, 12, 5, 14, 15, tzinfo=ZONE),
    source_description="Tệp “giay-khai-sinh.pdf” (1234 byte, application/pdf)",
    checksum_sha256="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    verification_code="7K4P9XQ2AB3C",
    verification_url=URL,
)
MARK_PHRASES = (
    "BẢN CHUYỂN ĐỔI TỪ VĂN BẢN ĐIỆN TỬ (theo Điều 18 Nghị định số 45/2020/NĐ-CP)",
    "Hệ thống thông tin: Hệ thống thông tin giải quyết thủ tục hành chính tỉnh Phú Thọ",
    "Người thực hiện chuyển đổi: Trần Văn Hùng",
    "Thời điểm chuyển đổi: 14 giờ 15 phút, ngày 05 tháng 12 năm 2026",
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    f"Mã kiểm tra: 7K4P9XQ2AB3C · Kiểm tra tại {URL}",
)


def source_pdf(orientations: str = "PLP") -> bytes:
    """A PDF with one page per letter (P portrait A4, L landscape A4, S a small A5), each saying
    which page it is."""
    pdf = FPDF()
    pdf.set_font("helvetica", size=14)
    for i, kind in enumerate(orientations, start=1):
        pdf.add_page(orientation="L" if kind == "L" else "P", format=(148.0, 210.0) if kind == "S" else "A4")
        pdf.cell(0, 10, f"Source page {i} of {len(orientations)}")
    return bytes(pdf.output())


def _texts(pdf: bytes) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]


def _sizes(pdf: bytes) -> list[tuple[float, float]]:
    return [
        (round(float(p.mediabox.width), 1), round(float(p.mediabox.height), 1))
        for p in PdfReader(io.BytesIO(pdf)).pages
    ]


def _render(pdf: bytes, index: int, scale: float = 3) -> Image.Image:
    document = pdfium.PdfDocument(pdf)
    try:
        image: Image.Image = document[index].render(scale=scale).to_pil()
        return image.convert("RGB")
    finally:
        document.close()


def _grey(image: Image.Image, at: tuple[int, int]) -> int:
    value = image.getpixel(at)
    assert isinstance(value, int)
    return value


def _qr_texts(image: Image.Image) -> list[str]:
    formats = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    return [b.text for b in zxingcpp.read_barcodes(image, formats=formats) if b.valid]


def _assert_marked(pdf: bytes, url: str, *phrases: str) -> None:
    """Every page carries the marking's phrases, its page number, and one QR decoding to `url`."""
    texts = _texts(pdf)
    for number, text in enumerate(texts, start=1):
        missing = [p for p in (*phrases, f"Trang {number}/{len(texts)}") if p not in text]
        assert not missing, f"page {number}: missing {missing!r} in {text!r}"
        assert _qr_texts(_render(pdf, number - 1)) == [url], f"page {number}"


def test_decree_45_art_18_a_paper_conversion_prints_every_page_of_the_pdf_with_the_marking_and_qr() -> None:
    """Decree 45/2020 art. 18.2: the paper reflects the electronic document's whole content and
    carries a sign that it was converted and who converted it. Every source page is copied, in
    order and at its own size (portrait, landscape, A5), with the marking and the verification QR
    on each page."""
    source = source_pdf("PLS")
    paper = paper_of(source, MARKING, zone=ZONE)
    texts = _texts(paper)
    assert len(texts) == len(PdfReader(io.BytesIO(source)).pages) == 3
    for number, text in enumerate(texts, start=1):
        assert f"Source page {number} of 3" in text
    assert _sizes(paper) == _sizes(source)
    _assert_marked(paper, URL, *MARK_PHRASES)
    ARTIFACTS.mkdir(exist_ok=True)
    _render(paper, 0).save(ARTIFACTS / "conversion-page1.png")


def test_decree_45_art_18_the_source_page_is_scaled_above_the_marking_band_not_covered() -> None:
    """Decree 45/2020 art. 18.2.a: the whole content — the marking must not hide any of it. A page
    filled to its edges with black comes out whole above the band, its proportions kept; the band
    below it is white but for the marking."""
    pdf = FPDF(unit="pt", format=(400, 600))
    pdf.add_page()
    pdf.set_fill_color(0)
    pdf.rect(0, 0, 400, 600, style="F")
    paper = paper_of(bytes(pdf.output()), MARKING, zone=ZONE)
    image = _render(paper, 0, scale=1).convert("L")
    band = BAND_MM * MM
    band_top = round(600 - band)
    above = image.crop((0, 0, 400, band_top - 1))
    black = above.point(lambda v: 255 if v < 50 else 0).getbbox()
    assert black is not None
    left, top, right, bottom = black
    scale = (600 - band) / 600
    assert (top, bottom) == (0, band_top - 1)  # from the top of the page down to the band
    assert right - left == pytest.approx(400 * scale, abs=1.5)
    assert (left + right) / 2 == pytest.approx(200, abs=1.5)
    assert _grey(above, (left - 2, 100)) > 200  # white beside it: the page shrank, not clipped
    assert _grey(image, (left + 2, band_top + 4)) > 200  # white below it, in the band


def test_decree_45_art_18_a_rotated_page_is_printed_upright() -> None:
    """Decree 45/2020 art. 18.2.a: a page stored with /Rotate 90 is printed as it is shown, with the
    band at the foot of the page as read."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(source_pdf("P"))))
    writer.pages[0].rotate(90)
    out = io.BytesIO()
    writer.write(out)
    paper = paper_of(out.getvalue(), MARKING, zone=ZONE)
    assert _sizes(paper) == [(841.9, 595.3)]
    _assert_marked(paper, URL, *MARK_PHRASES)


def test_decree_45_art_18_a_long_description_is_shortened_and_the_marking_kept_on_a_small_page() -> None:
    """Decree 45/2020 art. 18.2: the marking must be legible on every page — on an A5 page a file
    name of 300 characters is shortened with «…» inside the band, and the rest of the marking and
    the QR stay whole."""
    long = replace(MARKING, source_description="Tệp “" + "rat-dai-" * 37 + ".pdf”")
    paper = paper_of(source_pdf("S"), long, zone=ZONE)
    _assert_marked(paper, URL, *MARK_PHRASES, "Văn bản điện tử gốc: Tệp “rat-dai-rat-dai-")
    assert "…" in _texts(paper)[0]


def test_a_paper_carries_no_script_of_its_source() -> None:
    """The paper is for printing: a source PDF's opening action (JavaScript) and document names
    (scripts, embedded files) are not copied into it; its page is."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(source_pdf("P"))))
    writer.add_attachment("x.exe", b"MZ")
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1)")}
    )
    out = io.BytesIO()
    writer.write(out)
    assert b"/JavaScript" in out.getvalue()
    paper = paper_of(out.getvalue(), MARKING, zone=ZONE)
    root = PdfReader(io.BytesIO(paper)).root_object
    assert not {"/OpenAction", "/Names", "/AA"} & set(root.keys())
    assert b"/JavaScript" not in paper
    assert b"app.alert" not in paper
    assert "Source page 1 of 1" in _texts(paper)[0]


def _image(kind: str, size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 0, 0)).save(buffer, kind)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("kind", "pixels", "page_pt"),
    [
        ("JPEG", (3000, 1000), (841.89, 595.28)),  # wider than tall: landscape A4, scaled down
        ("PNG", (40, 60), (595.28, 841.89)),  # a small portrait image: portrait A4, scaled up
    ],
)
def test_decree_45_art_18_an_image_is_scaled_within_the_page(
    kind: str, pixels: tuple[int, int], page_pt: tuple[float, float]
) -> None:
    """Decree 45/2020 art. 18.2.a: an image (JPEG, PNG) is printed whole on an A4 page, scaled to
    fit between the margins and above the marking band, its proportions kept."""
    paper = paper_of(_image(kind, pixels), MARKING, zone=ZONE)
    assert _sizes(paper) == [(round(page_pt[0], 1), round(page_pt[1], 1))]
    _assert_marked(paper, URL, *MARK_PHRASES)
    page = _render(paper, 0, scale=1)
    red = page.point(lambda v: 255 if v > 150 else 0).split()[0]
    green = page.split()[1].point(lambda v: 255 if v < 60 else 0)
    box = Image.composite(red, Image.new("L", page.size, 0), green).getbbox()
    assert box is not None
    left, top, right, bottom = box
    width, height = page.size
    assert left > 0
    assert right < width
    assert top > 0
    assert bottom < height - BAND_MM * MM
    assert (right - left) / (bottom - top) == pytest.approx(pixels[0] / pixels[1], rel=0.03)
    _, _, w, h = image_box(pixels, (page_pt[0] / MM, page_pt[1] / MM))
    assert (right - left) == pytest.approx(w * MM, abs=3)
    assert (bottom - top) == pytest.approx(h * MM, abs=3)


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def _encrypted() -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(source_pdf("P"))))
    writer.encrypt(user_password="bi-mat", owner_password="bi-mat")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("a word-processor file", _docx(), "Chỉ chuyển đổi được sang bản giấy văn bản điện tử dạng PDF"),
        (
            "plain text",
            "Giấy khai sinh".encode(),
            "Chỉ chuyển đổi được sang bản giấy văn bản điện tử dạng PDF",
        ),
        ("a GIF image", _image("GIF", (10, 10)), "hoặc ảnh (JPEG, PNG)"),
        (
            "a PDF without pages",
            b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
            "không",
        ),
        ("a password-protected PDF", _encrypted(), "mật khẩu"),
        ("a truncated PDF", source_pdf("P")[:200], "không"),
    ],
)
def test_decree_45_art_18_a_document_that_cannot_be_printed_is_refused(
    name: str, data: bytes, message: str
) -> None:
    """Decree 45/2020 art. 18.2.a: a paper that cannot reflect the whole content is no conversion —
    a file that is not a readable PDF or a JPEG/PNG image is refused (NOT_PRINTABLE, a Vietnamese
    message), never printed as a cover sheet alone."""
    with pytest.raises(NotPrintable) as raised:
        paper_of(data, MARKING, zone=ZONE)
    assert raised.value.code == "NOT_PRINTABLE", name
    assert message in raised.value.message, name


def test_a_malformed_checksum_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="checksum_sha256"):
        paper_of(source_pdf("P"), replace(MARKING, checksum_sha256="abc123"), zone=ZONE)


# --------------------------------------------------------------------------------------------
# Through the API, with the files in the real object store

PAPER = """mutation($f: ID!) { r: paperConvert(fileId: $f) {
  __typename ... on PaperConverted { verificationCode verificationUrl file { id filename contentType } }
  ... on Refused { code message } ... on NotFound { code } } }"""


async def _stored(
    session: AsyncSession, store: ObjectStore, owner: uuid.UUID, name: str, data: bytes, kind: str
) -> str:
    row = await store_bytes(
        session, store, owner_id=owner, filename=name, content_type=kind, data=data, now=NOW
    )
    return str(row.id)


async def test_decree_45_art_18_paper_convert_prints_the_stored_document_on_each_page(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore, settings: Settings
) -> None:
    """Decree 45/2020 art. 18; Kon Tum art. 15.1 (converted through the system's own function):
    `paperConvert` reads the document from the object store and prints its pages, each with the
    marking — the system's name (PROVINCE_NAME), the converter, the date — and the QR of the
    verification URL; a .docx gets NOT_PRINTABLE; bytes changed in the store since they were
    checked get NOT_READY."""
    token = await token_for(client, session)
    owner = await session.scalar(select(Account).where(Account.email == citizen_input(1)["email"]))
    assert owner is not None
    source = source_pdf("PPL")
    file_id = await _stored(session, store, owner.id, "giay-phep.pdf", source, "application/pdf")
    made = (await gql(client, PAPER, {"f": file_id}, token=token))["data"]["r"]
    assert made["__typename"] == "PaperConverted", made
    assert made["file"]["contentType"] == "application/pdf"
    paper = await served(client, token, made["file"]["id"])
    assert len(PdfReader(io.BytesIO(paper)).pages) == 3
    name = citizen_input(1)["fullName"]
    _assert_marked(
        paper,
        made["verificationUrl"],
        "BẢN CHUYỂN ĐỔI TỪ VĂN BẢN ĐIỆN TỬ (theo Điều 18 Nghị định số 45/2020/NĐ-CP)",
        f"Hệ thống thông tin: {settings.system_name}",
        f"Người thực hiện chuyển đổi: {name}",
        NOW.astimezone(ZONE).strftime("ngày %d tháng %m năm %Y"),
        f"Mã kiểm tra: {made['verificationCode']}",
        hashlib.sha256(source).hexdigest(),
    )

    docx = await _stored(session, store, owner.id, "to-khai.docx", _docx(), "application/vnd.openxmlformats")
    refused = (await gql(client, PAPER, {"f": docx}, token=token))["data"]["r"]
    assert refused["__typename"] == "Refused"
    assert refused["code"] == "NOT_PRINTABLE"
    assert "PDF hoặc ảnh (JPEG, PNG)" in refused["message"]

    image = await _stored(session, store, owner.id, "anh.jpg", _image("JPEG", (800, 1200)), "image/jpeg")
    photo = (await gql(client, PAPER, {"f": image}, token=token))["data"]["r"]
    assert photo["__typename"] == "PaperConverted", photo
    _assert_marked(
        await served(client, token, photo["file"]["id"]), photo["verificationUrl"], *MARK_PHRASES[:1]
    )

    tampered = await _stored(session, store, owner.id, "sua.pdf", source, "application/pdf")
    row = await session.get_one(StoredFile, uuid.UUID(tampered))
    await store.put_bytes(row.object_key, source_pdf("P"), "application/pdf")
    changed = (await gql(client, PAPER, {"f": tampered}, token=token))["data"]["r"]
    assert changed == {"__typename": "Refused", "code": "NOT_READY", "message": NOT_READY}
