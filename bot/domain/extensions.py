"""Deadline extensions (延期): reading `2个月` or a date, and the new due day under the jurisdiction's cap.

An extension is counted from 交办日 like the first period (Civil Code Arts. 201–203): `2个月` on an item with the
usual 3-month clock makes it a 5-month period from 交办日, its last day rolled to a working day. The total may not
pass the profile's `extended_max_months` (6 in Shanghai) from 交办日. A date names the new due day itself (rolled
to a working day when it is a rest day). Pure: no storage, no clock.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from bot.domain.clock import DueDay, WorkCalendar, due_day
from bot.domain.numerals import NUMERAL_CHARS, parse_chinese_number

__all__ = ["ExtensionAsk", "ExtensionRefused", "NewDue", "extended_due", "months_run", "parse_day", "parse_extension"]

_MONTHS = re.compile(rf"^([0-9]+|[{NUMERAL_CHARS}]+)\s*(?:个月|個月|月|months?|mo|m)$", re.IGNORECASE)
_DAY = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


@dataclass(frozen=True, slots=True)
class ExtensionAsk:
    """What the admin asked for: a number of months more, or a new due day."""

    months: int | None = None
    until: date | None = None


def parse_day(text: str) -> date | None:
    """`2024-07-31`, `2024/7/31`, `2024年7月31日` (full-width digits too) as a date; None when it is not one."""
    match = _DAY.match(unicodedata.normalize("NFKC", text).strip())
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def parse_extension(text: str) -> ExtensionAsk | None:
    """`2个月`, `两个月`, `2 months`, `2m` or a date; None for anything else (and for 0 months)."""
    value = unicodedata.normalize("NFKC", text).strip()
    match = _MONTHS.match(value)
    if match is not None:
        months = parse_chinese_number(match[1])
        return ExtensionAsk(months=months) if months else None
    day = parse_day(value)
    return ExtensionAsk(until=day) if day is not None else None


class ExtensionRefused(Exception):
    """The extension cannot be granted: ``code`` is `too_long`, `not_later` or `no_clock`; ``limit`` the last day."""

    def __init__(self, code: str, limit: date | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.limit = limit


@dataclass(frozen=True, slots=True)
class NewDue:
    """The extended due day, the months it runs from 交办日 (None for a named date) and the cap's last day."""

    day: date
    months: int | None
    limit: date
    warnings: tuple[str, ...] = ()


def months_run(received_on: date, due_on: date, *, calendar: WorkCalendar, roll: bool, most: int) -> int:
    """How many whole months from 交办日 the current due day covers (3 for an unextended Shanghai clock)."""
    run = 0
    for months in range(1, most + 1):
        if due_day(received_on, months=months, calendar=calendar, roll_to_workday=roll).day <= due_on:
            run = months
    return run


def extended_due(
    ask: ExtensionAsk,
    *,
    received_on: date | None,
    due_on: date | None,
    max_months: int,
    calendar: WorkCalendar,
    roll_to_workday: bool = True,
) -> NewDue:
    """The new due day for `ask`; raises ``ExtensionRefused`` when it is past the cap or not later than now."""
    if received_on is None or due_on is None:
        raise ExtensionRefused("no_clock")
    cap = due_day(received_on, months=max_months, calendar=calendar, roll_to_workday=roll_to_workday)
    if ask.months is not None:
        run = months_run(received_on, due_on, calendar=calendar, roll=roll_to_workday, most=max_months)
        total = run + ask.months
        if total > max_months:
            raise ExtensionRefused("too_long", cap.day)
        new = due_day(received_on, months=total, calendar=calendar, roll_to_workday=roll_to_workday)
        months: int | None = total
    elif ask.until is not None:
        day = calendar.next_workday(ask.until) if roll_to_workday else ask.until
        missing = tuple(f"holiday data missing for {year}" for year in calendar.missing_years(ask.until, day))
        new = DueDay(day=day, nominal=ask.until, rolled=day != ask.until, warnings=missing)
        months = None
    else:
        raise ExtensionRefused("not_later")
    if new.day > cap.day:
        raise ExtensionRefused("too_long", cap.day)
    if new.day <= due_on:
        raise ExtensionRefused("not_later", cap.day)
    return NewDue(day=new.day, months=months, limit=cap.day, warnings=tuple(dict.fromkeys(new.warnings + cap.warnings)))
