"""End-to-end matrix: every command and every button, for every role, including forged callback data.

Item 010 (deputy 马骏, unit 区教育局) is made non-public; 008 has a non-public reply (deputy 钱丽). For each role
the test sends every command and presses every kind of button with real, foreign, missing, 30-digit and
malformed ids, and checks that every update is answered, that no handler fails (no "出错了" and no ERROR log), that
nothing non-public reaches someone the access policy (bot/domain/access.py) keeps it from, and that what a role
may not do leaves the database exactly as it was.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from bot.render.i18n import t
from bot.sandbox.emulator import SentMessage
from bot.sandbox.harness import Sandbox
from config.settings import load_settings
from storage.cards import refresh_card
from storage.follows import MAX_FOLLOWS
from storage.models import Base, Proposal, Reply, Session, Subscription, Unit

AT = datetime(2024, 5, 6, 1, 0, tzinfo=UTC)  # a Monday morning in Shanghai
SECRET_TITLE = "心理健康"  # item 010's title, non-public
SECRET_RESULT = "列入计划拟解决"  # 008's non-public reply
HUGE = "9" * 30
GENERIC_ERROR = t("zh", "error.generic")
EXPIRED = t("zh", "button.expired")

ROLES = ["public", "deputy:钱丽", "deputy:马骏", "unit:区教育局", "unit:区建管委", "admin"]
OWN_010 = {"deputy:马骏", "unit:区教育局", "admin"}
OWN_008 = {"deputy:钱丽", "unit:区规资局", "admin"}
ADMIN_COMMANDS = [
    "/bind unit:区建管委",
    "/bind deputy:马骏",
    "/reply 018",
    "/grant 555",
    "/revoke 555",
    "/extend 010 2024-07-01",
    "/assign 010 区建管委",
    "/withdraw 010",
    "/audit",
    "/audit 010",
]


@dataclass(frozen=True)
class Ids:
    item_010: int
    item_018: int
    reply_008: int
    reply_018: int
    unit: int
    session: int


@pytest.fixture
async def sandbox(sqlite_url: str) -> AsyncIterator[Sandbox]:
    async with Sandbox(load_settings(database_url=sqlite_url), at=AT) as box:
        await box.load_demo()
        yield box
    assert box.emulator.violations == []
    assert box.emulator.unanswered_callbacks == []


async def _ids(sandbox: Sandbox) -> Ids:
    async with sandbox.deps.sessionmaker.begin() as session:
        by_number = {n: i for n, i in (await session.execute(select(Proposal.number, Proposal.id))).all()}
        await session.execute(update(Proposal).where(Proposal.id == by_number["010"]).values(public=False))
        await refresh_card(session, proposal_id=by_number["010"])
        reply_of = {p: i for p, i in (await session.execute(select(Reply.proposal_id, Reply.id))).all()}
        unit = await session.scalar(select(Unit.id).where(Unit.name == "区教育局"))
        sitting = await session.scalar(select(Session.id).limit(1))
    assert unit is not None and sitting is not None
    return Ids(
        by_number["010"], by_number["018"], reply_of[by_number["008"]], reply_of[by_number["018"]], unit, sitting
    )


async def dump(sandbox: Sandbox) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, in a stable order: two dumps are equal when nothing was written."""
    tables: dict[str, list[tuple[object, ...]]] = {}
    async with sandbox.deps.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = (await conn.execute(text(f"SELECT * FROM {table.name}"))).all()
            tables[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return tables


def _texts(messages: list[SentMessage]) -> str:
    return "\n".join(m.text for m in messages)


def _commands(ids: Ids) -> list[str]:
    return [
        "/start",
        "/help",
        "/status 010",
        "/status 008",
        "010",
        "/follow 010",
        "/unfollow 010",
        "/following",
        "/mine",
        "/due",
        "/overdue",
        "/settings",
        "/rate 008",
        "/rate 010",
        "/unbind",
        "/stats",
        "/search 中小学",
        "/search 拟解决",
        "中小学教育怎么样了",
        *ADMIN_COMMANDS,
        f"/status {HUGE}",
        f"/grant {HUGE}",
        "/nonsense",
        "随便说点什么",
    ]


def _buttons(ids: Ids) -> list[str]:
    """Callback data a client could send: real targets, another's non-public item, missing, 30-digit, malformed."""
    data: list[str] = []
    for target in (str(ids.item_010), "999999", HUGE, "-1", "0"):
        data += [f"card:{target}", f"tl:{target}", f"full:{target}", f"fo:{target}", f"rpi:{target}"]
        data += [f"fi:item:{target}", f"uf:{target}", f"uf:item:{target}", f"rsk:{target}"]
        data += [f"rate:{target}:s", f"rate:{target}:u"]
    for target in ("999999", HUGE):
        data += [f"fi:unit:{target}", f"fi:session:{target}", f"adm:g:{target}", f"adm:r:{target}"]
    data += [f"rate:{ids.reply_008}:s", f"rate:{ids.reply_008}:u", f"rsk:{ids.reply_008}"]
    data += ["rp:ok", "rp:abcdefgh:ok", "rp:abcdefgh:replace", "rp:abcdefgh:f:title", "rp:abcdefgh:cancel"]
    data += ["sr:1:0", "sr:999999:9999", f"sr:{HUGE}:1", "sr:1:99999", "sr:١:0"]
    data += ["set:lang:xx", "set:quiet:" + "9" * 16, "zz:1", "card:1:2", "card:", ":", "tl:١٢", "card:１"]
    return data


def _leaks(role: str, answer: str) -> list[str]:
    leaks = []
    if role not in OWN_010 and SECRET_TITLE in answer:
        leaks.append(SECRET_TITLE)
    if role not in OWN_008 and SECRET_RESULT in answer:
        leaks.append(SECRET_RESULT)
    return leaks


@pytest.mark.parametrize("role", ROLES)
async def test_every_command_for_every_role_is_answered_and_leaks_nothing(
    sandbox: Sandbox, role: str, caplog: pytest.LogCaptureFixture
) -> None:
    ids = await _ids(sandbox)
    await sandbox.use(role)
    for command in _commands(ids):
        with caplog.at_level(logging.ERROR):
            answer = _texts(await sandbox.say(command))
        assert answer, f"{role} {command}: no answer"
        assert GENERIC_ERROR not in answer, f"{role} {command}: {answer}"
        assert _leaks(role, answer) == [], f"{role} {command}: {answer}"
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
async def test_admin_commands_are_refused_and_write_nothing(sandbox: Sandbox, role: str) -> None:
    await _ids(sandbox)
    await sandbox.use(role)
    await sandbox.say("/settings")  # first contact makes the account, so what follows has nothing to create
    before = await dump(sandbox)
    for command in [*ADMIN_COMMANDS, "/overdue" if role.startswith(("public", "deputy")) else "/help"]:
        answer = _texts(await sandbox.say(command))
        assert "管理员" in answer or "仅供" in answer, f"{role} {command}: {answer}"
    assert await dump(sandbox) == before


@pytest.mark.parametrize("role", ["public", "deputy:钱丽", "deputy:马骏"])
async def test_stats_is_refused_with_no_chart_and_writes_nothing(sandbox: Sandbox, role: str) -> None:
    """/stats is for admins and unit staff (their unit): the public and deputies get a refusal, no photo."""
    await sandbox.use(role)
    await sandbox.say("/settings")  # first contact makes the account, so what follows has nothing to create
    before = await dump(sandbox)
    answers = await sandbox.say("/stats")
    assert [(m.kind, m.text) for m in answers] == [("message", t("zh", "auth.stats_only"))]
    assert await dump(sandbox) == before


@pytest.mark.parametrize("role", ROLES)
async def test_every_button_with_forged_data_is_answered_and_leaks_nothing(
    sandbox: Sandbox, role: str, caplog: pytest.LogCaptureFixture
) -> None:
    ids = await _ids(sandbox)
    user = await sandbox.use(role)
    [card] = await sandbox.say("/status 018")
    for data in _buttons(ids):
        forged = sandbox.emulator.forged_callback_update(user, card.message_id, data)
        with caplog.at_level(logging.ERROR):
            answer = _texts(await sandbox.feed(forged))
        assert sandbox.emulator.unanswered_callbacks == [], f"{role} {data}: press not answered"
        assert GENERIC_ERROR not in answer, f"{role} {data}: {answer}"
        assert _leaks(role, answer) == [], f"{role} {data}: {answer}"
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("role", ["public", "deputy:钱丽", "unit:区建管委"])
async def test_forged_buttons_from_outsiders_change_nothing(sandbox: Sandbox, role: str) -> None:
    """Presses on 010 (not theirs), 008's reply (not theirs), missing or 30-digit ids: the database stays as it was."""
    ids = await _ids(sandbox)
    user = await sandbox.use(role)
    await sandbox.say("/settings")  # first contact makes the account, so what follows has nothing to create
    [card] = await sandbox.say("/status 018")
    before = await dump(sandbox)
    own_008 = role in OWN_008
    for data in _buttons(ids):
        if own_008 and data.startswith(("rate:", "rsk:")):
            continue
        await sandbox.feed(sandbox.emulator.forged_callback_update(user, card.message_id, data))
    assert await dump(sandbox) == before


@pytest.mark.parametrize("data", ["zz:1", f"card:{HUGE}", f"tl:{HUGE}", "rp:ok", "card:1:2", "fi:keyword:x"])
@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_a_press_matching_nothing_says_the_button_has_expired(sandbox: Sandbox, data: str, lang: str) -> None:
    user = sandbox.emulator.add_user(user_id=61234, first_name="Visitor", language_code="en" if lang == "en" else "zh")
    [card] = await sandbox.feed(sandbox.emulator.message_update(user, "/status 018"))
    answers = await sandbox.feed(sandbox.emulator.forged_callback_update(user, card.message_id, data))
    assert [m.text for m in answers] == [t(lang, "button.expired")]
    assert sandbox.emulator.callback_answers[-1].text == t(lang, "button.expired")


SEED = Path(__file__).parent / "fixtures" / "000_22e5c766df40d68a.txt"


async def _reply_count(sandbox: Sandbox, proposal_id: int) -> int:
    async with sandbox.deps.sessionmaker() as session:
        return len((await session.scalars(select(Reply.id).where(Reply.proposal_id == proposal_id))).all())


async def test_confirm_on_an_older_preview_has_expired_and_registers_nothing(sandbox: Sandbox) -> None:
    """Preview a letter for 003, then one for 010; 确认 under the 003 preview must not register it for 010."""
    ids = await _ids(sandbox)
    await sandbox.use("admin")
    [older] = await sandbox.upload(SEED, "/reply 003")
    [newer] = await sandbox.upload(SEED, "/reply 010")
    assert "010" in newer.text
    confirm = next(b.callback_data for row in older.buttons for b in row if b.label == "✅ 确认")
    assert confirm is not None
    admin = sandbox._user()
    answers = await sandbox.feed(sandbox.emulator.callback_update(admin, older.message_id, confirm))
    assert [m.text for m in answers] == [t("zh", "reply.expired")]
    assert await _reply_count(sandbox, ids.item_010) == 0
    confirmed = _texts(await sandbox.press("✅ 确认"))  # the newer preview's own button still works
    assert "010" in confirmed and await _reply_count(sandbox, ids.item_010) == 1


async def test_forged_reply_item_button_from_the_public_sets_no_reply_target(sandbox: Sandbox) -> None:
    ids = await _ids(sandbox)
    user = await sandbox.use("public")
    [card] = await sandbox.say("/status 018")
    [refused] = await sandbox.feed(
        sandbox.emulator.forged_callback_update(user, card.message_id, f"rpi:{ids.item_018}")
    )
    assert "管理员" in refused.text
    assert "reply_for" not in sandbox.app.user_data.get(user.user_id, {})


async def test_follows_name_existing_targets_and_stop_at_the_cap(sandbox: Sandbox) -> None:
    user = await sandbox.use("public")
    [card] = await sandbox.say("/status 018")
    for data in ("fi:item:999999", "fi:unit:999999", "fi:session:999999"):
        [refused] = await sandbox.feed(sandbox.emulator.forged_callback_update(user, card.message_id, data))
        assert refused.text == t("zh", "follow.unknown_target")
    for i in range(MAX_FOLLOWS):
        await sandbox.say(f"/follow keyword 词{i}")
    [full] = await sandbox.say("/follow keyword 再来一个")
    assert full.text == t("zh", "follow.too_many", limit=MAX_FOLLOWS)
    listing = await sandbox.say("/following")
    assert sum(len(row) for m in listing for row in m.buttons) <= 100  # Telegram's most buttons per keyboard
    async with sandbox.deps.sessionmaker() as session:
        held = (await session.scalars(select(Subscription.id))).all()
    assert len(held) == MAX_FOLLOWS
