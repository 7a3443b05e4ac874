"""End-to-end: /extend, /assign and /withdraw on item 018, confirmed with buttons, each with an event, an audit
entry and notices; the old clocks' reminders stop (issue 13 deliverable 5), on both engines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.clock import WorkCalendar
from bot.domain.extensions import ExtensionAsk, ExtensionRefused, extended_due, parse_extension
from bot.sandbox.harness import Sandbox
from config.settings import load_settings
from handlers.lifecycle import split_extension
from storage.audit import list_audit
from storage.models import AuditEntry, Event, OutboxMessage, Proposal

AT = datetime(2024, 3, 25, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai: 018 is in progress, due 2024-04-29
SCIENCE = "unit:长宁区科学技术委员会"
DEPUTY = "deputy:康红恩"


@pytest.fixture
async def box(db_url: str, engine: AsyncEngine) -> AsyncIterator[Sandbox]:
    async with Sandbox(load_settings(database_url=db_url), at=AT) as sandbox:
        await sandbox.load_demo()
        yield sandbox
    assert sandbox.emulator.violations == []


async def _card(box: Sandbox) -> str:
    [card] = await box.say("/status 018")
    return card.text


async def _audit(box: Sandbox) -> list[AuditEntry]:
    async with box.deps.sessionmaker() as session:
        proposal_id = await session.scalar(select(Proposal.id).where(Proposal.number == "018"))
        return await list_audit(session, proposal_id=proposal_id, limit=50)


async def test_extend_two_months_moves_due_day_and_tells_unit_and_deputy(box: Sandbox) -> None:
    unit = await box.use(SCIENCE)
    deputy = await box.use(DEPUTY)
    await box.use("admin")
    [preview] = await box.say("/extend 018 2个月 单位申请延期")
    # 2024-01-29 + 5 months = 2024-06-29, a Saturday: the period ends on Monday 2024-07-01 (Civil Code Art. 203)
    assert "2024-04-29 → <b>2024-07-01</b>" in preview.html
    assert [b.label for b in preview.buttons[0]] == ["✅ 确认延期", "✖️ 取消"]
    assert "2024-07-01" not in await _card(box)  # nothing changes before the confirmation
    sent = await box.press("✅ 确认延期")
    done = [m for m in sent if m.chat_id == box.role.user_id]
    assert "2024-04-29 → 2024-07-01" in done[0].text
    told = {m.chat_id: m.text for m in sent if m.chat_id != box.role.user_id}
    assert "已延期" in told[unit.chat_id] and "单位申请延期" in told[unit.chat_id]
    assert "2024-07-01" in told[deputy.chat_id]
    card = await _card(box)
    assert "2024-07-01" in card and "已延期，原期限 2024-04-29" in card
    [entry] = await _audit(box)
    assert (entry.action, entry.old["due_on"], entry.new["due_on"]) == ("extend", "2024-04-29", "2024-07-01")
    assert entry.actor_id == box.role.user_id


async def test_extend_past_six_months_in_total_is_refused(box: Sandbox) -> None:
    await box.use("admin")
    await box.say("/extend 018 2个月 第一次")
    await box.press("✅ 确认延期")
    [refused] = await box.say("/extend 018 2个月 第二次")
    assert "不能延期" in refused.text and "2024-07-29" in refused.text
    assert refused.buttons == ()
    [refused] = await box.say("/extend 018 2024-08-30 太晚")
    assert "不能延期" in refused.text
    assert len(await _audit(box)) == 1


async def test_assign_stops_old_units_reminders_and_starts_a_fresh_clock(box: Sandbox) -> None:
    old = await box.use(SCIENCE)
    new = await box.use("unit:区发改委")
    await box.use("admin")
    [preview] = await box.say("/assign 018 区发改委")
    assert "区发改委" in preview.text and [b.label for b in preview.buttons[0]] == ["✅ 确认改派", "↩️ 单位退回（错派）"]
    sent = await box.press("↩️ 单位退回（错派）")
    done = next(m for m in sent if m.chat_id == box.role.user_id)
    # assigned 2024-01-29: the return comes long after 7 working days, so it is flagged
    assert "2024-06-25" in done.text and "逾期退回" in done.text
    assert any(m.chat_id == new.chat_id and "改由 区发改委 办理" in m.text for m in sent)
    later = await box.advance(timedelta(days=30))
    assert [m.text for m in later if m.chat_id == old.chat_id and "018" in m.text] == []
    [entry] = await _audit(box)
    assert entry.old["unit"] == "长宁区科学技术委员会" and entry.new["unit"] == "区发改委"
    assert entry.new["late_return"] == "1" and entry.new["kind"] == "return"


async def test_without_assign_the_old_unit_is_reminded(box: Sandbox) -> None:
    """The control for the test above: the same 30 days bring 018's reminders to its unit."""
    old = await box.use(SCIENCE)
    later = await box.advance(timedelta(days=30))
    assert [m for m in later if m.chat_id == old.chat_id and "018" in m.text]


async def test_withdraw_stops_every_reminder_and_tells_followers(box: Sandbox) -> None:
    unit = await box.use(SCIENCE)
    follower = await box.use("public")
    [followed] = await box.say("/follow 018")
    assert "已关注第 018 号" in followed.text
    await box.use("admin")
    [preview] = await box.say("/withdraw 018 代表撤回")
    assert "代表撤回" in preview.text
    sent = await box.press("✅ 确认撤回")
    assert any(m.chat_id == follower.chat_id and "已撤回" in m.text for m in sent)
    assert "已撤回" in await _card(box)
    later = await box.advance(timedelta(days=30))
    assert [m.text for m in later if "018" in m.text] == []
    assert [m for m in later if m.chat_id == unit.chat_id and "018" in m.text] == []
    [entry] = await _audit(box)
    assert (entry.old["state"], entry.new["state"], entry.new["reason"]) == ("in_progress", "withdrawn", "代表撤回")


