"""The one access policy: what each role may see and do. Pure: it reads a card and a viewer, nothing else.

- public: public items and their public replies;
- deputy: also their own items (lead or co-signer) and those items' non-public replies;
- unit staff: also their unit's items (lead, co-handling or split);
- admin: everything.

A group chat is read by everyone in it, so there every viewer is public (`viewer_in_chat`).

Handlers, buttons, lists, timelines, pushes, digests, keyword matches and exports ask these functions; none of
them decides on its own. Admins are never a stored fact: `is_admin_id` derives the role from the settings'
PROPOSAL_BOT_ADMINS plus the grants recorded in the database, at every update.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.card import Card

__all__ = [
    "ADMIN",
    "PUBLIC",
    "Action",
    "Viewer",
    "account_viewer",
    "is_admin_id",
    "is_own",
    "may_act",
    "may_rate",
    "may_read_reply_text",
    "may_see_item",
    "may_see_letter",
    "may_see_rating_reason",
    "may_see_reply",
    "may_see_timeline",
    "viewer_in_chat",
]


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking or acting: a role and the deputy or unit the account is bound to."""

    role: str = "public"  # public | deputy | unit | admin
    deputy_id: int | None = None
    unit_id: int | None = None

    @property
    def admin(self) -> bool:
        return self.role == "admin"


PUBLIC = Viewer()
ADMIN = Viewer(role="admin")


class Action(StrEnum):
    """What a viewer may do beyond looking. Admin actions are the office's; the others are per role."""

    reply = "reply"  # /reply and its preview buttons
    bind = "bind"  # /bind: make a binding link
    grant = "grant"  # /grant, /revoke
    import_ = "import"  # /import
    export = "export"  # /export
    stats = "stats"  # /stats: admins (every unit) and unit staff (their unit's counts only)
    lifecycle = "lifecycle"  # /extend, /assign, /withdraw
    audit = "audit"  # /audit
    dead_pushes = "dead_pushes"  # the dead-letter list under /overdue
    due_lists = "due_lists"  # /due, /overdue: admins (every unit) and unit staff (their unit)
    mine = "mine"  # /mine: deputies and unit staff


ADMIN_ACTIONS = frozenset(
    {
        Action.reply,
        Action.bind,
        Action.grant,
        Action.import_,
        Action.export,
        Action.lifecycle,
        Action.audit,
        Action.dead_pushes,
    }
)


def is_admin_id(telegram_id: int, *, listed: Collection[int], granted: Collection[int]) -> bool:
    """An admin is listed in PROPOSAL_BOT_ADMINS or holds a grant recorded in the database; nothing else counts."""
    return telegram_id in listed or telegram_id in granted


def account_viewer(*, admin: bool, role: str, deputy_id: int | None, unit_id: int | None) -> Viewer:
    """The viewer a stored account stands for: `admin` as `is_admin_id` derived it (a stored `admin` role counts
    for nothing), else a deputy or unit binding, else public."""
    if admin:
        return ADMIN
    if role in {"deputy", "unit"}:
        return Viewer(role=role, deputy_id=deputy_id, unit_id=unit_id)
    return PUBLIC


def viewer_in_chat(viewer: Viewer, *, private_chat: bool) -> Viewer:
    """Who a chat's answers are for: in a group everyone reads them, so they show public content only (and
    grant no role's rights), whoever asked; in the private chat, the viewer themselves."""
    return viewer if private_chat else PUBLIC


def may_act(viewer: Viewer, action: Action) -> bool:
    """Whether the viewer may do `action` at all (per item checks, such as rating, are separate)."""
    if viewer.admin:
        return True
    if action in ADMIN_ACTIONS:
        return False
    if action in (Action.due_lists, Action.stats):
        return viewer.role == "unit" and viewer.unit_id is not None
    if action is Action.mine:
        return (viewer.role == "deputy" and viewer.deputy_id is not None) or (
            viewer.role == "unit" and viewer.unit_id is not None
        )
    return False


def is_own(card: Card, viewer: Viewer) -> bool:
    """The item is the viewer's: an admin, one of its deputies (lead or co-signer), or staff of one of its units."""
    if viewer.admin:
        return True
    if viewer.role == "deputy" and viewer.deputy_id is not None:
        return any(d["id"] == viewer.deputy_id for d in card["deputies"])
    if viewer.role == "unit" and viewer.unit_id is not None:
        return any(u["id"] == viewer.unit_id for u in card["units"])
    return False


def may_see_item(card: Card, viewer: Viewer) -> bool:
    """The item's title, body, people and history: public items to everyone, non-public ones to their own."""
    return bool(card.get("public", True)) or is_own(card, viewer)


def may_see_letter(card: Card, viewer: Viewer, *, public: bool | None) -> bool:
    """A reply letter of this item (the current one, or one being registered) whose own flag is `public`:
    when the item may be seen and the letter is public (unset counts as public) or the item is the viewer's."""
    return may_see_item(card, viewer) and (public is not False or is_own(card, viewer))


def may_see_reply(card: Card, viewer: Viewer) -> bool:
    """The current reply's result, summary and rating: when the item may be seen and the reply is public or own."""
    reply = card["reply"]
    return reply is not None and may_see_letter(card, viewer, public=reply["public"])


def may_read_reply_text(card: Card, viewer: Viewer) -> bool:
    """May this viewer read this item's reply text (the letter, its summary, its keywords)?

    The question keyword follows ask before matching a reply, and the full-reply button before sending it.
    """
    return may_see_reply(card, viewer)


def may_see_timeline(card: Card, viewer: Viewer) -> bool:
    """The event log: only for an item the viewer may see (the history of a non-public item is non-public)."""
    return may_see_item(card, viewer)


def may_see_rating_reason(card: Card, viewer: Viewer) -> bool:
    """A 不满意 reason is free text (it may hold a phone number): admins, the item's units, its deputies."""
    return is_own(card, viewer)


def may_rate(card: Card, viewer: Viewer) -> bool:
    """Only the item's own deputies (lead or co-signers) rate its formal reply."""
    return (
        viewer.role == "deputy"
        and viewer.deputy_id is not None
        and any(d["id"] == viewer.deputy_id for d in card["deputies"])
    )
