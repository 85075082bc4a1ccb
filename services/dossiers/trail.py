"""The process control trail (phiếu kiểm soát quá trình giải quyết, Circular 01/2018 form 05),
made tamper-evident: each event's hash covers its content and the previous event's hash, so an
edited, removed or reordered row breaks the chain from there on. The table itself refuses
UPDATE and DELETE (a trigger); the chain catches what a superuser could still do.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from models.dossiers import DossierEvent

GENESIS = "0" * 64


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return (
        str(value)
        if value is not None and not isinstance(value, (str, int, float, bool, dict, list))
        else value
    )


def event_hash(event: DossierEvent) -> str:
    body = {
        "dossier": str(event.dossier_id),
        "at": event.at.isoformat(),
        "action": event.action,
        "actor": event.actor_label,
        "role": event.actor_role,
        "agency": _canonical(event.agency_id),
        "from": event.from_status,
        "to": event.to_status,
        "fromStep": event.from_step,
        "toStep": event.to_step,
        "comment": event.comment,
        "punctuality": event.punctuality,
        "data": event.data,
        "prev": event.prev_hash,
    }
    encoded = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_canonical)
    return hashlib.sha256(encoded.encode()).hexdigest()


@dataclass(frozen=True)
class ChainCheck:
    valid: bool
    events: int
    broken_at_seq: int | None
    head: str


def verify(
    events: Sequence[DossierEvent], expected_head: str | None, *, start: str = GENESIS, before: int = 0
) -> ChainCheck:
    """Recompute the chain in order; the head must also match the one kept on the dossier, so
    that deleting the last events is caught too. `start`, `before`: the hash the chain goes on
    from and the number of events before it, when the first ones were detached for the archive
    (`DossierTrailAnchor`)."""
    previous, count = start, before + len(events)
    for event in events:
        if event.prev_hash != previous or event_hash(event) != event.hash:
            return ChainCheck(False, count, event.seq, previous)
        previous = event.hash
    if expected_head is not None and previous != expected_head:
        last = events[-1].seq if events else None
        return ChainCheck(False, count, last, previous)
    return ChainCheck(True, count, None, previous)
