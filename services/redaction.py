"""Personal data taken out of texts before they are published (Decree 13/2023 on personal data).

Published answers to feedback and questions must not show who asked: e-mail addresses, phone
numbers, citizen ID / passport / tax / social-insurance numbers, bank accounts, dossier codes (they
lead to a person), and the names and contacts the submitter gave. Each is replaced by a visible
marker, so a reader knows something was removed. Redaction is conservative: a long run of digits
is removed whatever it is.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

MARK = "[đã ẩn]"

_PATTERNS = (
    # e-mail addresses
    re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE),
    # international phone numbers (+84 …), with optional spaces, dots, dashes
    re.compile(r"\+\d(?:[\s.-]?\d){7,14}(?!\w)"),
    # dossier codes like 000.00.99.H44-261127-0001 and similar dotted/dashed references
    re.compile(r"\b[0-9A-Z]{2,}(?:[.-][0-9A-Z]{2,}){2,}\b"),
    # any run of 8 or more digits, separators allowed: phone numbers, citizen ID (12), old ID (9),
    # tax codes (10, or 13 as 10-3), social insurance and bank account numbers
    re.compile(r"(?<!\w)\d(?:[\s.-]?\d){7,}(?!\w)"),
    # passport numbers: a letter and 7 digits
    re.compile(r"\b[A-Z]\d{7}\b"),
)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def redact(text: str, known: Iterable[str | None] = ()) -> str:
    """`text` with personal data replaced by MARK; `known` adds names and contacts to remove
    (matched case-insensitively, as whole words)."""
    out = _nfc(text)
    for value in sorted({_nfc(k).strip() for k in known if k and len(k.strip()) >= 2}, key=len, reverse=True):
        out = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", MARK, out, flags=re.IGNORECASE)
    for pattern in _PATTERNS:
        out = pattern.sub(MARK, out)
    return out
