"""Pure validation of account data: citizen ID, tax code, phone, e-mail, names, passwords.

Messages are Vietnamese; codes are stable.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from services.errors import Issues

CITIZEN_ID = re.compile(r"^\d{12}$")
# Mã số thuế: 10 digits, or 10 digits + "-" + 3 digits for a dependent unit (13 digits).
TAX_CODE = re.compile(r"^\d{10}(-?\d{3})?$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")
# Vietnamese mobile numbers: 0 or +84 followed by 9 digits starting with 3, 5, 7, 8 or 9.
PHONE = re.compile(r"^(?:\+?84|0)([35789]\d{8})$")
MIN_PASSWORD = 8
MAX_PASSWORD = 128


def normalise_email(value: str) -> str:
    return value.strip().lower()


def normalise_phone(value: str) -> str | None:
    """`0912 345 678`, `+84912345678`, `84-912-345-678` → `+84912345678`; None if not a mobile."""
    digits = re.sub(r"[\s.\-()]", "", value)
    match = PHONE.match(digits)
    return f"+84{match.group(1)}" if match else None


def normalise_name(value: str) -> str:
    return " ".join(unicodedata.normalize("NFC", value).split())


def check_citizen_id(issues: Issues, path: tuple[str, ...], value: str) -> None:
    """Số định danh cá nhân: 12 digits; the first three are a province code (001–096)."""
    if not CITIZEN_ID.match(value):
        issues.add(path, "BAD_FORMAT", "Số định danh cá nhân gồm đúng 12 chữ số.")
    elif not 1 <= int(value[:3]) <= 96:
        issues.add(path, "BAD_FORMAT", "Số định danh cá nhân không hợp lệ (mã tỉnh sai).")


def check_tax_code(issues: Issues, path: tuple[str, ...], value: str) -> None:
    if not TAX_CODE.match(value):
        issues.add(path, "BAD_FORMAT", "Mã số thuế/mã số doanh nghiệp gồm 10 chữ số (hoặc 10-3 chữ số).")


def check_email(issues: Issues, path: tuple[str, ...], value: str) -> None:
    if len(value) > 320 or not EMAIL.match(value):
        issues.add(path, "BAD_FORMAT", "Địa chỉ thư điện tử không hợp lệ.")


def check_phone(issues: Issues, path: tuple[str, ...], value: str) -> None:
    if normalise_phone(value) is None:
        issues.add(path, "BAD_FORMAT", "Số điện thoại di động không hợp lệ (ví dụ 0912345678).")


def check_name(issues: Issues, path: tuple[str, ...], value: str, *, max_len: int = 200) -> None:
    name = normalise_name(value)
    if not name:
        issues.add(path, "REQUIRED", "Họ tên không được để trống.")
    elif len(name) > max_len:
        issues.add(path, "TOO_LONG", f"Không được dài quá {max_len} ký tự.")
    elif any(ch.isdigit() for ch in name) and max_len <= 200:
        issues.add(path, "BAD_FORMAT", "Họ tên không được chứa chữ số.")


def check_birth_date(issues: Issues, path: tuple[str, ...], value: date, *, today: date) -> None:
    if value > today:
        issues.add(path, "IN_FUTURE", "Ngày sinh không được sau ngày hôm nay.")
    elif today.year - value.year > 130:
        issues.add(path, "OUT_OF_RANGE", "Ngày sinh không hợp lệ.")


def check_password(
    issues: Issues, path: tuple[str, ...], password: str, *, personal: tuple[str, ...] = ()
) -> None:
    """At least 8 characters, not only digits, and not one of the owner's own identifiers."""
    if len(password) < MIN_PASSWORD:
        issues.add(path, "TOO_SHORT", f"Mật khẩu phải có ít nhất {MIN_PASSWORD} ký tự.")
    elif len(password) > MAX_PASSWORD:
        issues.add(path, "TOO_LONG", f"Mật khẩu không được dài quá {MAX_PASSWORD} ký tự.")
    elif password.isdigit():
        issues.add(path, "TOO_WEAK", "Mật khẩu không được chỉ gồm chữ số.")
    elif any(p and p.lower() in password.lower() for p in personal):
        issues.add(path, "TOO_WEAK", "Mật khẩu không được chứa số định danh, số điện thoại hoặc thư điện tử.")
