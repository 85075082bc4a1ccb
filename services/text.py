"""Vietnamese text folding for search without database extensions.

Managed PostgreSQL services and the embedded one may lack `unaccent`; so search columns hold
text folded here: Unicode NFD, combining marks dropped, `đ`→`d`, lower case, punctuation to
spaces. `dang ky khai sinh` then finds `Đăng ký khai sinh`.
"""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """Fold diacritics, `đ`/`Đ` and case; collapse everything else to single spaces."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", stripped.lower()).strip()


def words(text: str) -> list[str]:
    folded = fold(text)
    return folded.split() if folded else []


def prefix_tsquery(text: str) -> str | None:
    """A `to_tsquery('simple', …)` string matching every word, the last one as a prefix.

    Words come out of `fold`, so they hold only [0-9a-z] and need no further escaping.
    """
    parts = words(text)
    if not parts:
        return None
    return " & ".join([*parts[:-1], parts[-1] + ":*"])
