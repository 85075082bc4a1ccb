"""Personal data taken out of texts before they are published (Decree 13/2023 on personal data).

Published answers to feedback and questions must not show who asked: e-mail addresses, phone
numbers, citizen ID / passport / tax / social-insurance numbers, bank accounts, dossier codes (they
lead to a person), and the names and contacts the submitter gave. Each is replaced by a visible
marker, so a reader knows something was removed. Redaction is conservative: a long run of digits
is removed whatever it is.

What an agency publishes itself — its hotline, official e-mail, address, fee account — is no
personal data: `spared` values are kept wherever they appear (a phone or account number also when
written with other spaces, dots or dashes), so an answer can still say whom to call. The
submitter's own name and contacts are masked first (even where they meet an agency's contact);
then the spared values are set aside, the patterns masked, and the spared values put back.
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


_SEPARATORS = r"[\s.\-()]*"
_SET_ASIDE = re.compile("\ue000(.)\ue001")
_MAX_SET_ASIDE = 0xF8FF - 0xE100  # one private-use character names each value set aside


def _spared_pattern(value: str) -> re.Pattern[str]:
    """A number (6 digits or more, nothing but digits and separators) matches with any separators;
    anything else as whole words, case-insensitively, spaces as any run of spaces."""
    digits = re.sub(r"\D", "", value)
    if len(digits) >= 6 and re.fullmatch(r"[\d\s.\-()+]+", value):
        return re.compile(r"(?<!\d)" + _SEPARATORS.join(digits) + r"(?!\d)")
    words = r"\s+".join(re.escape(w) for w in value.split())
    return re.compile(rf"(?<!\w){words}(?!\w)", re.IGNORECASE)


def redact(text: str, known: Iterable[str | None] = (), spared: Iterable[str | None] = ()) -> str:
    """`text` with personal data replaced by MARK; `known` adds names and contacts to remove
    (matched case-insensitively, as whole words); `spared` values (an agency's published contacts)
    stay as they are."""
    out = _nfc(text).replace("\ue000", "").replace("\ue001", "")  # the set-aside marks are ours
    kept: list[str] = []

    def set_aside(match: re.Match[str]) -> str:
        if len(kept) >= _MAX_SET_ASIDE:
            return match.group(0)  # beyond that, masked like the rest (conservative)
        kept.append(match.group(0))
        return f"\ue000{chr(0xE100 + len(kept) - 1)}\ue001"

    # The submitter's own data first: what they wrote is masked even inside an agency's contact.
    for value in sorted({_nfc(k).strip() for k in known if k and len(k.strip()) >= 2}, key=len, reverse=True):
        out = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", MARK, out, flags=re.IGNORECASE)
    for value in sorted(
        {_nfc(v).strip() for v in spared if v and len(v.strip()) >= 3}, key=len, reverse=True
    ):
        out = _spared_pattern(value).sub(set_aside, out)
    for pattern in _PATTERNS:
        out = pattern.sub(MARK, out)
    return _SET_ASIDE.sub(lambda m: kept[ord(m.group(1)) - 0xE100], out)
