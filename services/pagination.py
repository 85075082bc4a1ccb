"""Opaque Relay cursors: keyset where the order is a unique key, offset for ranked search."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Generic, TypeVar

from services.errors import FieldIssue, ValidationFailed

T = TypeVar("T")
MAX_PAGE = 100


@dataclass(frozen=True)
class Cursor:
    key: str | None = None  # last seen sort key (keyset)
    offset: int | None = None  # rows already seen (ranked search)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[tuple[T, str]]  # each item with its cursor
    has_next: bool
    has_previous: bool
    total: int


def encode_key(key: str) -> str:
    return base64.urlsafe_b64encode(b"k:" + key.encode()).decode()


def encode_offset(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def decode(cursor: str | None) -> Cursor:
    if cursor is None:
        return Cursor()
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
        kind, value = raw.split(":", 1)
        if kind == "k":
            return Cursor(key=value)
        if kind == "o" and value.isdigit():
            return Cursor(offset=int(value))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ValidationFailed([FieldIssue(("after",), "BAD_CURSOR", "Con trỏ phân trang không hợp lệ.")])


def check_first(first: int) -> int:
    if not 0 <= first <= MAX_PAGE:
        raise ValidationFailed(
            [FieldIssue(("first",), "OUT_OF_RANGE", f"Mỗi trang từ 0 đến {MAX_PAGE} mục.")]
        )
    return first
