"""What published answers hide: contacts, identity numbers, dossier codes and the submitter's name."""

from __future__ import annotations

import pytest

from services.redaction import MARK, redact


@pytest.mark.parametrize(
    "personal",
    [
        "lan.nguyen+dvc@example.com.vn",
        "0912345678",
        "0912 345 678",
        "+84 912.345.678",
        "84912345678",
        "025190000001",  # citizen ID (12 digits)
        "123456789",  # old ID card (9 digits)
        "0101243150-001",  # tax code of a branch
        "000.00.99.H44-261127-0001",  # dossier code
        "B1234567",  # passport
    ],
)
def test_personal_data_is_hidden(personal: str) -> None:
    text = f"Liên hệ {personal} để biết thêm."
    out = redact(text)
    assert personal not in out
    assert out == f"Liên hệ {MARK} để biết thêm."


def test_known_names_are_hidden_whatever_the_case() -> None:
    out = redact(
        "Tôi là NGUYỄN THỊ LAN, ở Phường Việt Trì.", ["Nguyễn Thị Lan", "Phường Việt Trì", None, " "]
    )
    assert out == f"Tôi là {MARK}, ở {MARK}."


def test_ordinary_text_is_kept() -> None:
    text = "Thời hạn giải quyết 05 ngày làm việc theo Nghị định 123/2015/NĐ-CP, lệ phí 8.000 đồng, năm 2026."
    assert redact(text) == text


AGENCY = ["0210 3999 666", "tthcc@phutho.gov.vn", "Tầng 1, Trung tâm Hội nghị tỉnh", "3511.0.1047594"]


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        ("0210 3999 666", "0210 3999 666"),
        ("02103999666", "02103999666"),  # the hotline written without its spaces
        ("0210.3999.666", "0210.3999.666"),
        ("TTHCC@phutho.gov.vn", "TTHCC@phutho.gov.vn"),
        ("tầng 1, trung tâm hội nghị tỉnh", "tầng 1, trung tâm hội nghị tỉnh"),
        ("3511.0.1047594", "3511.0.1047594"),  # the fee account
    ],
)
def test_an_agencys_published_contacts_are_spared(written: str, kept: str) -> None:
    out = redact(f"Xin liên hệ {written} trong giờ hành chính.", spared=AGENCY)
    assert out == f"Xin liên hệ {kept} trong giờ hành chính."


def test_citizens_data_is_masked_next_to_the_agencys() -> None:
    text = (
        "Bà Nguyễn Thị Lan (0912 300 001, lan1@example.vn, CCCD 025190000001) gọi đường dây nóng "
        "0210 3999 666 hoặc viết tthcc@phutho.gov.vn; hồ sơ 000.00.99.H44-261127-0001."
    )
    out = redact(text, ["Nguyễn Thị Lan", "0912 300 001"], spared=AGENCY)
    assert out == (
        f"Bà {MARK} ({MARK}, {MARK}, CCCD {MARK}) gọi đường dây nóng "
        f"0210 3999 666 hoặc viết tthcc@phutho.gov.vn; hồ sơ {MARK}."
    )


def test_a_number_that_only_contains_the_hotline_is_masked() -> None:
    out = redact("Tài khoản 9902103999666 của tôi.", spared=AGENCY)
    assert out == f"Tài khoản {MARK} của tôi."


def test_the_submitters_own_data_wins_over_a_spared_value() -> None:
    """A submitter who gives the agency's hotline as theirs: masked (conservative)."""
    assert redact("Gọi 0210 3999 666.", ["0210 3999 666"], spared=AGENCY) == f"Gọi {MARK}."


def test_set_aside_marks_in_the_text_cannot_bring_anything_back() -> None:
    out = redact("a\ue000\ue100\ue001 0912345678", spared=AGENCY)
    assert out == f"a\ue100 {MARK}"  # the marks dropped, nothing put in their place
