"""The import rules of DESIGN §5, enforced on the source tree (AST, so nothing is imported or executed)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PURE_MODULES = (
    "bot/domain/clock.py",
    "bot/domain/lifecycle.py",
    "bot/letters/parser.py",
    "bot/text.py",
    "bot/domain/lookup.py",
    "bot/render/cards.py",
    "bot/delivery/planner.py",
)
FRAMEWORKS = ("telegram", "sqlalchemy", "apscheduler", "aiosqlite", "asyncpg", "alembic")
ALLOWED = {
    "bot": {"bot", "storage", "config", "handlers"},  # handlers only from the composition root, see below
    "handlers": {"bot", "storage", "config", "handlers"},
    "storage": {"storage", "config"},
    "config": {"config"},
}
OURS = {"bot", "handlers", "storage", "config", "bench", "tests"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_architecture_package_imports_only_allowed_packages(package: str) -> None:
    bad = []
    for path in _files(package):
        if "migrations/versions" in path.as_posix():
            continue
        for name in _imports(path):
            top = name.split(".")[0]
            if top in OURS and top not in ALLOWED[package]:
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert bad == []


def test_architecture_only_composition_root_imports_handlers() -> None:
    """The dispatcher and the rest of the core never import handlers/; only bot/app.py wires them."""
    bad = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _files("bot")
        if path.name != "app.py"
        for name in _imports(path)
        if name.split(".")[0] == "handlers"
    ]
    assert bad == []


@pytest.mark.parametrize("module", [m for m in PURE_MODULES if (ROOT / m).exists()])
def test_architecture_pure_module_imports_no_framework(module: str) -> None:
    path = ROOT / module
    bad = sorted(n for n in _imports(path) if n.split(".")[0] in FRAMEWORKS)
    assert bad == []


def test_architecture_handlers_run_no_sql_and_read_no_wall_clock() -> None:
    """Handlers call storage repositories instead of writing SQL, and take time from the injected clock.

    They may name `AsyncSession` (sqlalchemy.ext.asyncio) to pass a transaction to a repository, nothing else.
    """
    bad = []
    for path in _files("handlers"):
        source = path.read_text(encoding="utf-8")
        for name in _imports(path):
            if name.split(".")[0] == "sqlalchemy" and name != "sqlalchemy.ext.asyncio":
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
        for needle in (".execute(", "select(", "datetime.now(", "date.today(", "time.time("):
            if needle in source:
                bad.append(f"{path.relative_to(ROOT)} uses {needle}")
    assert bad == []


def test_architecture_no_grab_bag_modules() -> None:
    names = {p.stem for pkg in ALLOWED for p in _files(pkg)}
    assert not names & {"utils", "helpers", "misc", "common"}
