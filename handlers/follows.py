"""`/follow`, `/unfollow`, `/following`, the card's follow button, and "unfollow" replies to a push."""

from __future__ import annotations

import html
import re

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from bot.context import Context
from bot.domain.access import may_see_item
from bot.domain.lookup import parse_lookup
from bot.render.cards import Button, Rendered, esc, render_choices, session_label, sitting_label
from bot.render.i18n import t
from handlers.audience import current_account, lang_of, viewer_of
from handlers.buttons import bounded_id, pressed
from handlers.replying import send
from storage.follows import MAX_FOLLOWS, TooManyFollows, find_follow, follow, list_follows, unfollow
from storage.proposals import find_session, find_unit, find_unit_by_id, latest_session

UNFOLLOW_WORDS = re.compile(r"^\s*(unfollow|取消关注|退订)\s*$", re.IGNORECASE)
MAX_KEYWORD = 30
MAX_BUTTONS = 100


async def _describe(session: AsyncSession, context: Context, lang: str, kind: str, key: str) -> str | None:
    """A human description of a follow target; None when the target does not exist (or the key is no id)."""
    if kind == "keyword":
        return t(lang, "follow.target.keyword", name=esc(key))
    target_id = bounded_id(key)
    if target_id is None:
        return None
    if kind == "item":
        card = await context.bot_data.cards.by_id(target_id)
        if card is None:
            return None
        label = session_label(card["session"], lang)
        return t(lang, "follow.target.item", number=esc(card["number"]), session=esc(label))
    if kind == "unit":
        unit = await find_unit_by_id(session, unit_id=target_id)
        return None if unit is None else t(lang, "follow.target.unit", name=esc(unit.name))
    if kind == "session":
        row = await find_session(session, session_id=target_id)
        if row is None:
            return None
        label = sitting_label(row.region, row.body, row.term, row.sitting, lang)
        return t(lang, "follow.target.session", session=esc(label))
    return None


async def _toggle(
    update: Update, context: Context, session: AsyncSession, kind: str, key: str, *, on: bool
) -> Rendered | None:
    """Follow or unfollow in the caller's transaction; returns the answer to send once it has committed."""
    lang = lang_of(update, context)
    deps = context.bot_data
    account = await current_account(update, context, session)
    if account is None:
        return None
    target = await _describe(session, context, lang, kind, key)
    if on:
        if target is None:  # a forged or stale button: follows name existing targets only
            return Rendered(t(lang, "follow.unknown_target"))
        if kind == "item" and not await _may_follow_item(update, context, session, int(key)):
            return Rendered(t(lang, "card.item_withheld"))
        try:
            changed = await follow(session, account_id=account.id, kind=kind, key=key, now=deps.clock.now())
        except TooManyFollows:
            return Rendered(t(lang, "follow.too_many", limit=MAX_FOLLOWS))
        message = "follow.done" if changed else "follow.already"
    else:
        target = target or t(lang, "follow.target.gone")
        changed = await unfollow(session, account_id=account.id, kind=kind, key=key)
        message = "unfollow.done" if changed else "unfollow.none"
    return Rendered(t(lang, message, target=target))


async def _may_follow_item(update: Update, context: Context, session: AsyncSession, proposal_id: int) -> bool:
    """Only an item the follower may see (bot/domain/access): a non-public item's news is its own people's."""
    card = await context.bot_data.cards.by_id(proposal_id)
    return card is not None and may_see_item(card, await viewer_of(update, context, session))


async def _toggle_and_answer(update: Update, context: Context, kind: str, key: str, *, on: bool) -> None:
    """A button or a reply that names its target: one transaction, then the answer."""
    async with context.bot_data.sessionmaker.begin() as session:
        answer = await _toggle(update, context, session, kind, key, on=on)
    if answer is not None:
        await send(update, answer)


async def _resolve(
    update: Update, context: Context, session: AsyncSession, args: list[str], *, on: bool
) -> tuple[str, str] | Rendered:
    """Turn `/follow` arguments into (kind, key), or into the answer for arguments that name no one target."""
    lang = lang_of(update, context)
    usage = Rendered(t(lang, "follow.usage" if on else "unfollow.usage"))
    if not args:
        return usage
    head, rest = args[0].lower(), " ".join(args[1:]).strip()
    if head in {"unit", "单位"}:
        if not rest:
            return usage
        unit = await find_unit(session, name=rest)
        if unit is None:
            return Rendered(t(lang, "follow.unknown_unit", name=html.escape(rest)))
        return "unit", str(unit.id)
    if head in {"keyword", "关键词"}:
        words = " ".join(rest.split())[:MAX_KEYWORD]
        if not words:
            return usage
        return "keyword", words.lower()
    if head in {"session", "会次"}:
        row = await latest_session(session)
        if row is None:
            return Rendered(t(lang, "follow.no_session"))
        return "session", str(row.id)
    lookup = parse_lookup(" ".join(args))
    if lookup is None:
        return usage
    cards = await context.bot_data.cards.find(lookup.number_key, term=lookup.term, sitting=lookup.sitting)
    if not cards:
        return Rendered(t(lang, "status.unknown", number=html.escape(lookup.number)))
    if len(cards) > 1:
        choices = render_choices(cards, number=lookup.number, lang=lang)
        prefix = "fo" if on else "uf:item"
        rows = tuple(tuple(Button(b.label, f"{prefix}:{b.data.split(':')[1]}") for b in row) for row in choices.buttons)
        return Rendered(choices.html, rows)
    return "item", str(cards[0]["id"])


