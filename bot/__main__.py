"""The `proposal-bot` command line: run, webhook, migrate, reindex, sandbox, deadline, parse-letter, import, export."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from bot.domain.clock import WorkCalendar, due_day
from config.logs import configure_logging
from config.settings import Settings, SettingsError, load_settings
from storage.errors import DatabaseUnavailable

logger = logging.getLogger("proposal_bot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="proposal-bot", description="Track deputies' suggestions and proposals.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="poll Telegram; with no token, start the sandbox instead")
    sub.add_parser("webhook", help="serve the webhook (the secret token is checked)")
    sub.add_parser("migrate", help="apply database migrations (alembic upgrade head)")
    sub.add_parser("reindex", help="rebuild the search index from the stored items, then check that they agree")
    sandbox = sub.add_parser("sandbox", help="chat with the bot offline, on a virtual clock")
    sandbox.add_argument("--demo", action="store_true", help="load demo data into a fresh database")
    sandbox.add_argument("--db", help="database URL (default: a temporary one with --demo, else the configured one)")
    sandbox.add_argument("--as", dest="role", default="public", help="public, admin, deputy:<name> or unit:<name>")
    sandbox.add_argument("--at", help="virtual start time, ISO (e.g. 2024-03-25 or 2024-03-25T09:00)")
    sandbox.add_argument("--say", action="append", default=[], help="send TEXT, print the replies, exit")
    deadline = sub.add_parser("deadline", help="the legal due day of a period starting on DATE")
    deadline.add_argument("date", help="the start day (交办日), ISO: 2024-03-15")
    deadline.add_argument("--months", type=int, default=None, help="length in months (default: the reply clock)")
    letter = sub.add_parser("parse-letter", help="parse a reply letter (.txt, .docx, .pdf)")
    letter.add_argument("file", type=Path)
    letter.add_argument("--json", action="store_true", help="print one JSON object")
    imp = sub.add_parser("import", help="import items from .xlsx or .csv (all rows or none)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--dry-run", action="store_true", help="check and preview every change; store nothing")
    imp.add_argument(
        "--clear-empty", action="store_true", help="an empty cell clears its field (default: it keeps the stored value)"
    )
    exp = sub.add_parser("export", help="export every item to .xlsx or .csv")
    exp.add_argument("file", type=Path)
    return parser


def _deadline(settings: Settings, args: argparse.Namespace) -> int:
    try:
        start = date.fromisoformat(args.date)
    except ValueError:
        print(
            f"proposal-bot deadline: {args.date!r} is not a date; use YYYY-MM-DD, such as 2024-03-15", file=sys.stderr
        )
        return 2
    profile = settings.profile
    months = profile.reply_months if args.months is None else args.months
    if not 0 <= months <= 120:
        print("proposal-bot deadline: --months must be between 0 and 120", file=sys.stderr)
        return 2
    try:
        due = due_day(start, months=months, calendar=WorkCalendar(), roll_to_workday=profile.roll_to_workday)
    except ValueError as exc:
        print(f"proposal-bot deadline: {exc}", file=sys.stderr)
        return 2
    print(due.day.isoformat())
    if due.rolled:
        print(f"({due.nominal.isoformat()} is a rest day; the period ends on the next working day)")
    for warning, warning_zh in zip(due.warnings, due.warnings_zh, strict=True):
        print(f"warning: {warning_zh} / {warning}: only weekends are counted as rest days", file=sys.stderr)
    return 0


async def _migrate(settings: Settings) -> int:
    from storage.engine import create_engine, ensure_reachable, safe_url
    from storage.migrate import upgrade

    engine = create_engine(settings.database_url)
    try:
        await ensure_reachable(engine)
        await upgrade(engine)
    finally:
        await engine.dispose()
    print(f"database is at the latest schema: {safe_url(settings.database_url)}")
    return 0


async def _reindex(settings: Settings) -> int:
    from storage.engine import create_engine, create_sessionmaker, ensure_reachable, is_sqlite
    from storage.migrate import check_current, upgrade
    from storage.search import expected_snapshot, index_snapshot, reindex

    engine = create_engine(settings.database_url)
    try:
        await ensure_reachable(engine)
        await (upgrade(engine) if is_sqlite(settings.database_url) else check_current(engine))
        sessionmaker = create_sessionmaker(engine)
        async with sessionmaker.begin() as session:
            written = await reindex(session)
        async with sessionmaker() as session:
            agree = await index_snapshot(session) == await expected_snapshot(session)
    finally:
        await engine.dispose()
    print(f"search index rebuilt: {written} documents; index and data {'agree' if agree else 'DISAGREE'}")
    return 0 if agree else 1


async def _check_database(settings: Settings) -> None:
    """Open the configured database once, before anything else starts: an outage is one line (DatabaseUnavailable)."""
    from storage.engine import create_engine, ensure_reachable

    engine = create_engine(settings.database_url)
    try:
        await ensure_reachable(engine)
    finally:
        await engine.dispose()


def _reach_telegram(settings: Settings, command: str) -> int | None:
    """Wait until the Bot API answers (one warning per failed try, with backoff); 2 when it rejects the token."""
    from bot.telegram.startup import TokenRejected, reach_api

    token = settings.token_value
    if token is None:
        raise ValueError("no token to reach Telegram with")
    try:
        me = asyncio.run(reach_api(token, api_base_url=settings.api_base_url))
    except TokenRejected:
        print(
            f"proposal-bot {command}: Telegram rejected the token in PROPOSAL_BOT_TOKEN (401 Unauthorized); "
            "copy it again from @BotFather",
            file=sys.stderr,
        )
        return 2
    logger.info("Telegram answers: this bot is @%s", me.username)
    return None


def _run(settings: Settings) -> int:
    if settings.token_value is None:
        from bot.sandbox.console import run_sandbox

        banner = (
            "No PROPOSAL_BOT_TOKEN is set, so this is the offline sandbox with demo data.\n"
            "未设置 PROPOSAL_BOT_TOKEN：现在进入离线沙盒（含演示数据）。"
        )
        return asyncio.run(run_sandbox(settings, demo=True, db=None, role="public", at=None, say=[], banner=banner))
    asyncio.run(_check_database(settings))
    refused = _reach_telegram(settings, "run")
    if refused is not None:
        return refused
    from bot.app import build_application

    app = build_application(settings, rate_limit=True)
    logger.info("polling Telegram%s", f" via {settings.api_base_url}" if settings.api_base_url else "")
    # bootstrap_retries=-1: should Telegram go away between the check above and PTB's start, PTB keeps trying
    app.run_polling(drop_pending_updates=False, close_loop=False, bootstrap_retries=-1)
    return 0


def _webhook(settings: Settings) -> int:
    if settings.token_value is None or settings.webhook_url is None or settings.webhook_secret is None:
        print(
            "proposal-bot webhook needs PROPOSAL_BOT_TOKEN, PROPOSAL_BOT_WEBHOOK_URL and PROPOSAL_BOT_WEBHOOK_SECRET",
            file=sys.stderr,
        )
        return 2
    asyncio.run(_check_database(settings))
    refused = _reach_telegram(settings, "webhook")
    if refused is not None:
        return refused
    from bot.app import build_application, serve_webhook

    app = build_application(settings, rate_limit=True, with_updater=False)
    asyncio.run(serve_webhook(app))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Outages end in one line on stderr and a non-zero exit, never a traceback:

    a database that is down or a bad URL (naming PROPOSAL_BOT_DATABASE_URL, or `--db`), a schema behind the code,
    Ctrl-C (130, quietly) and a closed pipe such as `… | head -1` (quietly).
    """
    args = _parser().parse_args(argv)
    command: str = args.command
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"proposal-bot: {exc}", file=sys.stderr)
        return 2
    console = command == "sandbox" or (command == "run" and settings.token_value is None)
    configure_logging(settings, console=console)
    from storage.migrate import SchemaOutdated

    try:
        code = _command(settings, args)
        sys.stdout.flush()  # a closed pipe shows here, not as a warning at exit
        return code
    except KeyboardInterrupt:
        print(file=sys.stderr)  # the shell's prompt on a line of its own after ^C
        return 130
    except BrokenPipeError:
        # whoever read our output has gone (`… | head -1`): say nothing, and let nothing be flushed at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except DatabaseUnavailable as exc:
        where = "--db" if command == "sandbox" and args.db else "PROPOSAL_BOT_DATABASE_URL"
        print(f"proposal-bot {command}: {exc} (check {where})", file=sys.stderr)
        return 1
    except SchemaOutdated as exc:
        print(f"proposal-bot {command}: {exc}", file=sys.stderr)
        return 1


