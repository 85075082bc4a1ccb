"""Vietnamese text folding for search without database extensions.

Managed PostgreSQL services and the embedded one may lack `unaccent`; so search columns hold
text folded here: Unicode NFD, combining marks dropped, `đ`→`d`, lower case, punctuation to
spaces. `dang ky khai sinh` then finds `Đăng ký khai sinh`.

Every free-text argument that reaches SQL passes `check_search` first: a search box needs a
few words, and each word is work for PostgreSQL (an 80 kB search cost seconds, 180k words
overflowed its stack), so longer input is refused before any statement runs.
"""

from __future__ import annotations

import re
import unicodedata

from services.errors import FieldIssue, Path, ValidationFailed

_NON_WORD = re.compile(r"[^0-9a-z]+")

MAX_SEARCH_CHARS = 200  # characters as typed
MAX_SEARCH_TERMS = 12  # distinct words after `fold`


def fold(text: str) -> str:
    """Fold diacritics, `đ`/`Đ` and case; collapse everything else to single spaces."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", stripped.lower()).strip()


def words(text: str) -> list[str]:
    folded = fold(text)
    return folded.split() if folded else []


def check_search(text: str | None, path: Path) -> None:
    """Refuse a search longer than `MAX_SEARCH_CHARS` characters (`SEARCH_TOO_LONG`) or with
    more than `MAX_SEARCH_TERMS` distinct words (`TOO_MANY_TERMS`), as a field issue on `path`."""
    if text is None:
        return
    if len(text) > MAX_SEARCH_CHARS:
        message = f"Nội dung tìm kiếm dài tối đa {MAX_SEARCH_CHARS} ký tự."
        raise ValidationFailed([FieldIssue(path, "SEARCH_TOO_LONG", message)])
    if len(set(words(text))) > MAX_SEARCH_TERMS:
        message = f"Nội dung tìm kiếm có tối đa {MAX_SEARCH_TERMS} từ khác nhau."
        raise ValidationFailed([FieldIssue(path, "TOO_MANY_TERMS", message)])


def prefix_tsquery(text: str) -> str | None:
    """A `to_tsquery('simple', …)` string matching every word, the last one as a prefix.

    Words come out of `fold`, so they hold only [0-9a-z] and need no further escaping; a word
    repeated before the last counts once.
    """
    parts = words(text)
    if not parts:
        return None
    return " & ".join([*dict.fromkeys(parts[:-1]), parts[-1] + ":*"])
