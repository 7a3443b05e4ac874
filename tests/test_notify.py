"""Tests for bot.delivery.planner: deadline reminder plans, catch-up after downtime, quiet hours and working days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.delivery.planner import (
    Plan,
    RecipientView,
    deadline_reminders,
    deliver_at,
    delivery_policy,
    horizon_days,
    is_quiet,
    overdue_digest,
)
from bot.domain.assignments import DueAssignment
from bot.domain.clock import WorkCalendar
from config.settings import Jurisdiction

D = date.fromisoformat
SH = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar()
PROFILE = Jurisdiction(
    name="上海市", reply_months=3, extended_max_months=6, co_opinion_months=1, rehandling_months=1, return_workdays=7
)
QUIET = (time(21), time(8))


def local(text: str) -> datetime:
    """A Shanghai wall-clock time as aware UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=SH).astimezone(UTC)


def item(
    *,
    due: str = "2024-04-29",
    original: str | None = None,
    role: str = "lead",
    state: str = "in_progress",
    answered: bool = False,
) -> DueAssignment:
    return DueAssignment(
        assignment_id=7,
        proposal_id=18,
        unit_id=3,
        number="018",
        title="关于加强科技创新的建议",
        role=role,
        due_on=D(due),
        original_due_on=D(original or due),
        state=state,
        answered=answered,
    )


STAFF = RecipientView(account_id=41, chat_id=9041, role="unit", quiet=None, tz=SH)
ADMIN = RecipientView(account_id=1, chat_id=9001, role="admin", quiet=None, tz=SH)


def plan(
    a: DueAssignment,
    today: str,
    *,
    last: str | None = "yesterday",
    at: str | None = None,
    recipients: tuple[RecipientView, ...] = (STAFF,),
) -> list[Plan]:
    """Plans for a sweep on ``today`` at ``at`` (default 00:05 local) that last ran the day before."""
    day = D(today)
    last_swept = day - timedelta(days=1) if last == "yesterday" else (D(last) if last else None)
    now = local(at or f"{today}T00:05")
    return deadline_reminders(
        assignment=a,
        recipients=recipients,
        today=day,
        last_swept=last_swept,
        now=now,
        profile=PROFILE,
        calendar=CAL,
    )


def summary(plans: list[Plan]) -> list[tuple[str, str, str, int]]:
    """(kind, dedup tag, local delivery time, days) per plan."""
    return [
        (
            p.kind,
            p.dedup_key.rsplit(":", 1)[1],
            p.due_at.astimezone(SH).strftime("%Y-%m-%d %H:%M"),
            int(p.params["days"]),
        )
        for p in plans
    ]


# ----------------------------------------------------------------------------------------------- deliver_at


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        pytest.param("2024-04-15T10:00", "2024-04-15T10:00", id="working-day-office-hours-unchanged"),
        pytest.param("2024-04-15T08:00", "2024-04-15T08:00", id="quiet-end-is-open"),
        pytest.param("2024-04-15T20:59:59", "2024-04-15T20:59:59", id="last-second-before-quiet"),
        pytest.param("2024-04-15T21:00", "2024-04-16T08:00", id="quiet-start-waits-for-morning"),
        pytest.param("2024-04-15T23:30", "2024-04-16T08:00", id="late-evening-next-morning"),
        pytest.param("2024-04-16T03:00", "2024-04-16T08:00", id="after-midnight-same-morning"),
        pytest.param("2024-03-30T10:00", "2024-04-01T08:00", id="saturday-to-monday-morning"),
        pytest.param("2024-04-26T21:30", "2024-04-28T08:00", id="friday-night-to-makeup-sunday"),
        pytest.param("2024-04-27T12:00", "2024-04-28T08:00", id="saturday-to-makeup-sunday"),
        pytest.param("2024-05-01T12:00", "2024-05-06T08:00", id="labour-day-holiday"),
        pytest.param("2024-04-04T09:00", "2024-04-07T08:00", id="qingming-to-makeup-sunday"),
        pytest.param("2024-04-30T22:00", "2024-05-06T08:00", id="eve-of-holiday"),
    ],
)
def test_deliver_at_unit_staff_waits_for_working_day_office_hours(moment: str, expected: str) -> None:
    got = deliver_at(local(moment), tz=SH, quiet=QUIET, calendar=CAL, working_days_only=True)
    assert got == local(expected)
    assert got.tzinfo is UTC