def _command(settings: Settings, args: argparse.Namespace) -> int:
    command: str = args.command
    if command == "deadline":
        return _deadline(settings, args)
    if command == "migrate":
        return asyncio.run(_migrate(settings))
    if command == "reindex":
        return asyncio.run(_reindex(settings))
    if command == "run":
        return _run(settings)
    if command == "webhook":
        return _webhook(settings)
    if command == "sandbox":
        from bot.sandbox.console import run_sandbox

        return asyncio.run(run_sandbox(settings, demo=args.demo, db=args.db, role=args.role, at=args.at, say=args.say))
    if command == "import":
        from bot.services.imports import run_import

        return asyncio.run(
            run_import(
                settings, args.file, dry_run=args.dry_run, clear_empty=args.clear_empty, out=sys.stdout, err=sys.stderr
            )
        )
    if command == "export":
        from bot.services.imports import run_export

        return asyncio.run(run_export(settings, args.file, out=sys.stdout, err=sys.stderr))
    if command == "parse-letter":
        from bot.letters.cli import parse_letter_command
        from bot.letters.documents import ArchiveLimits

        return parse_letter_command(
            args.file, as_json=args.json, out=sys.stdout, err=sys.stderr, limits=ArchiveLimits.of(settings)
        )
    return 2


if __name__ == "__main__":
    sys.exit(main())
