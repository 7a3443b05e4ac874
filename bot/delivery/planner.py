"""Deadline reminders as plans: who is told what about which clock, and the first moment the push may arrive.

Pure: it takes plain views of assignments and recipients, the day, the sweep's watermark, the jurisdiction
profile and the work calendar, and returns ``Plan`` values for the caller to put in the outbox. Nothing here
touches storage, Telegram or the scheduler.

Timing rules (DESIGN §4, issue 3 items 4 and 5):

- Unit staff (and admins, who are office staff too) are pushed on working days only, outside quiet hours
  (their own if they set any, else the profile's, 21:00–08:00 Asia/Shanghai). Deputies honour only their own
  quiet hours, on any day.
- A sweep that missed days (downtime) fires only the most recent trigger crossed since the last swept day, once
  per assignment and recipient: no storm of stale reminders, and the newest news is never skipped.
- A plan whose delivery is held back until a later trigger of the same clock would fire anyway is dropped in
  favour of that trigger, so a Saturday "due in 1 day" never arrives on Monday beside Monday's "due today".
  Counts in the texts are taken on the delivery day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from types import MappingProxyType
from typing import Final

from bot.domain.assignments import DueAssignment
from bot.domain.clock import WorkCalendar
from bot.domain.lifecycle import OPEN_STATES
from config.settings import Jurisdiction

__all__ = [
    "CO_DUE",
    "CO_OFFSETS",
    "CO_OVERDUE",
    "DUE_IN",
    "DUE_TODAY",
    "EXTENDED",
    "EXTENSION_ENDING",
    "EXTENSION_NOTICE_DAYS",
    "OVERDUE",
    "OVERDUE_DIGEST",
    "REASSIGNED",
    "WITHDRAWN",
    "Plan",
    "RecipientView",
    "deadline_reminders",
    "deliver_at",
    "delivery_policy",
    "horizon_days",
    "is_quiet",
    "notice_plans",
    "overdue_digest",
    "reminder_prefixes",
    "schedule",
]

DUE_IN: Final = "due_in"
DUE_TODAY: Final = "due_today"
OVERDUE: Final = "overdue"
CO_DUE: Final = "co_due"
CO_OVERDUE: Final = "co_overdue"
EXTENSION_ENDING: Final = "extension_ending"
OVERDUE_DIGEST: Final = "overdue_digest"
#: The pushes of one unit's clock; their dedup keys start with `<kind>:<assignment id>:`.
REMINDER_KINDS: Final = (DUE_IN, DUE_TODAY, OVERDUE, CO_DUE, CO_OVERDUE, EXTENSION_ENDING)

#: Offsets (days before the due day) at which co-units hear about their opinion's due day.
CO_OFFSETS: Final[frozenset[int]] = frozenset({7, 3, 1, 0})
#: An extended due day is announced as ending this many days ahead (instead of the plain countdown).
EXTENSION_NOTICE_DAYS: Final = 7

_OFFICE_ROLES: Final = frozenset({"unit", "admin"})  # pushed on working days, in office hours
_MAX_SEARCH_DAYS: Final = 400
_ONE_DAY: Final = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class RecipientView:
    """A bound, active account that may receive pushes."""

    account_id: int
    chat_id: int
    role: str  # unit | admin | deputy
    quiet: tuple[time, time] | None  # the account's own quiet hours, if set
    tz: tzinfo


@dataclass(frozen=True, slots=True)
class Plan:
    """One push to queue: rendered in the recipient's language at send time from ``text_key`` and ``params``."""

    recipient_account_id: int
    chat_id: int
    kind: str
    text_key: str
    params: Mapping[str, str | int]
    due_at: datetime  # aware UTC, already held back for quiet hours and rest days
    dedup_key: str


# ------------------------------------------------------------------------------------------------- timing


def is_quiet(moment: time, quiet: tuple[time, time] | None) -> bool:
    """Whether a local wall-clock time lies in ``[start, end)``; a range with start > end crosses midnight."""
    if quiet is None:
        return False
    start, end = quiet
    if start == end:
        return False
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


def _first_open(after: time, quiet: tuple[time, time] | None) -> time | None:
    """The earliest time ≥ ``after`` on the same day outside quiet hours, or None when the day has none left."""
    if not is_quiet(after, quiet):
        return after
    assert quiet is not None  # is_quiet is False without a range
    end = quiet[1]
    # Inside a quiet range the next open time is its end, unless that end is tomorrow (range crosses midnight).
    return end if end > after else None


