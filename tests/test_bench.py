"""Smoke tests of the benchmarks at a tiny scale: they run end to end and report every figure as a number.

No timing is asserted here (DESIGN §7: quality bars are measured in `bench/`, never in timed unit tests).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

import bench.__main__ as runner
from bench import search, seeding, startup, status
from storage.cards import build_card, card_reader
from storage.engine import create_sessionmaker
from storage.models import Event, Proposal, Reply, StatusCard
from storage.proposals import get_proposal


def _numbers(result: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        value = result[key]
        assert isinstance(value, int | float) and not isinstance(value, bool), (key, value)


async def test_seeding_load_stores_rows_the_orm_reads_back(engine: AsyncEngine) -> None:
    """Bulk-loaded rows read back through the ORM (aware times, dates, JSON), and the cards match the builder."""
    stats = await seeding.load(engine, 40, seed=3)
    assert (stats.items, stats.cards) == (40, 40)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Proposal)) == 40
        assert await s.scalar(select(func.count()).select_from(StatusCard)) == 40
        event = await s.scalar(select(Event).order_by(Event.id).limit(1))
        reply = await s.scalar(select(Reply).order_by(Reply.id).limit(1))
        proposal = await get_proposal(s, proposal_id=1)
        expected = await build_card(s, proposal_id=1)
    assert event is not None and event.at.tzinfo is not None and event.detail == {}
    assert reply is not None and reply.replied_on is not None and reply.body.endswith("日")
    assert proposal.deputies[0].role == "lead"
    reader = card_reader(engine)
    try:
        assert await reader.by_id(1) == expected
    finally:
        reader.close()


def test_status_bench_small_database_reports_every_figure(tmp_path: Path) -> None:
    argv = ["--items", "300", "--updates", "50", "--warmup", "10", "--rounds", "2", "--cache-dir", str(tmp_path)]
    result = status.main(argv)
    _numbers(
        result,
        (
            "throughput_ratio_vs_echo",
            "throughput_ratio_round_median",
            "p50_ms",
            "p99_ms",
            "items",
            "echo_p50_ms",
            "echo_updates_per_s",
            "status_updates_per_s",
            "rss_mb",
        ),
    )
    assert result["items"] == 300
    assert result["updates"] == 50
    assert result["spec_violations"] == 0
    assert sum(kind["count"] for kind in result["reply_kinds"].values()) == 50


def test_startup_bench_one_run_answers_the_seed_item() -> None:
    result = startup.main(["--runs", "1", "--timeout", "60"])
    _numbers(result, ("first_reply_s", "runs", "stop_s"))
    assert result["runs"] == 1
    assert result["spec_violations"] == 0


def test_bench_runner_prints_the_result_as_the_last_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fake(argv: list[str]) -> dict[str, Any]:
        print("progress line")
        return {"argv": argv, "figure": 1.5}

    monkeypatch.setattr(runner, "load", lambda name: fake)
    assert runner.main(["status", "--items", "7"]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert json.loads(last) == {"argv": ["--items", "7"], "figure": 1.5}


@pytest.mark.parametrize("argv", [["nosuch"], []])
def test_bench_runner_unknown_or_missing_name_exits_2(argv: list[str]) -> None:
    assert runner.main(argv) == 2


def test_bench_runner_absent_module_is_a_clear_error() -> None:
    with pytest.raises(LookupError, match=r"bench/nosuch\.py does not exist"):
        runner.load("nosuch")


def test_import_bench_small_sheet_reports_every_figure() -> None:
    result = runner.load("import")(["--rows", "30"])
    assert (result["rows"], result["created"], result["unchanged_on_reimport"]) == (30, 30, 30)
    for key in ("seconds", "read_seconds", "store_seconds", "reimport_seconds"):
        assert isinstance(result[key], float)


def test_search_bench_small_database_reports_every_figure(tmp_path: Path) -> None:
    argv = ["--items", "300", "--queries", "20", "--rounds", "1", "--warmup", "2", "--like-queries", "10"]
    result = search.main([*argv, "--cache-dir", str(tmp_path)])
    _numbers(result, ("p95_ms", "speedup_vs_like", "items", "p50_ms", "like_p50_ms", "found_share", "total_agreement"))
    assert (result["items"], result["queries"], result["like_queries"]) == (300, 20, 10)
    assert result["found_share"] > 0.5  # the queries are drawn from the corpus: most find something
