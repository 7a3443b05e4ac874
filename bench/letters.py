"""``python -m bench letters``: letter parsing throughput (parse, summary and keywords) after a warm-up.

The corpus is the seed letter plus the parser's test fixtures. The tokenizer is initialized once, outside the
timing, as the application does at start-up.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bot.letters.parser import parse_letter
from bot.text import Tokenizer, default_userdict

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"


def corpus() -> list[str]:
    """The seed letter first, then every fixture letter, as text."""
    paths = [FIXTURES / "000_22e5c766df40d68a.txt", *sorted((FIXTURES / "letters").glob("*.txt"))]
    return [path.read_text(encoding="utf-8") for path in paths]


def main(argv: list[str]) -> dict[str, float]:
    """Run the benchmark: ``letters_per_s`` over the whole corpus, the same for the seed letter alone (2,455
    characters, longer than most fixtures), CPU-time variants of both, and the corpus size ``letters``."""
    parser = argparse.ArgumentParser(prog="python -m bench letters", description=__doc__)
    parser.add_argument("--rounds", type=int, default=20, help="passes over the corpus (default 20)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed passes first (default 2)")
    args = parser.parse_args(argv)

    tokenizer = Tokenizer(default_userdict())
    started = time.perf_counter()
    tokenizer.initialize()
    init_s = time.perf_counter() - started

    texts = corpus()
    for _ in range(args.warmup):
        for text in texts:
            parse_letter(text, tokenizer=tokenizer)

    count = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(args.rounds):
        for text in texts:
            parse_letter(text, tokenizer=tokenizer)
            count += 1
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started

    seed = texts[0]
    seed_rounds = max(args.rounds, 10)
    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(seed_rounds):
        parse_letter(seed, tokenizer=tokenizer)
    seed_elapsed, seed_cpu = time.perf_counter() - started, time.process_time() - cpu_started

    # Wall-clock rates are the figures; the CPU-time rates tell how much of a shortfall is a busy machine.
    return {
        "letters_per_s": round(count / elapsed, 1),
        "seed_letters_per_s": round(seed_rounds / seed_elapsed, 1),
        "cpu_letters_per_s": round(count / cpu, 1),
        "cpu_seed_letters_per_s": round(seed_rounds / seed_cpu, 1),
        "letters": len(texts),
        "parsed": count,
        "tokenizer_init_s": round(init_s, 2),
    }


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(main(sys.argv[1:])))
