"""The official slips (Circular 01/2018/TT-VPCP forms 01–06), as PDFs: the Vietnamese text comes out of the PDF intact, the QR code decodes to the lookup URL and sits
top-left, the Code 39 barcode decodes to the dossier code, and the output is deterministic.

Page 1 of the receipt is saved to tests/artifacts/ for a person to look at. The paper
conversion: tests/test_paper_conversion.py.
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from services.documents.registers import control_slip, tracking_book
from services.documents.slips import (
    BookRow,
    SlipComponent,
    SlipDossier,
    TrailRow,
    apology,
    completion_request,
    lookup_url,
    qr_payload,
    receipt,
    refusal_of_receipt,
)

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SCALE = 3  # pypdfium2 render scale: 3 pixels per PDF point (about 216 dpi)

CODE = "000.00.99.H44-261127-0001"
AGENCY = "Trung tâm Phục vụ hành chính công tỉnh Phú Thọ"
RECEIVED = datetime(2026, 11, 27, 9, 30, tzinfo=ZONE)
APPOINTMENT = datetime(2026, 12, 4, 16, 0, tzinfo=ZONE)
SECRET = "Zq3xV8kP2mWn7RtY4bLs9HcA"
URL = (
    "https://dichvucong.phutho.gov.vn/tra-cuu/000.00.99.H44-261127-0001"
    "#s=Zq3xV8kP2mWn7RtY4bLs9HcA&tt=1.001193&nd=025190001234"
)
DOSSIER = SlipDossier(
    code=CODE,
    procedure_code="1.001193",
    procedure_name="Thủ tục đăng ký khai sinh",
    applicant_name="Nguyễn Thị Lan",
    applicant_id="025190001234",
    applicant_address="Khu 5, phường Thanh Miếu, thành phố Việt Trì, tỉnh Phú Thọ",
    applicant_phone="0912 345 678",
    agency_name=AGENCY,
    received_at=RECEIVED,
    appointment_at=APPOINTMENT,
    lookup_url=URL,
)
COMPONENTS = [
    SlipComponent("Tờ khai đăng ký khai sinh theo mẫu", "ORIGINAL", 1),
    SlipComponent("Giấy chứng sinh do cơ sở y tế cấp", "ORIGINAL", 1),
    SlipComponent("Giấy chứng nhận kết hôn của cha, mẹ", "CERTIFIED_COPY", 1),
]
A5_PT = (419.53, 595.28)
A4_PT = (595.28, 841.89)


# --------------------------------------------------------------------------------------------
# Helpers


def _text(pdf: bytes) -> str:
    """All the pages' text, whitespace runs made single spaces (lines wrap, justified text
    spreads words)."""
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def _page_texts(pdf: bytes) -> list[str]:
    return [" ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(pdf)).pages]


def _page_size(pdf: bytes, index: int = 0) -> tuple[float, float]:
    box = PdfReader(io.BytesIO(pdf)).pages[index].mediabox
    return float(box.width), float(box.height)


def _render(pdf: bytes, index: int = 0) -> Image.Image:
    document = pdfium.PdfDocument(pdf)
    try:
        image: Image.Image = document[index].render(scale=SCALE).to_pil()
        return image.convert("L")
    finally:
        document.close()


def _barcodes(image: Image.Image, fmt: zxingcpp.BarcodeFormat) -> list[zxingcpp.Barcode]:
    return [b for b in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormats(fmt)) if b.valid]


def _corners(barcode: zxingcpp.Barcode) -> list[tuple[int, int]]:
    p = barcode.position
    return [(c.x, c.y) for c in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)]


def _assert_qr_top_left(image: Image.Image, expected: str) -> None:
    found = _barcodes(image, zxingcpp.BarcodeFormat.QRCode)
    assert [b.text for b in found] == [expected]
    width, height = image.size
    for x, y in _corners(found[0]):
        assert 0 <= x < width / 2
        assert 0 <= y < height / 2


def _assert_code39(image: Image.Image, code: str) -> None:
    found = _barcodes(image, zxingcpp.BarcodeFormat.Code39)
    assert [b.text for b in found] == [code]


def _assert_phrases(text: str, *phrases: str) -> None:
    missing = [p for p in phrases if p not in text]
    assert not missing, f"missing {missing!r} in {text!r}"


def _assert_a5(pdf: bytes) -> None:
    assert _page_size(pdf) == pytest.approx(A5_PT, abs=0.5)


def _save(image: Image.Image, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    image.save(path)
    return path


# --------------------------------------------------------------------------------------------
# The QR payload


def test_lookup_url_format() -> None:
    assert (
        lookup_url(
            "https://dichvucong.phutho.gov.vn/",
            CODE,
            secret=SECRET,
            procedure_code="1.001193",
            applicant_id="025190001234",
        )
        == URL
    )
    no_id = lookup_url("https://x.vn", CODE, secret="s3", procedure_code="1.001193", applicant_id=None)
    assert no_id == f"https://x.vn/tra-cuu/{CODE}#s=s3&tt=1.001193"
    # nothing secret or personal where a server would log it: path and query carry the code only
    parts = urlsplit(URL)
    assert parts.query == ""
    assert SECRET not in parts.path
    assert "025190001234" not in parts.path


def test_qr_payload_is_the_lookup_url_completed_with_what_circular_01_2023_requires() -> None:
    assert qr_payload(DOSSIER) == URL
    bare = replace(DOSSIER, lookup_url="https://dichvucong.phutho.gov.vn/hs#s=abc")
    assert qr_payload(bare) == (
        "https://dichvucong.phutho.gov.vn/hs#s=abc&ma=000.00.99.H44-261127-0001&tt=1.001193&nd=025190001234"
    )
    anonymous = replace(DOSSIER, applicant_id=None, lookup_url=f"https://x.vn/tra-cuu/{CODE}#s=abc")
    assert qr_payload(anonymous) == f"https://x.vn/tra-cuu/{CODE}#s=abc&tt=1.001193"
    queried = replace(DOSSIER, lookup_url=f"https://x.vn/tra-cuu/{CODE}?lang=vi")
    assert qr_payload(queried) == f"https://x.vn/tra-cuu/{CODE}?lang=vi#tt=1.001193&nd=025190001234"
    with pytest.raises(ValueError, match="lookup_url"):
        qr_payload(replace(DOSSIER, lookup_url=" "))


# --------------------------------------------------------------------------------------------
# Form 01


def test_receipt() -> None:
    pdf = receipt(DOSSIER, COMPONENTS, officer="Trần Văn Hùng", zone=ZONE)
    text = _text(pdf)
    _assert_phrases(
        text,
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG TỈNH PHÚ THỌ",
        "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        f"Mã hồ sơ: {CODE}",
        f"Bộ phận tiếp nhận và trả kết quả: {AGENCY}",
        "Tiếp nhận hồ sơ của: Nguyễn Thị Lan",
        "Số định danh cá nhân/mã số: 025190001234",
        "Địa chỉ: Khu 5, phường Thanh Miếu, thành phố Việt Trì, tỉnh Phú Thọ",
        "Số điện thoại: 0912 345 678",
        "Nội dung yêu cầu giải quyết: Thủ tục đăng ký khai sinh",
        "Mã thủ tục: 1.001193",
        "Tờ khai đăng ký khai sinh theo mẫu",
        "Giấy chứng nhận kết hôn của cha, mẹ Bản sao chứng thực 01",
        "Thời gian nhận hồ sơ: 09 giờ 30 phút, ngày 27 tháng 11 năm 2026",
        "Thời gian trả kết quả giải quyết hồ sơ: 16 giờ 00 phút, ngày 04 tháng 12 năm 2026",
        "NGƯỜI NỘP HỒ SƠ",
        "NGƯỜI TIẾP NHẬN HỒ SƠ",
        "Trần Văn Hùng",
    )
    _assert_a5(pdf)
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
    image = _render(pdf)
    _save(image, "receipt-page1.png")
    _assert_qr_top_left(image, URL)
    _assert_code39(image, CODE)
    assert len(pdf) < 80_000  # fonts are embedded as subsets


def test_output_is_deterministic() -> None:
    first = receipt(DOSSIER, COMPONENTS, officer="Trần Văn Hùng", zone=ZONE)
    assert receipt(DOSSIER, COMPONENTS, officer="Trần Văn Hùng", zone=ZONE) == first
    reader = PdfReader(io.BytesIO(first))
    assert reader.metadata is not None
    assert reader.metadata.creation_date == RECEIVED


def test_decomposed_input_prints_as_precomposed_vietnamese() -> None:
    nfd = replace(DOSSIER, applicant_name=unicodedata.normalize("NFD", "Nguyễn Thị Lan"))
    assert "Tiếp nhận hồ sơ của: Nguyễn Thị Lan" in _text(receipt(nfd, COMPONENTS, officer="A", zone=ZONE))


def test_unknown_times_print_as_blanks_and_naive_times_are_refused() -> None:
    text = _text(receipt(replace(DOSSIER, appointment_at=None), [], officer="A", zone=ZONE))
    assert "Thời gian trả kết quả giải quyết hồ sơ: ........ giờ ........ phút, ngày ........" in text
    with pytest.raises(ValueError, match="timezone-aware"):
        receipt(replace(DOSSIER, received_at=datetime(2026, 11, 27, 9, 30)), [], officer="A", zone=ZONE)  # noqa: DTZ001


# --------------------------------------------------------------------------------------------
# Forms 02–04


def test_completion_request() -> None:
    items = [
        "Bổ sung bản sao Giấy chứng nhận kết hôn của cha, mẹ có chứng thực.",
        "Ghi rõ quê quán của người mẹ trong Tờ khai đăng ký khai sinh.",
    ]
    at = RECEIVED + timedelta(minutes=20)
    pdf = completion_request(DOSSIER, items, officer="Trần Văn Hùng", at=at, zone=ZONE)
    text = _text(pdf)
    _assert_phrases(
        text,
        "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
        f"Mã hồ sơ: {CODE}",
        "Hồ sơ của: Nguyễn Thị Lan",
        "Ngày 27 tháng 11 năm 2026",
        "yêu cầu Ông/Bà bổ sung, hoàn thiện hồ sơ gồm những nội dung sau:",
        f"1. {items[0]}",
        f"2. {items[1]}",
        "NGƯỜI HƯỚNG DẪN",
    )
    _assert_a5(pdf)
    image = _render(pdf)
    _assert_qr_top_left(image, URL)
    _assert_code39(image, CODE)


def test_refusal_of_receipt() -> None:
    reasons = [
        "Hồ sơ không thuộc thẩm quyền giải quyết của Trung tâm.",
        "Người yêu cầu không cư trú trên địa bàn tỉnh Phú Thọ.",
    ]
    pdf = refusal_of_receipt(DOSSIER, reasons, officer="Trần Văn Hùng", at=RECEIVED, zone=ZONE)
    text = _text(pdf)
    _assert_phrases(
        text,
        "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ",
        f"Mã hồ sơ: {CODE}",
        "Tiếp nhận hồ sơ của: Nguyễn Thị Lan",
        "không tiếp nhận, giải quyết hồ sơ này với lý do cụ thể như sau:",
        f"1. {reasons[0]}",
        f"2. {reasons[1]}",
        "Xin thông báo cho Ông/Bà được biết và thực hiện./.",
    )
    _assert_a5(pdf)
    image = _render(pdf)
    _assert_qr_top_left(image, URL)
    _assert_code39(image, CODE)


def test_apology() -> None:
    reason = "Cần xác minh thông tin tại Ủy ban nhân dân xã nơi cư trú trước đây."
    new = datetime(2026, 12, 9, 10, 0, tzinfo=ZONE)
    pdf = apology(DOSSIER, reason, new, signer="Lê Minh Tuấn", at=APPOINTMENT, zone=ZONE)
    text = _text(pdf)
    _assert_phrases(
        text,
        "VĂN BẢN XIN LỖI VÀ ĐỀ NGHỊ GIA HẠN THỜI GIAN GIẢI QUYẾT",  # received after 15 Sept 2025
        "Kính gửi: Nguyễn Thị Lan",
        f"Mã hồ sơ: {CODE}",
        "Thời gian hẹn trả kết quả giải quyết hồ sơ: 16 giờ 00 phút, ngày 04 tháng 12 năm 2026",
        f"Lý do: {reason}",
        "10 giờ 00 phút, ngày 09 tháng 12 năm 2026",
        "THỦ TRƯỞNG CƠ QUAN",
        "Lê Minh Tuấn",
    )
    _assert_a5(pdf)
    image = _render(pdf)
    _assert_qr_top_left(image, URL)
    _assert_code39(image, CODE)


# --------------------------------------------------------------------------------------------
# Form 05


def test_control_slip_runs_to_several_pages_with_its_heading_repeated() -> None:
    actions = ["RECEIVE", "FORWARD", "APPROVE", "RETURN"]
    punctualities = ["EARLY", "ON_TIME", "LATE", None]
    rows = [
        TrailRow(
            at=RECEIVED + timedelta(hours=5 * i),
            action=actions[i % 4],
            from_party=f"Bộ phận Một cửa — cán bộ số {i + 1}",
            to_party="Phòng Tư pháp — Phạm Thị Hoa",
            step="Thẩm định hồ sơ",
            punctuality=punctualities[i % 4],
            comment=f"Ý kiến thứ {i + 1}: hồ sơ đầy đủ." if i % 2 else None,
        )
        for i in range(16)
    ]
    pdf = control_slip(DOSSIER, rows, zone=ZONE)
    pages = _page_texts(pdf)
    text = " ".join(pages)
    assert len(pages) >= 2
    _assert_phrases(
        text,
        "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
        f"Mã hồ sơ: {CODE}",
        "Kèm theo hồ sơ của: Nguyễn Thị Lan",
        "Tiếp nhận hồ sơ",
        "Chuyển xử lý",
        "Trước hạn",
        "Đúng hạn",
        "Quá hạn",
        "09 giờ 30 27/11/2026",
    )
    for i in range(16):
        assert f"cán bộ số {i + 1}" in text
        if i % 2:
            assert f"Ý kiến thứ {i + 1}: hồ sơ đầy đủ." in text
    for page in pages:
        _assert_phrases(page, "Bên giao", "Bên nhận", "Người giao ký", "Người nhận ký")
    _assert_a5(pdf)
    image = _render(pdf)
    _assert_qr_top_left(image, URL)
    _assert_code39(image, CODE)


# --------------------------------------------------------------------------------------------
# Form 06


def test_tracking_book_spans_pages_and_lists_every_dossier() -> None:
    statuses = ["CLOSED", "IN_PROGRESS", "RESULT_READY"]
    rows = [
        BookRow(
            code=f"000.00.99.H44-2611{i % 28 + 1:02d}-{i + 1:04d}",
            applicant_name=["Nguyễn Thị Lan", "Trần Văn Hùng", "Lê Thị Hồng Nhung"][i % 3],
            procedure_name="Thủ tục đăng ký khai sinh",
            received_at=RECEIVED + timedelta(hours=i),
            appointment_at=APPOINTMENT + timedelta(hours=i),
            finished_at=APPOINTMENT if i % 3 == 0 else None,
            status=statuses[i % 3],
            punctuality=["EARLY", "ON_TIME", "LATE"][i % 3] if i % 3 == 0 else None,
        )
        for i in range(120)
    ]
    pdf = tracking_book(AGENCY, "Tháng 11 năm 2026", rows, zone=ZONE)
    pages = _page_texts(pdf)
    text = " ".join(pages)
    assert len(pages) > 3
    width, height = _page_size(pdf)
    assert (width, height) == pytest.approx((A4_PT[1], A4_PT[0]), abs=0.5)  # A4 landscape
    _assert_phrases(
        text,
        "SỔ THEO DÕI HỒ SƠ",
        "Kỳ: Tháng 11 năm 2026",
        "Lê Thị Hồng Nhung",
        "Đã trả kết quả",
        "Đang giải quyết",
        "Tổng số: 120 hồ sơ",
    )
    for row in rows:
        assert row.code in text
    for page in pages:
        _assert_phrases(page, "Mã hồ sơ", "Tên thủ tục hành chính", "Hẹn trả kết quả")
    assert len(pdf) < 150_000
