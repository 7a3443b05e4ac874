"""/help lists every command the user's role may use, from the same table as the registered command menu."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from telegram.ext import CommandHandler

from bot.render.commands import COMMANDS, commands_for
from bot.sandbox.harness import Sandbox
from config.settings import load_settings

AT = datetime(2024, 6, 3, 2, 0, tzinfo=UTC)


@pytest.fixture
async def sandbox(sqlite_url: str) -> AsyncIterator[Sandbox]:
    async with Sandbox(load_settings(database_url=sqlite_url), at=AT) as box:
        await box.load_demo()
        yield box
    assert box.emulator.violations == []


def _listed(text: str) -> set[str]:
    return {line.split(" ", 1)[0].removeprefix("/") for line in text.splitlines() if line.startswith("/")}


@pytest.mark.parametrize(
    ("role", "present", "absent"),
    [
        ("public", {"status", "follow", "following", "settings", "help"}, {"bind", "reply", "rate", "mine", "due"}),
        ("deputy:康红恩", {"status", "rate", "mine", "unbind"}, {"bind", "reply", "due"}),
        ("unit:长宁区科学技术委员会", {"mine", "due", "overdue", "unbind"}, {"bind", "reply", "rate"}),
        ("admin", {"bind", "reply", "due", "overdue", "status"}, {"rate"}),
    ],
)
async def test_help_lists_the_commands_of_the_role(
    sandbox: Sandbox, role: str, present: set[str], absent: set[str]
) -> None:
    await sandbox.use(role)
    [answer] = await sandbox.say("/help")
    listed = _listed(answer.text)
    assert present <= listed
    assert not absent & listed
    kind = role.split(":", 1)[0]
    assert listed == {c.name for c in commands_for(kind)}


async def test_help_in_english_uses_the_english_descriptions(sqlite_url: str) -> None:
    async with Sandbox(load_settings(database_url=sqlite_url), at=AT, language_code="en") as box:
        await box.use("public")
        [answer] = await box.say("/help")
    assert "/status — Where an item stands" in answer.text
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in answer.text.replace("第018号", ""))


async def test_command_menu_and_handlers_come_from_the_table(sandbox: Sandbox) -> None:
    """set_my_commands registers the table, and every command in it has a handler (and no handler is unlisted)."""
    menu = [name for name, _ in sandbox.emulator.commands[("default", "")]]
    assert menu == [c.name for c in COMMANDS]
    assert [name for name, _ in sandbox.emulator.commands[("default", "en")]] == menu
    handled = {
        command
        for handlers in sandbox.app.handlers.values()
        for handler in handlers
        if isinstance(handler, CommandHandler)
        for command in handler.commands
    }
    assert handled == {c.name for c in COMMANDS}


@pytest.mark.parametrize("language_code", ["zh-hans", "en"])
async def test_welcome_points_to_settings_for_the_language(sqlite_url: str, language_code: str) -> None:
    async with Sandbox(load_settings(database_url=sqlite_url), at=AT, language_code=language_code) as box:
        await box.use("public")
        [answer] = await box.say("/start")
    assert "/settings" in answer.text
