"""Which updates the bot answers: new messages only, and in a group only what is addressed to it.

Telegram's privacy mode already hides a group's chatter from a bot, but not when the bot is an admin there or
privacy mode is off; then it sees every message. So the handler table asks these filters itself:

- ``NEW_MESSAGE``: a message as sent, never an edit (``edited_message``) or a channel post, so an edited look-up
  is not answered twice;
- ``ADDRESSED``: a private chat, or in a group a reply to one of the bot's messages or a text that mentions it;
- ``FOR_THIS_BOT``: a command in a private chat, or in a group one that names this bot (``/status@thisbot``).
  PTB's CommandHandler already takes a bare ``/status`` and ignores ``/status@otherbot``.
"""

from __future__ import annotations

import re

from telegram import Message
from telegram.ext import filters

__all__ = ["ADDRESSED", "FOR_THIS_BOT", "NEW_MESSAGE", "addressed_text"]

NEW_MESSAGE = filters.UpdateType.MESSAGE


def _mention(message: Message) -> re.Pattern[str] | None:
    username = message.get_bot().username
    return re.compile(rf"@{re.escape(username)}(?!\w)", re.IGNORECASE) if username else None


def _mentions_bot(message: Message) -> bool:
    mention = _mention(message)
    return mention is not None and mention.search(message.text or message.caption or "") is not None


class _Addressed(filters.MessageFilter):
    """A private message, or a group message that replies to the bot or mentions it."""

    __slots__ = ()

    def filter(self, message: Message) -> bool:
        if message.chat.type == "private":
            return True
        replied = message.reply_to_message
        if replied is not None and replied.from_user is not None and replied.from_user.id == message.get_bot().id:
            return True
        return _mentions_bot(message)


class _ForThisBot(filters.MessageFilter):
    """A private command, or a group command that names this bot; a bare group command may be another bot's."""

    __slots__ = ()

    def filter(self, message: Message) -> bool:
        if message.chat.type == "private":
            return True
        command = (message.text or "").split(maxsplit=1)[0] if message.text else ""
        _, at, target = command.partition("@")
        username = message.get_bot().username or ""
        return bool(at) and target.lower() == username.lower()


ADDRESSED = _Addressed(name="ADDRESSED")
FOR_THIS_BOT = _ForThisBot(name="FOR_THIS_BOT")


def addressed_text(message: Message) -> str:
    """The message's text without the mentions of this bot: ``@thisbot 018`` reads as ``018``."""
    text = message.text or ""
    mention = _mention(message)
    if mention is None or "@" not in text:
        return text
    return " ".join(mention.sub(" ", text).split())
