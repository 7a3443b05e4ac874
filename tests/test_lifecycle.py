"""Tests for bot.domain.lifecycle: the transition table, event records and derived overdue days."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.lifecycle import (
    OPEN_STATES,
    Action,
    IllegalTransition,
    State,
    Transition,
    legal_actions,
    next_state,
    overdue_days,
    transition,
)

S, A = State, Action
AT = datetime(2024, 4, 29, 2, 0, tzinfo=UTC)

# (state, action, result_class, rating, expected): every legal transition.
LEGAL = [
    (S.draft, A.assign, None, None, S.assigned),
    (S.draft, A.withdraw, None, None, S.withdrawn),
    (S.assigned, A.start, None, None, S.in_progress),
    (S.assigned, A.return_, None, None, S.assigned),
    (S.in_progress, A.return_, None, None, S.assigned),
    (S.assigned, A.reassign, None, None, S.assigned),
    (S.in_progress, A.reassign, None, None, S.assigned),
    (S.assigned, A.extend, None, None, S.assigned),
    (S.in_progress, A.extend, None, None, S.in_progress),
    (S.assigned, A.withdraw, None, None, S.withdrawn),
    (S.in_progress, A.withdraw, None, None, S.withdrawn),
    (S.assigned, A.reply, None, None, S.replied),
    (S.assigned, A.reply, "A", None, S.replied),
    (S.assigned, A.reply, "B", None, S.tracking),
    (S.in_progress, A.reply, "A", None, S.replied),
    (S.in_progress, A.reply, "B", None, S.tracking),
    (S.in_progress, A.reply, "C", None, S.replied),
    (S.in_progress, A.reply, "D", None, S.replied),
    (S.rehandling, A.reply, "A", None, S.replied),
    (S.rehandling, A.reply, "B", None, S.tracking),
    (S.tracking, A.reply, "A", None, S.replied),
    (S.tracking, A.reply, None, None, S.replied),
    (S.tracking, A.reply, "B", None, S.tracking),  # another progress report, still not final
    (S.replied, A.rate, None, "满意", S.closed),
    (S.replied, A.rate, None, "基本满意", S.closed),
    (S.replied, A.rate, None, "不满意", S.rehandling),
    (S.replied, A.rehandle, None, None, S.rehandling),
    (S.replied, A.close, None, None, S.closed),
]
LEGAL_PAIRS = {(state, action) for state, action, *_ in LEGAL}
ILLEGAL_PAIRS = [pair for pair in itertools.product(State, Action) if pair not in LEGAL_PAIRS]


@pytest.mark.parametrize(("state", "action", "result_class", "rating", "expected"), LEGAL)
def test_next_state_legal_transition_reaches_expected_state(
    state: State, action: Action, result_class: str | None, rating: str | None, expected: State
) -> None:
    assert next_state(state, action, result_class=result_class, rating=rating) is expected


@pytest.mark.parametrize(("state", "action"), ILLEGAL_PAIRS)
def test_next_state_illegal_pair_raises_illegal_transition(state: State, action: Action) -> None:
    with pytest.raises(IllegalTransition) as info:
        next_state(state, action, result_class="A", rating="满意")
    assert (info.value.state, info.value.action) == (state, action)


@pytest.mark.parametrize(
    ("state", "action", "message"),
    [
        (S.closed, A.reply, "cannot reply an item in state closed"),
        (S.withdrawn, A.assign, "cannot assign an item in state withdrawn"),
        (S.draft, A.return_, "cannot return an item in state draft"),
        (S.tracking, A.rate, "cannot rate an item in state tracking"),
        (S.rehandling, A.extend, "cannot extend an item in state rehandling"),
    ],
)
def test_illegal_transition_message_is_readable(state: State, action: Action, message: str) -> None:
    with pytest.raises(IllegalTransition, match=f"^{message}$"):
        next_state(state, action)


@pytest.mark.parametrize("rating", [None, "", "很好", "satisfied"])
def test_next_state_rate_without_valid_rating_raises_illegal_transition(rating: str | None) -> None:
    with pytest.raises(IllegalTransition, match="rating must be one of 满意, 基本满意, 不满意") as info:
        next_state(S.replied, A.rate, rating=rating)
    assert info.value.reason is not None


@pytest.mark.parametrize("result_class", ["b", " B "])
def test_next_state_reply_result_class_b_is_case_and_space_insensitive(result_class: str) -> None:
    assert next_state(S.in_progress, A.reply, result_class=result_class) is S.tracking


def test_next_state_plain_string_values_are_accepted() -> None:
    assert next_state("in_progress", "return") is S.assigned  # type: ignore[arg-type]


def test_next_state_unknown_action_string_raises_value_error() -> None:
    with pytest.raises(ValueError, match="fly"):
        next_state(S.draft, "fly")  # type: ignore[arg-type]


def test_action_return_value_is_return() -> None:
    assert A.return_.value == "return"
    assert A("return") is A.return_


@pytest.mark.parametrize("state", list(State))
def test_legal_actions_match_transition_table(state: State) -> None:
    assert legal_actions(state) == {action for s, action in LEGAL_PAIRS if s is state}


@pytest.mark.parametrize("state", [S.closed, S.withdrawn])
def test_legal_actions_terminal_state_is_empty(state: State) -> None:
    assert legal_actions(state) == frozenset()


def test_lifecycle_full_path_with_rehandling_and_tracking_ends_closed() -> None:
    """draft → assigned → in_progress → tracking (B) → replied → 不满意 → rehandling → replied → closed."""
    steps: list[tuple[Action, dict[str, str]]] = [
        (A.assign, {}),
        (A.start, {}),
        (A.reply, {"result_class": "B"}),
        (A.reply, {"result_class": "A"}),
        (A.rate, {"rating": "不满意"}),
        (A.reply, {"result_class": "A"}),
        (A.rate, {"rating": "基本满意"}),
    ]
    state = S.draft
    seen = [state]
    for action, kwargs in steps:
        state = next_state(state, action, **kwargs)
        seen.append(state)
    assert seen == [
        S.draft,
        S.assigned,
        S.in_progress,
        S.tracking,
        S.replied,
        S.rehandling,
        S.replied,
        S.closed,
    ]


# ------------------------------------------------------------------------------------------- transition


def test_transition_legal_action_returns_event_record() -> None:
    event = transition(S.replied, A.rate, at=AT, actor="deputy:康红恩", rating="不满意", detail={"rating": "不满意"})
    assert event == Transition(
        action=A.rate, before=S.replied, after=S.rehandling, at=AT, actor="deputy:康红恩", detail={"rating": "不满意"}
    )
    assert dict(event.detail) == {"rating": "不满意"}


def test_transition_defaults_have_no_actor_and_empty_detail() -> None:
    event = transition(S.draft, A.assign, at=AT)
    assert (event.before, event.after, event.actor, dict(event.detail)) == (S.draft, S.assigned, None, {})


def test_transition_detail_is_copied_and_read_only() -> None:
    detail = {"due_on": "2024-10-29"}
    event = transition(S.assigned, A.extend, at=AT, detail=detail)
    detail["due_on"] = "2099-01-01"
    assert event.detail["due_on"] == "2024-10-29"
    with pytest.raises(TypeError):
        event.detail["due_on"] = "x"  # type: ignore[index]


def test_transition_record_is_frozen() -> None:
    event = transition(S.draft, A.assign, at=AT)
    with pytest.raises(AttributeError):
        event.after = S.closed  # type: ignore[misc]


def test_transition_illegal_action_raises_illegal_transition() -> None:
    with pytest.raises(IllegalTransition):
        transition(S.closed, A.reply, at=AT, result_class="A")


def test_transition_naive_time_raises_value_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        transition(S.draft, A.assign, at=datetime(2024, 4, 29, 10, 0))


def test_transition_other_timezone_is_kept_aware() -> None:
    at = datetime(2024, 4, 29, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    assert transition(S.draft, A.assign, at=at).at == AT


# ---------------------------------------------------------------------------------------------- overdue

DUE = date(2024, 7, 29)


def test_open_states_are_the_states_awaiting_a_reply() -> None:
    assert frozenset({S.assigned, S.in_progress, S.rehandling}) == OPEN_STATES


@pytest.mark.parametrize(
    ("state", "due", "today", "expected"),
    [
        (S.assigned, DUE, date(2024, 7, 28), 0),
        (S.assigned, DUE, DUE, 0),  # the due day itself is still on time
        (S.assigned, DUE, date(2024, 7, 30), 1),
        (S.in_progress, DUE, date(2024, 8, 8), 10),
        (S.rehandling, DUE, date(2025, 7, 29), 365),
        (S.assigned, None, date(2030, 1, 1), 0),
        (S.draft, DUE, date(2024, 8, 8), 0),
        (S.replied, DUE, date(2024, 8, 8), 0),
        (S.tracking, DUE, date(2024, 8, 8), 0),
        (S.closed, DUE, date(2024, 8, 8), 0),
        (S.withdrawn, DUE, date(2024, 8, 8), 0),
    ],
)
def test_overdue_days_by_state_and_date(state: State, due: date | None, today: date, expected: int) -> None:
    assert overdue_days(state, due, today) == expected


@given(
    state=st.sampled_from(list(State)),
    due=st.one_of(st.none(), st.dates()),
    today=st.dates(),
)
def test_overdue_days_any_input_is_non_negative_and_only_for_open_states(
    state: State, due: date | None, today: date
) -> None:
    days = overdue_days(state, due, today)
    assert days >= 0
    if days:
        assert state in OPEN_STATES
        assert due is not None
        assert today - due == timedelta(days=days)


@given(
    state=st.sampled_from(list(State)),
    action=st.sampled_from(list(Action)),
    result_class=st.sampled_from([None, "A", "B", "C", "D"]),
    rating=st.sampled_from([None, "满意", "基本满意", "不满意"]),
)
def test_next_state_any_input_returns_state_or_raises_illegal_transition(
    state: State, action: Action, result_class: str | None, rating: str | None
) -> None:
    try:
        after = next_state(state, action, result_class=result_class, rating=rating)
    except IllegalTransition as exc:
        assert (exc.state, exc.action) == (state, action)
    else:
        assert action in legal_actions(state)
        assert after in State