@pytest.mark.parametrize(
    ("moment", "quiet", "expected"),
    [
        pytest.param("2024-03-30T10:00", QUIET, "2024-03-30T10:00", id="deputy-weekend-is-fine"),
        pytest.param("2024-03-30T23:00", (time(22), time(7)), "2024-03-31T07:00", id="own-quiet-crossing-midnight"),
        pytest.param("2024-05-01T03:00", None, "2024-05-01T03:00", id="no-quiet-hours-no-wait"),
        pytest.param("2024-04-15T13:00", (time(12), time(14)), "2024-04-15T14:00", id="daytime-quiet-range"),
        pytest.param("2024-04-15T11:59", (time(12), time(14)), "2024-04-15T11:59", id="before-daytime-range"),
        pytest.param("2024-04-15T13:00", (time(9), time(9)), "2024-04-15T13:00", id="empty-range"),
        pytest.param("2024-04-15T23:30", (time(22), time(0)), "2024-04-16T00:00", id="quiet-until-midnight"),
    ],
)
def test_deliver_at_deputy_honours_only_own_quiet_hours(
    moment: str, quiet: tuple[time, time] | None, expected: str
) -> None:
    got = deliver_at(local(moment), tz=SH, quiet=quiet, calendar=CAL, working_days_only=False)
    assert got == local(expected)


@pytest.mark.parametrize(
    ("role", "own", "expected"),
    [
        pytest.param("unit", None, (QUIET, True), id="unit-staff-default-office-hours"),
        pytest.param("unit", (time(20), time(9)), ((time(20), time(9)), True), id="unit-staff-own-quiet-hours"),
        pytest.param("admin", None, (QUIET, True), id="admin-office-hours"),
        pytest.param("deputy", None, (None, False), id="deputy-without-quiet-hours"),
        pytest.param("deputy", (time(22), time(7)), ((time(22), time(7)), False), id="deputy-own-quiet-hours"),
    ],
)
def test_delivery_policy_office_roles_wait_for_working_days_deputies_only_for_their_quiet_hours(
    role: str, own: tuple[time, time] | None, expected: tuple[tuple[time, time] | None, bool]
) -> None:
    recipient = RecipientView(account_id=1, chat_id=1, role=role, quiet=own, tz=SH)
    assert delivery_policy(recipient, PROFILE) == expected


def test_deliver_at_admin_override_declares_a_day_off() -> None:
    calendar = WorkCalendar({D("2024-04-15"): False})
    got = deliver_at(local("2024-04-15T10:00"), tz=SH, quiet=QUIET, calendar=calendar, working_days_only=True)
    assert got == local("2024-04-16T08:00")


def test_deliver_at_naive_moment_is_rejected() -> None:
    with pytest.raises(ValueError, match="aware"):
        deliver_at(datetime(2024, 4, 15, 10), tz=SH, quiet=QUIET, calendar=CAL, working_days_only=True)


@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(2023, 1, 1), max_value=datetime(2025, 12, 20), timezones=st.just(UTC)),
    start=st.times(),
    end=st.times(),
    working_days_only=st.booleans(),
)
def test_deliver_at_result_is_allowed_and_not_before_the_moment(
    moment: datetime, start: time, end: time, working_days_only: bool
) -> None:
    quiet = (start, end)
    got = deliver_at(moment, tz=SH, quiet=quiet, calendar=CAL, working_days_only=working_days_only)
    assert got >= moment
    wall = got.astimezone(SH)
    assert not is_quiet(wall.time(), quiet)
    if working_days_only:
        assert CAL.is_workday(wall.date())
    allowed_now = not is_quiet(moment.astimezone(SH).time(), quiet) and (
        not working_days_only or CAL.is_workday(moment.astimezone(SH).date())
    )
    if allowed_now:
        assert got == moment
    else:  # held back to the first open moment: the start of a day or the end of a quiet range
        assert wall.time() in {time(0), end}


