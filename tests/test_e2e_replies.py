"""End-to-end: an admin registers the seed letter, the deputy hears of it, then rates it (issue 4)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.sandbox.emulator import SentMessage
from bot.sandbox.harness import Sandbox
from config.settings import load_settings
from storage.models import Reply

SEED = Path(__file__).parent / "fixtures" / "000_22e5c766df40d68a.txt"
BEFORE_REPLY = datetime(2024, 4, 20, 1, 0, tzinfo=UTC)  # 09:00 Shanghai; 018 is in progress


def _texts(messages: list[SentMessage]) -> str:
    return "\n".join(m.text for m in messages)


@pytest.fixture
async def sandbox(sqlite_url: str) -> AsyncIterator[Sandbox]:
    async with Sandbox(load_settings(database_url=sqlite_url), at=BEFORE_REPLY) as box:
        await box.load_demo()
        yield box
    assert box.emulator.violations == []


async def _replies(box: Sandbox) -> int:
    async with box.deps.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Reply)) or 0)


async def test_reply_seed_letter_confirm_pushes_deputy_with_summary(sandbox: Sandbox) -> None:
    deputy = await sandbox.use("deputy:康红恩")
    await sandbox.say("/follow 018")
    await sandbox.use("admin")
    [ask] = await sandbox.say("/reply 018")
    assert "请上传第 018 号的答复函" in ask.text
    [preview] = await sandbox.upload(SEED)
    for expected in (
        "018",
        "康红恩",
        "解决或采纳",
        "A",
        "詹镭",
        "长宁区科学技术委员会",
        "2024-04-29",
        "洪嫣",
        "52388345",
    ):
        assert expected in preview.text
    assert [b.label for row in preview.buttons for b in row] == ["✅ 确认", "✏️ 修改", "✖️ 取消"]
    before = await _replies(sandbox)
    confirmed = await sandbox.press("✅ 确认")
    push = [m for m in confirmed if m.chat_id == deputy.chat_id]
    assert len(push) == 1
    assert "018" in push[0].text
    assert "解决或采纳" in push[0].text
    assert "摘要" in push[0].text
    assert "已登记第 018 号的答复" in _texts(confirmed)
    assert await _replies(sandbox) == before + 1
    await sandbox.use("public")
    card = _texts(await sandbox.say("018"))
    assert "已答复" in card
    assert "解决或采纳" in card


async def test_reply_caption_upload_and_cancel_stores_nothing(sandbox: Sandbox) -> None:
    await sandbox.use("admin")
    before = await _replies(sandbox)
    [preview] = await sandbox.upload(SEED, "/reply 018")
    assert "答复函预览" in preview.text
    [cancelled] = await sandbox.press("✖️ 取消")
    assert "未保存" in cancelled.text
    assert await _replies(sandbox) == before


async def test_reply_letter_alone_finds_item_by_its_number(sandbox: Sandbox) -> None:
    await sandbox.use("admin")
    [preview] = await sandbox.upload(SEED)
    assert "对应：第 018 号" in preview.text


async def test_reply_edit_field_then_confirm_uses_corrected_value(sandbox: Sandbox) -> None:
    await sandbox.use("admin")
    await sandbox.say("/reply 018")
    await sandbox.upload(SEED)
    await sandbox.press("✏️ 修改")
    await sandbox.press("答复日期")
    [bad] = await sandbox.say("昨天")
    assert "不是有效的答复日期" in bad.text
    [preview] = await sandbox.say("2024-04-28")
    assert "答复日期：2024-04-28" in preview.text
    await sandbox.press("✅ 确认")
    await sandbox.use("public")
    assert "2024-04-28 答复" in _texts(await sandbox.say("018"))


async def test_reply_to_replied_item_needs_replace_confirmation(sandbox: Sandbox) -> None:
    await sandbox.use("admin")
    await sandbox.upload(SEED, "/reply 001")  # 001 already has a B-class reply: tracking, so allowed
    await sandbox.press("✅ 确认")
    [preview] = await sandbox.upload(SEED, "/reply 005")  # 005 is closed
    assert "已有答复" in preview.text
    assert "⚠️ 确认替换" in [b.label for row in preview.buttons for b in row]
    assert "与所选建议编号" in preview.text  # the letter says 018, the item is 005


async def test_reply_by_non_admin_is_refused(sandbox: Sandbox) -> None:
    await sandbox.use("public")
    [message] = await sandbox.upload(SEED, "/reply 018")
    assert "只有管理员" in message.text


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("empty.txt", b"", "空"),
        ("noise.bin", bytes(range(256)) * 4, "不支持"),
        ("fake.pdf", b"%PDF-1.4 garbage", "损坏"),
        ("letter.gbk.txt", SEED.read_text(encoding="utf-8").encode("gb18030"), "答复函预览"),
    ],
)
async def test_reply_bad_or_gbk_documents(
    sandbox: Sandbox, tmp_path: Path, name: str, data: bytes, expected: str
) -> None:
    await sandbox.use("admin")
    path = tmp_path / name
    path.write_bytes(data)
    before = await _replies(sandbox)
    text = _texts(await sandbox.upload(path, "/reply 018"))
    assert expected in text
    assert await _replies(sandbox) == before


async def test_rating_dissatisfied_starts_rehandling_and_tells_unit(sandbox: Sandbox) -> None:
    unit = await sandbox.use("unit:长宁区科学技术委员会")
    deputy = await sandbox.use("deputy:康红恩")  # bound before the reply arrives
    await sandbox.use("admin")
    await sandbox.upload(SEED, "/reply 018")
    await sandbox.press("✅ 确认")
    await sandbox.use("deputy:康红恩")
    pushes = await sandbox.advance(timedelta(days=3, hours=1))
    ask = [m for m in pushes if m.chat_id == deputy.chat_id and "请评价" in m.text]
    assert len(ask) == 1
    [question] = await sandbox.press("不满意")
    assert "原因" in question.text
    done = await sandbox.say("措施不够具体")
    assert "重新办理" in _texts(done)
    later = await sandbox.advance(timedelta(days=3))
    told = [m for m in done + later if m.chat_id == unit.chat_id and "不满意" in m.text]
    assert told
    card = _texts(await sandbox.say("018"))
    assert "重新办理" in card
    assert "不满意" in card


async def test_rate_command_satisfied_closes_item(sandbox: Sandbox) -> None:
    await sandbox.use("admin")
    await sandbox.upload(SEED, "/reply 018")
    await sandbox.press("✅ 确认")
    await sandbox.use("deputy:康红恩")
    [ask] = await sandbox.say("/rate 018")
    assert [b.label for row in ask.buttons for b in row] == ["满意", "基本满意", "不满意"]
    [thanks] = await sandbox.press("满意")
    assert "感谢" in thanks.text
    [again] = await sandbox.say("/rate 018")
    await sandbox.press("满意")
    assert "已办结" in _texts(await sandbox.say("018"))
    await sandbox.use("public")
    [refused] = await sandbox.say("/rate 018")
    assert "只有第 018 号的领衔或联名代表" in refused.text
    assert again
