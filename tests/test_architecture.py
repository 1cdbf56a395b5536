"""The shape of the package, checked: one direction, small modules, one concern each."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "batchrun"
MAX_LINES = 500
SQL_MODULES = ("sqlite3", "sqlite_utils")
HTTP_MODULES = ("httpx",)


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_no_import_cycles_inside_the_package() -> None:
    modules = _modules()
    graph = {
        name: {dep for dep in _imports(path) if dep in modules} for name, path in modules.items()
    }
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        assert name not in visiting, " -> ".join([*visiting[visiting.index(name) :], name])
        visiting.append(name)
        for dep in sorted(graph[name]):
            visit(dep)
        visiting.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)


def test_no_module_is_over_500_lines() -> None:
    long = {
        name: lines
        for name, path in _modules().items()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_no_module_knows_both_sql_and_http() -> None:
    both = []
    for name, path in _modules().items():
        imported = {module.split(".")[0] for module in _imports(path)}
        if imported & set(SQL_MODULES) and imported & set(HTTP_MODULES):
            both.append(name)
    assert both == []


def test_the_store_imports_nothing_above_it() -> None:
    allowed = ("batchrun.state", "batchrun.errors", "batchrun.events", "batchrun.redaction")
    for name, path in _modules().items():
        if not name.startswith("batchrun.state"):
            continue
        above = [
            m for m in _imports(path) if m.startswith("batchrun") and not m.startswith(allowed)
        ]
        assert above == [], name


def test_commands_that_read_a_spec_do_not_load_the_http_client_or_the_display():
    """`validate` and `plan` of 100,000 tasks fit in 150 MB only without the modules they
    never use (about 20 MB); a new eager import would undo it unnoticed."""
    heavy = (
        "httpx",
        "aiohttp",
        "anyio",
        "rich",
        "jsonschema",
        "batchrun.scheduler",
        "batchrun.report",
    )
    probe = (
        "import sys, batchrun.cli; "
        "from batchrun.cli import cli; "
        "[cli.commands[name] for name in ('validate', 'plan')]; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r} "
        f"or m.startswith({heavy[-2:]!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout
