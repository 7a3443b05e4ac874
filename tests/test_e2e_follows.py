"""End-to-end: binding links, follows and unfollows through the sandbox emulator."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.sandbox.harness import Sandbox
from config.settings import load_settings
from storage.accounts import find_account
from storage.follows import list_follows

AT = datetime(2024, 3, 25, 2, 0, tzinfo=UTC)
LINK = re.compile(r"start=bind_(\S+)")


@pytest.fixture
async def sandbox(sqlite_url: str) -> AsyncIterator[Sandbox]:
    async with Sandbox(load_settings(database_url=sqlite_url), at=AT) as box:
        await box.load_demo()
        yield box
    assert box.emulator.violations == []


async def _link(box: Sandbox, target: str) -> str:
    await box.use("admin")
    [message] = await box.say(f"/bind {target}")
    match = LINK.search(message.text)
    assert match, message.text
    return match.group(1)


async def test_bind_link_binds_once_then_reports_used(sandbox: Sandbox) -> None:
    code = await _link(sandbox, "unit:长宁区科学技术委员会")
    user = await sandbox.use("public")
    [done] = await sandbox.say(f"/start bind_{code}")
    assert "绑定成功" in done.text
    assert "长宁区科学技术委员会" in done.text
    async with sandbox.deps.sessionmaker() as session:
        account = await find_account(session, telegram_id=user.user_id)
    assert account is not None
    assert account.role == "unit"
    assert account.unit_id is not None
    await sandbox.use("deputy:康红恩")
    [again] = await sandbox.say(f"/start bind_{code}")
    assert "已被使用" in again.text


async def test_bind_link_expires_after_seven_days(sandbox: Sandbox) -> None:
    code = await _link(sandbox, "deputy:康红恩")
    await sandbox.use("public")
    await sandbox.advance(timedelta(days=7, minutes=1))
    [message] = await sandbox.say(f"/start bind_{code}")
    assert "已过期" in message.text


async def test_bind_wrong_guesses_are_rate_limited(sandbox: Sandbox) -> None:
    await sandbox.use("public")
    answers = [(await sandbox.say(f"/start bind_wrong{i}"))[0].text for i in range(7)]
    assert all("无效" in a for a in answers[:5])
    assert "尝试次数过多" in answers[5]
    assert "尝试次数过多" in answers[6]


async def test_bind_by_non_admin_is_refused_and_stores_nothing(sandbox: Sandbox) -> None:
    await sandbox.use("public")
    [message] = await sandbox.say("/bind unit:区教育局")
    assert "只有管理员" in message.text


async def test_unbind_returns_account_to_public(sandbox: Sandbox) -> None:
    user = await sandbox.use("unit:区民政局")
    [message] = await sandbox.say("/unbind")
    assert "已解除绑定" in message.text
    async with sandbox.deps.sessionmaker() as session:
        account = await find_account(session, telegram_id=user.user_id)
    assert account is not None
    assert account.role == "public"


async def test_follow_each_kind_then_list_and_unfollow_by_button(sandbox: Sandbox) -> None:
    user = await sandbox.use("public")
    for text, expected in [
        ("/follow 018", "已关注第 018 号"),
        ("/follow 018", "已经关注"),
        ("/follow unit 区民政局", "已关注单位“区民政局”"),
        ("/follow keyword 硅巷", "已关注关键词“硅巷”"),
        ("/follow session", "全部建议"),
        ("/follow unit 不存在的单位", "没有名为"),
        ("/follow", "用法"),
        ("/follow 99999", "没有找到"),
    ]:
        [message] = await sandbox.say(text)
        assert expected in message.text, (text, message.text)
    [listing] = await sandbox.say("/following")
    assert listing.text.count("•") == 4
    [done] = await sandbox.press("取消关注 关键词“硅巷”")
    assert "已取消关注" in done.text
    async with sandbox.deps.sessionmaker() as session:
        account = await find_account(session, telegram_id=user.user_id)
        assert account is not None
        kinds = sorted(f.target_kind for f in await list_follows(session, account_id=account.id))
    assert kinds == ["item", "session", "unit"]


async def test_follow_button_on_status_card(sandbox: Sandbox) -> None:
    await sandbox.use("public")
    await sandbox.say("018")
    [menu] = await sandbox.press("⭐ 关注")
    assert [b.label for row in menu.buttons for b in row] == ["⭐ 关注此件", "🏢 关注主办单位", "🗂 关注本会次"]
    [item] = await sandbox.press("⭐ 关注此件")
    assert "已关注第 018 号" in item.text
    [unit] = await sandbox.press("🏢 关注主办单位")
    assert "已关注单位“长宁区科学技术委员会”" in unit.text
    [session] = await sandbox.press("🗂 关注本会次")
    assert "第5次会议全部建议" in session.text


async def test_unfollow_reply_to_message_with_unfollow_button(sandbox: Sandbox) -> None:
    await sandbox.use("public")
    await sandbox.say("/follow 018")
    [listing] = await sandbox.say("/following")
    [done] = await sandbox.say("取消关注", reply_to=listing.message_id)
    assert "已取消关注第 018 号" in done.text


async def test_following_a_long_chinese_keyword_lists_and_unfollows_by_follow_id(sandbox: Sandbox) -> None:
    """Callback data is at most 64 UTF-8 bytes: 20 Chinese characters are 60 bytes, too many beside a prefix, so
    /following buttons name the follow by id. Cutting the text to 64 characters once made /following fail."""
    user = await sandbox.use("public")
    keyword = "长宁区全面推进上海硅巷科创街区建设三年行动方案"
    [done] = await sandbox.say(f"/follow keyword {keyword}")
    assert "已关注关键词" in done.text
    [listing] = await sandbox.say("/following")
    assert keyword in listing.text
    data = [b.callback_data or "" for row in listing.buttons for b in row]
    assert all(len(d.encode("utf-8")) <= 64 for d in data)
    assert sandbox.emulator.violations == []
    [gone] = await sandbox.press(f"取消关注 关键词“{keyword}”")
    assert "已取消关注" in gone.text
    async with sandbox.deps.sessionmaker() as session:
        account = await find_account(session, telegram_id=user.user_id)
        assert account is not None
        assert list(await list_follows(session, account_id=account.id)) == []
    [again] = await sandbox.press(f"取消关注 关键词“{keyword}”")  # a stale button: nothing left to stop
    assert "已经取消" in again.text


async def test_forged_unfollow_id_cannot_stop_someone_elses_follow(sandbox: Sandbox) -> None:
    owner = await sandbox.use("deputy:康红恩")
    await sandbox.say("/follow 018")
    async with sandbox.deps.sessionmaker() as session:
        account = await find_account(session, telegram_id=owner.user_id)
        assert account is not None
        [theirs] = await list_follows(session, account_id=account.id)
    intruder = await sandbox.use("public")
    await sandbox.say("/follow unit 区民政局")
    [own] = await sandbox.say("/following")
    [[button]] = own.buttons
    update = sandbox.emulator.callback_update(intruder, own.message_id, button.callback_data or "")
    update["callback_query"]["data"] = f"uf:{theirs.id}"  # a modified client sends another user's follow id
    [answer] = await sandbox.feed(update)
    assert "已经取消" in answer.text
    async with sandbox.deps.sessionmaker() as session:
        assert [f.id for f in await list_follows(session, account_id=account.id)] == [theirs.id]
