"""The access policy (bot/domain/access.py), table-driven: who may see and do what, per role."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.access import (
    ADMIN,
    PUBLIC,
    Action,
    Viewer,
    account_viewer,
    is_admin_id,
    may_act,
    may_rate,
    may_read_reply_text,
    may_see_item,
    may_see_letter,
    may_see_rating_reason,
    may_see_reply,
    may_see_timeline,
)
from bot.domain.card import Card

OWN_DEPUTY = Viewer(role="deputy", deputy_id=1)
CO_SIGNER = Viewer(role="deputy", deputy_id=2)
OTHER_DEPUTY = Viewer(role="deputy", deputy_id=9)
OWN_UNIT = Viewer(role="unit", unit_id=5)
CO_UNIT = Viewer(role="unit", unit_id=6)
OTHER_UNIT = Viewer(role="unit", unit_id=99)
UNBOUND_DEPUTY = Viewer(role="deputy")  # a role without its binding sees what the public sees
UNBOUND_UNIT = Viewer(role="unit")


def _card(*, public: bool = True, reply_public: bool | None = True) -> Card:
    reply: Any = None
    if reply_public is not None:
        reply = {
            "result": "解决或采纳",
            "result_class": "A",
            "replied_on": "2024-04-29",
            "signer": "詹镭",
            "unit": "长宁区科学技术委员会",
            "public": reply_public,
            "summary": "…",
            "has_text": True,
            "rating": None,
        }
    return {
        "id": 10,
        "session": {"id": 1, "region": "长宁区", "body": "congress", "term": 17, "sitting": 5},
        "number": "010",
        "kind": "代表建议",
        "title": "关于……的建议",
        "state": "replied",
        "key_supervised": False,
        "public": public,
        "deputies": [{"id": 1, "name": "甲", "role": "lead"}, {"id": 2, "name": "乙", "role": "co_signer"}],
        "units": [
            {"id": 5, "name": "区科委", "role": "lead", "received_on": None, "due_on": None, "original_due_on": None},
            {"id": 6, "name": "区财政局", "role": "co", "received_on": None, "due_on": None, "original_due_on": None},
        ],
        "reply": reply,
    }


OWNERS = [ADMIN, OWN_DEPUTY, CO_SIGNER, OWN_UNIT, CO_UNIT]
OUTSIDERS = [PUBLIC, OTHER_DEPUTY, OTHER_UNIT, UNBOUND_DEPUTY]


@pytest.mark.parametrize("viewer", OWNERS + OUTSIDERS)
def test_access_public_item_with_public_reply_is_seen_by_everyone(viewer: Viewer) -> None:
    card = _card()
    assert may_see_item(card, viewer) and may_see_reply(card, viewer) and may_read_reply_text(card, viewer)
    assert may_see_timeline(card, viewer)


@pytest.mark.parametrize("viewer", OWNERS)
def test_access_non_public_reply_is_read_by_its_own(viewer: Viewer) -> None:
    card = _card(reply_public=False)
    assert may_read_reply_text(card, viewer) and may_see_rating_reason(card, viewer)


@pytest.mark.parametrize("viewer", OUTSIDERS)
def test_access_non_public_reply_is_withheld_from_outsiders(viewer: Viewer) -> None:
    card = _card(reply_public=False)
    assert may_see_item(card, viewer)  # the item itself is public
    assert not may_see_reply(card, viewer) and not may_read_reply_text(card, viewer)
    assert not may_see_rating_reason(card, viewer)


@pytest.mark.parametrize("viewer", OUTSIDERS)
def test_access_non_public_item_is_withheld_whole_from_outsiders(viewer: Viewer) -> None:
    card = _card(public=False, reply_public=True)  # a public reply on a non-public item is still non-public
    assert not may_see_item(card, viewer) and not may_see_timeline(card, viewer)
    assert not may_read_reply_text(card, viewer)


@pytest.mark.parametrize("viewer", OWNERS)
def test_access_non_public_item_is_seen_by_its_own(viewer: Viewer) -> None:
    card = _card(public=False, reply_public=False)
    assert may_see_item(card, viewer) and may_see_timeline(card, viewer) and may_read_reply_text(card, viewer)


def test_access_no_reply_means_nothing_to_read() -> None:
    assert not may_read_reply_text(_card(reply_public=None), ADMIN)


@pytest.mark.parametrize(
    ("viewer", "allowed"),
    [(OWN_DEPUTY, True), (CO_SIGNER, True), (OTHER_DEPUTY, False), (ADMIN, False), (OWN_UNIT, False), (PUBLIC, False)],
)
def test_access_only_the_items_deputies_rate(viewer: Viewer, allowed: bool) -> None:
    assert may_rate(_card(), viewer) is allowed


@pytest.mark.parametrize("action", list(Action))
def test_access_admin_may_do_everything(action: Action) -> None:
    assert may_act(ADMIN, action)


@pytest.mark.parametrize("action", list(Action))
def test_access_public_may_do_nothing(action: Action) -> None:
    assert not may_act(PUBLIC, action)
    assert not may_act(UNBOUND_UNIT, action)  # a role without its binding may do nothing either


@pytest.mark.parametrize(
    ("viewer", "due", "mine", "reply"),
    [(OWN_UNIT, True, True, False), (OWN_DEPUTY, False, True, False), (UNBOUND_DEPUTY, False, False, False)],
)
def test_access_roles_and_their_lists(viewer: Viewer, due: bool, mine: bool, reply: bool) -> None:
    assert may_act(viewer, Action.due_lists) is due
    assert may_act(viewer, Action.stats) is due  # /stats: unit staff (their unit), like the due lists
    assert may_act(viewer, Action.mine) is mine
    assert may_act(viewer, Action.reply) is reply


def test_access_admin_is_listed_or_granted_never_stored() -> None:
    assert is_admin_id(1, listed={1}, granted=set())
    assert is_admin_id(2, listed={1}, granted={2})
    assert not is_admin_id(3, listed={1}, granted={2})


@pytest.mark.parametrize("viewer", OWNERS)
def test_access_a_letter_being_registered_is_read_by_the_item_s_own(viewer: Viewer) -> None:
    for public_item in (True, False):
        assert may_see_letter(_card(public=public_item, reply_public=None), viewer, public=False)


@pytest.mark.parametrize("viewer", OUTSIDERS)
def test_access_a_letter_being_registered_follows_its_flag_and_the_item_for_outsiders(viewer: Viewer) -> None:
    assert may_see_letter(_card(reply_public=None), viewer, public=None)  # unset counts as public
    assert not may_see_letter(_card(reply_public=None), viewer, public=False)
    assert not may_see_letter(_card(public=False, reply_public=None), viewer, public=True)


def test_access_account_viewer_trusts_no_stored_admin_role() -> None:
    assert account_viewer(admin=False, role="admin", deputy_id=None, unit_id=None) == PUBLIC
    assert account_viewer(admin=True, role="public", deputy_id=None, unit_id=None) == ADMIN
    assert account_viewer(admin=False, role="unit", deputy_id=None, unit_id=5) == OWN_UNIT
    assert account_viewer(admin=False, role="deputy", deputy_id=1, unit_id=None) == OWN_DEPUTY