def deliver_at(
    moment: datetime,
    *,
    tz: tzinfo,
    quiet: tuple[time, time] | None,
    calendar: WorkCalendar,
    working_days_only: bool,
) -> datetime:
    """The first moment ≥ ``moment`` (aware UTC) that is outside ``quiet`` hours and, if asked, on a working day.

    With the default quiet range 21:00–08:00 a push planned for a Saturday or a holiday arrives at 08:00 on the
    next working day (make-up workdays count as working days).
    """
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        raise ValueError(f"deliver_at needs an aware datetime, got naive {moment.isoformat()}")
    utc_moment = moment.astimezone(UTC)
    local = utc_moment.astimezone(tz)
    day = local.date()
    after = local.time().replace(tzinfo=None)
    for step in range(_MAX_SEARCH_DAYS + 1):
        if not working_days_only or calendar.is_workday(day):
            open_at = _first_open(after, quiet)
            if open_at is not None:
                if step == 0 and open_at == after:
                    return utc_moment
                candidate = datetime.combine(day, open_at, tzinfo=tz).astimezone(UTC)
                # A zone's DST gap can map a wall time an hour back; never deliver before the moment asked for.
                return max(candidate, utc_moment)
        day += _ONE_DAY
        after = time(0)
    raise ValueError(f"no allowed delivery moment within {_MAX_SEARCH_DAYS} days of {moment.isoformat()}")


def delivery_policy(recipient: RecipientView, profile: Jurisdiction) -> tuple[tuple[time, time] | None, bool]:
    """``(quiet hours, working days only)`` for a recipient: office roles get office hours, deputies their own."""
    if recipient.role in _OFFICE_ROLES:
        return (recipient.quiet or profile.quiet_hours, True)
    return (recipient.quiet, False)


def schedule(moment: datetime, recipient: RecipientView, *, profile: Jurisdiction, calendar: WorkCalendar) -> datetime:
    """When a push planned for ``moment`` may reach ``recipient``."""
    quiet, working_days_only = delivery_policy(recipient, profile)
    return deliver_at(moment, tz=recipient.tz, quiet=quiet, calendar=calendar, working_days_only=working_days_only)


# ----------------------------------------------------------------------------------------------- triggers


def horizon_days(profile: Jurisdiction) -> int:
    """How far ahead a sweep must look for due days that have a countdown trigger today."""
    return max((*profile.reminder_offsets_days, EXTENSION_NOTICE_DAYS))


def _offsets(assignment: DueAssignment, profile: Jurisdiction) -> tuple[int, ...]:
    """The countdown offsets that apply to this clock, largest first."""
    offsets = set(profile.reminder_offsets_days)
    if not assignment.is_lead:
        offsets &= CO_OFFSETS
    elif assignment.extended:
        offsets.add(EXTENSION_NOTICE_DAYS)
    return tuple(sorted(offsets, reverse=True))


def _is_open(assignment: DueAssignment) -> bool:
    if assignment.state not in OPEN_STATES:
        return False
    return assignment.is_lead or not assignment.answered


@dataclass(frozen=True, slots=True)
class _Trigger:
    day: date  # the day the trigger was crossed
    kind: str
    tag: str  # the offset or the day, for the dedup key
    offset: int | None  # countdowns only
    next_day: date  # the day the same clock's next trigger fires; a delivery on or after it is superseded


def _latest_trigger(
    assignment: DueAssignment,
    *,
    today: date,
    since: date,
    profile: Jurisdiction,
    calendar: WorkCalendar,
) -> _Trigger | None:
    """The most recent trigger of this clock crossed in ``[since, today]``, or None."""
    due = assignment.due_on
    assert due is not None
    first_overdue = calendar.next_workday(due, inclusive=False)
    if today <= due:
        offsets = _offsets(assignment, profile)
        crossed = [o for o in offsets if since <= due - timedelta(days=o) <= today]
        if not crossed:
            return None
        offset = min(crossed)
        later = [o for o in offsets if o < offset]
        next_day = due - timedelta(days=max(later)) if later else first_overdue
        if not assignment.is_lead:
            kind = CO_DUE
        elif offset == 0:
            kind = DUE_TODAY
        elif offset == EXTENSION_NOTICE_DAYS and assignment.extended:
            kind = EXTENSION_ENDING
        else:
            kind = DUE_IN
        return _Trigger(due - timedelta(days=offset), kind, str(offset), offset, next_day)
    # Overdue: one alert per working day after the due day; after downtime only the latest one crossed.
    day = today
    floor = max(since, due + _ONE_DAY)
    while day >= floor and not calendar.is_workday(day):
        day -= _ONE_DAY
    if day < floor:
        return None
    kind = OVERDUE if assignment.is_lead else CO_OVERDUE
    return _Trigger(day, kind, day.isoformat(), None, calendar.next_workday(day, inclusive=False))