# ------------------------------------------------------------------------------------------- countdowns


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        # The 30-day mark falls on a Saturday: Monday morning, counting the days left from Monday.
        pytest.param("2024-03-30", [("due_in", "30", "2024-04-01 08:00", 28)], id="30-days-on-saturday"),
        pytest.param("2024-04-15", [("due_in", "14", "2024-04-15 08:00", 14)], id="14-days"),
        pytest.param("2024-04-22", [("due_in", "7", "2024-04-22 08:00", 7)], id="7-days"),
        pytest.param("2024-04-26", [("due_in", "3", "2024-04-26 08:00", 3)], id="3-days"),
        pytest.param("2024-04-28", [("due_in", "1", "2024-04-28 08:00", 1)], id="1-day-on-makeup-sunday"),
        pytest.param("2024-04-29", [("due_today", "0", "2024-04-29 08:00", 0)], id="due-today"),
        pytest.param("2024-04-17", [], id="between-offsets"),
        pytest.param("2024-03-28", [], id="before-the-first-offset"),
    ],
)
def test_deadline_reminders_lead_unit_countdown_at_each_offset(
    today: str, expected: list[tuple[str, str, str, int]]
) -> None:
    assert summary(plan(item(), today)) == expected


def test_deadline_reminders_params_and_dedup_key() -> None:
    [p] = plan(item(), "2024-04-22")
    assert p.recipient_account_id == 41
    assert p.chat_id == 9041
    assert p.text_key == "push.due_in"
    assert p.dedup_key == "due_in:7:41:2024-04-29:7"
    assert dict(p.params) == {
        "proposal_id": 18,
        "number": "018",
        "title": "关于加强科技创新的建议",
        "due_on": "2024-04-29",
        "days": 7,
        "offset": 7,
    }


def test_deadline_reminders_one_plan_per_recipient() -> None:
    other = RecipientView(account_id=42, chat_id=9042, role="unit", quiet=None, tz=SH)
    plans = plan(item(), "2024-04-22", recipients=(STAFF, other))
    assert [p.recipient_account_id for p in plans] == [41, 42]
    assert len({p.dedup_key for p in plans}) == 2


def test_deadline_reminders_superseded_countdown_is_dropped() -> None:
    """The 1-day mark on a rest day would arrive with "due today": only the fresher one is planned."""
    a = item(due="2024-04-15")  # a Monday; the 1-day mark is Sunday 04-14
    assert plan(a, "2024-04-14") == []
    assert summary(plan(a, "2024-04-15")) == [("due_today", "0", "2024-04-15 08:00", 0)]


def test_deadline_reminders_night_sweep_defers_to_morning_with_fresh_count() -> None:
    assert summary(plan(item(), "2024-04-22", at="2024-04-22T22:00")) == [("due_in", "7", "2024-04-23 08:00", 6)]


def test_deadline_reminders_unit_staff_own_quiet_hours() -> None:
    late_riser = RecipientView(account_id=43, chat_id=9043, role="unit", quiet=(time(20), time(9, 30)), tz=SH)
    assert summary(plan(item(), "2024-04-22", recipients=(late_riser,))) == [("due_in", "7", "2024-04-22 09:30", 7)]


def test_deadline_reminders_first_sweep_ever_considers_today_only() -> None:
    assert plan(item(), "2024-04-23", last=None) == []
    assert summary(plan(item(), "2024-04-22", last=None)) == [("due_in", "7", "2024-04-22 08:00", 7)]


# ------------------------------------------------------------------------------------------- catch-up


@pytest.mark.parametrize(
    ("last", "today", "expected"),
    [
        # Down since before the 30-day mark: 30, 14 and 7 were crossed; only the 7-day one fires, once.
        pytest.param("2024-03-20", "2024-04-23", [("due_in", "7", "2024-04-23 08:00", 6)], id="three-crossed"),
        # The 3-day mark would arrive on the make-up Sunday beside the 1-day mark: only the 1-day one will.
        pytest.param("2024-04-20", "2024-04-27", [], id="saturday-restart-superseded"),
        # Down over the due day: the countdowns are stale, the overdue alert says it all.
        pytest.param("2024-04-20", "2024-05-06", [("overdue", "2024-05-06", "2024-05-06 08:00", 7)], id="past-due"),
        pytest.param("2024-04-23", "2024-04-25", [], id="nothing-crossed"),
    ],
)
def test_deadline_reminders_catch_up_fires_only_the_latest_crossed_trigger(
    last: str, today: str, expected: list[tuple[str, str, str, int]]
) -> None:
    assert summary(plan(item(), today, last=last)) == expected


