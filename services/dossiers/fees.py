"""The amount a dossier owes (phí, lệ phí phải nộp).

A dossier owes the fees of the procedure version it was submitted under. A fee that names a
reduced amount for online submission (mức thu khi nộp trực tuyến, the incentive set by the
fee regulations of the Ministry of Finance and the provincial People's Council) is charged at
that amount when the dossier came in online — through this portal or the national public service portal —
and at the ordinary amount at the counter or by post.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from models.catalog import FeeKind, ProcedureFee
from models.dossiers import Channel

ONLINE_CHANNELS = frozenset({Channel.ONLINE, Channel.NATIONAL_PORTAL})


@dataclass(frozen=True, slots=True)
class FeeLine:
    kind: FeeKind
    name: str
    amount: int  # charged, VND
    ordinary_amount: int  # the amount before any online reduction, VND


@dataclass(frozen=True, slots=True)
class FeesDue:
    lines: tuple[FeeLine, ...]

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def reduction(self) -> int:
        return sum(line.ordinary_amount - line.amount for line in self.lines)


def fees_due(fees: Iterable[ProcedureFee], channel: Channel) -> FeesDue:
    """The lines charged to a dossier that came in through `channel`, in the procedure's order."""
    online = channel in ONLINE_CHANNELS
    lines = tuple(
        FeeLine(
            kind=f.kind,
            name=f.name,
            amount=f.online_amount if online and f.online_amount is not None else f.amount,
            ordinary_amount=f.amount,
        )
        for f in sorted(fees, key=lambda f: f.position)
    )
    return FeesDue(lines)
