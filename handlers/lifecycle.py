"""`/extend`, `/assign`, `/withdraw`: the admin names an item and what to do, sees what will change, and confirms.

The command is parsed and checked at once (a refused extension is refused before any button); the confirmation
runs the service (bot/services/actions.py) in one transaction, which checks everything again. The buttons carry
a token of the pending action kept in the admin's user data: an old or foreign token says the button expired.
"""

from __future__ import annotations

import html
import itertools
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from telegram import Update

from bot.context import Context
from bot.domain.access import Action, may_act
from bot.domain.card import Card
from bot.domain.extensions import ExtensionAsk, ExtensionRefused, parse_extension
from bot.domain.lifecycle import Action as Step
from bot.domain.lifecycle import IllegalTransition, State, legal_actions
from bot.render.cards import Button, Rendered, esc
from bot.render.i18n import t
from bot.services.actions import (
    Acting,
    Done,
    SameUnit,
    UnknownUnit,
    assign_item,
    extend_item,
    plan_extension,
    resolve_unit,
    withdraw_item,
)
from handlers.audience import admitted, lang_of, viewer_of
from handlers.buttons import pressed
from handlers.items import find_item
from handlers.replying import send
from storage.audit import Actor

PENDING = "lifecycle_pending"
_tokens = itertools.count(1)
MAX_PENDING = 20  # an admin's open confirmations; older ones expire


@dataclass(frozen=True, slots=True)
class Pending:
    """An action waiting for its item (a choice of sittings) or for the admin's confirmation."""

    kind: str  # extend | assign | withdraw
    reason: str = ""
    ask: ExtensionAsk | None = None
    unit_id: int | None = None
    unit_name: str = ""
    proposal_id: int | None = None


def split_extension(text: str) -> tuple[str, ExtensionAsk | None, str]:
    """`018 2个月 理由` → ("018", 2 months, "理由"); the extension may be written in one or two words."""
    words = text.split()
    if not words:
        return "", None, ""
    for width in (1, 2, 3):
        ask = parse_extension(" ".join(words[1 : 1 + width])) if len(words) > width else None
        if ask is not None:
            return words[0], ask, " ".join(words[1 + width :])
    return words[0], None, " ".join(words[1:])


def _pending(context: Context) -> dict[int, Pending]:
    data = context.user_data
    if data is None:
        raise RuntimeError("no user data for this update")
    found: dict[int, Pending] = data.setdefault(PENDING, {})
    return found


def _remember(context: Context, pending: Pending) -> int:
    store = _pending(context)
    token = next(_tokens)
    store[token] = pending
    for old in sorted(store)[:-MAX_PENDING]:
        store.pop(old, None)
    return token


def _lead(card: Card) -> dict[str, Any] | None:
    return next((dict(u) for u in card["units"] if u["role"] == "lead"), None)


def _refusal(lang: str, exc: Exception, card: Card | None = None) -> str:
    number = esc(card["number"]) if card else ""
    if isinstance(exc, ExtensionRefused):
        limit = exc.limit.isoformat() if exc.limit else "—"
        return t(lang, f"extend.refused.{exc.code}", number=number, limit=limit)
    if isinstance(exc, IllegalTransition):
        return t(
            lang,
            "error.illegal_transition",
            state=t(lang, f"state.{exc.state}"),
            action=t(lang, f"action.{exc.action}"),
        )
    if isinstance(exc, SameUnit):
        return t(lang, "assign.same_unit", unit=esc(exc.args[0]))
    if isinstance(exc, UnknownUnit):
        if exc.candidates:
            names = "、".join(esc(c) for c in exc.candidates)
            return t(lang, "assign.ambiguous", text=esc(exc.text), names=names)
        return t(lang, "assign.unknown", text=esc(exc.text))
    raise exc


def _step_of(pending: Pending) -> Step:
    return {"extend": Step.extend, "withdraw": Step.withdraw}.get(pending.kind, Step.reassign)


async def _preview(update: Update, context: Context, pending: Pending, card: Card) -> None:
    """What the action will change, with its buttons; or why it cannot be done."""
    lang = lang_of(update, context)
    deps = context.bot_data
    state = State(card["state"])
    step = _step_of(pending)
    if pending.kind == "assign" and state is State.draft:
        step = Step.assign
    if step not in legal_actions(state):
        await send(update, Rendered(_refusal(lang, IllegalTransition(state, step), card)))
        return
    lead = _lead(card)
    number, title = esc(card["number"]), esc(card["title"])
    token = _remember(context, replace(pending, proposal_id=card["id"]))
    cancel = Button(t(lang, "button.cancel"), f"lc:{token}:x")
    buttons: tuple[tuple[Button, ...], ...]
    if pending.kind == "extend" and pending.ask is not None:
        received = lead["received_on"] if lead else None
        due = lead["due_on"] if lead else None
        try:
            new = plan_extension(
                pending.ask,
                received_on=_day(received),
                due_on=_day(due),
                profile=deps.settings.profile,
                calendar=deps.calendar,
            )
        except ExtensionRefused as exc:
            await send(update, Rendered(_refusal(lang, exc, card)))
            return
        months = t(lang, "extend.months", months=new.months) if new.months else ""
        text = t(
            lang,
            "extend.confirm",
            number=number,
            title=title,
            old=esc(due or "—"),
            new=new.day.isoformat(),
            months=months,
            received=esc(received or "—"),
            limit=new.limit.isoformat(),
            reason=esc(pending.reason),
        )
        buttons = ((Button(t(lang, "button.extend"), f"lc:{token}:ok"), cancel),)
    elif pending.kind == "assign":
        old_unit = esc(lead["name"]) if lead else "—"
        text = t(lang, "assign.confirm", number=number, title=title, unit=esc(pending.unit_name), old=old_unit)
        row = [Button(t(lang, "button.reassign"), f"lc:{token}:ok")]
        if lead is not None:
            row.append(Button(t(lang, "button.returned"), f"lc:{token}:ret"))
        buttons = (tuple(row), (cancel,))
    else:
        text = t(lang, "withdraw.confirm", number=number, title=title, reason=esc(pending.reason))
        buttons = ((Button(t(lang, "button.withdraw"), f"lc:{token}:ok"), cancel),)
    await send(update, Rendered(text, buttons))


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