async def _follow_command(update: Update, context: Context, *, on: bool) -> None:
    """`/follow …` or `/unfollow …`: resolve the target and change the follow in one transaction."""
    async with context.bot_data.sessionmaker.begin() as session:
        target = await _resolve(update, context, session, list(context.args or []), on=on)
        answer = target if isinstance(target, Rendered) else await _toggle(update, context, session, *target, on=on)
    if answer is not None:
        await send(update, answer)


async def follow_command(update: Update, context: Context) -> None:
    await _follow_command(update, context, on=True)


async def unfollow_command(update: Update, context: Context) -> None:
    await _follow_command(update, context, on=False)


async def following_command(update: Update, context: Context) -> None:
    lang = lang_of(update, context)
    deps = context.bot_data
    async with deps.sessionmaker.begin() as session:
        account = await current_account(update, context, session)
        if account is None:
            return
        rows = await list_follows(session, account_id=account.id)
        gone = t(lang, "follow.target.gone")
        described = [(r.id, await _describe(session, context, lang, r.target_kind, r.target_key) or gone) for r in rows]
    if not described:
        await send(update, Rendered(t(lang, "follow.none")))
        return
    # By the follow's id: callback data holds at most 64 UTF-8 bytes, and a keyword of 20 Chinese characters is 60.
    buttons = tuple(
        (Button(html.unescape(t(lang, "button.unfollow", target=text)), f"uf:{follow_id}"),)
        for follow_id, text in described[:MAX_BUTTONS]  # Telegram refuses a keyboard of more than 100 buttons
    )
    await send(update, Rendered(t(lang, "follow.list") + "\n" + "\n".join(f"• {d}" for _, d in described), buttons))


async def follow_button(update: Update, context: Context) -> None:
    """`fo:<proposal id>` on a status card: what to follow — the item, its lead unit, or its sitting."""
    data = await pressed(update, context, ids=(1,))
    if data is None:
        return
    lang = lang_of(update, context)
    card = await context.bot_data.cards.by_id(int(data[1]))
    if card is None:
        await send(update, Rendered(t(lang, "status.gone")))
        return
    async with context.bot_data.sessionmaker() as session:
        visible = may_see_item(card, await viewer_of(update, context, session))
    if not visible:  # the card shows no follow button then: a forged press learns nothing more than the card
        await send(update, Rendered(t(lang, "card.item_withheld")))
        return
    rows = [(Button(t(lang, "button.follow_item"), f"fi:item:{card['id']}"),)]
    lead = next((u for u in card.get("units", []) if u.get("role") == "lead"), None)
    if lead is not None:
        rows.append((Button(t(lang, "button.follow_unit"), f"fi:unit:{lead['id']}"),))
    if card["session"].get("id") is not None:
        rows.append((Button(t(lang, "button.follow_session"), f"fi:session:{card['session']['id']}"),))
    await send(update, Rendered(t(lang, "follow.menu", number=esc(card["number"])), tuple(rows)))


async def follow_choice_button(update: Update, context: Context) -> None:
    """`fi:<kind>:<id>`: follow what was chosen under a card."""
    data = await pressed(update, context, ids=(2,))
    if data is not None:
        await _toggle_and_answer(update, context, data[1], data[2], on=True)


async def unfollow_button(update: Update, context: Context) -> None:
    """`uf:<follow id>` in /following; `uf:<kind>:<key>` on buttons sent before follows went by id."""
    query = update.callback_query
    by_kind = query is not None and query.data is not None and query.data.count(":") > 1  # _describe bounds ids
    data = await pressed(update, context, ids=() if by_kind else (1,))
    if data is None:
        return
    if len(data) == 2:
        await _unfollow_by_id(update, context, int(data[1]))
        return
    kind, key = data[1], ":".join(data[2:])
    await _toggle_and_answer(update, context, kind, key, on=False)


async def _unfollow_by_id(update: Update, context: Context, follow_id: int) -> None:
    """Stop one of the user's own follows; an id that is not theirs (forged, or already stopped) changes nothing."""
    lang = lang_of(update, context)
    async with context.bot_data.sessionmaker.begin() as session:
        account = await current_account(update, context, session)
        if account is None:
            return
        found = await find_follow(session, account_id=account.id, follow_id=follow_id)
        answer: Rendered | None = None
        if found is None:
            answer = Rendered(t(lang, "unfollow.gone"))
        else:
            answer = await _toggle(update, context, session, found.target_kind, found.target_key, on=False)
    if answer is not None:
        await send(update, answer)


async def unfollow_reply(update: Update, context: Context) -> None:
    """A reply "unfollow" / "取消关注" to a pushed message stops the follow named by the push's button."""
    message = update.effective_message
    replied = message.reply_to_message if message else None
    markup = replied.reply_markup if replied else None
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            data = button.callback_data
            if isinstance(data, str) and data.startswith("uf:"):
                parts = data.split(":", 2)
                if len(parts) == 2 and parts[1].isdigit():
                    await _unfollow_by_id(update, context, int(parts[1]))
                elif len(parts) == 3:
                    await _toggle_and_answer(update, context, parts[1], parts[2], on=False)
                else:
                    continue
                return
    await send(update, Rendered(t(lang_of(update, context), "unfollow.usage")))
