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
