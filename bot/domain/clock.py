"""Time and legal deadlines: the injectable clock and Civil Code day counting over the Chinese work calendar.

Deadlines follow the Civil Code: the start day is not counted (Art. 201), a period in months ends on the
matching day of the final month or on that month's last day (Art. 202), and a period whose last day is a
statutory rest day ends on the first working day after it (Art. 203). Rest days come from the
``chinese-calendar`` package, then admin overrides; for years the package does not cover we fall back to
Monday–Friday and say so in ``DueDay.warnings`` instead of failing.
"""

from __future__ import annotations

import calendar as _gregorian
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from typing import Protocol

import chinese_calendar

__all__ = [
    "Clock",
    "DueDay",
    "SystemClock",
    "VirtualClock",
    "WorkCalendar",
    "add_months",
    "days_left",
    "due_after_workdays",
    "due_day",
]

_ONE_DAY = timedelta(days=1)


# --------------------------------------------------------------------------------------------------- clocks


class Clock(Protocol):
    """Anything that tells the current time as a timezone-aware UTC datetime."""

    def now(self) -> datetime: ...


def _aware_utc(dt: datetime, *, what: str) -> datetime:
    if dt.tzinfo is None or dt.tzinfo.utcoffset(dt) is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {dt.isoformat()}")
    return dt.astimezone(UTC)


class SystemClock:
    """The real wall clock."""

    __slots__ = ()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class VirtualClock:
    """A clock that only moves when told to: the sandbox's ``--at`` / ``:advance`` and deterministic tests."""

    __slots__ = ("_now",)

    def __init__(self, start: datetime) -> None:
        self._now = _aware_utc(start, what="VirtualClock start")

    def now(self) -> datetime:
        return self._now

    def set(self, dt: datetime) -> None:
        self._now = _aware_utc(dt, what="VirtualClock.set value")

    def advance(self, delta: timedelta) -> None:
        try:
            self._now = self._now + delta
        except OverflowError as exc:
            raise ValueError(f"cannot advance {self._now.isoformat()} by {delta}: out of range") from exc

    def __repr__(self) -> str:
        return f"VirtualClock({self._now.isoformat()})"


# ------------------------------------------------------------------------------------------ date arithmetic


def _as_date(d: date) -> date:
    # A datetime is a date subclass but neither compares nor hashes equal to one; normalise so that
    # override look-ups and comparisons behave.
    return date(d.year, d.month, d.day) if isinstance(d, datetime) else d


def _shift(d: date, days: int) -> date:
    try:
        return d + timedelta(days=days)
    except OverflowError as exc:
        raise ValueError(f"date arithmetic out of range: {d.isoformat()} {days:+d} days") from exc


def add_months(start: date, months: int) -> date:
    """The end of a period of ``months`` months from ``start`` (Civil Code Art. 202).

    The period ends on the day of the final month that matches the start day, or on that month's last day
    when it has no such day (2024-01-31 + 1 month = 2024-02-29). Negative ``months`` count backwards.
    """
    start = _as_date(start)
    index = start.year * 12 + (start.month - 1) + months
    year, month0 = divmod(index, 12)
    if not date.min.year <= year <= date.max.year:
        raise ValueError(f"date arithmetic out of range: {start.isoformat()} {months:+d} months")
    month = month0 + 1
    day = min(start.day, _gregorian.monthrange(year, month)[1])
    return date(year, month, day)


def days_left(due: date, today: date) -> int:
    """Whole days from ``today`` until ``due``: 0 on the due day, negative once overdue."""
    return (_as_date(due) - _as_date(today)).days


# ------------------------------------------------------------------------------------------- work calendar


