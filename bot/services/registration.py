"""Registering reply letters and ratings: the preview, the checks against the stored item, and the use cases that
store the reply, change the state, record the event and queue the pushes, all in the caller's one transaction.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.planner import Audience, reply_plans, unsatisfied_plans
from bot.delivery.queue import queue_plans
from bot.domain.access import may_see_item, may_see_letter
from bot.domain.card import Card
from bot.domain.clock import WorkCalendar, due_day
from bot.domain.drafts import EDITABLE, LetterDraft
from bot.domain.extensions import parse_day
from bot.domain.lifecycle import Action, IllegalTransition, State, transition
from bot.domain.lookup import number_key
from bot.domain.ratings import is_tracking, result_class
from bot.letters.parser import ParsedLetter, classify_result, normalize_text
from bot.services.events import event_record
from bot.services.recipients import push_viewers
from bot.services.recipients import recipient_view as _view
from bot.text import Tokenizer
from config.settings import Jurisdiction
from storage.accounts import accounts_for, admin_accounts, unit_accounts
from storage.audit import Actor, AuditRecord, proposal_subject, record_audit
from storage.cards import build_card
from storage.follows import followers, keyword_follows
from storage.models import Account, Proposal
from storage.proposals import EventRecord, add_event, get_proposal, restart_clock, set_state
from storage.replies import (
    ReplyRecord,
    add_feedback,
    add_reply,
    cancel_pushes,
    find_current_reply,
    find_feedback,
    get_reply,
)


class ReplaceNeeded(Exception):
    """The item already has a formal reply and is not in re-handling: the admin must confirm a replacement."""


class NotYours(Exception):
    """A rating from someone who is not a deputy of the item."""


def draft_from_letter(
    letter: ParsedLetter, *, proposal_id: int, body: str, file_name: str, file_data: bytes
) -> LetterDraft:
    fields: dict[str, Any] = {
        "number": letter.number,
        "proposers": "、".join(letter.proposers) or None,
        "result": letter.result,
        "result_class": letter.result_class,
        "signer": letter.signer,
        "unit": letter.unit,
        "date": letter.date,
        "public": letter.public,
        "contact_name": letter.contact.name,
        "contact_phone": letter.contact.phone,
        "contact_address": letter.contact.address,
        "contact_postcode": letter.contact.postcode,
        "doc_number": letter.doc_number,
        "letter_type": letter.letter_type or "reply",
        "session": None
        if letter.session is None
        else (letter.session.region, letter.session.body, letter.session.term, letter.session.sitting),
    }
    return LetterDraft(
        proposal_id=proposal_id,
        fields=fields,
        ocr_fields=[name for name in EDITABLE if letter.ocr and fields.get(name) not in (None, "")],
        summary=letter.summary,
        keywords=list(letter.keywords),
        body=body,
        file_name=file_name,
        file_data=file_data,
    )


def check_draft(draft: LetterDraft, card: Card, *, has_reply: bool) -> list[tuple[str, dict[str, str]]]:
    """Disagreements between the letter and the stored item, as (message key, values) to show the admin."""
    f = draft.fields
    flags: list[tuple[str, dict[str, str]]] = []
    if f.get("number") and number_key(str(f["number"])) != number_key(card["number"]):
        flags.append(("reply.flag.number", {"letter": str(f["number"]), "item": str(card["number"])}))
    session = f.get("session")
    card_session = card["session"]
    letter_sitting = (session[2], session[3]) if session else (None, None)
    item_sitting = (card_session["term"], card_session["sitting"])
    if None not in letter_sitting and letter_sitting != item_sitting:
        flags.append(
            (
                "reply.flag.session",
                {"letter": f"{letter_sitting[0]}-{letter_sitting[1]}", "item": f"{item_sitting[0]}-{item_sitting[1]}"},
            )
        )
    names = [d["name"] for d in card["deputies"]]
    known = {_norm(n) for n in names}  # a traditional-script letter names the deputy in its own script
    if f.get("proposers"):
        strangers = [n for n in re.split(r"[、,，]", str(f["proposers"])) if n and _norm(n) not in known]
        if strangers:
            flags.append(("reply.flag.deputy", {"letter": "、".join(strangers), "item": "、".join(names) or "—"}))
    lead = next((u for u in card["units"] if u["role"] == "lead"), None)
    if f.get("unit") and lead and f.get("letter_type") == "reply" and _norm(str(f["unit"])) != _norm(lead["name"]):
        flags.append(("reply.flag.unit", {"letter": str(f["unit"]), "item": lead["name"]}))
    if f.get("date") and lead and lead["received_on"] and f["date"] < date.fromisoformat(lead["received_on"]):
        flags.append(("reply.flag.date", {"letter": f["date"].isoformat(), "item": lead["received_on"]}))
    if has_reply and f.get("letter_type") == "reply" and card["state"] not in {"rehandling", "tracking"}:
        flags.append(("reply.flag.replaced", {}))
    if draft.ocr_fields:
        flags.append(("reply.flag.ocr", {}))
    missing = [k for k in ("result", "signer", "unit", "date") if not f.get(k)]
    if missing:
        flags.append(("reply.flag.missing", {"fields": ",".join(missing)}))
    return flags


def _norm(name: str) -> str:
    """A name as matching compares it: the normalized (simplified) copy, without spaces or 上海市."""
    return re.sub(r"\s+", "", normalize_text(name)).removeprefix("上海市")


def set_field(draft: LetterDraft, name: str, text: str) -> str | None:
    """Apply an admin's correction; returns the hint key when the value is not valid."""
    value = text.strip()
    if name in draft.ocr_fields:  # the admin's value, not OCR's, whether or not it is valid: it was looked at
        draft.ocr_fields.remove(name)
    if name == "date":
        day = parse_day(value)
        if day is None:
            return "reply.edit_hint.date"
        draft.fields["date"] = day
    elif name == "result_class":
        cls = result_class(value)
        if cls is None:
            return "reply.edit_hint.result_class"
        draft.fields["result_class"] = cls
    elif name == "public":
        if value.lower() not in {"是", "否", "yes", "no", "y", "n", "公开", "不公开"}:
            return "reply.edit_hint.public"
        draft.fields["public"] = value.lower() in {"是", "yes", "y", "公开"}
    elif name == "result":
        draft.fields["result"] = value[:64] or None
        if value and draft.fields.get("result_class") is None:
            draft.fields["result_class"] = classify_result(value)
    elif name == "letter_type":
        draft.fields["letter_type"] = "co-handling" if "会办" in value or "co" in value.lower() else "reply"
    else:
        draft.fields[name] = value[:256] or None
    return None


