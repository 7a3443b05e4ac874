"""The pure planner for reply pushes: who hears what, when, and under which dedup key."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from bot.delivery.planner import Audience, RecipientView, reply_plans, unsatisfied_plans
from bot.domain.clock import WorkCalendar
from bot.render.pushes import render_push
from config.settings import load_settings

TZ = ZoneInfo("Asia/Shanghai")
PROFILE = load_settings().profile
CAL = WorkCalendar()
FRIDAY_EVENING = datetime(2024, 4, 26, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai
PARAMS = {"proposal_id": 7, "number": "018", "title": "硅巷", "result": "解决或采纳", "result_class": "A"}


def _view(account_id: int, role: str, quiet: tuple[time, time] | None = None) -> RecipientView:
    return RecipientView(account_id=account_id, chat_id=1000 + account_id, role=role, quiet=quiet, tz=TZ)


def test_reply_plans_deputy_gets_reply_and_later_a_rating_request() -> None:
    plans = reply_plans(
        audience=[Audience(_view(1, "deputy"), own=True), Audience(_view(2, "public"))],
        reply_id=5,
        params=PARAMS,
        now=FRIDAY_EVENING,
        profile=PROFILE,
        calendar=CAL,
    )
    kinds = sorted((p.recipient_account_id, p.kind) for p in plans)
    assert kinds == [(1, "feedback_request"), (1, "reply_registered"), (2, "reply_registered")]
    request = next(p for p in plans if p.kind == "feedback_request")
    assert (request.due_at - FRIDAY_EVENING).days == PROFILE.feedback_after_days
    assert {p.dedup_key for p in plans} == {"reply:5:1", "reply:5:2", "rate:5:1"}


def test_reply_plans_withheld_reply_reaches_outsiders_without_text() -> None:
    plans = reply_plans(
        audience=[Audience(_view(1, "deputy"), own=True), Audience(_view(2, "public"), reads_reply=False)],
        reply_id=5,
        params={**PARAMS, "summary": "摘要", "unit": "区科委", "date": "2024-04-29"},
        now=FRIDAY_EVENING,
        profile=PROFILE,
        calendar=CAL,
    )
    by_account = {p.recipient_account_id: p for p in plans if p.kind != "feedback_request"}
    assert {k: p.kind for k, p in by_account.items()} == {1: "reply_registered", 2: "reply_withheld"}
    assert dict(by_account[2].params) == {"proposal_id": 7, "number": "018", "title": "硅巷", "reply_id": 5}
    assert by_account[1].params["summary"] == "摘要"


def test_reply_plans_honour_deputy_quiet_hours() -> None:
    [plan, _] = reply_plans(
        audience=[Audience(_view(1, "deputy", (time(21), time(8))), own=True)],
        reply_id=5,
        params=PARAMS,
        now=FRIDAY_EVENING,
        profile=PROFILE,
        calendar=CAL,
    )
    local = plan.due_at.astimezone(TZ)
    assert (local.date().isoformat(), local.time()) == ("2024-04-27", time(8))  # deputies: weekends are fine


def test_unsatisfied_plans_reach_unit_on_next_working_morning_once_each() -> None:
    unit = _view(3, "unit")
    plans = unsatisfied_plans(
        recipients=[unit, unit, _view(4, "admin")],
        reply_id=5,
        params={**PARAMS, "due_on": "2024-05-27", "reason": ""},
        now=FRIDAY_EVENING,
        profile=PROFILE,
        calendar=CAL,
    )
    assert [p.recipient_account_id for p in plans] == [3, 4]
    # Saturday 2024-04-27 is a rest day, Sunday 2024-04-28 a make-up working day
    assert plans[0].due_at.astimezone(TZ) == datetime(2024, 4, 28, 8, 0, tzinfo=TZ)


def test_render_push_feedback_request_has_rating_buttons() -> None:
    [plan] = [
        p
        for p in reply_plans(
            audience=[Audience(_view(1, "deputy"), own=True)],
            reply_id=9,
            params=PARAMS,
            now=FRIDAY_EVENING,
            profile=PROFILE,
            calendar=CAL,
        )
        if p.kind == "feedback_request"
    ]
    rendered = render_push(plan.kind, {"text_key": plan.text_key, "params": dict(plan.params)}, "zh")
    assert [b.data for row in rendered.buttons for b in row] == ["rate:9:s", "rate:9:b", "rate:9:u"]
    assert "请评价第 018 号" in rendered.html
