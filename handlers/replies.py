"""The admin's reply-letter flow (`/reply`, upload, preview, confirm/edit/cancel) and the deputy's rating."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Mapping
from typing import Any

from telegram import Message, Update
from telegram.ext import ApplicationHandlerStop, filters

from bot.context import Context
from bot.domain.access import may_rate
from bot.domain.card import Card
from bot.domain.drafts import EDITABLE, LetterDraft
from bot.domain.lifecycle import IllegalTransition
from bot.domain.lookup import number_key
from bot.domain.ratings import RATING_BY_CODE, Rating
from bot.letters.documents import MAX_BYTES, ArchiveLimits, DocumentError, read_upload
from bot.letters.parser import normalize_text, parse_letter
from bot.render.cards import Button, Rendered, esc
from bot.render.i18n import t
from bot.render.preview import render_field_picker, render_preview
from bot.render.pushes import rating_buttons
from bot.services.registration import (
    NotYours,
    ReplaceNeeded,
    check_draft,
    draft_from_letter,
    rate_reply,
    register_reply,
    set_field,
)
from handlers.audience import current_account, is_admin, lang_of, viewer_of
from handlers.buttons import pressed
from handlers.items import find_item
from handlers.replying import send
from storage.audit import Actor
from storage.errors import NotFound
from storage.replies import find_current_reply, get_reply

DRAFT = "reply_draft"
TARGET = "reply_for"
RATING = "rating_pending"


def _user_data(context: Context) -> dict[Any, Any]:
    data = context.user_data
    if data is None:  # only channel posts have no user; handlers here are for people
        raise RuntimeError("no user data for this update")
    return data


async def _find_item(update: Update, context: Context, text: str, *, prefix: str) -> Card | None:
    return await find_item(update, context, text, prefix=prefix, usage="reply.usage")


async def reply_command(update: Update, context: Context) -> None:
    """`/reply <no>`: remember the item and ask for the letter."""
    lang = lang_of(update, context)
    async with context.bot_data.sessionmaker.begin() as session:
        if not await is_admin(update, context, session):  # nothing was written: refuse from inside
            await send(update, Rendered(t(lang, "reply.admin_only")))
            return
        await current_account(update, context, session)  # admin pushes need the admin's chat
    text = " ".join(context.args or []).strip()
    if not text:
        await send(update, Rendered(t(lang, "reply.usage")))
        return
    card = await _find_item(update, context, text, prefix="rpi")
    if card is not None:
        _user_data(context)[TARGET] = card["id"]
        await send(update, Rendered(t(lang, "reply.upload", number=esc(card["number"]))))


async def reply_item_button(update: Update, context: Context) -> None:
    """`rpi:<id>`: the item chosen for `/reply` among several sittings."""
    data = await pressed(update, context, ids=(1,))
    if data is None:
        return
    lang = lang_of(update, context)
    async with context.bot_data.sessionmaker() as session:
        admin = await is_admin(update, context, session)
    if not admin:  # a forged press from anyone else sets nothing
        await send(update, Rendered(t(lang, "reply.admin_only")))
        return
    card = await context.bot_data.cards.by_id(int(data[1]))
    if card is None:
        await send(update, Rendered(t(lang, "status.gone")))
        return
    _user_data(context)[TARGET] = card["id"]
    await send(update, Rendered(t(lang, "reply.upload", number=esc(card["number"]))))


async def document_upload(update: Update, context: Context) -> None:
    """A document: read and parse the letter, find its item, and show the preview."""
    message = update.effective_message
    if message is None or message.document is None:
        return
    lang = lang_of(update, context)
    deps = context.bot_data
    async with deps.sessionmaker.begin() as session:
        if not await is_admin(update, context, session):  # nothing was written: refuse from inside
            await send(update, Rendered(t(lang, "reply.admin_only")))
            return
        await current_account(update, context, session)  # admin pushes need the admin's chat
    document = message.document
    if document.file_size is not None and document.file_size > MAX_BYTES:
        await send(update, Rendered(t(lang, "reply.too_large")))
        return
    data = bytes(await (await document.get_file()).download_as_bytearray())
    name = document.file_name or "letter"
    try:  # off the event loop: a scan is read by OCR, seconds a page
        upload = await asyncio.to_thread(read_upload, name, data, limits=ArchiveLimits.of(deps.settings))
    except DocumentError as exc:
        await send(update, Rendered(html.escape(exc.message(lang))))
        return
    text = upload.text
    tokenizer = await deps.tokenizer_loaded()
    letter = await asyncio.to_thread(parse_letter, text, tokenizer=tokenizer, ocr=upload.ocr)
    user_data = _user_data(context)
    caption = (message.caption or "").strip()
    card: Card | None = None
    if caption.startswith("/reply"):
        card = await _find_item(update, context, caption.removeprefix("/reply").strip(), prefix="rpi")
        if card is None:
            return
    elif user_data.get(TARGET) is not None:
        card = await deps.cards.by_id(int(user_data[TARGET]))
    elif letter.number:
        sitting = letter.session
        cards = await deps.cards.find(
            number_key(letter.number),
            term=sitting.term if sitting else None,
            sitting=sitting.sitting if sitting else None,
        )
        if sitting and sitting.region:  # compared on the normalized copy: 長寧區 is 长宁区
            region = normalize_text(sitting.region)
            cards = [c for c in cards if normalize_text(c["session"]["region"]) == region] or cards
        card = cards[0] if len(cards) == 1 else None
    if card is None:
        await send(update, Rendered(t(lang, "reply.no_item")))
        return
    user_data.pop(TARGET, None)
    draft = draft_from_letter(letter, proposal_id=card["id"], body=text, file_name=name, file_data=data)
    draft.flags = check_draft(draft, card, has_reply=card["reply"] is not None)  # the card's reply: the current one
    user_data[DRAFT] = draft
    await send(update, render_preview(draft, card, lang))


async def _draft(update: Update, context: Context, key: str) -> tuple[LetterDraft, Card] | None:
    """The draft a preview button names by its key; a button of an older (or cancelled) preview has expired."""
    draft = _user_data(context).get(DRAFT)
    current = isinstance(draft, LetterDraft) and draft.key == key
    card = await context.bot_data.cards.by_id(draft.proposal_id) if isinstance(draft, LetterDraft) and current else None
    if not isinstance(draft, LetterDraft) or card is None:
        await send(update, Rendered(t(lang_of(update, context), "reply.expired")))
        return None
    return draft, card


async def preview_button(update: Update, context: Context) -> None:
    """`rp:<draft key>:ok|replace|edit|cancel|f:<field>` under a preview."""
    data = await pressed(update, context)
    if data is None:
        return
    lang = lang_of(update, context)
    action = ":".join(data[2:])
    if action not in {"ok", "replace"}:  # confirming checks inside its own transaction
        async with context.bot_data.sessionmaker() as session:
            admin = await is_admin(update, context, session)
        if not admin:
            await send(update, Rendered(t(lang, "reply.admin_only")))
            return
    found = await _draft(update, context, data[1])
    if found is None:
        return
    draft, card = found
    field = action.removeprefix("f:")
    if action == "cancel":
        _user_data(context).pop(DRAFT, None)
        await send(update, Rendered(t(lang, "reply.cancelled")))
    elif action == "edit":
        await send(update, render_field_picker(draft, lang))
    elif action.startswith("f:") and field in EDITABLE:
        draft.editing = field
        value = draft.fields.get(field)
        label = t(lang, f"field.{field}")
        await send(update, Rendered(t(lang, "reply.edit_prompt", label=label, value=esc(value or "—"))))
    elif action in {"ok", "replace"}:
        draft.replace_confirmed = action == "replace"
        await _confirm(update, context, draft, card)
    else:  # a field no preview offers
        await send(update, Rendered(t(lang, "button.expired")))


async def _confirm(update: Update, context: Context, draft: LetterDraft, card: Card) -> None:
    lang = lang_of(update, context)
    deps = context.bot_data
    user = update.effective_user
    tokenizer = await deps.tokenizer_loaded()
    try:
        async with deps.sessionmaker.begin() as session:
            if not await is_admin(update, context, session):  # nothing was written: refuse from inside
                await send(update, Rendered(t(lang, "reply.admin_only")))
                return
            result = await register_reply(
                session,
                draft,
                now=deps.clock.now(),
                actor=f"admin:{user.id if user else '?'}",
                profile=deps.settings.profile,
                calendar=deps.calendar,
                tz=deps.settings.tz,
                tokenizer=tokenizer,
                audit=Actor(user.id if user else None, user.full_name if user else ""),
                admin_ids=deps.admins,
            )
    except ReplaceNeeded:
        draft.flags = check_draft(draft, card, has_reply=True)
        await send(update, Rendered(t(lang, "reply.replace_needed", number=esc(card["number"]))))
        await send(update, render_preview(draft, card, lang))
        return
    except IllegalTransition as exc:
        await send(
            update,
            Rendered(
                t(
                    lang,
                    "error.illegal_transition",
                    state=t(lang, f"state.{exc.state}"),
                    action=t(lang, f"action.{exc.action}"),
                )
            ),
        )
        return
    _user_data(context).pop(DRAFT, None)
    if result.opinion:
        await send(update, Rendered(t(lang, "reply.saved_opinion", number=esc(result.number))))
    else:
        await send(
            update,
            Rendered(
                t(
                    lang,
                    "reply.saved",
                    number=esc(result.number),
                    result=esc(result.result or "—"),
                    result_class=esc(result.result_class or "?"),
                    count=result.notified,
                )
            ),
        )


async def rate_command(update: Update, context: Context) -> None:
    """`/rate <no>`: the rating buttons at once (deputies of the item only)."""
    lang = lang_of(update, context)
    text = " ".join(context.args or []).strip()
    if not text:
        await send(update, Rendered(t(lang, "rate.usage")))
        return
    card = await _find_item(update, context, text, prefix="card")
    if card is None:
        return
    deps = context.bot_data
    async with deps.sessionmaker.begin() as session:
        account = await current_account(update, context, session)
        reply = await find_current_reply(session, proposal_id=card["id"])
    deputy_ids = {d.get("id") for d in card.get("deputies", [])}
    if account is None or account.role != "deputy" or account.deputy_id not in deputy_ids:
        await send(update, Rendered(t(lang, "rate.not_yours", number=esc(card["number"]))))
        return
    if reply is None:
        await send(update, Rendered(t(lang, "rate.no_reply", number=esc(card["number"]))))
        return
    buttons = rating_buttons(reply.id, lang)
    text = t(
        lang,
        "rate.ask",
        number=esc(card["number"]),
        title=esc(card.get("title") or ""),
        result=esc(reply.result_text or "—"),
    )
    await send(update, Rendered(text, (buttons,)))


async def rate_button(update: Update, context: Context) -> None:
    """`rate:<reply id>:<s|b|u>`; 不满意 first asks for an optional reason."""
    data = await pressed(update, context, ids=(1,))
    if data is None:
        return
    _, reply_id, code = data
    refusal = await _rating_refusal(update, context, int(reply_id))
    if refusal is not None:  # a forged or stale press asks for no reason and changes nothing
        await send(update, refusal)
        return
    if code == Rating.unsatisfied.code:
        _user_data(context)[RATING] = int(reply_id)
        lang = lang_of(update, context)
        await send(update, Rendered(t(lang, "rate.reason"), ((Button(t(lang, "button.skip"), f"rsk:{reply_id}"),),)))
        return
    await _rate(update, context, int(reply_id), RATING_BY_CODE[code], None)


async def _rating_refusal(update: Update, context: Context, reply_id: int) -> Rendered | None:
    """Why the presser may not rate this reply (gone, or not their item: bot/domain/access.may_rate), or None."""
    lang = lang_of(update, context)
    deps = context.bot_data
    async with deps.sessionmaker() as session:
        try:
            reply = await get_reply(session, reply_id=reply_id)
        except NotFound:
            return Rendered(t(lang, "button.expired"))
        viewer = await viewer_of(update, context, session)
    card = await deps.cards.by_id(reply.proposal_id)
    if card is None:
        return Rendered(t(lang, "button.expired"))
    if not may_rate(card, viewer):
        return Rendered(t(lang, "rate.not_yours", number=esc(card["number"])))
    return None


async def rate_skip_button(update: Update, context: Context) -> None:
    data = await pressed(update, context, ids=(1,))
    if data is None:
        return
    _user_data(context).pop(RATING, None)
    await _rate(update, context, int(data[1]), Rating.unsatisfied, None)


async def _rate(update: Update, context: Context, reply_id: int, rating: str, reason: str | None) -> None:
    lang = lang_of(update, context)
    deps = context.bot_data
    try:
        async with deps.sessionmaker.begin() as session:
            account = await current_account(update, context, session)
            if account is None:
                return
            rated = await rate_reply(
                session,
                reply_id=reply_id,
                rating=rating,
                account=account,
                reason=reason,
                now=deps.clock.now(),
                profile=deps.settings.profile,
                calendar=deps.calendar,
                tz=deps.settings.tz,
                admin_ids=deps.admins,
            )
    except NotYours as exc:
        await send(update, Rendered(t(lang, "rate.not_yours", number=esc(exc.args[0]))))
        return
    except NotFound:  # a reply id that names nothing: a forged or stale button
        await send(update, Rendered(t(lang, "button.expired")))
        return
    except IllegalTransition:
        await send(update, Rendered(t(lang, "rate.no_reply", number="—")))
        return
    label = t(lang, f"rating.{rated.rating}")
    if rated.already:
        await send(update, Rendered(t(lang, "rate.already", rating=label)))
    elif rated.due_on is not None:
        await send(update, Rendered(t(lang, "rate.saved_rehandling", due_on=rated.due_on.isoformat())))
    else:
        await send(update, Rendered(t(lang, "rate.saved", rating=label)))


class AwaitingAnswer(filters.MessageFilter):
    """Text from a user the bot has asked something (a field correction, a rating reason).

    A filter rather than a check inside the callback: every other text skips the handler at no cost.
    """

    def __init__(self, user_data: Mapping[int, Mapping[Any, Any]]) -> None:
        super().__init__(name="AwaitingAnswer")
        self._user_data = user_data  # the application's live view of every user's data

    def filter(self, message: Message) -> bool:
        user = message.from_user
        data = self._user_data.get(user.id) if user is not None else None
        if not data:
            return False
        draft = data.get(DRAFT)
        return (isinstance(draft, LetterDraft) and draft.editing is not None) or data.get(RATING) is not None


async def pending_text(update: Update, context: Context) -> None:
    """Group -1: a text that answers an open question (a field correction, a rating reason) is consumed here."""
    message = update.effective_message
    if message is None or message.text is None or context.user_data is None:
        return
    user_data = context.user_data
    draft = user_data.get(DRAFT)
    if isinstance(draft, LetterDraft) and draft.editing is not None:
        lang = lang_of(update, context)
        name, draft.editing = draft.editing, None
        hint = set_field(draft, name, message.text)
        if hint is not None:
            label = t(lang, f"field.{name}")
            await send(
                update,
                Rendered(t(lang, "reply.edit_bad", value=esc(message.text[:40]), label=label, hint=t(lang, hint))),
            )
            draft.editing = name
            raise ApplicationHandlerStop
        card = await context.bot_data.cards.by_id(draft.proposal_id)
        if card is not None:
            async with context.bot_data.sessionmaker() as session:
                has_reply = await find_current_reply(session, proposal_id=card["id"]) is not None
            draft.flags = check_draft(draft, card, has_reply=has_reply)
            await send(update, render_preview(draft, card, lang))
        raise ApplicationHandlerStop
    if user_data.get(RATING) is not None:
        reply_id = int(user_data.pop(RATING))
        await _rate(update, context, reply_id, Rating.unsatisfied, message.text[:500])
        raise ApplicationHandlerStop


__all__ = [
    "AwaitingAnswer",
    "document_upload",
    "pending_text",
    "preview_button",
    "rate_button",
    "rate_command",
    "rate_skip_button",
    "reply_command",
    "reply_item_button",
]