def test_deadline_reminders_catch_up_on_a_rest_day_arrives_next_working_morning() -> None:
    a = item(due="2024-05-20")  # the 30-day mark was Saturday 04-20; the 14-day mark is 05-06
    assert summary(plan(a, "2024-04-27", last="2024-04-19")) == [("due_in", "30", "2024-04-28 08:00", 22)]


def test_deadline_reminders_resweeping_the_same_day_plans_the_same_keys() -> None:
    first = plan(item(), "2024-04-22", last="2024-04-21")
    again = plan(item(), "2024-04-22", last="2024-04-22", at="2024-04-22T10:00")
    assert [p.dedup_key for p in again] == [p.dedup_key for p in first]


def test_deadline_reminders_watermark_in_the_future_considers_today_only() -> None:
    assert summary(plan(item(), "2024-04-22", last="2024-05-30")) == [("due_in", "7", "2024-04-22 08:00", 7)]


# ------------------------------------------------------------------------------------------------ overdue


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        pytest.param("2024-04-30", [("overdue", "2024-04-30", "2024-04-30 08:00", 1)], id="first-working-day"),
        pytest.param("2024-05-01", [], id="holiday"),
        pytest.param("2024-05-04", [], id="holiday-saturday"),
        pytest.param("2024-05-06", [("overdue", "2024-05-06", "2024-05-06 08:00", 7)], id="back-to-work"),
        pytest.param("2024-05-11", [("overdue", "2024-05-11", "2024-05-11 08:00", 12)], id="makeup-saturday"),
        pytest.param("2024-05-12", [], id="sunday"),
    ],
)
def test_deadline_reminders_overdue_every_working_day(today: str, expected: list[tuple[str, str, str, int]]) -> None:
    assert summary(plan(item(), today)) == expected


def test_deadline_reminders_overdue_missed_before_a_holiday_is_superseded() -> None:
    """Down from the 30th: on the holiday the missed alert would arrive on 05-06, beside that day's own."""
    assert plan(item(), "2024-05-03", last="2024-04-29") == []


@pytest.mark.parametrize("state", ["replied", "closed", "tracking", "withdrawn", "draft"])
def test_deadline_reminders_item_no_longer_open_plans_nothing(state: str) -> None:
    assert plan(item(state=state), "2024-04-22") == []
    assert plan(item(state=state), "2024-04-30") == []


def test_deadline_reminders_rehandling_counts_as_open() -> None:
    assert summary(plan(item(state="rehandling"), "2024-04-30"))[0][0] == "overdue"


def test_deadline_reminders_without_due_day_or_recipients_plans_nothing() -> None:
    undated = DueAssignment(7, 18, 3, "018", "t", "lead", None, None, "assigned")
    assert plan(undated, "2024-04-22") == []
    assert plan(item(), "2024-04-22", recipients=()) == []


# ---------------------------------------------------------------------------------------------- co-units


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        pytest.param("2024-02-15", [], id="14-days-not-for-co-units"),
        pytest.param("2024-02-22", [("co_due", "7", "2024-02-22 08:00", 7)], id="7-days"),
        pytest.param("2024-02-26", [("co_due", "3", "2024-02-26 08:00", 3)], id="3-days"),
        pytest.param("2024-02-28", [("co_due", "1", "2024-02-28 08:00", 1)], id="1-day"),
        pytest.param("2024-02-29", [("co_due", "0", "2024-02-29 08:00", 0)], id="due-today"),
        pytest.param("2024-03-01", [("co_overdue", "2024-03-01", "2024-03-01 08:00", 1)], id="overdue"),
    ],
)
def test_deadline_reminders_co_unit_opinion_due(today: str, expected: list[tuple[str, str, str, int]]) -> None:
    assert summary(plan(item(due="2024-02-29", role="co"), today)) == expected


