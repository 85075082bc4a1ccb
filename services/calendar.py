"""Working-day calendar: when a dossier starts counting, when it is due, and whether it was on time.

Processing times of administrative procedures are set in working days, sometimes half days
(Decree 61/2018/NĐ-CP on the one-stop mechanism, as amended by Decree 107/2021/NĐ-CP, and the
procedure's own announcement). Weekly days off and public holidays do not count (Labor Code 2019,
Art. 111-112: New Year, Tết, Hùng Kings' day, 30/4, 1/5, 2/9 and the compensatory day when a holiday
falls on a weekly day off), nor do the days the Government swaps, whose matching Saturday becomes a
working day. The province may add its own days off or working days on top.

Model. Working time is the union of the office sessions (morning and afternoon) of working days,
measured in wall-clock time of the calendar's zone. One working day is the length of both
sessions (`minutes_per_day`, 480 minutes with the default hours); half a day is half of that, so
with the default hours 0.5 day is exactly one morning. All arithmetic is done on that measure:

* `counts_from` applies the reception rule: a dossier received outside a session, or after the
  afternoon cut-off, counts from the start of the next session.
* `add_working_minutes` is the additive primitive: the earliest moment at which the given amount of
  session time has elapsed. A deadline that is exhausted exactly at the end of a session stays at
  that end (Monday 07:30 + 1 day is Monday 17:00, + 0.5 day is Monday 11:30, not 13:00).
* `add_working_days` is `counts_from` followed by the primitive.
* `working_minutes_between` measures session time in `[a, b)`; it is additive and ignores the
  cut-off (the cut-off is a rule about receiving, not about working time).

A unit's Saturday session (`OfficeHours.saturday`) is a reception session, or working time when
`saturday_counts` says so. Time limits come in working days (the default), half days, working
hours or calendar days (`add_time_limit` with a `TimeLimitUnit`); `with_hours` gives a receiving
unit's calendar over the province's days.

These rules never read the clock: every moment is an argument. Only timezone-aware datetimes are
accepted, results are in the calendar's zone. A calendar knows the holidays of the years it was
built for; build it for every year a deadline may reach (at least this year and the next).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import ROUND_CEILING, Decimal
from zoneinfo import ZoneInfo

import holidays

from models.catalog import TimeLimitUnit

__all__ = [
    "DEFAULT_HOURS",
    "VIETNAM_ZONE",
    "OfficeHours",
    "Punctuality",
    "TimeLimitUnit",
    "WorkingCalendar",
    "time_limit_text",
]

VIETNAM_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
_MINUTE = timedelta(minutes=1)
_HALF = Decimal("0.5")
_SATURDAY = 5


def _whole_minute(value: time) -> bool:
    return value.second == 0 and value.microsecond == 0 and value.tzinfo is None


@dataclass(frozen=True)
class OfficeHours:
    """The two daily office sessions, the afternoon reception cut-off and a Saturday session.

    Provinces set their own hours (07:30-11:30 and 13:00-17:00 is common) and usually stop
    counting a dossier from the same day when it arrives late in the afternoon; `cutoff` is that
    moment (`None`: no cut-off, a dossier received any time during a session counts at once).
    `saturday` is the session some one-stop units hold on Saturdays (e.g. 07:30-11:30: reception
    and return of results); when `saturday_counts` is false (the default) it is a reception
    session only and a dossier received in it counts from the next working day; when true its
    time counts towards the time limits too (a counted Saturday morning is half a working day with
    the default hours). Times are local wall-clock times in whole minutes.
    """

    morning: tuple[time, time] = (time(7, 30), time(11, 30))
    afternoon: tuple[time, time] = (time(13, 0), time(17, 0))
    cutoff: time | None = time(16, 30)
    saturday: tuple[time, time] | None = None
    saturday_counts: bool = False

    def __post_init__(self) -> None:
        bounds = (*self.morning, *self.afternoon)
        if len(self.morning) != 2 or len(self.afternoon) != 2:
            raise ValueError("a session is a (start, end) pair")
        if not all(_whole_minute(t) for t in bounds):
            raise ValueError("session bounds are naive local times in whole minutes")
        m_start, m_end = self.morning
        a_start, a_end = self.afternoon
        if not m_start < m_end <= a_start < a_end:
            raise ValueError(
                "office hours must satisfy morning start < morning end <= afternoon start < afternoon end"
            )
        if self.cutoff is not None:
            if not _whole_minute(self.cutoff):
                raise ValueError("the cut-off is a naive local time in whole minutes")
            if not a_start <= self.cutoff <= a_end:
                raise ValueError("the cut-off must lie within the afternoon session")
        if self.saturday is not None:
            if len(self.saturday) != 2 or not all(_whole_minute(t) for t in self.saturday):
                raise ValueError("the Saturday session is a (start, end) pair of whole-minute local times")
            if not self.saturday[0] < self.saturday[1]:
                raise ValueError("the Saturday session must start before it ends")
        elif self.saturday_counts:
            raise ValueError("saturday_counts needs a Saturday session")

    def sessions(self) -> tuple[tuple[time, time], tuple[time, time]]:
        return (self.morning, self.afternoon)


DEFAULT_HOURS = OfficeHours()


class Punctuality(enum.Enum):
    """How a finished dossier compares with its due moment (sớm hạn / đúng hạn / quá hạn).

    Reports under the one-stop rules count dossiers settled before, on and after the deadline.
    """

    EARLY = "EARLY"
    ON_TIME = "ON_TIME"
    LATE = "LATE"


_UNIT_WORDS = {
    TimeLimitUnit.WORKING_DAYS: "ngày làm việc",
    TimeLimitUnit.HALF_DAYS: "buổi làm việc",
    TimeLimitUnit.WORKING_HOURS: "giờ làm việc",
    TimeLimitUnit.CALENDAR_DAYS: "ngày",
}


def time_limit_text(amount: Decimal, unit: TimeLimitUnit = TimeLimitUnit.WORKING_DAYS) -> str:
    """A time limit as the forms write it: «05 ngày làm việc», «0,5 ngày làm việc», «08 giờ làm
    việc», «15 ngày» (whole numbers on two digits, a decimal comma otherwise)."""
    value = Decimal(amount)
    if value == value.to_integral_value():
        number = f"{int(value):02d}"
    else:
        number = format(value.normalize(), "f").replace(".", ",")
    return f"{number} {_UNIT_WORDS[unit]}"


def _amount(value: Decimal | int, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"{name} must be a Decimal, got {type(value).__name__}")
    amount = Decimal(value)
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{name} must be a finite non-negative number, got {value}")
    return amount


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got a naive one: {value!r}")


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days are worked, the office hours, and deadline arithmetic over them.

    `days_off` holds the public holidays and any extra days off; Saturdays and Sundays are off
    unless listed in `working_weekend_days` (a weekend day worked to compensate a swapped day).
    """

    zone: ZoneInfo
    hours: OfficeHours
    days_off: frozenset[date]
    working_weekend_days: frozenset[date]

    def __post_init__(self) -> None:
        weekdays = sorted(d for d in self.working_weekend_days if d.weekday() < _SATURDAY)
        if weekdays:
            raise ValueError(f"working_weekend_days must be Saturdays or Sundays: {weekdays}")
        clash = sorted(self.days_off & self.working_weekend_days)
        if clash:
            raise ValueError(f"days both off and worked: {clash}")

    @classmethod
    def vietnam(
        cls,
        years: Iterable[int],
        *,
        zone: ZoneInfo = VIETNAM_ZONE,
        hours: OfficeHours = DEFAULT_HOURS,
        extra_days_off: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
    ) -> WorkingCalendar:
        """The Vietnamese public-sector calendar for `years`, with the province's overrides.

        Holidays come from the `holidays` library (Labor Code 2019, Art. 112, the compensatory
        days of Art. 111(3) and the Government's announced swaps); the Saturdays it records as
        worked in exchange for a swapped day are working days here too. An extra working day
        removes a holiday on that date or makes a weekend day a working day; an extra day off
        adds one. Giving the same date as both is an error.
        """
        wanted = sorted(set(years))
        if not wanted:
            raise ValueError("at least one year is needed")
        extra_off = frozenset(extra_days_off)
        extra_work = frozenset(extra_working_days)
        clash = sorted(extra_off & extra_work)
        if clash:
            raise ValueError(f"dates given both as extra days off and extra working days: {clash}")
        public = holidays.country_holidays("VN", years=wanted)
        days_off = (frozenset(public.keys()) | extra_off) - extra_work
        worked = frozenset(public.weekend_workdays) | {d for d in extra_work if d.weekday() >= _SATURDAY}
        return cls(
            zone=zone,
            hours=hours,
            days_off=days_off,
            working_weekend_days=frozenset(worked - extra_off),
        )

    # -- days ---------------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        """Whether `day`'s time counts (weekday not off, a weekend day declared worked, or a
        Saturday whose session counts)."""
        return bool(self.day_sessions(day))

    def day_sessions(self, day: date) -> tuple[tuple[time, time], ...]:
        """The sessions of `day` whose time counts towards time limits (none on a day off)."""
        if day in self.days_off:
            return ()
        if day.weekday() < _SATURDAY or day in self.working_weekend_days:
            return self.hours.sessions()
        if day.weekday() == _SATURDAY and self.hours.saturday is not None and self.hours.saturday_counts:
            return (self.hours.saturday,)
        return ()

    def with_hours(self, hours: OfficeHours) -> WorkingCalendar:
        """The same days with other office hours (a receiving unit's own)."""
        return replace(self, hours=hours)

    def is_open(self, moment: datetime) -> bool:
        """Whether the one-stop unit receives at `moment`: inside a session of a working day, or
        inside its Saturday session (counted or not) when that Saturday is not a day off."""
        _require_aware(moment, "moment")
        local = self._local(moment)
        day, now = local.date(), local.time()
        sessions = self.day_sessions(day)
        saturday = self.hours.saturday
        if not sessions and saturday is not None and day.weekday() == _SATURDAY and day not in self.days_off:
            sessions = (saturday,)
        return any(start <= now < end for start, end in sessions)

    def minutes_per_day(self) -> int:
        """Length of one working day: the morning plus the afternoon session, in minutes."""
        total = timedelta()
        for start, end in self.hours.sessions():
            total += datetime.combine(date.min, end) - datetime.combine(date.min, start)
        return total // _MINUTE

    # -- moments ------------------------------------------------------------------------------

    def counts_from(self, received_at: datetime) -> datetime:
        """The moment from which a dossier received at `received_at` starts counting.

        During a session (in the afternoon: at or before the cut-off) it counts at once; in the
        lunch break from the afternoon start; before the morning session of a working day from
        that morning; after the cut-off, after hours, or on a day off from the morning of the next
        working day (the reception rule of the one-stop mechanism, Decree 61/2018/NĐ-CP, with the
        province's office hours).
        """
        _require_aware(received_at, "received_at")
        local = self._local(received_at)
        day, now = local.date(), local.time()
        sessions = self.day_sessions(day)
        for index, (start, end) in enumerate(sessions):
            # The cut-off closes the afternoon of a full day; a counted Saturday runs to its end.
            cutoff = self.hours.cutoff if len(sessions) == 2 and index == 1 else None
            if now < start:
                return self._aware(day, start)
            if now < end and (cutoff is None or now <= cutoff):
                return self._zoned(local)
        following = self._next_working_day(day)
        return self._aware(following, self.day_sessions(following)[0][0])

    def add_working_days(self, start: datetime, days: Decimal) -> datetime:
        """The due moment of a procedure taking `days` working days for a dossier received at `start`.

        `days` is a non-negative multiple of 0.5 (processing times are announced in whole or half
        working days). Counting begins at `counts_from(start)`; one day is `minutes_per_day()` of
        session time and half a day half of it (which may end mid-session, or at the end of the
        morning with the default hours). A deadline exhausted at a session end stays at that end.
        Zero days gives `counts_from(start)`.
        """
        _require_aware(start, "start")
        if isinstance(days, bool) or not isinstance(days, Decimal | int):
            raise TypeError(f"days must be a Decimal, got {type(days).__name__}")
        value = Decimal(days)
        if not value.is_finite() or value < 0:
            raise ValueError(f"days must be a finite non-negative number, got {days}")
        if value % _HALF != 0:
            raise ValueError(f"days must be a multiple of 0.5, got {days}")
        seconds = value * self.minutes_per_day() * 60  # whole: half of an even number of seconds
        begin = self.counts_from(start)
        return self._zoned(self._advance(self._local(begin), timedelta(seconds=int(seconds))))

    def add_working_minutes(self, start: datetime, minutes: int) -> datetime:
        """The earliest moment at which `minutes` of session time have elapsed after `start`.

        The additive primitive behind `add_working_days` and the clock stop: it does not apply the
        reception rule (callers pass `counts_from(...)` when `start` is a reception). Exhausted at a
        session end, it stays there; with zero minutes it is `start` if that is inside a session or
        at its end, otherwise the start of the next session. Results are always in a session or at
        a session end of a working day.
        """
        _require_aware(start, "start")
        if isinstance(minutes, bool) or not isinstance(minutes, int):
            raise TypeError(f"minutes must be an int, got {type(minutes).__name__}")
        if minutes < 0:
            raise ValueError(f"minutes must not be negative, got {minutes}")
        return self._zoned(self._advance(self._local(start), minutes * _MINUTE))

    def add_time_limit(
        self, start: datetime, amount: Decimal, unit: TimeLimitUnit = TimeLimitUnit.WORKING_DAYS
    ) -> datetime:
        """The due moment of a time limit of `amount` `unit`s for a dossier received at `start`.

        Working days as `add_working_days`; half days (buổi) are half a working day each; working
        hours as `add_working_hours`; calendar days as `add_calendar_days` (a fraction rounded up
        to the whole day). Every unit starts at `counts_from(start)` (the reception rule).
        """
        if unit is TimeLimitUnit.WORKING_DAYS:
            return self.add_working_days(start, amount)
        if unit is TimeLimitUnit.WORKING_HOURS:
            return self.add_working_hours(start, amount)
        if unit is TimeLimitUnit.CALENDAR_DAYS:
            # A share of a day (an online time scaled down) ends with the day it falls in.
            return self.add_calendar_days(start, _amount(amount, "days").to_integral_value(ROUND_CEILING))
        value = _amount(amount, "half days")
        minutes = value * self.minutes_per_day() / 2
        if minutes != minutes.to_integral_value():
            raise ValueError(f"{amount} half days is not a whole number of minutes")
        return self.add_working_minutes(self.counts_from(start), int(minutes))

    def add_working_hours(self, start: datetime, hours: Decimal) -> datetime:
        """The due moment of a time limit of `hours` working hours (giờ làm việc): that much
        session time from `counts_from(start)`. `hours` must be a whole number of minutes."""
        _require_aware(start, "start")
        minutes = _amount(hours, "hours") * 60
        if minutes != minutes.to_integral_value():
            raise ValueError(f"{hours} hours is not a whole number of minutes")
        return self.add_working_minutes(self.counts_from(start), int(minutes))

    def add_calendar_days(self, start: datetime, days: Decimal) -> datetime:
        """The due moment of a time limit of `days` calendar days (ngày, days off included).

        As the Civil Code counts days (2015 Code, art. 147-148): the day of the event is not
        counted — here the day counting starts on, `counts_from(start)`, is day 0 — and a limit
        whose last day is a day off ends on the next working day. The last day ends at the close
        of its last session (province policy: results are handed over in office hours). Zero days
        is the end of the counting day.
        """
        _require_aware(start, "start")
        value = _amount(days, "days")
        if value != value.to_integral_value():
            raise ValueError(f"calendar days must be whole, got {days}")
        last = self._local(self.counts_from(start)).date() + timedelta(days=int(value))
        if not self.is_working_day(last):
            last = self._next_working_day(last)
        return self._aware(last, self.day_sessions(last)[-1][1])

    def working_minutes_between(self, a: datetime, b: datetime) -> int:
        """Whole minutes of session time in `[a, b)` (0 when `b <= a`).

        Used to stop the clock while the applicant supplements the dossier: the due moment is
        moved by this many working minutes. The measure is additive and ignores the cut-off; when
        the supplement is a reception, pass `counts_from(received_at)` as `b` so the reception
        rule applies to it.
        """
        _require_aware(a, "a")
        _require_aware(b, "b")
        start, end = self._local(a), self._local(b)
        total = timedelta()
        if end <= start:
            return 0
        for s_start, s_end in self._sessions_from(start.date()):
            if s_start >= end:
                break
            overlap = min(s_end, end) - max(s_start, start)
            if overlap > timedelta():
                total += overlap
        return total // _MINUTE

    def punctuality(self, finished_at: datetime, due_at: datetime) -> Punctuality:
        """Whether a dossier finished at `finished_at` was early, on time or late against `due_at`.

        Late after the due moment. Early when finished on a calendar day (in the local zone)
        before the due day; finishing earlier on the due day itself is on time, so being a few
        minutes ahead is not reported as early. A finish on a day off before the due day is early.
        """
        _require_aware(finished_at, "finished_at")
        _require_aware(due_at, "due_at")
        if finished_at > due_at:
            return Punctuality.LATE
        if self._local(finished_at).date() < self._local(due_at).date():
            return Punctuality.EARLY
        return Punctuality.ON_TIME

    # -- internals (naive local wall-clock time) ----------------------------------------------

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone).replace(tzinfo=None)

    def _zoned(self, local: datetime) -> datetime:
        return local.replace(tzinfo=self.zone)

    def _aware(self, day: date, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=self.zone)

    def _next_working_day(self, day: date) -> date:
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def _sessions_from(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        """Sessions of working days from `day` on, in order, as naive local (start, end)."""
        if not self.is_working_day(day):
            day = self._next_working_day(day)
        while True:
            for start, end in self.day_sessions(day):
                yield datetime.combine(day, start), datetime.combine(day, end)
            day = self._next_working_day(day)

    def _advance(self, start: datetime, amount: timedelta) -> datetime:
        """Earliest local moment >= `start` after which `amount` of session time has elapsed."""
        for s_start, s_end in self._sessions_from(start.date()):
            if start > s_end:
                continue
            cursor = max(start, s_start)
            available = s_end - cursor
            if amount <= available:  # an amount exhausted at a session end stays at that end
                return cursor + amount
            amount -= available
        raise AssertionError("unreachable: sessions never end")  # pragma: no cover
