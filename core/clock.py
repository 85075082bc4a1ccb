"""Clocks. Rules never read the time themselves: a request takes one `now` from a clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """For tests and replays: time stands still until moved."""

    at: datetime

    def now(self) -> datetime:
        return self.at
