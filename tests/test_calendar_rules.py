"""The province's calendar rules: office hours, the reception cut-off, Saturday sessions, days off
removed or added in both directions, and time limits in working days, half days, working hours
and calendar days. Real 2026 dates (Thursday 26 November 2026 is the tests' "now")."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from services.calendar import OfficeHours, TimeLimitUnit, WorkingCalendar, time_limit_text

VN = ZoneInfo("Asia/Ho_Chi_Minh")
D = Decimal
BASE = WorkingCalendar.vietnam([2026, 2027])
SATURDAY_RECEPTION = OfficeHours(saturday=(time(7, 30), time(11, 30)))
SATURDAY_COUNTED = OfficeHours(saturday=(time(7, 30), time(11, 30)), saturday_counts=True)


def at(m: int, d: int, hh: int = 0, mm: int = 0, y: int = 2026) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=VN)


def test_province_office_hours_set_when_counting_starts() -> None:
    """Province policy (CALENDAR_MORNING / CALENDAR_AFTERNOON, default 07:30-11:30, 13:00-17:00):
    a dossier received before the office opens counts from the opening of that day's session,
    in the lunch break from the afternoon's start (DESIGN.md: "office hours matter for when a day
    starts")."""
    hours = OfficeHours(
        morning=(time(8, 0), time(12, 0)), afternoon=(time(13, 30), time(17, 30)), cutoff=None
    )
    cal = BASE.with_hours(hours)
    assert cal.counts_from(at(11, 26, 7, 45)) == at(11, 26, 8, 0)
    assert cal.counts_from(at(11, 26, 12, 15)) == at(11, 26, 13, 30)
    assert cal.counts_from(at(11, 26, 17, 20)) == at(11, 26, 17, 20)
    assert cal.minutes_per_day() == 480
    # One working day from Thursday 08:00 ends Thursday 17:30 under these hours.
    assert cal.add_working_days(at(11, 26, 8, 0), D(1)) == at(11, 26, 17, 30)


def test_reception_after_the_cutoff_counts_from_the_next_working_day() -> None:
    """DESIGN.md (Kon Tum art. 8; Quảng Ngãi art. 10-11): "Dossiers submitted outside office hours
    count from the next working day." The seeds name no hour; the afternoon cut-off is province
    policy (CALENDAR_CUTOFF, default 16:30; empty: none)."""
    assert BASE.counts_from(at(11, 26, 16, 30)) == at(11, 26, 16, 30)
    assert BASE.counts_from(at(11, 26, 16, 31)) == at(11, 27, 7, 30)
    # Friday after the cut-off: Monday.
    assert BASE.counts_from(at(11, 27, 16, 45)) == at(11, 30, 7, 30)
    early = BASE.with_hours(OfficeHours(cutoff=time(15, 0)))
    assert early.counts_from(at(11, 26, 15, 1)) == at(11, 27, 7, 30)
    none = BASE.with_hours(OfficeHours(cutoff=None))
    assert none.counts_from(at(11, 26, 16, 59)) == at(11, 26, 16, 59)


def test_saturday_reception_session_counts_from_the_next_working_day() -> None:
    """Province policy (CALENDAR_SATURDAY, default none; CALENDAR_SATURDAY_COUNTS, default false):
    a unit receiving on Saturday morning is open then, but the time limit is in working days and a
    dossier received on Saturday counts from Monday morning."""
    cal = BASE.with_hours(SATURDAY_RECEPTION)
    saturday = at(11, 28, 9, 0)
    assert cal.is_open(saturday)
    assert not BASE.is_open(saturday)
    assert not cal.is_open(at(11, 28, 13, 30))
    assert not cal.is_working_day(date(2026, 11, 28))
    assert cal.counts_from(saturday) == at(11, 30, 7, 30)
    assert cal.add_working_days(saturday, D(1)) == at(11, 30, 17, 0)


def test_counted_saturday_session_is_working_time() -> None:
    """Province policy (CALENDAR_SATURDAY_COUNTS=true, or a unit's own calendar): where a unit's
    Saturday session counts, it is half a working day of time (the default hours' morning)."""
    cal = BASE.with_hours(SATURDAY_COUNTED)
    assert cal.is_working_day(date(2026, 11, 28))
    assert cal.counts_from(at(11, 28, 9, 0)) == at(11, 28, 9, 0)
    # Friday 16:45 is after the cut-off: counting starts on Saturday morning.
    assert cal.counts_from(at(11, 27, 16, 45)) == at(11, 28, 7, 30)
    # One working day from Friday 07:30 = Friday; 1.5 days reaches the end of Saturday's session.
    assert cal.add_working_days(at(11, 27, 7, 30), D("1.5")) == at(11, 28, 11, 30)
    assert cal.add_working_days(at(11, 27, 7, 30), D(2)) == at(11, 30, 11, 30)
    assert cal.working_minutes_between(at(11, 27, 17, 0), at(11, 30, 7, 30)) == 240