@functools.cache
def _package_covers(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


@functools.lru_cache(maxsize=8192)
def _package_is_workday(d: date) -> bool:
    # chinese_calendar rescans its tables on every call; deadlines hit the same few days again and again.
    return bool(chinese_calendar.is_workday(d))


class WorkCalendar:
    """Which days are working days: admin overrides, then ``chinese-calendar``, then Monday–Friday.

    ``overrides`` maps a day to True (working day) or False (rest day) and wins over the package data.
    ``covered_years`` lets admins declare a year complete once they have entered its holidays by hand, so
    dates in it no longer carry the "holiday data missing" warning.
    """

    __slots__ = ("_covered_years", "_overrides")

    def __init__(
        self,
        overrides: Mapping[date, bool] | None = None,
        *,
        covered_years: Iterable[int] = (),
    ) -> None:
        self._overrides: Mapping[date, bool] = MappingProxyType(
            {_as_date(d): bool(v) for d, v in (overrides or {}).items()}
        )
        self._covered_years = frozenset(covered_years)

    @property
    def overrides(self) -> Mapping[date, bool]:
        return self._overrides

    def covers(self, year: int) -> bool:
        """Whether holiday data exists for ``year`` (from the package or declared by an admin)."""
        return year in self._covered_years or _package_covers(year)

    def is_workday(self, d: date) -> bool:
        d = _as_date(d)
        override = self._overrides.get(d)
        if override is not None:
            return override
        if _package_covers(d.year):
            try:
                return _package_is_workday(d)
            except NotImplementedError:
                pass  # a gap inside the package's range: treat like an uncovered year
        return d.weekday() < 5

    def next_workday(self, d: date, *, inclusive: bool = True) -> date:
        """The first working day on or after ``d`` (strictly after it when ``inclusive`` is False)."""
        day = _as_date(d) if inclusive else _shift(_as_date(d), 1)
        while not self.is_workday(day):
            day = _shift(day, 1)
        return day

    def add_workdays(self, d: date, n: int) -> date:
        """The ``n``-th working day after ``d``; ``d`` itself is not counted. Negative ``n`` counts back."""
        day = _as_date(d)
        step = 1 if n >= 0 else -1
        remaining = abs(n)
        while remaining:
            day = _shift(day, step)
            if self.is_workday(day):
                remaining -= 1
        return day

    def missing_years(self, *days: date) -> tuple[int, ...]:
        """The sorted, distinct years among ``days`` that have no holiday data."""
        return tuple(sorted({d.year for d in days if not self.covers(d.year)}))

    def __repr__(self) -> str:
        return f"WorkCalendar(overrides={len(self._overrides)} days, covered_years={sorted(self._covered_years)})"


# ----------------------------------------------------------------------------------------------- due days


@dataclass(frozen=True, slots=True)
class DueDay:
    """A computed deadline: the legal last day, the day before rolling, and any data-quality warnings."""

    day: date
    nominal: date
    rolled: bool
    warnings: tuple[str, ...] = ()

    @property
    def warnings_zh(self) -> tuple[str, ...]:
        """The warnings in Chinese, e.g. ``2027 年节假日数据缺失``."""
        return tuple(_warning_zh(w) for w in self.warnings)


_MISSING_PREFIX = "holiday data missing for "


def _warning_zh(warning: str) -> str:
    if warning.startswith(_MISSING_PREFIX):
        return f"{warning.removeprefix(_MISSING_PREFIX)} 年节假日数据缺失"
    return warning


def _warnings(calendar: WorkCalendar, first: date, last: date) -> tuple[str, ...]:
    years = range(min(first.year, last.year), max(first.year, last.year) + 1)
    return tuple(f"{_MISSING_PREFIX}{year}" for year in years if not calendar.covers(year))


def due_day(
    start: date,
    *,
    months: int,
    calendar: WorkCalendar,
    roll_to_workday: bool = True,
) -> DueDay:
    """The last day of a period of ``months`` months that starts on ``start`` (Civil Code Arts. 201–203).

    ``start`` is the trigger day (交办日) and is not counted. When the nominal last day is a rest day and
    ``roll_to_workday`` is set, the period ends on the first working day after it.
    """
    nominal = add_months(start, months)
    day = calendar.next_workday(nominal) if roll_to_workday else nominal
    return DueDay(day=day, nominal=nominal, rolled=day != nominal, warnings=_warnings(calendar, nominal, day))


def due_after_workdays(start: date, *, workdays: int, calendar: WorkCalendar) -> DueDay:
    """The last day of a period of ``workdays`` working days after ``start`` (e.g. the 7-day return).

    ``start`` is not counted; the result is always a working day, so it never rolls.
    """
    if workdays < 0:
        raise ValueError(f"workdays must not be negative, got {workdays}")
    start = _as_date(start)
    day = calendar.add_workdays(start, workdays)
    first = _shift(start, 1) if workdays else start
    return DueDay(day=day, nominal=day, rolled=False, warnings=_warnings(calendar, first, day))
