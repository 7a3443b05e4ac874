"""Tests for bot.domain.clock: injectable clocks, Civil Code month arithmetic and the work calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.clock import (
    DueDay,
    SystemClock,
    VirtualClock,
    WorkCalendar,
    add_months,
    days_left,
    due_after_workdays,
    due_day,
)

D = date.fromisoformat
CAL = WorkCalendar()
SHANGHAI = timezone(timedelta(hours=8))


# ------------------------------------------------------------------------------------------------ clocks


def test_system_clock_now_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)


def test_virtual_clock_aware_start_is_normalised_to_utc() -> None:
    clock = VirtualClock(datetime(2024, 4, 29, 9, 0, tzinfo=SHANGHAI))
    assert clock.now() == datetime(2024, 4, 29, 1, 0, tzinfo=UTC)
    assert clock.now().tzinfo is UTC


def test_virtual_clock_advance_moves_time_forward() -> None:
    clock = VirtualClock(datetime(2024, 4, 29, tzinfo=UTC))
    clock.advance(timedelta(days=7, hours=12))
    assert clock.now() == datetime(2024, 5, 6, 12, tzinfo=UTC)


def test_virtual_clock_set_replaces_time() -> None:
    clock = VirtualClock(datetime(2024, 4, 29, tzinfo=UTC))
    clock.set(datetime(2030, 1, 1, 8, tzinfo=SHANGHAI))
    assert clock.now() == datetime(2030, 1, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: VirtualClock(datetime(2024, 1, 1)), id="init"),
        pytest.param(lambda: VirtualClock(datetime(2024, 1, 1, tzinfo=UTC)).set(datetime(2024, 1, 2)), id="set"),
    ],
)
def test_virtual_clock_naive_datetime_raises_value_error(call: object) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call()  # type: ignore[operator]


def test_virtual_clock_advance_past_max_raises_value_error() -> None:
    clock = VirtualClock(datetime(9999, 12, 31, tzinfo=UTC))
    with pytest.raises(ValueError, match="out of range"):
        clock.advance(timedelta(days=2))


# -------------------------------------------------------------------------------------------- add_months


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2024-03-15", 3, "2024-06-15"),
        ("2024-01-31", 1, "2024-02-29"),  # leap February has no 31st
        ("2023-01-31", 1, "2023-02-28"),  # common February
        ("2023-11-30", 3, "2024-02-29"),
        ("2024-11-30", 3, "2025-02-28"),
        ("2024-05-31", 1, "2024-06-30"),
        ("2024-08-31", 1, "2024-09-30"),
        ("2024-10-31", 6, "2025-04-30"),
        ("2024-12-15", 1, "2025-01-15"),  # year boundary
        ("2024-02-29", 12, "2025-02-28"),
        ("2024-02-29", 48, "2028-02-29"),
        ("2024-04-29", 0, "2024-04-29"),
        ("2024-03-31", -1, "2024-02-29"),
    ],
)
def test_add_months_civil_code_art_202_matches_expected(start: str, months: int, expected: str) -> None:
    assert add_months(D(start), months) == D(expected)


@pytest.mark.parametrize(
    ("start", "months"),
    [(date(9999, 12, 1), 1), (date(1, 1, 1), -1), (date(2024, 1, 1), 10**6)],
)
def test_add_months_out_of_range_raises_value_error(start: date, months: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        add_months(start, months)


# ----------------------------------------------------------------------------------------- work calendar


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2024-04-29", True),  # an ordinary Monday
        ("2024-06-15", False),  # an ordinary Saturday
        ("2024-02-10", False),  # Spring Festival, Saturday
        ("2024-02-14", False),  # Spring Festival, Wednesday
        ("2024-02-04", True),  # make-up Sunday before Spring Festival
        ("2024-02-18", True),  # make-up Sunday after Spring Festival
        ("2025-01-28", False),  # Spring Festival eve 2025, Tuesday
        ("2025-02-08", True),  # make-up Saturday 2025
        ("2024-10-01", False),  # National Day
        ("2024-10-07", False),  # National Day, Monday
        ("2024-09-29", True),  # make-up Sunday before National Day (调休上班)
        ("2024-10-12", True),  # make-up Saturday after National Day
        ("2030-03-15", True),  # beyond the data: a Friday
        ("2030-03-16", False),  # beyond the data: a Saturday
        ("2030-10-01", True),  # beyond the data, National Day is unknown: a Tuesday counts as working
    ],
)
def test_work_calendar_is_workday_matches_official_calendar(day: str, expected: bool) -> None:
    assert CAL.is_workday(D(day)) is expected


@pytest.mark.parametrize(
    ("overrides", "day", "expected"),
    [
        ({D("2024-04-29"): False}, "2024-04-29", False),  # extra rest day on a Monday
        ({D("2024-10-01"): True}, "2024-10-01", True),  # a holiday declared working
        ({D("2024-09-29"): False}, "2024-09-29", False),  # a make-up day cancelled
        ({D("2030-10-01"): False}, "2030-10-01", False),  # admin fills a year the package lacks
        ({D("2030-03-16"): True}, "2030-03-16", True),
    ],
)
def test_work_calendar_override_wins_over_package(overrides: dict[date, bool], day: str, expected: bool) -> None:
    assert WorkCalendar(overrides).is_workday(D(day)) is expected


def test_work_calendar_datetime_argument_matches_override() -> None:
    calendar = WorkCalendar({D("2024-04-29"): False})
    assert calendar.is_workday(datetime(2024, 4, 29, 10, 0)) is False


@pytest.mark.parametrize(
    ("year", "expected"), [(2004, True), (2024, True), (2003, False), (2030, False), (9999, False)]
)
def test_work_calendar_covers_package_years_only(year: int, expected: bool) -> None:
    assert CAL.covers(year) is expected


def test_work_calendar_covered_years_declared_by_admin_are_covered() -> None:
    calendar = WorkCalendar({D("2030-10-01"): False}, covered_years=[2030])
    assert calendar.covers(2030)
    assert calendar.missing_years(D("2030-10-01"), D("2031-01-01")) == (2031,)


def test_work_calendar_missing_years_sorted_distinct() -> None:
    days = (D("2031-01-01"), D("2024-01-01"), D("2030-05-05"), D("2030-06-06"), D("1999-01-01"))
    assert CAL.missing_years(*days) == (1999, 2030, 2031)


@pytest.mark.parametrize(
    ("day", "inclusive", "expected"),
    [
        ("2024-04-29", True, "2024-04-29"),
        ("2024-04-29", False, "2024-04-30"),
        ("2024-06-15", True, "2024-06-17"),
        ("2024-10-01", True, "2024-10-08"),
        ("2024-09-28", True, "2024-09-29"),  # Saturday rest, Sunday make-up
        ("2024-02-10", True, "2024-02-18"),  # Spring Festival 2024 ends on a make-up Sunday
        ("2030-06-15", True, "2030-06-17"),
    ],
)
def test_work_calendar_next_workday_skips_rest_days(day: str, inclusive: bool, expected: str) -> None:
    assert CAL.next_workday(D(day), inclusive=inclusive) == D(expected)


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        ("2024-04-29", 0, "2024-04-29"),
        ("2024-04-29", 1, "2024-04-30"),
        ("2024-04-26", 1, "2024-04-28"),  # 2024-04-28 was a make-up Sunday
        ("2024-06-14", 1, "2024-06-17"),  # over a weekend
        ("2024-09-27", 7, "2024-10-12"),  # over National Day, both make-up days counted
        ("2024-10-08", -1, "2024-09-30"),  # backwards over National Day
        ("2030-06-14", 5, "2030-06-21"),
    ],
)
def test_work_calendar_add_workdays_excludes_start(day: str, n: int, expected: str) -> None:
    assert CAL.add_workdays(D(day), n) == D(expected)


def test_work_calendar_next_workday_past_max_raises_value_error() -> None:
    calendar = WorkCalendar({date.max: False})
    with pytest.raises(ValueError, match="out of range"):
        calendar.next_workday(date.max)


def test_work_calendar_add_workdays_before_min_raises_value_error() -> None:
    with pytest.raises(ValueError, match="out of range"):
        CAL.add_workdays(date.min, -1)


# ------------------------------------------------------------------------------------------------ due_day


@pytest.mark.parametrize(
    ("start", "months", "nominal", "expected"),
    [
        pytest.param("2024-03-15", 3, "2024-06-15", "2024-06-17", id="saturday-rolls-to-monday"),
        pytest.param("2024-05-31", 1, "2024-06-30", "2024-07-01", id="sunday-month-end-rolls"),
        pytest.param("2024-01-29", 3, "2024-04-29", "2024-04-29", id="monday-stays"),
        pytest.param("2023-11-30", 3, "2024-02-29", "2024-02-29", id="leap-day"),
        pytest.param("2024-11-30", 3, "2025-02-28", "2025-02-28", id="common-february-friday"),
        pytest.param("2024-07-01", 3, "2024-10-01", "2024-10-08", id="national-day-2024"),
        pytest.param("2024-07-05", 3, "2024-10-05", "2024-10-08", id="national-day-saturday"),
        pytest.param("2024-06-29", 3, "2024-09-29", "2024-09-29", id="make-up-sunday-is-working"),
        pytest.param("2023-11-10", 3, "2024-02-10", "2024-02-18", id="spring-festival-2024"),
        pytest.param("2024-10-28", 3, "2025-01-28", "2025-02-05", id="spring-festival-2025"),
        pytest.param("2024-11-08", 3, "2025-02-08", "2025-02-08", id="make-up-saturday-2025"),
        pytest.param("2024-03-29", 1, "2024-04-29", "2024-04-29", id="co-handling-one-month"),
        pytest.param("2024-01-31", 1, "2024-02-29", "2024-02-29", id="month-end-leap"),
    ],
)
def test_due_day_known_cases_match_expected(start: str, months: int, nominal: str, expected: str) -> None:
    due = due_day(D(start), months=months, calendar=CAL)
    assert due == DueDay(day=D(expected), nominal=D(nominal), rolled=nominal != expected, warnings=())


def test_due_day_beyond_data_uses_weekends_and_warns() -> None:
    due = due_day(D("2030-03-15"), months=3, calendar=CAL)
    assert (due.day, due.nominal, due.rolled) == (D("2030-06-17"), D("2030-06-15"), True)
    assert due.warnings == ("holiday data missing for 2030",)
    assert due.warnings_zh == ("2030 年节假日数据缺失",)


def test_due_day_beyond_data_weekday_unrolled_still_warns() -> None:
    due = due_day(D("2030-07-01"), months=3, calendar=CAL)
    assert due.day == D("2030-10-01")  # National Day 2030 is unknown: a plain Tuesday
    assert due.warnings == ("holiday data missing for 2030",)


def test_due_day_rolling_into_uncovered_year_warns_for_that_year() -> None:
    calendar = WorkCalendar({D("2026-12-30"): False, D("2026-12-31"): False})
    due = due_day(D("2026-11-30"), months=1, calendar=calendar)
    assert due.day == D("2027-01-01")  # unknown New Year's Day: a plain Friday
    assert due.warnings == ("holiday data missing for 2027",)


def test_due_day_covered_year_has_no_warnings() -> None:
    assert due_day(D("2024-04-29"), months=3, calendar=CAL).warnings == ()
    assert due_day(D("2024-04-29"), months=3, calendar=CAL).warnings_zh == ()


def test_due_day_override_rest_day_rolls_further() -> None:
    calendar = WorkCalendar({D("2024-06-17"): False})
    due = due_day(D("2024-03-15"), months=3, calendar=calendar)
    assert due.day == D("2024-06-18")


def test_due_day_override_working_weekend_does_not_roll() -> None:
    calendar = WorkCalendar({D("2024-06-15"): True})
    due = due_day(D("2024-03-15"), months=3, calendar=calendar)
    assert (due.day, due.rolled) == (D("2024-06-15"), False)


def test_due_day_roll_disabled_keeps_nominal() -> None:
    due = due_day(D("2024-03-15"), months=3, calendar=CAL, roll_to_workday=False)
    assert (due.day, due.nominal, due.rolled) == (D("2024-06-15"), D("2024-06-15"), False)


def test_due_day_six_month_extension_from_assignment() -> None:
    due = due_day(D("2024-04-29"), months=6, calendar=CAL)
    assert due.day == D("2024-10-29")


def test_due_day_overflow_raises_value_error() -> None:
    with pytest.raises(ValueError, match="out of range"):
        due_day(date(9999, 11, 1), months=3, calendar=CAL)


def test_due_day_value_is_frozen() -> None:
    due = due_day(D("2024-03-15"), months=3, calendar=CAL)
    with pytest.raises(AttributeError):
        due.day = D("2024-01-01")  # type: ignore[misc]


# ------------------------------------------------------------------------------------- due_after_workdays


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("2024-04-22", "2024-04-30"),  # Mon; includes make-up Sunday 04-28
        ("2024-06-03", "2024-06-13"),  # Dragon Boat Festival 06-10 skipped
        ("2024-09-27", "2024-10-12"),  # across National Day with both make-up days
        ("2024-02-08", "2024-02-23"),  # across Spring Festival, make-up 02-18 counted
        ("2024-06-15", "2024-06-25"),  # start on a Saturday: not counted
    ],
)
def test_due_after_workdays_seven_day_return_matches_expected(start: str, expected: str) -> None:
    due = due_after_workdays(D(start), workdays=7, calendar=CAL)
    assert due == DueDay(day=D(expected), nominal=D(expected), rolled=False, warnings=())


def test_due_after_workdays_beyond_data_warns() -> None:
    due = due_after_workdays(D("2026-12-28"), workdays=7, calendar=CAL)
    assert due.day == D("2027-01-06")
    assert due.warnings == ("holiday data missing for 2027",)


def test_due_after_workdays_negative_raises_value_error() -> None:
    with pytest.raises(ValueError, match="negative"):
        due_after_workdays(D("2024-04-29"), workdays=-1, calendar=CAL)


# ---------------------------------------------------------------------------------------------- days_left


@pytest.mark.parametrize(
    ("due", "today", "expected"),
    [
        ("2024-07-29", "2024-07-29", 0),
        ("2024-07-29", "2024-07-28", 1),
        ("2024-07-29", "2024-06-29", 30),
        ("2024-07-29", "2024-08-01", -3),
        ("2025-01-01", "2024-12-31", 1),
    ],
)
def test_days_left_counts_whole_days_negative_when_overdue(due: str, today: str, expected: int) -> None:
    assert days_left(D(due), D(today)) == expected


# --------------------------------------------------------------------------------------------- properties

_DATES = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))


@given(start=_DATES, months=st.integers(min_value=0, max_value=12), roll=st.booleans())
def test_due_day_any_date_returns_workday_not_before_nominal(start: date, months: int, roll: bool) -> None:
    due = due_day(start, months=months, calendar=CAL, roll_to_workday=roll)
    assert due.nominal == add_months(start, months)
    assert due.day >= due.nominal
    assert due.rolled is (due.day != due.nominal)
    if roll:
        assert CAL.is_workday(due.day)
        assert due.day == CAL.next_workday(due.nominal)
        assert due.day - due.nominal <= timedelta(days=10)  # the longest Chinese rest run is 9 days
    missing = sorted({y for y in (due.nominal.year, due.day.year) if not CAL.covers(y)})
    assert due.warnings == tuple(f"holiday data missing for {y}" for y in missing)


@given(start=st.dates(max_value=date(9999, 9, 30)), months=st.integers(min_value=0, max_value=3))
def test_due_day_full_date_range_never_raises(start: date, months: int) -> None:
    due = due_day(start, months=months, calendar=CAL)
    assert due.day >= due.nominal


@given(start=st.dates(), months=st.integers(min_value=-(10**6), max_value=10**6))
def test_add_months_any_input_returns_date_or_value_error(start: date, months: int) -> None:
    try:
        result = add_months(start, months)
    except ValueError as exc:
        assert "out of range" in str(exc)
    else:
        assert (result.year * 12 + result.month) - (start.year * 12 + start.month) == months
        assert result.day <= start.day


@given(start=_DATES, months=st.integers(min_value=0, max_value=24))
def test_add_months_day_up_to_28_is_exact_and_invertible(start: date, months: int) -> None:
    start = start.replace(day=min(start.day, 28))
    result = add_months(start, months)
    assert result.day == start.day
    assert add_months(result, -months) == start


@given(start=_DATES, n=st.integers(min_value=0, max_value=30))
def test_add_workdays_any_start_lands_on_nth_workday(start: date, n: int) -> None:
    end = CAL.add_workdays(start, n)
    between = [start + timedelta(days=i) for i in range(1, (end - start).days + 1)]
    assert sum(CAL.is_workday(d) for d in between) == n
    if n:
        assert CAL.is_workday(end)
