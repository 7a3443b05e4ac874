"""End-to-end: import and export in the chat (issue 13 deliverable 3): an admin sends a sheet, reads the diff
preview, and confirms; nothing is stored before 确认导入; /export re-imports unchanged; letters still go to /reply."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.sandbox.emulator import SentMessage
from bot.sandbox.harness import Sandbox
from config.settings import load_settings
from storage.audit import list_audit
from storage.models import OutboxMessage, Proposal
from tests.conftest import SEED_LETTER

AT = datetime(2024, 3, 25, 1, 0, tzinfo=UTC)
HEADER = ["地区", "机构", "届", "次", "编号", "标题", "领衔代表", "主办单位", "交办日期"]
NEW_ROWS = [
    ["长宁区", "人大", 17, 5, "101", "关于增设社区食堂的建议", "王建国", "区民政局", "2024-03-01"],
    ["长宁区", "人大", 17, 5, "102", "关于改善背街小巷照明的建议", "李梅", "区建管委", "2024-03-01"],
]


@pytest.fixture
async def box(db_url: str, engine: AsyncEngine) -> AsyncIterator[Sandbox]:
    async with Sandbox(load_settings(database_url=db_url), at=AT) as sandbox:
        await sandbox.load_demo()
        await sandbox.use("admin")
        yield sandbox
    assert sandbox.emulator.violations == []


def _xlsx(header: list[str], rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _send(box: Sandbox, name: str, data: bytes) -> list[SentMessage]:
    user = box.emulator.find_user(box.role.label)
    assert user is not None
    return await box.feed(box.emulator.document_update(user, name, data, None))


async def _count(box: Sandbox) -> int:
    async with box.deps.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Proposal)) or 0)


async def _title(box: Sandbox, number: str) -> str | None:
    async with box.deps.sessionmaker() as session:
        return await session.scalar(select(Proposal.title).where(Proposal.number == number))


async def test_admin_sends_xlsx_and_confirms_then_the_items_are_there(box: Sandbox) -> None:
    before = await _count(box)
    [preview] = await _send(box, "新建议.xlsx", _xlsx(HEADER, NEW_ROWS))
    assert "导入预览" in preview.text and "新建 2 条 · 修改 0 条" in preview.text
    assert [b.label for b in preview.buttons[0]] == ["✅ 确认导入", "✖️ 取消"]
    assert await _count(box) == before  # nothing stored before the confirmation
    [done] = await box.press("✅ 确认导入")
    assert "已导入：新建 2 条" in done.text
    assert await _count(box) == before + 2
    [card] = await box.say("/status 17-5-101")
    assert "关于增设社区食堂的建议" in card.text and "区民政局" in card.text
    async with box.deps.sessionmaker() as session:
        [summary] = [e for e in await list_audit(session) if e.action == "import"]
    assert summary.new["created"] == "2" and summary.actor_id == box.role.user_id


async def test_changed_title_shows_old_to_new_and_is_stored_only_after_confirmation(box: Sandbox) -> None:
    old = await _title(box, "018")
    row = ["长宁区", "人大", 17, 5, "018", "关于建设上海硅巷的建议"]
    [preview] = await _send(box, "改标题.xlsx", _xlsx(HEADER[:6], [row]))
    assert "修改 1 条" in preview.text
    assert f"标题：{old} → 关于建设上海硅巷的建议" in preview.text
    assert await _title(box, "018") == old
    await box.press("✅ 确认导入")
    assert await _title(box, "018") == "关于建设上海硅巷的建议"
    async with box.deps.sessionmaker() as session:
        proposal_id = await session.scalar(select(Proposal.id).where(Proposal.number == "018"))
        [entry] = await list_audit(session, proposal_id=proposal_id)
    assert (entry.old["title"], entry.new["title"]) == (old, "关于建设上海硅巷的建议")


async def test_export_sends_xlsx_that_reimports_unchanged(box: Sandbox) -> None:
    [document] = await box.say("/export")
    assert document.kind == "document" and document.filename and document.filename.endswith(".xlsx")
    assert document.data is not None
    sheet = openpyxl.load_workbook(io.BytesIO(document.data)).active
    assert sheet is not None
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    for column in ("状态", "答复期限", "逾期天数", "办理结果类别", "答复日期"):
        assert column in header
    states = {row[header.index("状态")] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert "办理中" in states  # state labels in the admin's language
    count = await _count(box)
    [preview] = await _send(box, document.filename, document.data)
    assert f"新建 0 条 · 修改 0 条 · 不变 {count} 条 · 有误 0 行" in preview.text
    assert "已忽略只读列" in preview.text
    assert "✅ 确认导入" not in [b.label for row in preview.buttons for b in row]


async def test_export_of_one_sitting_in_english(db_url: str, engine: AsyncEngine) -> None:
    async with Sandbox(load_settings(database_url=db_url), at=AT, language_code="en") as box:
        await box.load_demo()
        await box.use("admin")
        [document] = await box.say("/export 17-4")
        assert document.data is not None
        sheet = openpyxl.load_workbook(io.BytesIO(document.data)).active
        assert sheet is not None
        rows = list(sheet.iter_rows(values_only=True))
        assert "state" in rows[0] and len(rows) == 2  # the header and 17-4's one item
        [missing] = await box.say("/export 9-9")
        assert "sitting 9" in missing.text


async def test_bad_rows_are_listed_with_line_numbers_and_nothing_can_be_stored(box: Sandbox) -> None:
    rows = [*NEW_ROWS, ["长宁区", "人大", 17, 5, "103", "", "王建国", "区民政局", "2024-13-01"]]
    before = await _count(box)
    [preview] = await _send(box, "有误.xlsx", _xlsx(HEADER, rows))
    assert "有误 1 行" in preview.text and "第 4 行" in preview.text
    assert [b.label for row in preview.buttons for b in row] == ["✖️ 取消"]
    assert await _count(box) == before


async def test_an_older_previews_button_says_it_expired(box: Sandbox) -> None:
    [first] = await _send(box, "a.xlsx", _xlsx(HEADER, NEW_ROWS[:1]))
    await _send(box, "b.xlsx", _xlsx(HEADER, NEW_ROWS[1:]))
    ok = next(b for row in first.buttons for b in row if b.label == "✅ 确认导入")
    user = box.emulator.find_user(box.role.label)
    assert user is not None
    [expired] = await box.feed(box.emulator.callback_update(user, first.message_id, ok.callback_data or ""))
    assert "已失效" in expired.text
    assert await _title(box, "101") is None
    [done] = await box.press("✅ 确认导入")  # the newer preview still works
    assert "新建 1 条" in done.text and await _title(box, "102") is not None


async def test_clear_empty_cells_is_a_button_with_its_own_preview(box: Sandbox) -> None:
    header = [*HEADER[:6], "会办单位"]
    row = ["长宁区", "人大", 17, 5, "018", await _title(box, "018"), None]
    [preview] = await _send(box, "空白.xlsx", _xlsx(header, [row]))
    assert "修改 0 条" in preview.text  # an empty cell keeps the stored co-units
    [cleared] = await box.press("🧹 清空空白单元格后预览")
    assert "修改 1 条" in cleared.text and "区规资局" in cleared.text and "→ （空）" in cleared.text
    await box.press("✅ 确认导入")
    [card] = await box.say("/status 018")
    assert "区规资局" not in card.text


async def test_a_long_file_shows_progress_by_editing_one_message(box: Sandbox) -> None:
    rows = [
        ["长宁区", "人大", 17, 6, f"{n:04d}", f"关于第{n}件事的建议", "王建国", "区民政局", "2024-03-01"]
        for n in range(1, 2501)
    ]
    edits_before = len(box.emulator.edits)
    sent = await _send(box, "大表.xlsx", _xlsx(HEADER, rows))
    progress = [m for m in sent if "正在检查" in m.text]
    assert len({m.message_id for m in progress}) == 1 and progress[-1].text.endswith("2500/2500 行")
    assert len(box.emulator.edits) - edits_before >= 2
    assert "新建 2500 条" in sent[-1].text
    stored = await box.press("✅ 确认导入")
    assert "已导入：新建 2500 条" in stored[-1].text
    assert any("正在保存" in m.text for m in stored)


@pytest.mark.parametrize("role", ["public", "unit:长宁区科学技术委员会", "deputy:康红恩"])
async def test_non_admins_get_no_import_and_no_export(box: Sandbox, role: str) -> None:
    await box.use(role)
    before = await _count(box)
    async with box.deps.sessionmaker() as session:
        queued = await session.scalar(select(func.count()).select_from(OutboxMessage))
    [refused] = await _send(box, "新建议.xlsx", _xlsx(HEADER, NEW_ROWS))
    assert "只有管理员" in refused.text and refused.buttons == ()
    [refused] = await box.say("/export")
    assert refused.kind == "message" and "只有管理员" in refused.text
    assert await _count(box) == before
    async with box.deps.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == queued


async def test_a_letter_upload_still_goes_to_the_reply_flow(box: Sandbox) -> None:
    await box.say("/reply 018")
    [preview] = await box.upload(SEED_LETTER)
    assert "答复" in preview.text and "导入预览" not in preview.text


async def test_an_unreadable_sheet_gets_a_clear_message(box: Sandbox) -> None:
    [refused] = await _send(box, "坏.xlsx", b"not a zip file at all")
    assert "无法导入" in refused.text and refused.buttons == ()
