"""`proposal-bot sandbox`: a console chat with the real bot, offline, on a virtual clock."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import sys
import tempfile
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from bot.sandbox.emulator import SentMessage
from bot.sandbox.harness import Role, RoleError, Sandbox
from config.settings import Settings, database_url

BANNER = """\
proposal-bot sandbox — the real bot against an offline Telegram emulator (no token, no network).
Database: {db}
Type a message (/help, /status 018, 018 …) or a meta-command:
  :as ROLE            public | admin | deputy:<name> | unit:<name>   (now: {role})
  :advance 7d | 12h   move the virtual clock            :time   print the virtual time
  :upload PATH [cap]  send a document                   :press LABEL   press a button
  :chat group NAME    talk in a group (privacy mode on) :chat private  back to the private chat
  :reply TEXT         answer the bot's last message as a Telegram reply
  :quit               leave
To use real Telegram: set PROPOSAL_BOT_TOKEN (from @BotFather) and run `make run` again."""

DURATION = re.compile(r"^(?P<n>\d+)\s*(?P<unit>[dhm])$")


class MetaError(ValueError):
    """A console meta-command could not be understood."""


def parse_duration(text: str) -> timedelta:
    match = DURATION.match(text.strip().lower())
    if match is None:
        raise MetaError(f"expected a duration such as 7d, 12h or 30m, not {text!r}")
    n = int(match["n"])
    return {"d": timedelta(days=n), "h": timedelta(hours=n), "m": timedelta(minutes=n)}[match["unit"]]


def parse_at(text: str, settings: Settings) -> datetime:
    """An ISO date or datetime; naive values are read in the bot's time zone."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise MetaError(f"--at expects an ISO date or datetime such as 2024-03-25T09:00, not {text!r}") from exc
    if value.tzinfo is None:
        if len(text) <= 10:
            value = value.replace(hour=9)
        value = value.replace(tzinfo=settings.tz)
    return value.astimezone(UTC)