@dataclass(frozen=True, slots=True)
class Registered:
    number: str
    opinion: bool
    notified: int
    result: str | None
    result_class: str | None


def _matches(keyword: str, tokens: set[str], text: str) -> bool:
    words = [w for w in keyword.split() if w]
    return bool(words) and all(w in tokens or w in text for w in words)


async def register_reply(
    session: AsyncSession,
    draft: LetterDraft,
    *,
    now: datetime,
    actor: str,
    profile: Jurisdiction,
    calendar: WorkCalendar,
    tz: tzinfo,
    tokenizer: Tokenizer | None,
    audit: Actor | None = None,
    admin_ids: Collection[int] = (),
) -> Registered:
    """Store the letter, move the item on, record the event and queue the pushes, in the caller's transaction.

    With `audit`, the registration goes into the audit log (the replaced reply's fields as the old values).
    `admin_ids` (PROPOSAL_BOT_ADMINS) and the database's grants tell which recipients are admins.
    Raises ReplaceNeeded or IllegalTransition before writing anything.
    """
    f = draft.fields
    record = ReplyRecord(
        letter_type=str(f.get("letter_type") or "reply"),
        unit=f.get("unit"),
        result_text=f.get("result"),
        result_class=f.get("result_class"),
        signer=f.get("signer"),
        replied_on=f.get("date"),
        public=f.get("public"),
        contact_name=f.get("contact_name"),
        contact_phone=f.get("contact_phone"),
        contact_address=f.get("contact_address"),
        contact_postcode=f.get("contact_postcode"),
        doc_number=f.get("doc_number"),
        summary=draft.summary,
        body=draft.body,
        file_name=draft.file_name,
        file_data=draft.file_data,
    )
    proposal = await get_proposal(session, proposal_id=draft.proposal_id)
    state = State(proposal.state)
    if audit is not None:
        await _audit_reply(session, proposal, record, actor=audit, now=now)
    if record.letter_type == "co-handling":
        await add_reply(session, proposal_id=proposal.id, record=record, now=now)
        await add_event(
            session,
            proposal_id=proposal.id,
            event=EventRecord("opinion", state, state, now, actor, {"unit": record.unit or ""}),
        )
        return Registered(proposal.number, True, 0, record.result_text, record.result_class)
    current = await find_current_reply(session, proposal_id=proposal.id)
    if current is not None and state not in {State.rehandling, State.tracking}:
        if not draft.replace_confirmed:
            raise ReplaceNeeded(proposal.number)
        after = State.tracking if is_tracking(record.result_class) else State.replied
        event = EventRecord("reply", state, after, now, actor, {"replaced": "1"})
    else:
        step = transition(state, Action.reply, at=now, actor=actor, result_class=record.result_class)
        after = step.after
        event = event_record(step)
    reply = await add_reply(session, proposal_id=proposal.id, record=record, now=now)
    await set_state(session, proposal_id=proposal.id, state=after, event=event)
    notified = await _queue_reply_pushes(
        session,
        proposal_id=proposal.id,
        reply_id=reply.id,
        record=record,
        now=now,
        profile=profile,
        calendar=calendar,
        tz=tz,
        tokenizer=tokenizer,
        admin_ids=admin_ids,
    )
    return Registered(proposal.number, False, notified, record.result_text, record.result_class)


