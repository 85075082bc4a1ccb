"""Vietnamese folding for search, checked on examples and as properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.text import fold, prefix_tsquery, words


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Đăng ký khai sinh", "dang ky khai sinh"),
        ("ĐĂNG KÝ KẾT HÔN", "dang ky ket hon"),
        ("Cấp Giấy xác nhận tình trạng hôn nhân", "cap giay xac nhan tinh trang hon nhan"),
        ("Thủ tục: cấp/đổi GPLX (hạng B2)", "thu tuc cap doi gplx hang b2"),
        ("  nhiều   khoảng   trắng ", "nhieu khoang trang"),
        ("Ủy ban nhân dân xã", "uy ban nhan dan xa"),
        # decomposed input (NFD, as some source records are stored) folds the same way
        ("Ca\u0306n cu\u031bo\u031b\u0301c", "can cuoc"),
    ],
)
def test_fold_examples(text: str, folded: str) -> None:
    assert fold(text) == folded


@given(st.text())
def test_fold_output_is_plain_ascii_words(text: str) -> None:
    folded = fold(text)
    assert folded == folded.strip()
    assert "  " not in folded
    assert all(ch.isascii() and (ch.isalnum() or ch == " ") for ch in folded)
    assert folded == folded.lower()


@given(st.text())
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@given(st.text(alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyáàảãạấầẩẫậếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ "))
def test_fold_ignores_case(text: str) -> None:
    assert fold(text.upper()) == fold(text)


def test_prefix_tsquery() -> None:
    assert prefix_tsquery("Đăng ký khai s") == "dang & ky & khai & s:*"
    assert prefix_tsquery("!!! ???") is None
    assert words("a-b") == ["a", "b"]


@given(st.text())
def test_tsquery_has_only_safe_characters(text: str) -> None:
    query = prefix_tsquery(text)
    if query is not None:
        assert set(query) <= set("abcdefghijklmnopqrstuvwxyz0123456789 &:*")
