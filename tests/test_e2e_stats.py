"""End-to-end: /stats (issue 13 deliverable 6) sends a PNG chart whose Chinese renders with the CJK font, then a
short table per lead unit; unit staff see their own unit only; anyone else gets a refusal and no chart."""

from __future__ import annotations

import struct
import warnings
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.stats import StatsReport, UnitTally
from bot.render.stats import render_stats_chart, render_stats_table
from bot.sandbox.emulator import SentMessage
from bot.sandbox.harness import Sandbox
from config.settings import load_settings
from storage.models import Assignment, Proposal, Reply, Unit
from storage.stats import load_stats

AT = datetime(2024, 6, 20, 1, 0, tzinfo=UTC)  # 018 replied, several items past their 3-month clock
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def box(db_url: str, engine: AsyncEngine) -> AsyncIterator[Sandbox]:
    async with Sandbox(load_settings(database_url=db_url), at=AT) as sandbox:
        await sandbox.load_demo()
        yield sandbox
    assert sandbox.emulator.violations == []


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk (it follows the 8-byte signature and the chunk header)."""
    assert data[:8] == PNG and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _line(table: SentMessage, unit: str) -> str:
    return next(line for line in table.text.splitlines() if line.startswith(f"{unit}："))


async def test_stats_admin_gets_a_png_chart_then_the_table(box: Sandbox) -> None:
    await box.use("admin")
    [photo, table] = await box.say("/stats")
    assert photo.kind == "photo" and photo.data is not None
    width, height = _png_size(photo.data)
    assert 800 <= width <= 2000 and 300 <= height <= 3000
    assert len(photo.data) > 10_000  # bars, labels and a legend, not an empty canvas
    assert photo.caption == "第17届第5次会议 办理统计（截至 2024-06-20）"
    assert table.kind == "message" and table.text.startswith("第17届第5次会议 办理统计")
    # the demo's items as the table counts them: 018 replied on time, A class; 009 (区绿化市容局) rated 不满意
    assert _line(table, "长宁区科学技术委员会") == (
        "长宁区科学技术委员会：1 件 · 按时答复 1 · 逾期答复 0 · 逾期未答复 0 · 未到期 0 · 按时率 100%"
    )
    assert "逾期未答复 2" in _line(table, "区建管委")
    assert "合计：10 件 · 按时答复 4 · 逾期答复 0 · 逾期未答复 5 · 未到期 1 · 按时率 44%" in table.text
    assert "办理结果 A 2 · B 2 · C 1 · D 0；满意 1 · 基本满意 0 · 不满意 1" in table.text
    assert "按状态：草稿 1 · 已交办 2 · 办理中 3" in table.text


async def test_stats_of_a_sitting_in_english(box: Sandbox) -> None:
    user = box.emulator.add_user(user_id=box.deps.settings.admins[0], first_name="Admin", language_code="en")
    [photo, table] = await box.feed(box.emulator.message_update(user, "/stats 17-5"))
    assert photo.kind == "photo" and photo.caption == "Term 17, sitting 5: handling statistics (as of 2024-06-20)"
    assert "Total: 10 items · on time 4 · late 0 · overdue now 5" in table.text
    [missing] = await box.feed(box.emulator.message_update(user, "/stats 9-9"))
    assert missing.text == "No items of term 9, sitting 9."
    [usage] = await box.feed(box.emulator.message_update(user, "/stats soon"))
    assert usage.text.startswith("Usage: /stats")


async def test_stats_unit_staff_see_their_own_unit_only(box: Sandbox) -> None:
    await box.use("unit:区建管委")
    [photo, table] = await box.say("/stats")
    assert photo.kind == "photo" and photo.data is not None and photo.data[:8] == PNG
    assert "区建管委：3 件" in table.text
    assert "区交通委" not in table.text and "合计" not in table.text


@pytest.mark.parametrize("role", ["public", "deputy:钱丽"])
async def test_stats_refused_for_the_public_and_deputies(box: Sandbox, role: str) -> None:
    await box.use(role)
    [refused] = await box.say("/stats")
    assert refused.kind == "message" and refused.text == "/stats 仅供管理员和承办单位使用。"


def _report(*units: str) -> StatsReport:
    tallies = tuple(
        UnitTally(unit, items=4, on_time=1, late=1, overdue=1, classes={"A": 1, "C": 1}, ratings={"满意": 1})
        for unit in units
    )
    return StatsReport(units=tallies, states={"assigned": 2, "replied": 2})


def test_stats_chart_draws_every_chinese_label_with_the_cjk_font() -> None:
    """No "Glyph missing" warning while drawing (pytest turns warnings into errors, and we record them too)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = render_stats_chart(
            _report("长宁区科学技术委员会", "区绿化市容局"), title="第17届第5次会议 办理统计", lang="zh"
        )
    assert [str(w.message) for w in caught if "Glyph" in str(w.message)] == []
    assert data is not None and data[:8] == PNG


def test_stats_chart_is_not_drawn_with_boxes_for_a_glyph_the_font_lacks() -> None:
    """A name the CJK font cannot draw (Tamil here) gives no chart, and the table says why, instead of tofu."""
    assert render_stats_chart(_report("区அ局"), title="统计", lang="zh") is None
    table = render_stats_table(_report("区அ局"), title="统计", lang="zh", chart=False)
    assert "无法生成图表" in table.html and "区அ局" in table.html


async def test_stats_counts_a_reply_dated_after_the_due_day_as_late(box: Sandbox) -> None:
    """The aggregate on both engines: 018's reply moved past its due day counts as late, for its unit only."""
    async with box.deps.sessionmaker.begin() as session:
        item = await session.scalar(select(Proposal.id).where(Proposal.number == "018"))
        due = await session.scalar(
            select(Assignment.due_on).where(Assignment.proposal_id == item, Assignment.role == "lead")
        )
        unit = await session.scalar(select(Unit.id).where(Unit.name == "长宁区科学技术委员会"))
        assert due is not None and unit is not None
        await session.execute(
            update(Reply).where(Reply.proposal_id == item).values(replied_on=due + timedelta(days=10))
        )
    async with box.deps.sessionmaker() as session:
        report = await load_stats(session, today=date(2024, 6, 20), unit_id=unit)
        later = await load_stats(session, today=date(2025, 1, 1), unit_id=unit)
    [tally] = report.units
    assert (tally.unit, tally.items, tally.on_time, tally.late, tally.on_time_rate) == (
        "长宁区科学技术委员会",
        1,
        0,
        1,
        0.0,
    )
    assert later.units == report.units  # lateness is fixed by the reply's date, not by today
