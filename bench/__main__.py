"""``python -m bench NAME [options]``: run one benchmark; the last line of stdout is one JSON object of figures.

Each benchmark is a module ``bench/<name>.py`` with ``main(argv: list[str]) -> dict``. It prints progress as it
goes; this runner prints the dict it returns as a single JSON line, last, so scripts can read ``tail -n 1``.
Modules are imported only when asked for, so one missing or broken benchmark does not stop the others.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable
from typing import Any

BENCHMARKS = {
    "status": "status look-ups through the in-process emulator vs a bare echo handler",
    "startup": "process start to the first answered command, over a loopback Bot API",
    "letters": "reply-letter parsing throughput",
    "search": "Chinese full-text search vs a LIKE scan",
    "fanout": "outbox delivery against the emulator's rate limits, with crashes",
    "sweep": "deadline sweep cost at 10k vs 100k items",
    "import": "an N-row .xlsx import into an empty database, then a re-import (--rows N, --db URL)",
}


def usage() -> str:
    width = max(map(len, BENCHMARKS))
    lines = ["usage: python -m bench NAME [options]   (python -m bench NAME --help for a benchmark's options)", ""]
    lines += [f"  {name:<{width}}  {about}" for name, about in BENCHMARKS.items()]
    return "\n".join(lines)


def load(name: str) -> Callable[[list[str]], dict[str, Any]]:
    """The ``main`` of ``bench/<name>.py``; raises LookupError if that benchmark is not there."""
    module_name = f"bench.{name}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise LookupError(f"benchmark {name!r} is not available: bench/{name}.py does not exist yet") from exc
        raise
    entry: Callable[[list[str]], dict[str, Any]] | None = getattr(module, "main", None)
    if entry is None:
        raise LookupError(f"benchmark {name!r} is not runnable: bench/{name}.py has no main(argv)")
    return entry


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print(usage(), file=sys.stderr)
        return 2
    if args[0] in {"-h", "--help"}:
        print(usage())
        return 0
    name, rest = args[0], args[1:]
    if name not in BENCHMARKS:
        print(f"python -m bench: unknown benchmark {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    try:
        entry = load(name)
    except LookupError as exc:
        print(f"python -m bench: {exc}", file=sys.stderr)
        return 2
    result = entry(rest)
    sys.stdout.flush()
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
