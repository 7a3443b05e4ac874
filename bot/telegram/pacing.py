"""How the bot's chat replies are paced: PTB's ``AIORateLimiter`` as a throttle that never retries.

Two kinds of traffic share one bot token, and so Telegram's limits (about 30 messages a second overall, 20 a
minute to a group, one a second to a chat):

- **Pushes** are paced by the outbox dispatcher (bot/delivery/dispatcher.py), which knows every chat's pace and
  owns the 429: it reschedules the row after ``retry_after`` and pauses itself, holding no lease meanwhile.
- **Chat replies** answer one incoming update each, so their rate is the users' own. The limiter below keeps the
  sum under Telegram's overall and group rates by queueing a request for a moment. It never retries a 429:
  PTB's retry sleeps inside the send and, while it sleeps, holds back every other request of the bot, so one
  rate-limited chat would stall every user (a measured ``RetryAfter(2)`` took 4 calls and 8.4 s), and a push
  retried that way can outlive its outbox lease and go out twice. A 429 on a reply reaches the error handler
  once instead; the reply is not durable, and the user can simply ask again.

``max_retries=0`` is what makes PTB's limiter raise at once: it retries only below ``max_retries``, and it
pauses other requests (``_retry_after_event``) only around a retry.
"""

from __future__ import annotations

from typing import Final

from telegram.ext import AIORateLimiter

__all__ = ["GROUP_PER_MINUTE", "OVERALL_PER_SECOND", "reply_limiter"]

#: Telegram's documented broadcast ceiling, for the whole bot.
OVERALL_PER_SECOND: Final = 30
#: Telegram's limit for one group.
GROUP_PER_MINUTE: Final = 20


def reply_limiter() -> AIORateLimiter:
    """The production bot's rate limiter: Telegram's overall and group rates, and no retries."""
    return AIORateLimiter(
        overall_max_rate=OVERALL_PER_SECOND,
        overall_time_period=1,
        group_max_rate=GROUP_PER_MINUTE,
        group_time_period=60,
        max_retries=0,
    )
