"""The tables partitioned by time (migration 0033, issue 15 item 2) and their partitions' names.

Each is a RANGE-partitioned parent with one partition per local year (`<table>_y<YYYY>`, from
1 January 00:00 in Asia/Ho_Chi_Minh to the next) and `<table>_default`, which takes any row no
yearly partition covers. `services.partitions` creates them ahead and detaches old ones; the
schema comparison (migrations/env.py, the migrations test) leaves the partitions — and the
yearly tables detached for the archive — out, since the models describe only the parents.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")  # the province's years, as the statistics' months

# parent → its partition key (set once when the row is written, never changed)
PARTITIONED: dict[str, str] = {
    "dossier_events": "at",
    "security_events": "at",
    "notification_outbox": "created_at",
}

_PARTITION = re.compile(r"^(?P<parent>.+)_(?:y(?P<year>\d{4})(?:_detached)?|default)$")


def year_start(year: int) -> datetime:
    """Where a yearly partition starts (and the previous one ends): local midnight on 1 January."""
    return datetime(year, 1, 1, tzinfo=ZONE)


def partition_name(table: str, year: int | None) -> str:
    """`<table>_y<YYYY>`, or `<table>_default` for `None`."""
    return f"{table}_default" if year is None else f"{table}_y{year}"


def detached_name(table: str, year: int) -> str:
    """What a yearly partition detached for the archive is renamed to: a plain table, out of the
    parent, whose name no new partition takes."""
    return f"{partition_name(table, year)}_detached"


def partition_year(name: str) -> tuple[str, int | None] | None:
    """(parent, year or None for the default) when `name` is a partition of a partitioned table
    (or a yearly one detached from it)."""
    match = _PARTITION.match(name)
    if match is None or match["parent"] not in PARTITIONED:
        return None
    return match["parent"], int(match["year"]) if match["year"] else None


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic's filter: compare the parents only, never their partitions."""
    return not (type_ == "table" and name is not None and partition_year(name) is not None)
