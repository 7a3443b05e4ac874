"""Outages outside the bot, through the real command line: each is one clear line, never a traceback or a secret.

Every test runs ``python -m bot`` as a subprocess, as a user would, in a temporary directory (so no ``.env``
applies), and reads what it prints. Telegram is a closed port (127.0.0.1:9) or a tiny local HTTP server that
answers 401; the database is a closed port (127.0.0.1:1) or a URL that is not one.
"""

from __future__ import annotations

import json
import logging
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from config.logs import REDACTED, SecretFilter, configure_logging, secrets_of
from config.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:abc"
DOWN_DB = "postgresql+asyncpg://nobody@127.0.0.1:1/x"
CLOSED_API = "http://127.0.0.1:9"


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROPOSAL_BOT_")}
    env["PYTHONPATH"] = str(ROOT)
    env["PROPOSAL_BOT_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    env.update({f"PROPOSAL_BOT_{k.upper()}": v for k, v in settings.items()})
    return env


def _cli(tmp_path: Path, *args: str, env: Mapping[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


class _Reader:
    """The stderr of a running process, line by line, waiting at most so long for the next one."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stderr is not None
        self.stream = process.stderr
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.stream, selectors.EVENT_READ)
        self.lines: list[str] = []
        self._buffer = b""

    def until(self, predicate: object, *, timeout: float) -> list[str]:
        """Read lines until ``predicate(lines)`` holds; fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not predicate(self.lines):  # type: ignore[operator]
            left = deadline - time.monotonic()
            assert left > 0, f"timed out; stderr so far: {self.lines}"
            if not self.selector.select(timeout=left):
                continue
            chunk = os.read(self.stream.fileno(), 65536)
            assert chunk, f"the process ended; stderr: {self.lines}"
            self._buffer += chunk
            *done, self._buffer = self._buffer.split(b"\n")
            self.lines += [line.decode("utf-8", "replace") for line in done]
        return self.lines

    def rest(self) -> str:
        tail = self.stream.read() or b""
        return "\n".join(self.lines) + "\n" + (self._buffer + tail).decode("utf-8", "replace")


@pytest.fixture
def unauthorized_api() -> Iterator[str]:
    """A Bot API that answers every call as Telegram answers an unknown token: 401 Unauthorized."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.dumps({"ok": False, "error_code": 401, "description": "Unauthorized"}).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_run_with_telegram_unreachable_warns_retries_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=_env(tmp_path, token=TOKEN, api_base_url=CLOSED_API),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    reader = _Reader(process)
    try:
        lines = reader.until(lambda ls: sum("cannot be reached" in line for line in ls) >= 2, timeout=60)
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stderr = reader.rest()
    assert code == 130
    warnings = [line for line in lines if "cannot be reached" in line]
    assert "WARNING" in warnings[0] and CLOSED_API in warnings[0]
    assert "next in 1 s" in warnings[0] and "next in 2 s" in warnings[1]  # the backoff doubles
    assert "Traceback" not in stderr
    assert TOKEN not in stderr
    assert TOKEN not in (process.stdout.read().decode() if process.stdout else "")


def test_run_with_a_rejected_token_names_the_setting_and_exits_2(tmp_path: Path, unauthorized_api: str) -> None:
    done = _cli(tmp_path, "run", env=_env(tmp_path, token=TOKEN, api_base_url=unauthorized_api))
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "PROPOSAL_BOT_TOKEN" in lines[0] and "rejected" in lines[0]
    assert TOKEN not in done.stderr + done.stdout


@pytest.mark.parametrize(
    ("args", "needs_file"),
    [
        (("migrate",), False),
        (("reindex",), False),
        (("export", "out.xlsx"), False),
        (("import", "items.csv"), True),
        (("run",), False),
    ],
    ids=lambda v: v[0] if isinstance(v, tuple) else "",
)
def test_every_command_with_the_database_down_prints_one_line_naming_the_setting(
    tmp_path: Path, args: tuple[str, ...], needs_file: bool
) -> None:
    if needs_file:
        sheet = "地区,机构,届,次,编号,标题\n长宁区,人大,17,5,018,一个标题\n"
        (tmp_path / "items.csv").write_text(sheet, encoding="utf-8")
    env = _env(tmp_path, database_url=DOWN_DB, token="123456:" + "A" * 35, api_base_url=CLOSED_API)
    done = _cli(tmp_path, *args, env=env)
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "PROPOSAL_BOT_DATABASE_URL" in lines[0] and "127.0.0.1:1" in lines[0], lines[0]
    assert "Traceback" not in done.stderr


def test_export_acceptance_line(tmp_path: Path) -> None:
    """The acceptance command: `PROPOSAL_BOT_DATABASE_URL=… proposal-bot export /tmp/x.xlsx`."""
    done = _cli(tmp_path, "export", str(tmp_path / "x.xlsx"), env=_env(tmp_path, database_url=DOWN_DB))
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(
        "proposal-bot export: cannot open the database postgresql+asyncpg://nobody@127.0.0.1:1/x"
    )
    assert done.stderr.rstrip().endswith("(check PROPOSAL_BOT_DATABASE_URL)")
    assert not (tmp_path / "x.xlsx").exists()


def test_sandbox_with_its_database_down_names_the_option(tmp_path: Path) -> None:
    done = _cli(tmp_path, "sandbox", "--db", DOWN_DB, "--say", "/help", env=_env(tmp_path))
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and done.stderr.rstrip().endswith("(check --db)"), done.stderr
    assert done.stdout == ""


def test_a_password_in_the_database_url_is_never_printed(tmp_path: Path) -> None:
    done = _cli(
        tmp_path, "migrate", env=_env(tmp_path, database_url="postgresql+asyncpg://bob:s3cr3t-pw@127.0.0.1:1/x")
    )
    assert done.returncode == 1
    assert "s3cr3t-pw" not in done.stderr and "bob:***@127.0.0.1:1/x" in done.stderr


@pytest.mark.parametrize(
    ("args", "settings", "named"),
    [
        (("export", "x.xlsx"), {"database_url": "mysql://u@h/x"}, "PROPOSAL_BOT_DATABASE_URL"),
        (("export", "x.xlsx"), {"database_url": "postgresql+asyncpg://u@h:notaport/x"}, "PROPOSAL_BOT_DATABASE_URL"),
        (("sandbox", "--db", "nonsense", "--say", "/help"), {}, "--db"),
        (("sandbox", "--db", "postgresql+asyncpg://u@h:notaport/x", "--say", "/help"), {}, "--db"),
    ],
    ids=["scheme", "port", "sandbox-scheme", "sandbox-port"],
)
def test_a_bad_database_url_is_one_line_naming_where_it_came_from(
    tmp_path: Path, args: tuple[str, ...], settings: dict[str, str], named: str
) -> None:
    done = _cli(tmp_path, *args, env=_env(tmp_path, **settings))
    assert done.returncode != 0
    assert done.stderr.count("\n") == 1, done.stderr
    assert named in done.stderr and "Traceback" not in done.stderr


def test_ctrl_c_in_the_console_ends_it_quietly(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "sandbox", "--demo"],
        cwd=tmp_path,
        env=_env(tmp_path),
        stdin=subprocess.PIPE,  # kept open: the console waits for a line that never comes
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        seen = b""
        deadline = time.monotonic() + 60
        while b"public> " not in seen:
            assert time.monotonic() < deadline, seen
            seen += os.read(process.stdout.fileno(), 65536)
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=20)
        stderr = (process.stderr.read() if process.stderr else b"").decode()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert code == 130
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert stderr.strip() == ""


def test_a_closed_pipe_ends_the_console_quietly(tmp_path: Path) -> None:
    says = " ".join(["--say 018"] * 30)
    done = subprocess.run(
        ["bash", "-c", f"set -o pipefail; '{sys.executable}' -m bot sandbox --demo {says} | head -1"],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.count("\n") == 1
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr and "Exception ignored" not in done.stderr
    assert done.stderr.strip() == "", done.stderr


def test_the_secret_filter_redacts_the_token_in_messages_arguments_and_tracebacks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PROPOSAL_BOT_TOKEN", "123456:" + "S" * 35)
    monkeypatch.setenv("PROPOSAL_BOT_DATABASE_URL", "postgresql+asyncpg://bob:pw-xyz@db/x")
    settings = load_settings()
    token = settings.token_value or ""
    assert set(secrets_of(settings)) == {token, "pw-xyz"}
    secret_filter = SecretFilter(secrets_of(settings))
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Collect()
    handler.addFilter(secret_filter)
    log = logging.getLogger("test_outages.redaction")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("POST https://api.telegram.org/bot%s/getMe", token)
        log.warning("url-encoded: /bot%s/getMe", token.replace(":", "%3A"))
        try:
            raise RuntimeError(f"The token `{token}` was rejected by the server.")
        except RuntimeError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
    text = "\n".join(lines)
    assert token not in text and "%3A" + token.split(":")[1] not in text
    assert text.count(REDACTED) == 3 and "RuntimeError" in text


def test_configure_logging_puts_the_filter_on_every_root_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROPOSAL_BOT_TOKEN", "123456:" + "T" * 35)
    root = logging.getLogger()
    handler = logging.StreamHandler()
    root.addHandler(handler)
    level = root.level
    try:
        configure_logging(load_settings(), console=False)
        configure_logging(load_settings(), console=False)  # twice: still one filter
        assert sum(isinstance(f, SecretFilter) for f in handler.filters) == 1
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