def _reply_fields(
    result: str | None, cls: str | None, signer: str | None, day: date | None, unit: str | None
) -> dict[str, str]:
    values = {"result": result, "result_class": cls, "signer": signer, "replied_on": day.isoformat() if day else None}
    return {k: v for k, v in (values | {"unit": unit}).items() if v}


async def _audit_reply(
    session: AsyncSession, proposal: Proposal, record: ReplyRecord, *, actor: Actor, now: datetime
) -> None:
    current = await find_current_reply(session, proposal_id=proposal.id) if record.letter_type == "reply" else None
    old = (
        {}
        if current is None
        else _reply_fields(current.result_text, current.result_class, current.signer, current.replied_on, None)
    )
    new = _reply_fields(record.result_text, record.result_class, record.signer, record.replied_on, record.unit)
    new["letter_type"] = record.letter_type
    subject = proposal_subject(proposal)
    await record_audit(session, [AuditRecord("reply", subject, old, new, proposal.id)], actor=actor, now=now)


async def _queue_reply_pushes(
    session: AsyncSession,
    *,
    proposal_id: int,
    reply_id: int,
    record: ReplyRecord,
    now: datetime,
    profile: Jurisdiction,
    calendar: WorkCalendar,
    tz: tzinfo,
    tokenizer: Tokenizer | None,
    admin_ids: Collection[int],
) -> int:
    """reply registered → deputies, co-signers and followers; feedback request → deputies, after N days."""
    proposal = await get_proposal(session, proposal_id=proposal_id)
    lead = next((a for a in proposal.assignments if a.active and a.role == "lead"), None)
    follower_ids: set[int] = set()
    follower_ids.update(await followers(session, kind="item", key=str(proposal.id)))
    follower_ids.update(await followers(session, kind="session", key=str(proposal.session_id)))
    if lead is not None:
        follower_ids.update(await followers(session, kind="unit", key=str(lead.unit_id)))
    text = f"{proposal.title} {record.summary}"
    tokens = set(tokenizer.cut_for_search(text)) if tokenizer is not None else set()
    for account_id, keyword in await keyword_follows(session):
        if _matches(keyword, tokens, text.lower()):
            follower_ids.add(account_id)
    deputy_ids = [d.deputy_id for d in proposal.deputies]
    accounts = await accounts_for(session, account_ids=follower_ids, deputy_ids=deputy_ids)
    card = await build_card(session, proposal_id=proposal.id)
    assert card is not None  # get_proposal found it in this transaction
    viewers = await push_viewers(session, accounts, admin_ids=admin_ids)
    params: dict[str, str | int] = {
        "proposal_id": proposal.id,
        "number": proposal.number,
        "title": proposal.title,
        "result": record.result_text or "—",
        "result_class": record.result_class or "?",
        "unit": record.unit or (lead.unit.name if lead else ""),
        "date": record.replied_on.isoformat() if record.replied_on else "—",
        "summary": record.summary,
    }
    # the access policy decides per recipient: the reply, its withheld notice, or nothing (an item they may not see)
    audience = [
        Audience(
            _view(a, profile, tz),
            own=a.role == "deputy" and a.deputy_id in deputy_ids,
            reads_reply=may_see_letter(card, viewers[a.id], public=record.public),
        )
        for a in accounts
        if may_see_item(card, viewers[a.id])
    ]
    plans = reply_plans(
        audience=audience, reply_id=reply_id, params=params, now=now, profile=profile, calendar=calendar
    )
    await queue_plans(session, plans, now=now)
    return len(audience)


