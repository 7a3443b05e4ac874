"""End-to-end: the one error handler tells Telegram's errors apart (faults injected by the emulator, no mocks).

A 400 is our bug: logged with the method and its parameters' sizes, never their content, and the user gets a
short apology. A 403 gets nothing more sent to that chat; a 429, a timeout or a network error get a log line and
no apology that would meet the same wall.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.render.i18n import t
from bot.sandbox.emulator import SandboxUser
from bot.sandbox.faults import BadRequest, Fault, Forbidden, RetryAfter, ServerError, Timeout
from bot.sandbox.harness import Sandbox
from config.settings import load_settings

AT = datetime(2024, 6, 3, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a Monday
APOLOGY_ZH = t("zh", "error.generic")


@pytest.fixture
async def sandbox(sqlite_url: str) -> AsyncIterator[Sandbox]:
    async with Sandbox(load_settings(database_url=sqlite_url), at=AT) as box:
        assert await box.load_demo() > 10
        yield box


def _sends(box: Sandbox) -> int:
    return int(box.emulator.stats["requests.sendMessage"])


async def test_bad_request_is_logged_with_method_and_sizes_and_the_user_gets_an_apology(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    user = await sandbox.use("public")
    [card] = await sandbox.say("018")
    sandbox.emulator.inject(BadRequest("Bad Request: can't parse entities"), method="sendMessage", chat_id=user.chat_id)
    with caplog.at_level(logging.INFO):
        answers = await sandbox.say("018")
    assert [m.text for m in answers] == [APOLOGY_ZH]
    [record] = [r for r in caplog.records if r.name == "handlers.errors" and r.levelno == logging.ERROR]
    logged = record.getMessage()
    assert "sendMessage(" in logged and "Can't parse entities" in logged
    assert "text=" in logged and "reply_markup=" in logged
    # sizes, never the content: not one line of the card reaches the log
    for line in filter(None, (s.strip() for s in card.text.splitlines())):
        if len(line) > 3:
            assert line not in logged


async def test_bad_request_in_english_apologises_in_english(sandbox: Sandbox) -> None:
    sandbox.language_code = "en"
    user = await sandbox.use("public")
    sandbox.emulator.inject(BadRequest(), method="sendMessage", chat_id=user.chat_id)
    answers = await sandbox.say("018")
    assert [m.text for m in answers] == [t("en", "error.generic")]


async def test_blocked_chat_gets_no_error_text(sandbox: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    """A 403 on a reply: nothing else is sent to that chat, not even an apology."""
    user = await sandbox.use("public")
    sandbox.emulator.inject(Forbidden(), method="sendMessage", chat_id=user.chat_id, times=5)
    before = _sends(sandbox)
    with caplog.at_level(logging.INFO):
        assert await sandbox.say("018") == []
    assert _sends(sandbox) - before == 1  # the reply only; no apology tried
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        (RetryAfter(5), "slow down"),
        (Timeout(), "did not answer in time"),
        (ServerError(502), "network error"),
    ],
)
async def test_transient_reply_failure_is_one_warning_and_no_apology(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture, fault: Fault, words: str
) -> None:
    user: SandboxUser = await sandbox.use("public")
    sandbox.emulator.inject(fault, method="sendMessage", chat_id=user.chat_id)
    before = _sends(sandbox)
    with caplog.at_level(logging.INFO):
        assert await sandbox.say("018") == []
    assert _sends(sandbox) - before == 1
    records = [r for r in caplog.records if r.name == "handlers.errors"]
    assert [r.levelno for r in records] == [logging.WARNING]
    assert words in records[0].getMessage()
    assert records[0].exc_info is None  # one line, no traceback


async def test_pressing_the_chosen_setting_again_is_no_error(sandbox: Sandbox) -> None:
    """Telegram refuses an edit that changes nothing ("message is not modified"); that press is still fine."""
    await sandbox.use("public")
    [menu] = await sandbox.say("/settings")
    chosen = next(b.label for row in menu.buttons for b in row if b.callback_data == "set:digest:instant")
    answers = await sandbox.press(chosen)
    assert APOLOGY_ZH not in [m.text for m in answers]
    assert sandbox.emulator.callback_answers  # the press was answered ("saved")