async def test_three_actions_each_record_an_event_and_an_audit_entry(box: Sandbox) -> None:
    await box.use("admin")
    for command, button in (
        ("/extend 018 1个月 申请", "✅ 确认延期"),
        ("/assign 018 区发改委", "✅ 确认改派"),
        ("/withdraw 018 撤回", "✅ 确认撤回"),
    ):
        await box.say(command)
        await box.press(button)
    entries = await _audit(box)
    assert [e.action for e in entries] == ["withdraw", "assign", "extend"]
    async with box.deps.sessionmaker() as session:
        actions = (await session.scalars(select(Event.action).order_by(Event.id))).all()
    assert actions[-3:] == ["extend", "reassign", "withdraw"]
    [audit] = await box.say("/audit 018")
    text = audit.text
    assert text.index("撤回") < text.index("改派") < text.index("延期")  # newest first
    assert "due_on: 2024-04-29 → 2024-05-29" in text  # 2024-01-29 + 4 months (the extension)
    assert "unit: 长宁区科学技术委员会 → 区发改委" in text
    assert "state: assigned → withdrawn" in text
    assert "管理员 (10001)" in text


async def test_audit_pages_and_refuses_non_admins(box: Sandbox) -> None:
    await box.use("admin")
    for _ in range(6):
        await box.say("/bind unit:区发改委")
        await box.say("/bind deputy:康红恩")
    [first] = await box.say("/audit")
    assert "共 12 条" in first.text and first.text.count("绑定链接") == 10
    [second] = await box.press("下一页 ▶")
    assert "第 2/2 页" in second.text and second.text.count("绑定链接") == 2
    await box.use("public")
    [refused] = await box.say("/audit 018")
    assert "只有管理员" in refused.text


async def test_cancel_and_an_old_button_change_nothing(box: Sandbox) -> None:
    await box.use("admin")
    await box.say("/withdraw 018 撤回")
    [cancelled] = await box.press("✖️ 取消")
    assert "已取消" in cancelled.text
    [expired] = await box.press("✅ 确认撤回")  # the same preview's button, pressed again
    assert "已失效" in expired.text
    assert await _audit(box) == []
    assert "办理中" in await _card(box)


async def test_ambiguous_number_offers_a_choice_of_sittings(box: Sandbox) -> None:
    await box.use("admin")
    [choice] = await box.say("/withdraw 021 重复")
    labels = [row[0].label for row in choice.buttons]
    assert len(labels) == 2 and all("021" in label for label in labels)
    [preview] = await box.press(labels[0])
    assert "确认撤回第 021 号" in preview.text


@pytest.mark.parametrize(
    "command",
    ["/extend 018 2个月 单位申请延期", "/assign 018 区发改委", "/withdraw 018 撤回"],
)
@pytest.mark.parametrize("role", ["public", SCIENCE, DEPUTY])
async def test_non_admins_get_no_action_and_the_database_is_unchanged(box: Sandbox, role: str, command: str) -> None:
    await box.use(role)
    async with box.deps.sessionmaker() as session:
        before = await session.scalar(select(func.count()).select_from(OutboxMessage))
    [refused] = await box.say(command)
    assert "只有管理员" in refused.text and refused.buttons == ()
    assert await _audit(box) == []
    async with box.deps.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == before
    assert "办理中" in await _card(box)


async def test_bad_input_gets_usage_or_a_clear_message(box: Sandbox) -> None:
    await box.use("admin")
    [usage] = await box.say("/extend 018 单位申请延期")
    assert "用法" in usage.text
    [unknown] = await box.say("/assign 018 不存在的单位")
    assert "没有名为" in unknown.text
    [missing] = await box.say("/withdraw 999 撤回")
    assert "999" in missing.text and missing.buttons == ()


@pytest.mark.parametrize(
    ("text", "ask"),
    [
        ("2个月", ExtensionAsk(months=2)),
        ("两个月", ExtensionAsk(months=2)),
        ("２个月", ExtensionAsk(months=2)),
        ("3 months", ExtensionAsk(months=3)),
        ("2024-07-31", ExtensionAsk(until=date(2024, 7, 31))),
        ("2024年7月31日", ExtensionAsk(until=date(2024, 7, 31))),
        ("0个月", None),
        ("明天", None),
        ("2024-02-30", None),
    ],
)
def test_parse_extension_reads_months_and_dates(text: str, ask: ExtensionAsk | None) -> None:
    assert parse_extension(text) == ask


def test_split_extension_takes_the_period_in_one_or_two_words() -> None:
    assert split_extension("018 2 个月 单位 申请") == ("018", ExtensionAsk(months=2), "单位 申请")
    assert split_extension("17-5-018 2024-07-31 理由") == ("17-5-018", ExtensionAsk(until=date(2024, 7, 31)), "理由")


def test_extended_due_counts_months_from_the_assigned_day_by_the_civil_code() -> None:
    calendar = WorkCalendar()
    new = extended_due(
        ExtensionAsk(months=1), received_on=date(2024, 1, 31), due_on=date(2024, 4, 30), max_months=6, calendar=calendar
    )
    # 2024-01-31 + 4 months: May has a 31st, so 2024-05-31 (a Friday)
    assert (new.day, new.months) == (date(2024, 5, 31), 4)
    with pytest.raises(ExtensionRefused) as refused:
        extended_due(
            ExtensionAsk(months=4),
            received_on=date(2024, 1, 31),
            due_on=date(2024, 4, 30),
            max_months=6,
            calendar=calendar,
        )
    assert refused.value.code == "too_long" and refused.value.limit == date(2024, 7, 31)