class StdinLines:
    """Lines of standard input read straight from its file descriptor, in UTF-8.

    Not ``input()``: a thread blocked in it holds ``sys.stdin``'s lock, and Python then aborts at exit ("could
    not acquire lock … at interpreter shutdown") instead of ending quietly on Ctrl-C. ``os.read`` takes no lock.
    A terminal in canonical mode still edits the line (backspace) before it arrives.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buffer = b""

    def readline(self) -> str:
        """The next line without its newline; raises EOFError at the end of the input."""
        while b"\n" not in self._buffer:
            chunk = os.read(self.fd, 4096)
            if not chunk:
                if not self._buffer:
                    raise EOFError
                chunk = b"\n"
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode("utf-8", "replace").removesuffix("\r")


async def read_line(prompt: str, lines: StdinLines, out: TextIO) -> str:
    """Print ``prompt``, then wait for a line off the event loop, in a daemon thread.

    Not ``asyncio.to_thread``: on Ctrl-C ``asyncio.run`` waits for its executor's threads, and one blocked on
    the terminal would hold the console open until Enter. A daemon thread is simply left behind.
    """
    print(prompt, end="", file=out, flush=True)
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str] = loop.create_future()

    def settle(value: str | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value or "")

    def read() -> None:
        value: str | None = None
        error: BaseException | None = None
        try:
            value = lines.readline()
        except BaseException as exc:  # EOFError above all; handed to the loop, never raised in this thread
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop has closed meanwhile: nobody waits any more
            loop.call_soon_threadsafe(settle, value, error)

    threading.Thread(target=read, name="console-input", daemon=True).start()
    return await future


class Console:
    """Reads lines, sends them as the current role, prints what the bot sends."""

    def __init__(self, sandbox: Sandbox, out: TextIO) -> None:
        self.sandbox = sandbox
        self.out = out

    def show(self, messages: Sequence[SentMessage]) -> None:
        for message in messages:
            print(self.sandbox.format(message), file=self.out)
        self.out.flush()

    async def handle(self, line: str) -> bool:
        """Handle one line; returns False when the user wants to leave."""
        line = line.strip()
        if not line:
            return True
        if not line.startswith(":"):
            self.show(await self.sandbox.say(line))
            return True
        command, _, rest = line.partition(" ")
        rest = rest.strip()
        try:
            if command in {":quit", ":q", ":exit"}:
                return False
            if command == ":as":
                await self.sandbox.use(Role.parse(rest))
                print(f"(now acting as {self.sandbox.role.label})", file=self.out)
            elif command == ":time":
                now = self.sandbox.clock.now().astimezone(self.sandbox.settings.tz)
                print(now.strftime("%Y-%m-%d %H:%M %Z"), file=self.out)
            elif command == ":advance":
                self.show(await self.sandbox.advance(parse_duration(rest)))
                now = self.sandbox.clock.now().astimezone(self.sandbox.settings.tz)
                print(f"(virtual time is now {now:%Y-%m-%d %H:%M})", file=self.out)
            elif command == ":upload":
                parts = shlex.split(rest)
                if not parts:
                    raise MetaError(":upload needs a file path")
                path = Path(parts[0]).expanduser()
                if not path.is_file():
                    raise MetaError(f"no such file: {path}")
                self.show(await self.sandbox.upload(path, " ".join(parts[1:]) or None))
            elif command == ":press":
                self.show(await self.sandbox.press(rest))
            elif command == ":chat":
                self.switch_chat(rest)
            elif command == ":reply":
                if not rest:
                    raise MetaError(":reply needs a text")
                self.show(await self.sandbox.reply(rest))
            else:
                raise MetaError(
                    f"unknown meta-command {command}; try :as, :advance, :time, :upload, :press, :chat, :reply, :quit"
                )
        except (MetaError, RoleError, LookupError) as exc:
            print(f"(!) {exc}", file=self.out)
        return True

    def switch_chat(self, rest: str) -> None:
        kind, _, name = rest.partition(" ")
        if kind == "private" and not name.strip():
            self.sandbox.leave_group()
            print("(now in the private chat with the bot)", file=self.out)
        elif kind == "group" and name.strip():
            self.sandbox.join_group(name.strip())
            print(f"(now in the group {name.strip()}; the bot sees commands, replies and mentions)", file=self.out)
        else:
            raise MetaError(":chat expects `group NAME` or `private`")


async def run_sandbox(
    settings: Settings,
    *,
    demo: bool,
    db: str | None,
    role: str,
    at: str | None,
    say: Sequence[str],
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    banner: str | None = None,
) -> int:
    """Run the console chat (interactive) or a `--say` transcript, then exit."""
    temp: tempfile.TemporaryDirectory[str] | None = None
    if db is None and demo:
        temp = tempfile.TemporaryDirectory(prefix="proposal-bot-sandbox-")
        db = f"sqlite+aiosqlite:///{Path(temp.name) / 'sandbox.db'}"
    try:
        if db is not None:
            settings = settings.model_copy(update={"database_url": database_url(db)})
    except ValueError as exc:
        print(f"proposal-bot sandbox: invalid --db: {exc}", file=err)
        return 2
    try:
        start = parse_at(at, settings) if at else None
        first_role = Role.parse(role)
    except (MetaError, RoleError) as exc:
        print(f"proposal-bot sandbox: {exc}", file=err)
        return 2
    try:
        async with Sandbox(settings, at=start) as sandbox:
            if demo:
                loaded = await sandbox.load_demo()
                if loaded == 0:
                    print("(demo data already present; nothing loaded)", file=err)
            await sandbox.use(first_role)
            console = Console(sandbox, out)
            if say:
                for text in say:
                    await console.handle(text)
                return 0
            if banner:
                print(banner, file=out)
            print(BANNER.format(db=settings.database_url, role=first_role.label), file=out)
            lines = StdinLines(sys.stdin.fileno())
            while True:
                try:
                    line = await read_line(f"{sandbox.role.label}> ", lines, out)
                except EOFError:
                    return 0
                if not await console.handle(line):
                    return 0
    finally:
        if temp is not None:
            temp.cleanup()