def test_deadline_reminders_co_unit_that_sent_its_opinion_hears_nothing() -> None:
    assert plan(item(due="2024-02-29", role="co", answered=True), "2024-02-22") == []
    assert plan(item(due="2024-02-29", role="co", answered=True), "2024-03-01") == []


def test_deadline_reminders_split_unit_counts_down_like_a_lead() -> None:
    assert summary(plan(item(role="split"), "2024-04-15")) == [("due_in", "14", "2024-04-15 08:00", 14)]


# -------------------------------------------------------------------------------------------- extension


def test_deadline_reminders_extended_due_day_announces_extension_ending_instead_of_7_days() -> None:
    extended = item(due="2024-07-29", original="2024-04-29")
    assert summary(plan(extended, "2024-07-22")) == [("extension_ending", "7", "2024-07-22 08:00", 7)]
    assert summary(plan(extended, "2024-07-15")) == [("due_in", "14", "2024-07-15 08:00", 14)]
    [p] = plan(extended, "2024-07-22")
    assert p.text_key == "push.extension_ending"
    assert p.dedup_key == "extension_ending:7:41:2024-07-29:7"


def test_deadline_reminders_extended_without_a_7_day_offset_still_announces_it() -> None:
    profile = PROFILE.model_copy(update={"reminder_offsets_days": (30, 0)})
    extended = item(due="2024-07-29", original="2024-04-29")
    plans = deadline_reminders(
        assignment=extended,
        recipients=[STAFF],
        today=D("2024-07-22"),
        last_swept=D("2024-07-21"),
        now=local("2024-07-22T00:05"),
        profile=profile,
        calendar=CAL,
    )
    assert [p.kind for p in plans] == ["extension_ending"]
    assert horizon_days(profile) == 30


def test_deadline_reminders_dedup_key_changes_with_a_new_due_day() -> None:
    before = plan(item(), "2024-04-15")
    after = plan(item(due="2024-05-13", original="2024-04-29"), "2024-04-29")  # 14 days before the new day
    assert before[0].dedup_key != after[0].dedup_key


# ------------------------------------------------------------------------------------------------ digest


def digest(views: list[DueAssignment], today: str, *, at: str | None = None) -> list[Plan]:
    return overdue_digest(
        overdue=views,
        admins=[ADMIN],
        today=D(today),
        now=local(at or f"{today}T00:05"),
        profile=PROFILE,
        calendar=CAL,
    )


def test_overdue_digest_counts_overdue_items_once_and_lists_the_oldest_first() -> None:
    views = [
        item(due="2024-04-29"),
        DueAssignment(8, 19, 4, "021", "t", "lead", D("2024-04-10"), D("2024-04-10"), "assigned"),
        DueAssignment(9, 19, 5, "021", "t", "co", D("2024-03-10"), D("2024-03-10"), "assigned"),  # co: not counted
        DueAssignment(10, 20, 4, "030", "t", "lead", D("2024-05-20"), D("2024-05-20"), "assigned"),  # not due
        DueAssignment(11, 22, 4, "040", "t", "lead", D("2024-04-01"), D("2024-04-01"), "replied"),  # answered
    ]
    [p] = digest(views, "2024-05-06")
    assert p.kind == "overdue_digest"
    assert p.text_key == "push.overdue_digest"
    assert dict(p.params) == {"count": 2, "top": "021, 018", "oldest_days": 26, "date": "2024-05-06"}
    assert p.due_at == local("2024-05-06T08:00")
    assert p.dedup_key == "overdue_digest:1:2024-05-06"


def test_overdue_digest_nothing_on_rest_days_or_when_nothing_is_late() -> None:
    assert digest([item()], "2024-05-01") == []
    assert digest([item()], "2024-04-29") == []
    assert digest([], "2024-05-06") == []


def test_overdue_digest_too_late_in_the_evening_leaves_it_to_tomorrow() -> None:
    assert digest([item()], "2024-05-06", at="2024-05-06T21:30") == []
