"""On time (đúng hạn), counted as the law and the 766 index count it: the dossier's deadline under
the province's on-time policy, and the verdict on a returned dossier.

Two sources, one setting (`ON_TIME_POLICY`, docs/configuration.md; the rules in docs/domain.md):

- `DECISION_766` (the default) — the formula of Decision 766/QĐ-TTg as the national public service
  portal scores it: on time is judged after subtracting the working time spent waiting for the
  applicant's supplement (the deadline moves by the time paused); a dossier still waiting ends at
  the request date; more than one supplement request counts the dossier as late.
- `DECREE_61_ART_19` — Decree 61/2018 art. 19: when the competent agency finds a received dossier
  incomplete within 3 working days of reception, the processing time counts again from the start
  once the complete dossier arrives, with a new appointment the applicant is told. A request after
  those 3 working days (the decree gives it no rule) and any later request stop the clock as under
  the 766 formula.

Under both, an apology never turns late into on time, and the deadline is never moved by one
(`Dossier.deadline_at` is the deadline by law; `due_at` also carries the apology's new date).

The acts apply these rules one step at a time (reception, the supplement's arrival, the return);
`replay` applies them to a whole history, for the recomputation of stored facts (migration 0024).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from models.catalog import ProcedureVersion, TimeLimitUnit
from models.dossiers import Channel, Punctuality
from services.calendar import WorkingCalendar

__all__ = [
    "RESTART_WINDOW_DAYS",
    "OnTimePolicy",
    "Pause",
    "Timeline",
    "after_supplement",
    "days_for",
    "processing_days",
    "replay",
    "verdict",
]

# Decree 61/2018 art. 19: the competent agency finds the dossier incomplete "within 3 working days".
RESTART_WINDOW_DAYS = Decimal(3)
_ONLINE = frozenset({Channel.ONLINE, Channel.NATIONAL_PORTAL})


class OnTimePolicy(enum.Enum):
    DECISION_766 = "DECISION_766"
    DECREE_61_ART_19 = "DECREE_61_ART_19"


def processing_days(channel: Channel, version: ProcedureVersion) -> Decimal:
    """The time a dossier has: the reduced online time of the catalog decision for every online
    dossier, whatever portal it came through (this one or the national portal), else the full time."""
    return days_for(channel, version.processing_days, version.online_processing_days)


def days_for(channel: Channel, full: Decimal, online: Decimal | None) -> Decimal:
    return Decimal(online if channel in _ONLINE and online is not None else full)


@dataclass(frozen=True)
class Resumed:
    """What the arrival of the supplement does to the deadline."""

    deadline: datetime
    paused_minutes: int  # working minutes waited for the applicant
    restarted: bool  # Decree 61 art. 19: counted again from the start (a new appointment)


def after_supplement(
    policy: OnTimePolicy,
    calendar: WorkingCalendar,
    *,
    deadline: datetime,
    counts_from: datetime,
    days: Decimal,
    requested_at: datetime,
    arrived_at: datetime,
    first_request: bool,
    unit: TimeLimitUnit = TimeLimitUnit.WORKING_DAYS,
) -> Resumed:
    """The deadline once the supplement asked for at `requested_at` arrives at `arrived_at`
    (documents arriving after hours count from the next session, like any submission)."""
    resumed = calendar.counts_from(arrived_at)
    paused = calendar.working_minutes_between(requested_at, resumed)
    if (
        policy is OnTimePolicy.DECREE_61_ART_19
        and first_request
        and requested_at <= calendar.add_working_days(counts_from, RESTART_WINDOW_DAYS)
    ):
        return Resumed(calendar.add_time_limit(resumed, days, unit), paused, True)
    return Resumed(calendar.add_working_minutes(deadline, paused), paused, False)


def verdict(
    policy: OnTimePolicy,
    calendar: WorkingCalendar,
    *,
    ready_at: datetime,
    deadline: datetime,
    apologised: bool,
    supplement_requests: int,
) -> Punctuality:
    """Early, on time or late: the result's readiness against the deadline by law. An apology never
    turns late into on time; under the 766 formula a second supplement request makes it late."""
    if apologised:
        return Punctuality.LATE
    if policy is OnTimePolicy.DECISION_766 and supplement_requests > 1:
        return Punctuality.LATE
    return Punctuality(calendar.punctuality(ready_at, deadline).value)


@dataclass(frozen=True)
class Pause:
    requested_at: datetime
    arrived_at: datetime | None  # None: still waiting for the applicant


@dataclass(frozen=True)
class Timeline:
    """A received dossier's history, as far as on time is concerned."""

    counts_from: datetime  # when its time started counting (the reception rule applied)
    days: Decimal
    pauses: Sequence[Pause]
    apologised: bool
    ready_at: datetime | None  # the result ready (or the dossier finished); None: still open
    unit: TimeLimitUnit = TimeLimitUnit.WORKING_DAYS  # the procedure's time-limit unit


@dataclass(frozen=True)
class Replayed:
    deadline: datetime  # the deadline by law after every supplement that arrived
    appointment: datetime  # the appointment the applicant holds (moved only by a restart)
    punctuality: Punctuality | None  # the verdict for a ready dossier, else None


def replay(policy: OnTimePolicy, calendar: WorkingCalendar, t: Timeline) -> Replayed:
    """The acts' rules over a whole history: the deadline after each supplement, and the verdict."""
    deadline = appointment = calendar.add_time_limit(t.counts_from, t.days, t.unit)
    for i, pause in enumerate(t.pauses):
        if pause.arrived_at is None:
            break
        resumed = after_supplement(
            policy,
            calendar,
            deadline=deadline,
            counts_from=t.counts_from,
            days=t.days,
            requested_at=pause.requested_at,
            arrived_at=pause.arrived_at,
            first_request=i == 0,
            unit=t.unit,
        )
        deadline = resumed.deadline
        if resumed.restarted:
            appointment = deadline
    judged = None
    if t.ready_at is not None:
        judged = verdict(
            policy,
            calendar,
            ready_at=t.ready_at,
            deadline=deadline,
            apologised=t.apologised,
            supplement_requests=len(t.pauses),
        )
    return Replayed(deadline, appointment, judged)
