"""Working-day deadlines: real 2026 dates as tables, the arithmetic as properties."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.calendar import OfficeHours, Punctuality, WorkingCalendar

VN = ZoneInfo("Asia/Ho_Chi_Minh")
CAL = WorkingCalendar.vietnam([2025, 2026, 2027])
NO_CUTOFF = dataclasses.replace(CAL, hours=OfficeHours(cutoff=None))
D = Decimal

# The library's 2026 list, pinned so that an upgrade changing it is noticed.
HOLIDAYS_2026 = {
    date(2026, 1, 1): "New Year's Day",
    date(2026, 2, 16): "Lunar New Year's Eve",
    date(2026, 2, 17): "Lunar New Year",
    date(2026, 2, 18): "Second Day of Lunar New Year",
    date(2026, 2, 19): "Third Day of Lunar New Year",
    date(2026, 2, 20): "Fourth Day of Lunar New Year",
    date(2026, 4, 26): "Hung Kings' Commemoration Day",
    date(2026, 4, 27): "Hung Kings' Commemoration Day (observed)",
    date(2026, 4, 30): "Liberation Day/Reunification Day",
    date(2026, 5, 1): "International Labor Day",
    date(2026, 8, 31): "Day off (substituted from 08/22/2026)",
    date(2026, 9, 1): "National Day",
    date(2026, 9, 2): "National Day",
    date(2026, 11, 24): "Vietnam Cultural Day",
}


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=VN)


# -- the library's data -------------------------------------------------------------------------


def test_library_2026_holidays_are_the_expected_ones() -> None:
    public = holidays.country_holidays("VN", years=2026, language="en_US")
    for day, name in sorted(public.items()):
        print(day.isoformat(), day.strftime("%a"), name)
    assert dict(public) == HOLIDAYS_2026
    # the Saturday worked in exchange for Monday 31 August
    assert date(2026, 8, 22) in public.weekend_workdays


def test_vietnam_calendar_uses_holidays_and_swapped_saturday() -> None:
    assert set(HOLIDAYS_2026) <= CAL.days_off
    for day in HOLIDAYS_2026:
        assert not CAL.is_working_day(day)
    assert CAL.is_working_day(date(2026, 8, 22))  # Saturday, worked for 31 August
    assert not CAL.is_working_day(date(2026, 8, 29))  # an ordinary Saturday
    assert not CAL.is_working_day(date(2026, 3, 8))  # an ordinary Sunday
    assert CAL.is_working_day(date(2026, 3, 9))
    assert CAL.minutes_per_day() == 480


# -- reception: counts_from ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "counts"),
    [
        pytest.param(at(2026, 3, 5, 9, 0), at(2026, 3, 5, 9, 0), id="morning session"),
        pytest.param(at(2026, 3, 5, 7, 30), at(2026, 3, 5, 7, 30), id="opening"),
        pytest.param(at(2026, 3, 5, 6, 0), at(2026, 3, 5, 7, 30), id="before opening"),
        pytest.param(at(2026, 3, 5, 11, 30), at(2026, 3, 5, 13, 0), id="morning end"),
        pytest.param(at(2026, 3, 5, 12, 0), at(2026, 3, 5, 13, 0), id="lunch"),
        pytest.param(at(2026, 3, 5, 14, 0), at(2026, 3, 5, 14, 0), id="afternoon"),
        pytest.param(at(2026, 3, 5, 16, 30), at(2026, 3, 5, 16, 30), id="at the cut-off"),
        pytest.param(at(2026, 3, 5, 16, 45), at(2026, 3, 6, 7, 30), id="after the cut-off"),
        pytest.param(at(2026, 3, 6, 16, 45), at(2026, 3, 9, 7, 30), id="friday after cut-off"),
        pytest.param(at(2026, 3, 5, 17, 0), at(2026, 3, 6, 7, 30), id="closing"),
        pytest.param(at(2026, 3, 5, 21, 0), at(2026, 3, 6, 7, 30), id="evening"),
        pytest.param(at(2026, 3, 7, 10, 0), at(2026, 3, 9, 7, 30), id="saturday"),
        pytest.param(at(2026, 3, 8, 10, 0), at(2026, 3, 9, 7, 30), id="sunday"),
        pytest.param(at(2026, 2, 13, 17, 30), at(2026, 2, 23, 7, 30), id="friday before Tết"),
        pytest.param(at(2026, 2, 17, 9, 0), at(2026, 2, 23, 7, 30), id="during Tết"),
        pytest.param(at(2026, 4, 27, 9, 0), at(2026, 4, 28, 7, 30), id="Hùng Kings observed"),
        pytest.param(at(2026, 8, 22, 9, 0), at(2026, 8, 22, 9, 0), id="swapped saturday"),
        pytest.param(
            datetime(2026, 3, 5, 2, 0, tzinfo=UTC), at(2026, 3, 5, 9, 0), id="other zone (09:00 local)"
        ),
    ],
)
def test_counts_from(received: datetime, counts: datetime) -> None:
    result = CAL.counts_from(received)
    assert result == counts
    assert result.tzinfo == VN


def test_without_cutoff_the_whole_afternoon_counts() -> None:
    assert NO_CUTOFF.counts_from(at(2026, 3, 5, 16, 45)) == at(2026, 3, 5, 16, 45)
    assert NO_CUTOFF.counts_from(at(2026, 3, 5, 17, 0)) == at(2026, 3, 6, 7, 30)


# -- deadlines: add_working_days ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "days", "due"),
    [
        pytest.param(at(2026, 3, 9, 7, 30), D(1), at(2026, 3, 9, 17, 0), id="a whole day ends at closing"),
        # half a day = 240 minutes = the whole morning with the default hours: it ends at 11:30,
        # a session end, and stays there rather than moving to 13:00.
        pytest.param(at(2026, 3, 9, 7, 30), D("0.5"), at(2026, 3, 9, 11, 30), id="half day from opening"),
        pytest.param(at(2026, 3, 9, 9, 0), D("0.5"), at(2026, 3, 9, 14, 30), id="half day over lunch"),
        pytest.param(at(2026, 3, 9, 12, 0), D("0.5"), at(2026, 3, 9, 17, 0), id="half day from lunch"),
        pytest.param(at(2026, 3, 9, 13, 0), D("1.5"), at(2026, 3, 10, 17, 0), id="one and a half days"),
        pytest.param(at(2026, 3, 5, 9, 0), D(3), at(2026, 3, 10, 9, 0), id="thursday + 3 -> tuesday"),
        pytest.param(at(2026, 3, 9, 9, 0), D(0), at(2026, 3, 9, 9, 0), id="zero days"),
        pytest.param(at(2026, 3, 7, 9, 0), D(0), at(2026, 3, 9, 7, 30), id="zero days from saturday"),
        pytest.param(at(2026, 3, 7, 9, 0), D(1), at(2026, 3, 9, 17, 0), id="received saturday"),
        pytest.param(at(2026, 3, 5, 16, 45), D(1), at(2026, 3, 6, 17, 0), id="after cut-off"),
        # from 13:00: the afternoon, then the next morning, ending at 11:30 (a session end), not 13:00
        pytest.param(at(2026, 3, 5, 12, 0), D(1), at(2026, 3, 6, 11, 30), id="received at lunch"),
        # Friday 14:00: 180 minutes that afternoon, then Tết (16-20 Feb) and two weekends.
        pytest.param(at(2026, 2, 13, 14, 0), D(1), at(2026, 2, 23, 14, 0), id="across Tết"),
        # Hùng Kings' day is Sunday 26 April 2026, observed on Monday 27 April.
        pytest.param(at(2026, 4, 24, 9, 0), D(1), at(2026, 4, 28, 9, 0), id="across Hùng Kings"),
        pytest.param(at(2026, 4, 29, 9, 0), D(2), at(2026, 5, 5, 9, 0), id="across 30/4 and 1/5"),
        pytest.param(at(2026, 8, 21, 9, 0), D(1), at(2026, 8, 22, 9, 0), id="into swapped saturday"),
        pytest.param(at(2026, 8, 28, 9, 0), D(1), at(2026, 9, 3, 9, 0), id="across national day"),
        pytest.param(at(2026, 11, 23, 9, 0), D(1), at(2026, 11, 25, 9, 0), id="across culture day"),
        pytest.param(at(2026, 12, 31, 9, 0), D(1), at(2027, 1, 4, 9, 0), id="across new year"),
        pytest.param(at(2026, 3, 2, 7, 30), D(10), at(2026, 3, 13, 17, 0), id="two weeks"),
    ],
)
def test_add_working_days(received: datetime, days: Decimal, due: datetime) -> None:
    result = CAL.add_working_days(received, days)
    assert result == due
    assert result.tzinfo == VN


def test_override_saturday_worked() -> None:
    cal = WorkingCalendar.vietnam([2026], extra_working_days=[date(2026, 1, 10)])
    assert cal.is_working_day(date(2026, 1, 10))
    assert date(2026, 1, 10) in cal.working_weekend_days
    assert cal.add_working_days(at(2026, 1, 9, 9, 0), D(1)) == at(2026, 1, 10, 9, 0)
    assert cal.counts_from(at(2026, 1, 10, 8, 0)) == at(2026, 1, 10, 8, 0)
    assert CAL.add_working_days(at(2026, 1, 9, 9, 0), D(1)) == at(2026, 1, 12, 9, 0)


def test_override_holiday_worked() -> None:
    cal = WorkingCalendar.vietnam([2026], extra_working_days=[date(2026, 4, 27)])
    assert cal.is_working_day(date(2026, 4, 27))
    assert date(2026, 4, 27) not in cal.days_off
    assert date(2026, 4, 27) not in cal.working_weekend_days  # a Monday
    assert cal.add_working_days(at(2026, 4, 24, 9, 0), D(1)) == at(2026, 4, 27, 9, 0)


def test_extra_day_off_is_skipped() -> None:
    cal = WorkingCalendar.vietnam([2026], extra_days_off=[date(2026, 3, 6)])
    assert not cal.is_working_day(date(2026, 3, 6))
    assert cal.add_working_days(at(2026, 3, 5, 9, 0), D(1)) == at(2026, 3, 9, 9, 0)
    assert cal.counts_from(at(2026, 3, 6, 9, 0)) == at(2026, 3, 9, 7, 30)


def test_extra_day_off_cancels_a_swapped_saturday() -> None:
    cal = WorkingCalendar.vietnam([2026], extra_days_off=[date(2026, 8, 22)])
    assert not cal.is_working_day(date(2026, 8, 22))


def test_half_day_with_an_odd_number_of_minutes() -> None:
    # 240 + 255 = 495 minutes; half a day is 247.5 minutes: the morning, then 7.5 minutes.
    hours = OfficeHours(afternoon=(time(13, 0), time(17, 15)))
    cal = WorkingCalendar.vietnam([2026], hours=hours)
    assert cal.minutes_per_day() == 495
    assert cal.add_working_days(at(2026, 3, 9, 7, 30), D("0.5")) == at(2026, 3, 9, 13, 7, 30)
    assert cal.add_working_days(at(2026, 3, 9, 7, 30), D(1)) == at(2026, 3, 9, 17, 15)


def test_no_lunch_break() -> None:
    hours = OfficeHours(morning=(time(8, 0), time(12, 0)), afternoon=(time(12, 0), time(16, 0)), cutoff=None)
    cal = WorkingCalendar.vietnam([2026], hours=hours)
    assert cal.add_working_days(at(2026, 3, 9, 8, 0), D("0.5")) == at(2026, 3, 9, 12, 0)
    assert cal.counts_from(at(2026, 3, 9, 12, 0)) == at(2026, 3, 9, 12, 0)


def test_add_working_minutes_is_the_primitive() -> None:
    start = at(2026, 3, 9, 9, 0)
    assert CAL.add_working_minutes(start, 150) == at(2026, 3, 9, 11, 30)
    assert CAL.add_working_minutes(start, 151) == at(2026, 3, 9, 13, 1)
    # no reception rule: minutes after the cut-off are working minutes
    assert CAL.add_working_minutes(at(2026, 3, 5, 16, 45), 15) == at(2026, 3, 5, 17, 0)
    assert CAL.add_working_minutes(at(2026, 3, 5, 16, 45), 16) == at(2026, 3, 6, 7, 31)
    # zero minutes: stays inside a session or at its end, otherwise moves to the next session
    assert CAL.add_working_minutes(at(2026, 3, 9, 11, 30), 0) == at(2026, 3, 9, 11, 30)
    assert CAL.add_working_minutes(at(2026, 3, 9, 12, 0), 0) == at(2026, 3, 9, 13, 0)
    assert CAL.add_working_minutes(at(2026, 3, 7, 12, 0), 0) == at(2026, 3, 9, 7, 30)


# -- clock stop: working_minutes_between --------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "minutes"),
    [
        pytest.param(at(2026, 3, 9, 7, 30), at(2026, 3, 9, 17, 0), 480, id="a day"),
        pytest.param(at(2026, 3, 9, 11, 0), at(2026, 3, 9, 13, 30), 60, id="over lunch"),
        pytest.param(at(2026, 3, 6, 16, 0), at(2026, 3, 9, 8, 0), 90, id="over a weekend"),
        pytest.param(at(2026, 2, 13, 17, 0), at(2026, 2, 23, 7, 30), 0, id="Tết"),
        pytest.param(at(2026, 3, 9, 10, 0), at(2026, 3, 9, 9, 0), 0, id="reversed"),
        pytest.param(at(2026, 3, 9, 10, 0), at(2026, 3, 9, 10, 0, 59), 0, id="under a minute"),
        pytest.param(at(2026, 3, 5, 16, 45), at(2026, 3, 6, 7, 30), 15, id="after the cut-off counts"),
    ],
)
def test_working_minutes_between(a: datetime, b: datetime, minutes: int) -> None:
    assert CAL.working_minutes_between(a, b) == minutes


def test_clock_stop_moves_the_deadline() -> None:
    due = CAL.add_working_days(at(2026, 3, 2, 9, 0), D(5))  # Monday 9 March 09:00
    assert due == at(2026, 3, 9, 9, 0)
    # supplement requested Wednesday 10:00, received Friday 16:45 (after the cut-off: counts Monday)
    paused = CAL.working_minutes_between(at(2026, 3, 4, 10, 0), CAL.counts_from(at(2026, 3, 6, 16, 45)))
    assert paused == 90 + 240 + 2 * 480  # rest of Wednesday, Thursday, Friday (its last 15 minutes too)
    assert CAL.add_working_minutes(due, paused) == at(2026, 3, 11, 16, 0)


# -- punctuality --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("finished", "due", "expected"),
    [
        pytest.param(at(2026, 3, 9, 9, 0), at(2026, 3, 9, 9, 0), Punctuality.ON_TIME, id="at the due moment"),
        pytest.param(at(2026, 3, 9, 8, 0), at(2026, 3, 9, 9, 0), Punctuality.ON_TIME, id="earlier same day"),
        pytest.param(at(2026, 3, 9, 9, 1), at(2026, 3, 9, 9, 0), Punctuality.LATE, id="a minute late"),
        pytest.param(at(2026, 3, 6, 16, 0), at(2026, 3, 9, 9, 0), Punctuality.EARLY, id="previous day"),
        pytest.param(at(2026, 3, 8, 10, 0), at(2026, 3, 9, 9, 0), Punctuality.EARLY, id="a sunday before"),
        # 23:30 UTC on the 8th is 06:30 on the 9th in Vietnam: same local day as the due moment
        pytest.param(
            datetime(2026, 3, 8, 23, 30, tzinfo=UTC),
            at(2026, 3, 9, 9, 0),
            Punctuality.ON_TIME,
            id="local date",
        ),
    ],
)
def test_punctuality(finished: datetime, due: datetime, expected: Punctuality) -> None:
    assert CAL.punctuality(finished, due) is expected


# -- validation ---------------------------------------------------------------------------------

NAIVE = datetime(2026, 3, 9, 9, 0)  # noqa: DTZ001 - the point of the test
AWARE = at(2026, 3, 9, 9, 0)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: CAL.counts_from(NAIVE), id="counts_from"),
        pytest.param(lambda: CAL.add_working_days(NAIVE, D(1)), id="add_working_days"),
        pytest.param(lambda: CAL.add_working_minutes(NAIVE, 1), id="add_working_minutes"),
        pytest.param(lambda: CAL.working_minutes_between(NAIVE, AWARE), id="between a"),
        pytest.param(lambda: CAL.working_minutes_between(AWARE, NAIVE), id="between b"),
        pytest.param(lambda: CAL.punctuality(NAIVE, AWARE), id="punctuality finished"),
        pytest.param(lambda: CAL.punctuality(AWARE, NAIVE), id="punctuality due"),
    ],
)
def test_naive_datetimes_are_rejected(call: Any) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call()


@pytest.mark.parametrize("days", [D("0.25"), D("-0.5"), D(-1), D("NaN"), D("Infinity"), D("1.3")])
def test_invalid_days(days: Decimal) -> None:
    with pytest.raises(ValueError, match="days"):
        CAL.add_working_days(AWARE, days)


def test_days_must_be_decimal_not_float() -> None:
    with pytest.raises(TypeError):
        CAL.add_working_days(AWARE, 0.5)  # type: ignore[arg-type]
    assert CAL.add_working_days(AWARE, 1) == CAL.add_working_days(AWARE, D(1))  # type: ignore[arg-type]
    assert CAL.add_working_days(AWARE, D("1.50")) == CAL.add_working_days(AWARE, D("1.5"))


def test_invalid_minutes() -> None:
    with pytest.raises(ValueError, match="negative"):
        CAL.add_working_minutes(AWARE, -1)
    with pytest.raises(TypeError):
        CAL.add_working_minutes(AWARE, 1.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"morning": (time(11, 30), time(7, 30))}, id="morning reversed"),
        pytest.param({"morning": (time(7, 30), time(13, 30))}, id="morning overlaps afternoon"),
        pytest.param({"afternoon": (time(17, 0), time(13, 0))}, id="afternoon reversed"),
        pytest.param({"cutoff": time(11, 0)}, id="cut-off in the morning"),
        pytest.param({"cutoff": time(17, 30)}, id="cut-off after closing"),
        pytest.param({"cutoff": time(16, 30, 30)}, id="cut-off not whole minutes"),
        pytest.param({"morning": (time(7, 30, 15), time(11, 30))}, id="bound not whole minutes"),
    ],
)
def test_invalid_office_hours(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"office hours|cut-off|whole minutes"):
        OfficeHours(**kwargs)


def test_invalid_calendars() -> None:
    with pytest.raises(ValueError, match="Saturdays or Sundays"):
        WorkingCalendar(VN, OfficeHours(), frozenset(), frozenset({date(2026, 3, 9)}))
    with pytest.raises(ValueError, match="both off and worked"):
        WorkingCalendar(VN, OfficeHours(), frozenset({date(2026, 3, 7)}), frozenset({date(2026, 3, 7)}))
    with pytest.raises(ValueError, match="both as extra"):
        WorkingCalendar.vietnam(
            [2026], extra_days_off=[date(2026, 3, 7)], extra_working_days=[date(2026, 3, 7)]
        )
    with pytest.raises(ValueError, match="year"):
        WorkingCalendar.vietnam([])


# -- properties ---------------------------------------------------------------------------------

PROPERTIES = settings(max_examples=150, deadline=None, database=None)
ZONES = st.sampled_from([VN, UTC, ZoneInfo("Europe/Paris")])
BOUNDARIES = [
    time(6, 0),
    time(7, 30),
    time(11, 30),
    time(12, 0),
    time(13, 0),
    time(16, 30),
    time(16, 45),
    time(17, 0),
]


@st.composite
def moments(draw: st.DrawFn) -> datetime:
    """Aware moments in 2026 (any zone), often exactly on a session bound or the cut-off."""
    if draw(st.booleans()):
        naive = draw(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 15)))  # noqa: DTZ001
        return naive.replace(tzinfo=VN).astimezone(draw(ZONES))
    day = draw(st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 15)))
    return datetime.combine(day, draw(st.sampled_from(BOUNDARIES)), tzinfo=VN)


half_days = st.integers(min_value=0, max_value=30).map(lambda n: Decimal(n) / 2)
positive_half_days = st.integers(min_value=1, max_value=30).map(lambda n: Decimal(n) / 2)
calendars = st.sampled_from([CAL, NO_CUTOFF])


def in_session(cal: WorkingCalendar, moment: datetime) -> bool:
    """On a working day, inside a session or exactly at its end."""
    local = moment.astimezone(cal.zone)
    t = local.time().replace(tzinfo=None)
    return cal.is_working_day(local.date()) and any(s <= t <= e for s, e in cal.hours.sessions())


def after_cutoff(cal: WorkingCalendar, moment: datetime) -> bool:
    local = moment.astimezone(cal.zone)
    cutoff, closing = cal.hours.cutoff, cal.hours.afternoon[1]
    t = local.time().replace(tzinfo=None)
    return cal.is_working_day(local.date()) and cutoff is not None and cutoff < t < closing


@PROPERTIES
@given(cal=calendars, start=moments(), days=half_days)
def test_deadline_never_before_counting_starts_and_is_in_session(
    cal: WorkingCalendar, start: datetime, days: Decimal
) -> None:
    begin = cal.counts_from(start)
    due = cal.add_working_days(start, days)
    assert due >= begin >= start
    assert in_session(cal, due)
    assert due.tzinfo == cal.zone
    assert cal.working_minutes_between(begin, due) == int(days * cal.minutes_per_day())


@PROPERTIES
@given(cal=calendars, start=moments())
def test_counts_from_is_in_session_before_the_cutoff_and_idempotent(
    cal: WorkingCalendar, start: datetime
) -> None:
    begin = cal.counts_from(start)
    assert in_session(cal, begin)
    assert begin.time() != cal.hours.afternoon[1]  # never at closing: that counts from the next day
    assert not after_cutoff(cal, begin)
    assert cal.counts_from(begin) == begin
    assert cal.add_working_days(start, D(0)) == begin
    if not after_cutoff(cal, start):
        assert cal.working_minutes_between(start, begin) == 0


@PROPERTIES
@given(cal=calendars, start=moments(), a=half_days, b=half_days)
def test_monotone_in_days(cal: WorkingCalendar, start: datetime, a: Decimal, b: Decimal) -> None:
    low, high = sorted((a, b))
    assert cal.add_working_days(start, low) <= cal.add_working_days(start, high)
    if low < high:
        assert cal.add_working_days(start, low) < cal.add_working_days(start, high)


@PROPERTIES
@given(cal=calendars, start=moments(), a=half_days, b=positive_half_days)
def test_chaining_steps(cal: WorkingCalendar, start: datetime, a: Decimal, b: Decimal) -> None:
    """add(add(s, a), b) == add(s, a + b) for b > 0, except for what the cut-off skips.

    The second `add` applies the reception rule to the first result; when that lands after the
    cut-off, the rest of the afternoon is skipped, exactly by its length.
    """
    middle = cal.add_working_days(start, a)
    chained = cal.add_working_days(middle, b)
    direct = cal.add_working_days(start, a + b)
    skipped = cal.working_minutes_between(middle, cal.counts_from(middle))
    if cal.hours.cutoff is None or not after_cutoff(cal, middle):
        assert skipped == 0
        assert chained == direct
    else:
        assert chained > direct
    assert cal.working_minutes_between(direct, chained) == skipped
    assert cal.add_working_days(middle, D(0)) == cal.counts_from(middle)


@PROPERTIES
@given(cal=calendars, start=moments(), m=st.integers(min_value=0, max_value=5000), n=st.integers(0, 5000))
def test_minutes_are_additive(cal: WorkingCalendar, start: datetime, m: int, n: int) -> None:
    assert cal.add_working_minutes(cal.add_working_minutes(start, m), n) == cal.add_working_minutes(
        start, m + n
    )


@PROPERTIES
@given(cal=calendars, start=moments(), m=st.integers(min_value=0, max_value=10_000))
def test_round_trip(cal: WorkingCalendar, start: datetime, m: int) -> None:
    begin = cal.counts_from(start)
    end = cal.add_working_minutes(begin, m)
    assert in_session(cal, end)
    assert cal.working_minutes_between(begin, end) == m
    # From the reception moment itself: the same, unless it came after the cut-off, whose
    # afternoon remainder is working time that the reception rule did not count.
    extra = cal.working_minutes_between(start, begin)
    assert cal.working_minutes_between(start, end) == m + extra
    if not after_cutoff(cal, start):
        assert extra == 0


@PROPERTIES
@given(cal=calendars, start=moments(), days=half_days)
def test_days_are_minutes_from_counting_start(cal: WorkingCalendar, start: datetime, days: Decimal) -> None:
    minutes = days * cal.minutes_per_day()
    assert cal.add_working_days(start, days) == cal.add_working_minutes(cal.counts_from(start), int(minutes))


@PROPERTIES
@given(start=moments(), days=half_days)
def test_result_does_not_depend_on_the_input_zone(start: datetime, days: Decimal) -> None:
    assert CAL.add_working_days(start.astimezone(UTC), days) == CAL.add_working_days(start, days)
    assert CAL.add_working_days(start, days).utcoffset() == timedelta(hours=7)


@PROPERTIES
@given(day=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 30)))
def test_only_working_days_contribute_minutes(day: date) -> None:
    whole_day = CAL.working_minutes_between(
        at(day.year, day.month, day.day), at(day.year, day.month, day.day) + timedelta(days=1)
    )
    if CAL.is_working_day(day):
        assert whole_day == CAL.minutes_per_day()
    else:
        assert whole_day == 0
        assert day.weekday() >= 5 or day in CAL.days_off


@PROPERTIES
@given(a=moments(), b=moments(), c=moments())
def test_between_is_additive(a: datetime, b: datetime, c: datetime) -> None:
    x, y, z = sorted((a, b, c))
    total = CAL.working_minutes_between(x, z)
    parts = CAL.working_minutes_between(x, y) + CAL.working_minutes_between(y, z)
    assert parts in (total, total - 1)  # whole minutes: two floors may lose one
    assert CAL.working_minutes_between(z, x) == 0


@PROPERTIES
@given(finished=moments(), due=moments())
def test_punctuality_properties(finished: datetime, due: datetime) -> None:
    assert CAL.punctuality(due, due) is Punctuality.ON_TIME
    verdict = CAL.punctuality(finished, due)
    assert (verdict is Punctuality.LATE) == (finished > due)
    if verdict is Punctuality.EARLY:
        assert finished < due
        assert finished.astimezone(VN).date() < due.astimezone(VN).date()
