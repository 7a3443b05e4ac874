"""The import rules of DESIGN §5, written per folder and enforced on the source tree.

The checker reads files with `ast`, so nothing is imported or executed. A rule names a folder (or a loose module)
and the places of ours it may import; the pure folders also name the frameworks they must never touch. Every
place a rule names must exist, so a rule cannot go quietly stale when code moves.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS = frozenset({"telegram", "sqlalchemy", "apscheduler", "aiosqlite", "asyncpg", "alembic"})
#: Places of ours: an import is judged by its first two parts inside bot/ (bot.domain, bot.text) and its first
#: part elsewhere (storage, config).
OURS = frozenset({"bot", "handlers", "storage", "config", "bench", "tests"})


@dataclass(frozen=True, slots=True)
class Rule:
    """What the files under ``place`` (a folder or a module, relative to the root) may import."""

    place: str
    may_import: frozenset[str]
    no_frameworks: bool = False


def _rule(place: str, *may_import: str, pure: bool = False) -> Rule:
    return Rule(place, frozenset(may_import), no_frameworks=pure)


PURE = ("bot.domain", "config")
RULES = (
    _rule("bot/domain", *PURE, pure=True),
    _rule("bot/text.py", "config", pure=True),
    _rule("bot/files", "bot.files", "config", pure=True),
    _rule("bot/letters", *PURE, "bot.letters", "bot.files", "bot.text", pure=True),
    _rule("bot/render", *PURE, "bot.render", pure=True),
    _rule("bot/spreadsheets", *PURE, "bot.spreadsheets", "bot.files", pure=True),
    _rule("bot/telegram", *PURE, "bot.telegram", "bot.render"),
    _rule(
        "bot/delivery",
        *PURE,
        "bot.delivery",
        "bot.render",
        "bot.telegram",
        "bot.context",
        "storage",
    ),
    _rule(
        "bot/services",
        *PURE,
        "bot.services",
        "bot.delivery",
        "bot.letters",
        "bot.text",
        "bot.spreadsheets",
        "bot.render",
        "storage",
    ),
    _rule("bot/sandbox", *PURE, "bot.sandbox", "bot.app", "bot.context", "bot.services", "bot.telegram", "storage"),
    _rule("bot/context.py", *PURE, "bot.delivery", "bot.telegram", "bot.text", "storage"),
    _rule("bot/__main__.py", *PURE, "bot.app", "bot.letters", "bot.sandbox", "bot.services", "bot.telegram", "storage"),
    # the composition root wires everything, handlers included
    _rule(
        "bot/app.py",
        *PURE,
        "bot.context",
        "bot.delivery",
        "bot.render",
        "bot.telegram",
        "bot.text",
        "handlers",
        "storage",
    ),
    _rule(
        "handlers",
        *PURE,
        "handlers",
        "bot.context",
        "bot.letters",
        "bot.render",
        "bot.services",
        "bot.telegram",
        "bot.text",
        "storage",
    ),
    # storage builds the domain's values (the status card, a due assignment) from rows, and segments the text
    # it indexes for search with jieba (bot.text)
    _rule("storage", "storage", "bot.domain", "bot.text", "config"),
    _rule("config", "config", pure=True),
)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _place_of(name: str) -> str | None:
    """The place of ours an imported module belongs to (``bot.domain.clock`` → ``bot.domain``), or None."""
    parts = name.split(".")
    if parts[0] not in OURS:
        return None
    if parts[0] == "bot" and len(parts) > 1:
        return f"bot.{parts[1]}"
    return parts[0]


def _files(root: Path, place: str) -> list[Path]:
    target = root / place
    if target.is_file():
        return [target]
    return sorted(p for p in target.rglob("*.py") if "migrations/versions" not in p.as_posix())


def check(root: Path, rules: tuple[Rule, ...]) -> list[str]:
    """Every breach of ``rules`` under ``root``, one line each; a place a rule names that is missing is one too."""
    problems: list[str] = []
    for rule in rules:
        if not (root / rule.place).exists():
            problems.append(f"{rule.place}: named in the rules but missing")
            continue
        own = rule.place.removesuffix(".py").replace("/", ".")
        for path in _files(root, rule.place):
            for name in sorted(_imports(path)):
                place = _place_of(name)
                top = name.split(".")[0]
                if place is not None and place != own and place not in rule.may_import and top not in rule.may_import:
                    problems.append(f"{path.relative_to(root)} imports {name}")
                if rule.no_frameworks and top in FRAMEWORKS:
                    problems.append(f"{path.relative_to(root)} imports framework {name}")
    return problems


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.place)
def test_architecture_place_keeps_its_import_rule(rule: Rule) -> None:
    assert check(ROOT, (rule,)) == []


def test_architecture_rules_cover_every_module_of_the_core() -> None:
    """Each module of bot/, handlers/, storage/ and config/ falls under some rule, so none escapes the checker."""
    covered = {p for rule in RULES for p in _files(ROOT, rule.place)}
    loose_ok = {ROOT / "bot" / "__init__.py"}
    every = {p for pkg in ("bot", "handlers", "storage", "config") for p in _files(ROOT, pkg)}
    assert sorted(str(p.relative_to(ROOT)) for p in every - covered - loose_ok) == []


def test_architecture_bot_keeps_at_most_eight_loose_modules() -> None:
    assert len(list((ROOT / "bot").glob("*.py"))) <= 8


def test_architecture_every_bot_folder_says_what_belongs_there() -> None:
    folders = [p for p in (ROOT / "bot").rglob("*") if p.is_dir() and any(p.glob("*.py"))]
    missing = [
        str(f.relative_to(ROOT))
        for f in folders
        if not (f / "__init__.py").exists() or not ast.get_docstring(ast.parse((f / "__init__.py").read_text()))
    ]
    assert missing == []


def test_architecture_checker_finds_a_forbidden_import(tmp_path: Path) -> None:
    """The checker itself works: a domain module that imports storage, and one that imports telegram, both fail."""
    (tmp_path / "bot" / "domain").mkdir(parents=True)
    (tmp_path / "storage").mkdir()
    (tmp_path / "bot" / "domain" / "clock.py").write_text("from storage.models import Proposal\n")
    (tmp_path / "bot" / "domain" / "card.py").write_text("def f():\n    import telegram\n")
    (tmp_path / "storage" / "models.py").write_text("import config.settings\n")
    rules = (_rule("bot/domain", *PURE, pure=True), _rule("storage", "storage", "config"))
    assert check(tmp_path, rules) == [
        "bot/domain/card.py imports framework telegram",
        "bot/domain/clock.py imports storage.models",
    ]


def test_architecture_checker_fails_on_a_missing_place(tmp_path: Path) -> None:
    assert check(tmp_path, (_rule("bot/domain", *PURE, pure=True),)) == ["bot/domain: named in the rules but missing"]


def test_architecture_only_composition_root_imports_handlers() -> None:
    """The dispatcher and the rest of the core never import handlers/; only bot/app.py wires them."""
    bad = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _files(ROOT, "bot")
        if path.name != "app.py"
        for name in _imports(path)
        if name.split(".")[0] == "handlers"
    ]
    assert bad == []


def test_architecture_handlers_run_no_sql_and_read_no_wall_clock() -> None:
    """Handlers call storage repositories instead of writing SQL, and take time from the injected clock.

    They may name `AsyncSession` (sqlalchemy.ext.asyncio) to pass a transaction to a repository, nothing else.
    """
    bad = []
    for path in _files(ROOT, "handlers"):
        source = path.read_text(encoding="utf-8")
        for name in _imports(path):
            if name.split(".")[0] == "sqlalchemy" and name != "sqlalchemy.ext.asyncio":
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
        for needle in (".execute(", "select(", "datetime.now(", "date.today(", "time.time("):
            if needle in source:
                bad.append(f"{path.relative_to(ROOT)} uses {needle}")
    assert bad == []


@pytest.mark.parametrize("package", ["bot", "handlers", "storage", "config"])
def test_architecture_no_grab_bag_modules(package: str) -> None:
    names = {p.stem for p in _files(ROOT, package)}
    assert not names & {"utils", "helpers", "misc", "common"}


def test_architecture_only_the_delivery_queue_puts_rows_in_the_outbox() -> None:
    """One way to queue a push: bot/delivery/queue.py calls storage.outbox.enqueue; services, sweeps and the ticker
    hand it plans. (storage/outbox.py itself merges digests through it.)"""
    home = {ROOT / "bot" / "delivery" / "queue.py", ROOT / "storage" / "outbox.py"}
    bad = []
    for pkg in ("bot", "handlers", "storage", "bench"):
        for path in _files(ROOT, pkg):
            if path in home:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                imported = isinstance(node, ast.ImportFrom) and any(a.name == "enqueue" for a in node.names)
                called = isinstance(node, ast.Attribute) and node.attr == "enqueue" and _is_outbox(node.value)
                if imported or called:
                    bad.append(f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}")
    assert bad == []


def _is_outbox(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id == "outbox"


def test_architecture_one_number_key_function() -> None:
    """The leading-zero look-up key ("018" → "18", "000" → "0") is computed by bot.domain.lookup.number_key only."""
    home = ROOT / "bot" / "domain" / "lookup.py"
    bad = [
        str(path.relative_to(ROOT))
        for pkg in ("bot", "handlers", "storage", "bench")
        for path in _files(ROOT, pkg)
        if path != home and 'lstrip("0")' in path.read_text(encoding="utf-8")
    ]
    assert bad == []
