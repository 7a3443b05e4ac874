"""End-to-end: the real application through the sandbox emulator, with the demo data (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.sandbox.harness import Sandbox
from config.settings import load_settings

AT = datetime(2024, 6, 3, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, after 018's reply


@pytest.fixture
async def sandbox(sqlite_url: str) -> AsyncIterator[Sandbox]:
    """The demo bot on a fresh SQLite database (the PostgreSQL path has its own test below)."""
    settings = load_settings(database_url=sqlite_url)
    async with Sandbox(settings, at=AT) as box:
        assert await box.load_demo() > 10
        await box.use("public")
        yield box
    assert box.emulator.violations == []


def _text(messages: list) -> str:  # type: ignore[type-arg]
    assert messages, "the bot sent nothing"
    return "\n".join(m.text for m in messages)


@pytest.mark.parametrize(
    "query",
    [
        "/status 018",
        "/status 18",
        "/status 第018号",
        "/status 第 018 号",
        "/status 17-5-018",
        "018",
        "18",
        "第018号",
        "１８",
    ],
)
async def test_status_every_form_shows_seed_item(sandbox: Sandbox, query: str) -> None:
    text = _text(await sandbox.say(query))
    assert "上海硅巷" in text
    assert "长宁区科学技术委员会" in text
    assert "解决或采纳" in text
    assert "2024-04-29" in text
    assert "康红恩" in text


async def test_status_card_has_timeline_and_full_reply_buttons(sandbox: Sandbox) -> None:
    [card] = await sandbox.say("/status 018")
    labels = [b.label for row in card.buttons for b in row]
    assert labels == ["⭐ 关注", "🕑 时间线", "📄 答复全文"]
    timeline = _text(await sandbox.press("🕑 时间线"))
    assert "交办" in timeline
    assert "答复" in timeline
    full = await sandbox.press("📄 答复全文")
    assert full[0].kind == "document"
    assert (full[0].data or b"").decode("utf-8").count("康红恩代表") == 1


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("/status 99999", "没有找到编号为 99999"),
        ("/status", "请在 /status 后写上编号"),
        ("/status abc", "不是有效的编号"),
        ("/status 17-9-018", "第 17 届第 9 次会议中没有编号为 018"),
        ("/status <b>1</b>", "不是有效的编号"),
        ("/status " + "9" * 30, "不是有效的编号"),
        ("hello", "请发送编号"),
        ("/nosuchcommand", "不认识这个命令"),
    ],
)
async def test_status_bad_input_gets_clear_answer(sandbox: Sandbox, query: str, expected: str) -> None:
    text = _text(await sandbox.say(query))
    assert expected in text
    assert "Traceback" not in text


async def test_status_number_in_two_sessions_offers_choice(sandbox: Sandbox) -> None:
    [choice] = await sandbox.say("021")
    labels = [b.label for row in choice.buttons for b in row]
    assert len(labels) == 2
    assert "多个会次" in choice.text
    chosen = _text(await sandbox.press(labels[1]))
    assert "社区卫生服务中心" in chosen


async def test_status_overdue_item_counts_days(sandbox: Sandbox) -> None:
    text = _text(await sandbox.say("003"))
    # assigned 2024-01-29, due 2024-04-29; "today" is 2024-06-03
    assert "逾期 35 天" in text


async def test_status_non_public_reply_hidden_from_public_shown_to_admin(sandbox: Sandbox) -> None:
    public = _text(await sandbox.say("008"))
    assert "答复不予公开" in public
    await sandbox.use("admin")
    admin = _text(await sandbox.say("008"))
    assert "列入计划拟解决" in admin


async def test_status_on_each_engine_english_user_gets_english_card(engine: AsyncEngine, db_url: str) -> None:
    """The same look-up on SQLite and PostgreSQL (migrated by the `engine` fixture), in English."""
    settings = load_settings(database_url=db_url)
    async with Sandbox(settings, at=AT, language_code="en") as box:
        await box.load_demo()
        await box.use("public")
        text = _text(await box.say("/status 018"))
        choice = _text(await box.say("21"))
    assert "Lead unit" in text
    assert "上海硅巷" in text
    assert "several sittings" in choice
    assert "Reply due" in text


async def test_start_welcomes_and_registers_commands_per_language(sandbox: Sandbox) -> None:
    text = _text(await sandbox.say("/start"))
    assert "您好" in text
    commands = sandbox.emulator.commands
    assert any(key[1] == "en" for key in commands)
    assert any(key[1] in {"", "zh"} for key in commands)


async def test_start_deep_link_opens_item(sandbox: Sandbox) -> None:
    text = _text(await sandbox.say("/start p_17-5_018"))
    assert "上海硅巷" in text


async def test_demo_before_reply_date_shows_countdown(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'early.db'}")
    async with Sandbox(settings, at=datetime(2024, 3, 25, 2, 0, tzinfo=UTC)) as box:
        await box.load_demo()
        await box.use("public")
        text = _text(await box.say("018"))
    assert "剩余 35 天" in text
    assert "办理中" in text
    assert "解决或采纳" not in text


async def test_status_number_in_many_sessions_lists_newest_five_and_hints(sqlite_url: str) -> None:
    """A wall of buttons helps nobody: the five newest sittings, and how to name an older one."""
    from dataclasses import replace

    from bot.sandbox.demo import CHANGNING_17_5
    from storage.proposals import ProposalRecord, upsert_proposal

    settings = load_settings(database_url=sqlite_url)
    async with Sandbox(settings, at=AT) as box:
        async with box.deps.sessionmaker.begin() as session:
            for sitting in range(1, 8):
                record = ProposalRecord(
                    session=replace(CHANGNING_17_5, term=16 + sitting // 6, sitting=sitting % 6 or 1),
                    number="077",
                    number_key="77",
                    title=f"第{sitting}件",
                )
                await upsert_proposal(session, record, now=AT, initial_state="draft")
        await box.use("public")
        [choice] = await box.say("77")
    labels = [b.label for row in choice.buttons for b in row]
    assert len(labels) == 5
    assert "更早的请加上届次" in choice.text


async def test_a_polling_bot_answers_an_update_put_on_the_queue(sqlite_url: str) -> None:
    """With `polling`, the update goes in the way Telegram hands it over: getUpdates through PTB's Updater."""
    settings = load_settings(database_url=sqlite_url)
    async with Sandbox(settings, at=AT, polling=True) as box:
        assert await box.load_demo() > 10
        user = await box.use("public")
        assert box.app.updater is not None and box.app.updater.running
        box.emulator.enqueue(box.emulator.message_update(user, "/status 018"))
        for _ in range(500):  # the poll and the answer take a few event-loop turns, not wall time
            if box.emulator.sent:
                break
            await asyncio.sleep(0.01)
        assert "上海硅巷" in _text(box.emulator.sent)
        assert box.emulator.stats["requests.getUpdates"] >= 1
    assert box.app.updater is not None and not box.app.updater.running
    assert box.emulator.violations == []