def _start_of(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _aware_now(now: datetime) -> datetime:
    if now.tzinfo is None or now.tzinfo.utcoffset(now) is None:
        raise ValueError(f"now must be timezone-aware, got naive {now.isoformat()}")
    return now.astimezone(UTC)


def deadline_reminders(
    *,
    assignment: DueAssignment,
    recipients: Sequence[RecipientView],
    today: date,
    last_swept: date | None,
    now: datetime,
    profile: Jurisdiction,
    calendar: WorkCalendar,
) -> list[Plan]:
    """The countdown, due-today, overdue or extension-ending pushes this clock owes its unit's staff today.

    ``last_swept`` is the last day a sweep completed (None before the first sweep): triggers crossed from that
    day through ``today`` are considered, and only the most recent fires. ``now`` is the sweep's moment; no push
    is planned before it.
    """
    if assignment.due_on is None or not recipients or not _is_open(assignment):
        return []
    since = today if last_swept is None or last_swept > today else last_swept
    trigger = _latest_trigger(assignment, today=today, since=since, profile=profile, calendar=calendar)
    if trigger is None:
        return []
    now = _aware_now(now)
    due = assignment.due_on
    plans: list[Plan] = []
    for recipient in recipients:
        at = schedule(max(now, _start_of(trigger.day, recipient.tz)), recipient, profile=profile, calendar=calendar)
        delivered_on = at.astimezone(recipient.tz).date()
        if delivered_on >= trigger.next_day:
            continue  # the next trigger of this clock says the same, fresher, at the same time
        params: dict[str, str | int] = {
            "proposal_id": assignment.proposal_id,
            "number": assignment.number,
            "title": assignment.title,
            "due_on": due.isoformat(),
        }
        if trigger.offset is None:
            params["days"] = (delivered_on - due).days
        else:
            params["days"] = max(0, (due - delivered_on).days)
            params["offset"] = trigger.offset
        plans.append(
            Plan(
                recipient_account_id=recipient.account_id,
                chat_id=recipient.chat_id,
                kind=trigger.kind,
                text_key=f"push.{trigger.kind}",
                params=MappingProxyType(params),
                due_at=at,
                dedup_key=f"{trigger.kind}:{assignment.assignment_id}:{recipient.account_id}:{due}:{trigger.tag}",
            )
        )
    return plans


def reminder_prefixes(assignment_ids: Sequence[int]) -> list[str]:
    """The dedup-key prefixes of every reminder of these clocks: what to cancel when the clocks stop."""
    return [f"{kind}:{aid}:" for aid in assignment_ids for kind in REMINDER_KINDS]


def overdue_digest(
    *,
    overdue: Sequence[DueAssignment],
    admins: Sequence[RecipientView],
    today: date,
    now: datetime,
    profile: Jurisdiction,
    calendar: WorkCalendar,
    top: int = 5,
) -> list[Plan]:
    """One push per admin per working day: how many items are overdue and the most overdue numbers.

    Only lead (and split) clocks of open items count, once per item. Nothing is planned on rest days or when
    nothing is overdue; a digest held back past the next working day is dropped for that day's fresher one.
    """
    if not admins or not calendar.is_workday(today):
        return []
    oldest: dict[int, DueAssignment] = {}
    for a in overdue:
        if not a.is_lead or a.due_on is None or a.due_on >= today or a.state not in OPEN_STATES:
            continue
        seen = oldest.get(a.proposal_id)
        if seen is None or (seen.due_on is not None and a.due_on < seen.due_on):
            oldest[a.proposal_id] = a
    if not oldest:
        return []
    ranked = sorted(oldest.values(), key=lambda a: (a.due_on or today, a.number, a.proposal_id))
    first_due = ranked[0].due_on or today
    params: Mapping[str, str | int] = MappingProxyType(
        {
            "count": len(ranked),
            "top": ", ".join(a.number for a in ranked[:top]),
            "oldest_days": (today - first_due).days,
            "date": today.isoformat(),
        }
    )
    now = _aware_now(now)
    next_day = calendar.next_workday(today, inclusive=False)
    plans: list[Plan] = []
    for admin in admins:
        at = schedule(max(now, _start_of(today, admin.tz)), admin, profile=profile, calendar=calendar)
        if at.astimezone(admin.tz).date() >= next_day:
            continue
        plans.append(
            Plan(
                recipient_account_id=admin.account_id,
                chat_id=admin.chat_id,
                kind=OVERDUE_DIGEST,
                text_key=f"push.{OVERDUE_DIGEST}",
                params=params,
                due_at=at,
                dedup_key=f"{OVERDUE_DIGEST}:{admin.account_id}:{today.isoformat()}",
            )
        )
    return plans


# ------------------------------------------------------------------------------------------ reply pushes

REPLY_REGISTERED: Final = "reply_registered"
REPLY_WITHHELD: Final = "reply_withheld"
FEEDBACK_REQUEST: Final = "feedback_request"
UNSATISFIED: Final = "unsatisfied"


#: What a push about a withheld reply may carry: the item as its card shows it to that recipient, and the reply's
#: id; never the result, its class, the summary, the unit or the date (the outbox row stores only these).
WITHHELD_PARAMS: Final = ("proposal_id", "number", "title", "reply_id")


@dataclass(frozen=True, slots=True)
class Audience:
    """Someone who hears about a reply: a follower, or (``own``) one of the item's deputies or co-signers, who is
    also asked to rate it. ``reads_reply`` is the access policy's answer for this recipient and this letter; the
    caller leaves out whoever may not see the item at all."""

    recipient: RecipientView
    own: bool = False
    reads_reply: bool = True


def reply_plans(
    *,
    audience: Sequence[Audience],
    reply_id: int,
    params: Mapping[str, str | int],
    now: datetime,
    profile: Jurisdiction,
    calendar: WorkCalendar,
) -> list[Plan]:
    """A registered reply: the reply to whoever may read it, the withheld notice (number and title only) to the
    others, and to the item's own deputies a request to rate it `feedback_after_days` later."""
    now = _aware_now(now)
    later = now + timedelta(days=profile.feedback_after_days)
    params = MappingProxyType({**params, "reply_id": reply_id})
    withheld = MappingProxyType({k: params[k] for k in WITHHELD_PARAMS if k in params})
    plans: list[Plan] = []
    for member in audience:
        r = member.recipient
        kind = REPLY_REGISTERED if member.reads_reply else REPLY_WITHHELD
        plans.append(
            Plan(
                recipient_account_id=r.account_id,
                chat_id=r.chat_id,
                kind=kind,
                text_key=f"push.{kind}",
                params=params if member.reads_reply else withheld,
                due_at=schedule(now, r, profile=profile, calendar=calendar),
                dedup_key=f"reply:{reply_id}:{r.account_id}",
            )
        )
        if member.own:
            plans.append(
                Plan(
                    recipient_account_id=r.account_id,
                    chat_id=r.chat_id,
                    kind=FEEDBACK_REQUEST,
                    text_key=f"push.{FEEDBACK_REQUEST}",
                    params=params,
                    due_at=schedule(later, r, profile=profile, calendar=calendar),
                    dedup_key=f"rate:{reply_id}:{r.account_id}",
                )
            )
    return plans


def unsatisfied_plans(
    *,
    recipients: Sequence[RecipientView],
    reply_id: int,
    params: Mapping[str, str | int],
    now: datetime,
    profile: Jurisdiction,
    calendar: WorkCalendar,
) -> list[Plan]:
    """不满意: the lead unit's staff and the admins hear that the item is being handled again."""
    return notice_plans(
        recipients=recipients,
        kind=UNSATISFIED,
        subject=str(reply_id),
        params=params,
        now=now,
        profile=profile,
        calendar=calendar,
    )


# ---------------------------------------------------------------------------------------- lifecycle notices

EXTENDED: Final = "extended"
REASSIGNED: Final = "reassigned"
WITHDRAWN: Final = "withdrawn"


def notice_plans(
    *,
    recipients: Sequence[RecipientView],
    kind: str,
    subject: str,
    params: Mapping[str, str | int],
    now: datetime,
    profile: Jurisdiction,
    calendar: WorkCalendar,
) -> list[Plan]:
    """One push of `kind` to each recipient (once per account), at the first moment their delivery rules allow.

    `subject` names the change that caused it (an item and the moment of the action), so the same change never
    queues twice and a later change of the same kind is a push of its own.
    """
    now = _aware_now(now)
    seen: set[int] = set()
    plans: list[Plan] = []
    for r in recipients:
        if r.account_id in seen:
            continue
        seen.add(r.account_id)
        plans.append(
            Plan(
                recipient_account_id=r.account_id,
                chat_id=r.chat_id,
                kind=kind,
                text_key=f"push.{kind}",
                params=MappingProxyType(dict(params)),
                due_at=schedule(now, r, profile=profile, calendar=calendar),
                dedup_key=f"{kind}:{subject}:{r.account_id}",
            )
        )
    return plans
