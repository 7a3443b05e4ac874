"""End-to-end: /search and plain sentences through the sandbox, on the demo data: ranking, filters, usage help,
suggestions, pages of 5 with ‹ › buttons, the card button, and what a public viewer never sees."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.search import highlight, snippet
from bot.render.i18n import t
from bot.render.search import render_snippet
from bot.sandbox.emulator import SentMessage
from bot.sandbox.harness import Sandbox
from config.settings import load_settings
from storage.cards import refresh_card
from storage.models import Proposal, Reply

AT = datetime(2024, 6, 3, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, after 018's reply
#: a word only in 008's non-public reply letter (its result, as the letter states it: 列入计划拟解决)
HIDDEN_WORDS = "列入"


@pytest.fixture
async def sandbox(sqlite_url: str) -> AsyncIterator[Sandbox]:
    async with Sandbox(load_settings(database_url=sqlite_url), at=AT) as box:
        assert await box.load_demo() > 10
        await box.use("public")
        yield box
    assert box.emulator.violations == []
    assert box.emulator.unanswered_callbacks == []


def _numbers(message: SentMessage) -> list[str]:
    """The item numbers of a result page, in order (from its card buttons)."""
    return [b.label for b in message.buttons[0] if (b.callback_data or "").startswith("card:")]


@pytest.mark.parametrize("words", ["硅巷", "科创企业"])
async def test_search_lists_018_at_the_top_in_the_demo(engine: AsyncEngine, db_url: str, words: str) -> None:
    async with Sandbox(load_settings(database_url=db_url), at=AT) as box:
        await box.load_demo()
        await box.use("public")
        [answer] = await box.say(f"/search {words}")
    assert "018" in _numbers(answer)[:2]
    assert "上海硅巷" in answer.text and "解决或采纳" in answer.text  # title and result class
    assert "长宁区人大第17届第5次会议" in answer.text  # the sitting
    assert "<b>" in answer.html


async def test_search_without_words_gets_usage_with_examples(sandbox: Sandbox) -> None:
    [answer] = await sandbox.say("/search")
    assert answer.html == t("zh", "search.usage")
    assert "/search 硅巷" in answer.text


async def test_search_operators_and_quotes_are_plain_text(sandbox: Sandbox) -> None:
    [answer] = await sandbox.say('/search "硅巷" OR NEAR(科创 * -')
    assert t("zh", "error.generic") not in answer.text
    assert "018" in _numbers(answer)  # or and near are found nowhere, left out; 硅巷 科创 find 018


async def test_search_with_nothing_found_suggests_known_words(sandbox: Sandbox) -> None:
    [answer] = await sandbox.say("/search 硅谷")
    assert "没有找到" in answer.text and "硅巷" in answer.text
    [fewer] = await sandbox.say("/search 硅巷 垃圾分类")
    assert "少用几个词" in fewer.text and "硅巷（2 件）" in fewer.text


async def test_search_filters_by_sitting_unit_state_and_year(sandbox: Sandbox) -> None:
    [sitting] = await sandbox.say("/search 社区 17-4")
    assert _numbers(sitting) == ["021"] and "17-4" in sitting.text
    [unit] = await sandbox.say("/search 建议 区教育局")
    assert "010" in _numbers(unit) and "018" not in _numbers(unit)
    [replied] = await sandbox.say("/search 硅巷 已答复")
    assert _numbers(replied) == ["018"]
    [year] = await sandbox.say("/search 社区 2023")
    assert _numbers(year) == ["021"]


async def test_a_sentence_in_the_private_chat_is_a_search_not_in_a_group(sandbox: Sandbox) -> None:
    [answer] = await sandbox.say("硅巷的建议办得怎么样了")
    assert "018" in _numbers(answer)
    assert t("zh", "error.text_fallback") not in answer.text
    sandbox.join_group("代表小组", privacy=False)
    assert await sandbox.say("硅巷的建议办得怎么样了") == []


async def test_pages_of_five_turn_with_buttons_and_open_cards(sandbox: Sandbox) -> None:
    [first] = await sandbox.say("/search 建议")
    assert len(_numbers(first)) == 5 and "第 1/" in first.text
    assert all(len((b.callback_data or "").encode()) <= 64 for row in first.buttons for b in row)
    [second] = await sandbox.press("›")
    assert second.message_id == first.message_id and "第 2/" in second.text  # edited in place
    assert set(_numbers(second)).isdisjoint(_numbers(first))
    [back] = await sandbox.press("‹")
    assert _numbers(back) == _numbers(first)
    [card] = await sandbox.press(_numbers(back)[0])
    assert "状态" in card.text


async def test_a_page_button_of_a_forgotten_search_has_expired(sandbox: Sandbox) -> None:
    user = sandbox._user()
    [first] = await sandbox.say("/search 建议")
    forged = sandbox.emulator.forged_callback_update(user, first.message_id, "sr:999999:1")
    [answer] = await sandbox.feed(forged)
    assert answer.text == t("zh", "search.expired")


async def test_a_public_search_never_finds_or_shows_non_public_reply_text(engine: AsyncEngine, db_url: str) -> None:
    """008's reply is non-public: its words return nothing to the public and show in no snippet; its own deputy
    and the admin find it by them."""
    async with Sandbox(load_settings(database_url=db_url), at=AT) as box:
        await box.load_demo()
        await box.use("public")
        [nothing] = await box.say(f"/search {HIDDEN_WORDS}")
        assert not nothing.buttons and "没有找到" in nothing.text
        [by_title] = await box.say("/search 用地")  # 008's title holds 用地: found, without its reply
        assert "008" in _numbers(by_title)
        assert HIDDEN_WORDS not in by_title.text and "列入计划拟解决" not in by_title.text
        [sentence] = await box.say(f"{HIDDEN_WORDS}的建议怎么样了")  # 列入 is left out, as no item holds it
        assert "列入计划拟解决" not in sentence.text and t("zh", "search.dropped", words="列入") in sentence.text
        await box.use("deputy:钱丽")
        [own] = await box.say(f"/search {HIDDEN_WORDS}")
        assert _numbers(own) == ["008"] and HIDDEN_WORDS in own.text
        await box.use("admin")
        [admin] = await box.say(f"/search {HIDDEN_WORDS}")
        assert _numbers(admin) == ["008"]
        await box.use("deputy:康红恩")  # another deputy: 008 is not theirs
        [other] = await box.say(f"/search {HIDDEN_WORDS}")
        assert "008" not in other.text


async def test_a_non_public_item_is_found_only_by_its_own(sandbox: Sandbox) -> None:
    async with sandbox.deps.sessionmaker.begin() as session:
        item = await session.scalar(select(Proposal.id).where(Proposal.number == "010"))
        assert item is not None
        await session.execute(update(Proposal).where(Proposal.id == item).values(public=False))
        await refresh_card(session, proposal_id=item)
        assert await session.scalar(select(Reply.id).where(Reply.proposal_id == item)) is None
    [public] = await sandbox.say("/search 心理健康")
    assert "心理健康" not in public.text.replace("“心理健康”", "")
    await sandbox.use("unit:区教育局")
    [own] = await sandbox.say("/search 心理健康")
    assert _numbers(own) == ["010"]


def test_snippets_bold_hit_words_and_escape_everything_else() -> None:
    pieces = snippet(["<script>硅巷 & 科创</script>" + "啊" * 100], ["硅巷", "科创"])
    html = render_snippet(pieces)
    assert html.startswith("&lt;script&gt;<b>硅巷</b> &amp; <b>科创</b>&lt;/script&gt;")
    assert html.endswith("…")
    assert render_snippet(highlight("Silicon ALLEY", ["alley"])) == "Silicon <b>ALLEY</b>"
    assert snippet([], ["硅巷"]) == ()