@dataclass(frozen=True, slots=True)
class Rated:
    number: str
    rating: str
    due_on: date | None
    already: bool = False


async def rate_reply(
    session: AsyncSession,
    *,
    reply_id: int,
    rating: str,
    account: Account,
    reason: str | None,
    now: datetime,
    profile: Jurisdiction,
    calendar: WorkCalendar,
    tz: tzinfo,
    admin_ids: frozenset[int],
) -> Rated:
    """Record a deputy's rating; 不满意 starts re-handling (a new clock) and tells the unit and the admins.

    In the caller's transaction; raises NotYours or IllegalTransition before writing anything.
    """
    reply = await get_reply(session, reply_id=reply_id)
    proposal = await get_proposal(session, proposal_id=reply.proposal_id)
    if account.role != "deputy" or account.deputy_id not in {d.deputy_id for d in proposal.deputies}:
        raise NotYours(proposal.number)
    existing = await find_feedback(session, reply_id=reply.id, deputy_id=account.deputy_id)
    if existing is not None:
        return Rated(proposal.number, existing.rating, None, already=True)
    state = State(proposal.state)
    step = transition(state, Action.rate, at=now, actor=f"deputy:{account.deputy_id}", rating=rating)
    await add_feedback(
        session,
        reply_id=reply.id,
        proposal_id=proposal.id,
        rating=rating,
        now=now,
        deputy_id=account.deputy_id,
        reason=reason,
    )
    await cancel_pushes(session, dedup_key=f"rate:{reply.id}:{account.id}")
    event = event_record(step, rating=rating, **({"note": reason} if reason else {}))
    if step.after is not State.rehandling:
        await set_state(session, proposal_id=proposal.id, state=step.after, event=event)
        return Rated(proposal.number, rating, None)
    today = now.astimezone(tz).date()
    due = due_day(
        today, months=profile.rehandling_months, calendar=calendar, roll_to_workday=profile.roll_to_workday
    ).day
    await restart_clock(session, proposal_id=proposal.id, due_on=due, state=step.after, event=event)
    lead = next((a for a in proposal.assignments if a.active and a.role == "lead"), None)
    staff = await _unit_staff(session, unit_id=lead.unit_id if lead else None)
    admins = await admin_accounts(session, telegram_ids=admin_ids)
    params: dict[str, str | int] = {
        "proposal_id": proposal.id,
        "number": proposal.number,
        "title": proposal.title,
        "due_on": due.isoformat(),
        "reason": reason or "",
    }
    # admins come from the settings, whatever role their account has: they are pushed as office staff
    recipients = [_view(a, profile, tz) for a in staff] + [_view(a, profile, tz, role="admin") for a in admins]
    plans = unsatisfied_plans(
        recipients=recipients, reply_id=reply.id, params=params, now=now, profile=profile, calendar=calendar
    )
    await queue_plans(session, plans, now=now)
    return Rated(proposal.number, rating, due)


async def _unit_staff(session: AsyncSession, *, unit_id: int | None) -> list[Account]:
    if unit_id is None:
        return []
    return list(await unit_accounts(session, unit_id=unit_id))


__all__ = [
    "IllegalTransition",
    "NotYours",
    "Rated",
    "Registered",
    "ReplaceNeeded",
    "check_draft",
    "draft_from_letter",
    "rate_reply",
    "register_reply",
    "set_field",
]
