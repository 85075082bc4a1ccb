"""The wire format of the scalars the schema defines itself — `DateTime`, `Date`, `ByteCount` —
registered once in the schema's config (`StrawberryConfig.scalar_map`, `schema.assembly`): one
shape for every value the API returns, whichever path computed it.

Rows read from PostgreSQL come back in UTC and values computed in Python carry the province's zone;
without one serializer the same instant printed as `…+00:00` from one field and `…+07:00` from
another. Every `DateTime` is printed in the province's offset with exactly six fraction digits:
`2026-11-26T09:00:00.000000+07:00`. PostgreSQL can print the same bytes, for a compiled SQL path:
`to_char(t, 'YYYY-MM-DD"T"HH24:MI:SS.USTZH:TZM')` with the session's `TimeZone` set to the
province's zone (`US` is always six digits; `TZH:TZM` is `+07:00`).

Inputs keep accepting any ISO 8601 date-time (`Z`, any offset, any fraction).

A `ByteCount` (dung lượng) is a JSON integer of bytes: GraphQL's `Int` stops at 2^31 − 1 (2 GiB)
and an archive package can be larger; a JSON number is exact to 2^53 − 1. PostgreSQL prints it
from a `bigint` as is.

A `Date` (ngày) is `YYYY-MM-DD` (PostgreSQL: `to_char(d, 'YYYY-MM-DD')`); a `datetime` given
where a date belongs is refused, not printed as a date-time.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import NewType
from zoneinfo import ZoneInfo

from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.schema.types.base_scalars import DateDefinition, DateTimeDefinition
from strawberry.types.scalar import ScalarDefinition

DATETIME_DESCRIPTION = (
    "Thời điểm theo ISO 8601. Kết quả luôn theo múi giờ của tỉnh, đúng một dạng: "
    "`YYYY-MM-DDTHH:MM:SS.ffffff+07:00` (đủ 6 chữ số phần giây lẻ). "
    "Đầu vào nhận mọi dạng ISO 8601 (`Z`, `+07:00`, `+00:00`…, có hay không có phần giây lẻ)."
)

ByteCount = NewType("ByteCount", int)
"""A size in bytes (dung lượng): the Python side of the `ByteCount` scalar."""

MAX_BYTE_COUNT = 2**53 - 1  # the largest integer every JSON reader holds exactly
BYTE_COUNT_DESCRIPTION = (
    "Dung lượng tính bằng byte: số nguyên JSON không âm, có thể vượt 2^31 (tối đa 2^53 − 1)."
)
DATE_DESCRIPTION = "Ngày theo ISO 8601: `YYYY-MM-DD`."


def wire_datetime(value: datetime, zone: ZoneInfo) -> str:
    """The one printed form of an instant: in `zone`, seconds with six fraction digits, `±HH:MM`.
    A naive datetime is a bug (every column and clock is zone-aware), refused rather than guessed."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime on the wire: {value!r}")
    return value.astimezone(zone).isoformat(timespec="microseconds")


def wire_date(value: date) -> str:
    """The one printed form of a day. (`datetime` is a `date`: refused, it would print its time.)"""
    if isinstance(value, datetime):
        raise TypeError(f"a datetime where a Date belongs: {value!r}")
    return value.isoformat()


def parse_byte_count(value: object) -> ByteCount:
    """A byte count from a client: a JSON integer from 0 to 2^53 − 1 (not a string, not 1.5)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_BYTE_COUNT:
        raise StrawberryInputCoercionError(
            f"ByteCount cannot represent {value!r}: a whole number of bytes from 0 to {MAX_BYTE_COUNT}."
        )
    return ByteCount(value)


def scalar_map(zone: ZoneInfo) -> dict[object, ScalarDefinition]:
    """The scalar map for strawberry's `StrawberryConfig`: `datetime` printed in `zone`, `date`
    strictly as a day, `ByteCount` as a JSON integer."""
    return {
        ByteCount: ScalarDefinition(
            name="ByteCount",
            description=BYTE_COUNT_DESCRIPTION,
            specified_by_url=None,
            serialize=int,
            parse_value=parse_byte_count,
            parse_literal=None,
            origin=ByteCount,
        ),
        date: ScalarDefinition(
            name="Date",
            description=DATE_DESCRIPTION,
            specified_by_url=None,
            serialize=wire_date,
            parse_value=DateDefinition.parse_value,  # strawberry's own: inputs unchanged
            parse_literal=None,
            origin=date,
        ),
        datetime: ScalarDefinition(
            name="DateTime",
            description=DATETIME_DESCRIPTION,
            specified_by_url=None,
            serialize=lambda value: wire_datetime(value, zone),
            parse_value=DateTimeDefinition.parse_value,  # strawberry's own: any ISO 8601
            parse_literal=None,
            origin=datetime,
        ),
    }