async def _start(update: Update, context: Context, pending: Pending, number_text: str) -> None:
    token = _remember(context, pending)
    card = await find_item(update, context, number_text, prefix=f"lcp:{token}", usage=f"{pending.kind}.usage")
    if card is not None:
        _pending(context).pop(token, None)
        await _preview(update, context, pending, card)


async def extend_command(update: Update, context: Context) -> None:
    """`/extend <no> <date or months> <reason>`."""
    if not await admitted(update, context, Action.lifecycle, "/extend"):
        return
    lang = lang_of(update, context)
    number_text, ask, reason = split_extension(" ".join(context.args or []))
    if not number_text or ask is None or not reason.strip():
        await send(update, Rendered(t(lang, "extend.usage")))
        return
    await _start(update, context, Pending("extend", reason=reason.strip()[:200], ask=ask), number_text)


async def assign_command(update: Update, context: Context) -> None:
    """`/assign <no> <unit>`: reassign, or record a wrong-unit return (a button on the confirmation)."""
    if not await admitted(update, context, Action.lifecycle, "/assign"):
        return
    lang = lang_of(update, context)
    words = list(context.args or [])
    if len(words) < 2:
        await send(update, Rendered(t(lang, "assign.usage")))
        return
    number_text, unit_text = words[0], " ".join(words[1:])
    async with context.bot_data.sessionmaker() as session:
        try:
            unit_id, unit_name = await resolve_unit(session, unit_text)
        except UnknownUnit as exc:
            await send(update, Rendered(_refusal(lang, exc)))
            return
    await _start(update, context, Pending("assign", unit_id=unit_id, unit_name=unit_name), number_text)


async def withdraw_command(update: Update, context: Context) -> None:
    """`/withdraw <no> <reason>`."""
    if not await admitted(update, context, Action.lifecycle, "/withdraw"):
        return
    lang = lang_of(update, context)
    words = list(context.args or [])
    if len(words) < 2:
        await send(update, Rendered(t(lang, "withdraw.usage")))
        return
    await _start(update, context, Pending("withdraw", reason=" ".join(words[1:])[:200]), words[0])


async def choice_button(update: Update, context: Context) -> None:
    """`lcp:<token>:<proposal id>`: the sitting chosen for a pending action."""
    data = await pressed(update, context, ids=(2,))
    if data is None:
        return
    pending = _pending(context).pop(int(data[1]), None)
    card = await context.bot_data.cards.by_id(int(data[2]))
    if pending is None or card is None:
        await send(update, Rendered(t(lang_of(update, context), "button.expired")))
        return
    await _preview(update, context, pending, card)


async def confirm_button(update: Update, context: Context) -> None:
    """`lc:<token>:ok|ret|x`: do the action (`ret`: as a wrong-unit return), or cancel it."""
    data = await pressed(update, context)
    if data is None:
        return
    lang = lang_of(update, context)
    pending = _pending(context).pop(int(data[1]), None)
    if pending is None or pending.proposal_id is None:
        await send(update, Rendered(t(lang, "button.expired")))
        return
    if data[2] == "x":
        await send(update, Rendered(t(lang, "grant.cancelled")))
        return
    deps = context.bot_data
    user = update.effective_user
    actor = Actor(user.id if user else None, user.full_name if user else "")
    acting = Acting(actor, deps.clock.now(), deps.settings.profile, deps.calendar, deps.settings.tz, deps.admins)
    proposal_id = pending.proposal_id
    try:
        async with deps.sessionmaker.begin() as session:
            if not may_act(await viewer_of(update, context, session), Action.lifecycle):
                await send(update, Rendered(t(lang, "auth.admin_only", command=f"/{pending.kind}")))
                return
            if pending.kind == "extend" and pending.ask is not None:
                done = await extend_item(
                    session, acting, proposal_id=proposal_id, ask=pending.ask, reason=pending.reason
                )
            elif pending.kind == "assign" and pending.unit_id is not None:
                wrong = data[2] == "ret"
                done = await assign_item(
                    session, acting, proposal_id=proposal_id, unit_id=pending.unit_id, wrong_unit=wrong
                )
            else:
                done = await withdraw_item(session, acting, proposal_id=proposal_id, reason=pending.reason)
    except (ExtensionRefused, IllegalTransition, UnknownUnit, SameUnit) as exc:
        await send(update, Rendered(_refusal(lang, exc)))
        return
    await send(update, Rendered(_done(lang, pending.kind, done)))


def _done(lang: str, kind: str, done: Done) -> str:
    values = {k: html.escape(v) for k, v in (done.old | {f"new_{k}": v for k, v in done.new.items()}).items()}
    text = t(lang, f"{kind}.done", number=esc(done.number), count=done.notified, **_BLANKS | values)
    if done.late_return:
        text += "\n" + t(lang, "assign.late_return")
    return text


#: what a done-message may name that the action had no value for (an item assigned for the first time)
_BLANKS = {"unit": "—", "due_on": "—", "new_due_on": "—", "new_unit": "—", "state": "—", "new_state": "—"}