def test_saturday_session_does_not_open_on_a_holiday() -> None:
    """Labor Code 2019 art. 112: a public holiday is a day off; a Saturday session does not happen
    on one (2 January 2027 is not one, 26 December 2026 becomes one by a province override)."""
    cal = WorkingCalendar.vietnam([2026, 2027], hours=SATURDAY_COUNTED, extra_days_off=[date(2026, 12, 26)])
    assert not cal.is_open(at(12, 26, 9, 0))
    assert not cal.is_working_day(date(2026, 12, 26))
    assert cal.is_working_day(date(2027, 1, 2))


def test_removing_a_library_holiday_on_a_weekday_makes_it_a_working_day() -> None:
    """Province override, both directions: the `holidays` library gives Tuesday 24 November 2026
    (Vietnam Cultural Day) as a day off; a province that works that day removes it, and a province
    adds its own day off (e.g. a storm closure)."""
    assert not BASE.is_working_day(date(2026, 11, 24))
    cal = WorkingCalendar.vietnam(
        [2026], extra_working_days=[date(2026, 11, 24)], extra_days_off=[date(2026, 11, 25)]
    )
    assert cal.is_working_day(date(2026, 11, 24))
    assert not cal.is_working_day(date(2026, 11, 25))
    assert cal.counts_from(at(11, 23, 17, 0)) == at(11, 24, 7, 30)
    assert cal.add_working_days(at(11, 24, 7, 30), D(2)) == at(11, 26, 17, 0)


def test_time_limit_in_working_days_is_the_default_unit() -> None:
    """DESIGN.md ("Deadlines are counted in working days") and the procedure's announcement: time
    limits are in working days unless the announcement says otherwise (time_limit_unit defaults to
    WORKING_DAYS)."""
    start = at(11, 26, 9, 0)
    assert BASE.add_time_limit(start, D(3)) == BASE.add_working_days(start, D(3)) == at(12, 1, 9, 0)


def test_time_limit_in_half_days() -> None:
    """A time limit announced in sessions (buổi làm việc): each is half a working day; two
    half days from Thursday 07:30 end Thursday 17:00, three on Friday 11:30."""
    start = at(11, 26, 7, 30)
    assert BASE.add_time_limit(start, D(1), TimeLimitUnit.HALF_DAYS) == at(11, 26, 11, 30)
    assert BASE.add_time_limit(start, D(3), TimeLimitUnit.HALF_DAYS) == at(11, 27, 11, 30)


def test_time_limit_in_working_hours() -> None:
    """A time limit in working hours (giờ làm việc, e.g. "trong 04 giờ làm việc"): session time,
    skipping the lunch break, the night and days off."""
    assert BASE.add_time_limit(at(11, 26, 10, 0), D(4), TimeLimitUnit.WORKING_HOURS) == at(11, 26, 15, 30)
    # Friday 15:00 + 8 hours: 2 on Friday, 6 on Monday (4 in the morning, 2 after lunch).
    assert BASE.add_time_limit(at(11, 27, 15, 0), D(8), TimeLimitUnit.WORKING_HOURS) == at(11, 30, 15, 0)
    assert BASE.add_working_hours(at(11, 26, 10, 0), D("0.5")) == at(11, 26, 10, 30)
    with pytest.raises(ValueError, match="whole number of minutes"):
        BASE.add_working_hours(at(11, 26, 10, 0), D("0.001"))


def test_time_limit_in_calendar_days_ends_on_a_working_day() -> None:
    """Civil Code 2015 art. 147(2): a time limit in days starts the day after the event;
    art. 148(5): when its last day is a day off, it ends with the next working day. The last day
    ends at the close of office hours (province policy)."""
    # Thursday 26 Nov + 3 days = Sunday 29 -> Monday 30 November, 17:00.
    assert BASE.add_time_limit(at(11, 26, 9, 0), D(3), TimeLimitUnit.CALENDAR_DAYS) == at(11, 30, 17, 0)
    assert BASE.add_calendar_days(at(11, 26, 9, 0), D(5)) == at(12, 1, 17, 0)
    # Received after the cut-off on Thursday: day 0 is Friday.
    assert BASE.add_calendar_days(at(11, 26, 16, 45), D(4)) == at(12, 1, 17, 0)
    with pytest.raises(ValueError, match="whole"):
        BASE.add_calendar_days(at(11, 26, 9, 0), D("1.5"))


def test_time_limit_text_names_the_unit() -> None:
    """Issue 16 item 5: the receipt (form 01) states the statutory processing time; it is written
    with its unit (province policy for the wording): «05 ngày làm việc», «0,5 ngày làm việc», «08 giờ làm việc», «02 buổi làm
    việc», «15 ngày»."""
    assert time_limit_text(D(5)) == "05 ngày làm việc"
    assert time_limit_text(D("0.5")) == "0,5 ngày làm việc"
    assert time_limit_text(D("8.0"), TimeLimitUnit.WORKING_HOURS) == "08 giờ làm việc"
    assert time_limit_text(D(2), TimeLimitUnit.HALF_DAYS) == "02 buổi làm việc"
    assert time_limit_text(D(15), TimeLimitUnit.CALENDAR_DAYS) == "15 ngày"
