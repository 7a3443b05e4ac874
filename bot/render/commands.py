"""The command table: every chat command, who may use it, and the /help text and the command menu made from it.

`set_my_commands` (bot/app.py) and /help (handlers/start.py) both read `COMMANDS`, so a new command is one line
here plus its `cmd.<name>` description in each catalogue (bot/render/i18n/). The order is the menu's order.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from bot.render.i18n import t

__all__ = ["COMMANDS", "Command", "commands_for", "render_help"]

EVERYONE = frozenset({"public", "deputy", "unit", "admin"})
BOUND = frozenset({"deputy", "unit"})
DEPUTY = frozenset({"deputy"})
STAFF = frozenset({"unit", "admin"})
ADMIN = frozenset({"admin"})


@dataclass(frozen=True, slots=True)
class Command:
    """A chat command (`/name`) and the roles that may use it; its description is the catalogue's `cmd.<name>`."""

    name: str
    roles: frozenset[str] = EVERYONE


COMMANDS: tuple[Command, ...] = (
    Command("start"),
    Command("help"),
    Command("status"),
    Command("search"),
    Command("follow"),
    Command("unfollow"),
    Command("following"),
    Command("mine", BOUND),
    Command("due", STAFF),
    Command("overdue", STAFF),
    Command("settings"),
    Command("rate", DEPUTY),
    Command("unbind", BOUND),
    Command("bind", ADMIN),
    Command("reply", ADMIN),
    Command("grant", ADMIN),
    Command("revoke", ADMIN),
    Command("import", ADMIN),
    Command("export", ADMIN),
    Command("stats", STAFF),
    Command("extend", ADMIN),
    Command("assign", ADMIN),
    Command("withdraw", ADMIN),
    Command("audit", ADMIN),
)


def commands_for(role: str) -> tuple[Command, ...]:
    """The commands a user of `role` (public, deputy, unit, admin) may use, in menu order."""
    return tuple(c for c in COMMANDS if role in c.roles)


def render_help(lang: str, role: str) -> str:
    """/help: every command the role may use with its description, then how look-ups read numbers (HTML)."""
    lines = [t(lang, "help.title")]
    lines += [f"/{c.name} — {html.escape(t(lang, f'cmd.{c.name}'))}" for c in commands_for(role)]
    lines += ["", t(lang, "help.numbers")]
    return "\n".join(lines)
