"""Before polling: wait until Telegram answers ``getMe``, with backoff, and tell a rejected token apart.

PTB's own bootstrap retries log at DEBUG only and end a rejected token with a traceback that names the token.
Here every failed try is one warning line that says Telegram cannot be reached and when the next try is, and a
401 or 404 (Telegram's answer to a token it does not know) raises ``TokenRejected`` at once: retrying a wrong
token never helps.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from telegram import Bot, User
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError

from bot.telegram.request import JsonRequest

__all__ = ["FIRST_DELAY_S", "MAX_DELAY_S", "TokenRejected", "reach_api", "wait_for_telegram"]

logger = logging.getLogger(__name__)

FIRST_DELAY_S = 1.0
MAX_DELAY_S = 60.0


class TokenRejected(Exception):
    """Telegram answered 401 or 404 to ``getMe``: the token is wrong or revoked."""


async def wait_for_telegram(
    bot: Bot,
    *,
    where: str,
    first_delay: float = FIRST_DELAY_S,
    max_delay: float = MAX_DELAY_S,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> User:
    """Call ``getMe`` until it succeeds; the delay doubles from ``first_delay`` up to ``max_delay``.

    ``where`` names the API in the warning (the base URL, never with the token). Raises TokenRejected for a
    401 or 404; a 400 or 403 (which ``getMe`` never gets from a working API) is raised as it is.
    """
    delay = first_delay
    tries = 0
    while True:
        try:
            return await bot.get_me()
        except InvalidToken as exc:
            raise TokenRejected(str(exc)) from None  # PTB's message names the token: not chained
        except RetryAfter as exc:
            wait = max(_seconds(exc.retry_after), 1.0)
            logger.warning("Telegram asks to wait %.0f s before the next try (429)", wait)
            await sleep(wait)
            continue
        except (BadRequest, Forbidden):
            raise
        except (NetworkError, TelegramError) as exc:
            tries += 1
            logger.warning(
                "Telegram cannot be reached at %s (%s); try %d failed, next in %.0f s (Ctrl-C stops)",
                where,
                exc.message,
                tries,
                delay,
            )
        await sleep(delay)
        delay = min(delay * 2, max_delay)


async def reach_api(token: str, *, api_base_url: str | None) -> User:
    """``wait_for_telegram`` with a throwaway client for ``token`` at ``api_base_url`` (default: Telegram's).

    The client is closed afterwards, so PTB's application then opens its own on its own event loop.
    """
    base = api_base_url or "https://api.telegram.org"
    request = JsonRequest()
    bot = Bot(
        token, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot", request=request, get_updates_request=request
    )
    try:
        return await wait_for_telegram(bot, where=base)
    finally:
        await request.shutdown()


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
