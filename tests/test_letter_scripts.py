"""Issue 14 class 8: a traditional-script letter is parsed on its normalized (simplified) copy, its printed values
come back in its own script, and matching against stored items compares the normalized copies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import opencc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.letters.parser import fold_text, normalize_text, parse_letter, to_simplified
from bot.sandbox.harness import Sandbox
from config.settings import load_settings

FIXTURES = Path(__file__).parent / "fixtures"
SEED = (FIXTURES / "000_22e5c766df40d68a.txt").read_text(encoding="utf-8")
S2T = opencc.OpenCC("s2t")
TRADITIONAL_SEED = S2T.convert(SEED)
#: The closed sets and the numbers: the same whatever the script.
CLOSED = ("letter_type", "kind", "number", "result_class", "date", "public")


def _printed(fields: dict[str, object]) -> dict[str, object]:
    session = fields["session"]
    contact = fields["contact"]
    assert isinstance(session, dict) and isinstance(contact, dict) and isinstance(fields["proposers"], list)
    return {
        "region": session["region"],
        "proposers": fields["proposers"],
        "title": fields["title"],
        "result": fields["result"],
        "signer": fields["signer"],
        "unit": fields["unit"],
        "contact": [contact["name"], contact["address"]],
    }


def test_traditional_seed_letter_keeps_its_script_in_every_printed_field() -> None:
    assert TRADITIONAL_SEED != SEED
    seed = parse_letter(SEED).to_json()
    traditional = parse_letter(TRADITIONAL_SEED).to_json()
    assert {k: traditional[k] for k in CLOSED} == {k: seed[k] for k in CLOSED}
    converted = {k: S2T.convert(v) if isinstance(v, str) else v for k, v in _printed(seed).items()}
    converted["proposers"] = [S2T.convert(p) for p in seed["proposers"]]
    converted["contact"] = [S2T.convert(v) for v in converted["contact"]]  # type: ignore[union-attr]
    assert _printed(traditional) == converted
    assert traditional["title"] == "關於高標準打造“上海硅巷”科創街區，加速集聚科創型企業的建議"
    assert traditional["unit"] == "長寧區科學技術委員會"
    assert traditional["session"] == {"region": "長寧區", "body": "人大", "term": 17, "sitting": 5}


def test_half_converted_title_comes_out_as_printed() -> None:
    mixed = SEED.replace("关于高标准打造", "關於高標準打造")
    assert parse_letter(mixed).title == "關於高標準打造“上海硅巷”科创街区，加速集聚科创型企业的建议"


@pytest.mark.parametrize(
    ("salutation", "proposers"),
    [("康紅恩、鄭嘉欣代表：", ("康紅恩", "鄭嘉欣")), ("鄭嘉欣代表：", ("鄭嘉欣",))],
)
def test_traditional_proposer_names_keep_their_script(salutation: str, proposers: tuple[str, ...]) -> None:
    assert parse_letter(TRADITIONAL_SEED.replace("康紅恩代表：", salutation)).proposers == proposers


def test_summary_keeps_the_script_and_keywords_stay_normalized() -> None:
    from bot.text import Tokenizer, default_userdict

    tokenizer = Tokenizer(default_userdict())
    tokenizer.initialize()
    letter = parse_letter(TRADITIONAL_SEED, tokenizer=tokenizer)
    assert letter.summary and letter.summary == S2T.convert(parse_letter(SEED, tokenizer=tokenizer).summary)
    assert letter.keywords == parse_letter(SEED, tokenizer=tokenizer).keywords


def test_normalized_copy_matches_simplified_text() -> None:
    assert normalize_text("長寧區科學技術委員會") == "长宁区科学技术委员会"
    assert normalize_text("辦理結果:A (10:30, 1,000)") == "办理结果：A （10:30， 1,000）"
    assert fold_text("辦理結果:A") == "辦理結果：A"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("關於長寧區發髮後乾隆頭著瞭解裡藉\n abc1：（）"), max_size=60) | st.text())
def test_to_simplified_keeps_every_offset(text: str) -> None:
    assert len(to_simplified(text)) == len(text)
    assert to_simplified(text).count("\n") == text.count("\n")


@pytest.fixture
async def sandbox(sqlite_url: str) -> AsyncIterator[Sandbox]:
    async with Sandbox(load_settings(database_url=sqlite_url), at=datetime(2024, 4, 20, 1, 0, tzinfo=UTC)) as box:
        await box.load_demo()
        yield box
    assert box.emulator.violations == []


async def test_traditional_letter_finds_its_item_and_matches_deputy_and_unit(sandbox: Sandbox, tmp_path: Path) -> None:
    await sandbox.use("admin")
    path = tmp_path / "letter.txt"
    path.write_text(TRADITIONAL_SEED, encoding="utf-8")
    [preview] = await sandbox.upload(path)  # no caption: found by its number and its 長寧區 sitting
    assert "对应：第 018 号" in preview.text
    assert "長寧區科學技術委員會" in preview.text
    assert "康紅恩" in preview.text
    assert "不在该建议的代表名单" not in preview.text  # 康紅恩 is the item's 康红恩
    assert "不是该建议的主办单位" not in preview.text
