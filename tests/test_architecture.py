"""The layers of the code (README, "How the code is laid out"), checked on the import
graph of every module (parsed, not imported):

- the domain core (catalog, sla, orders, ledger, incidents, bookings,
  mission_critical, and the shared errors, refusal, datafile, access and clock)
  knows nothing of HTTP, SQL, templates, mail or the command line: it imports no
  adapter, no use case and no framework;
- the use cases (``services``) import the core and the infrastructure adapters
  (storage, notifications) but never the API, the pages or the command line;
- the API, the pages and the command line import the use cases and the core, and
  not each other — except the composition roots named in ``COMPOSITION``;
- no two packages import each other, directly or in a longer cycle.

Imports made only for type checking (``if TYPE_CHECKING:``) are not dependencies
and are left out. A failure names the importing module, the line and the import."""

from __future__ import annotations

import ast
from collections import defaultdict
from functools import cache
from itertools import pairwise
from pathlib import Path

import pytest

ROOT = "unisupport"
PACKAGE = Path(__file__).resolve().parents[1] / "src" / ROOT

CORE_PACKAGES = ("catalog", "sla", "orders", "ledger", "incidents", "bookings", "mission_critical")
KERNEL = ("errors", "refusal", "datafile", "access", "clock", "inputs")  # shared by every layer, pure
CORE = CORE_PACKAGES + KERNEL
SERVICES = ("services",)
INFRASTRUCTURE = ("storage", "notifications", "settings", "mail_in")  # adapters the use cases drive
ENTRY_POINTS = (
    "api",
    "web",
    "cli",
    "worker",
    "demo",
    "uploads",
)  # adapters that drive the use cases (uploads: files over HTTP, for the API and the pages)
LAYERS = {"core": CORE, "services": SERVICES, "infrastructure": INFRASTRUCTURE, "entry points": ENTRY_POINTS}

FRAMEWORKS = (
    "fastapi",
    "starlette",
    "sqlalchemy",
    "jinja2",
    "typer",
    "click",
    "rich",
    "alembic",
    "httpx",
    "uvicorn",
    "psycopg",
    "aiosmtpd",
)
# The places where one entry point assembles another: the app mounts the pages.
COMPOSITION = {("unisupport.api.app", "unisupport.web")}


# ------------------------------------------------------------------ the graph
def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(source: str, module: str, *, is_package: bool = False) -> list[tuple[str, int]]:
    """``(imported module, line)`` of every import in ``source``, at any depth (a
    function's own imports count), relative ones resolved against ``module``,
    except those under ``if TYPE_CHECKING:``."""
    found: list[tuple[str, int]] = []
    base = module.split(".") if is_package else module.split(".")[:-1]

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            prefix = base[: len(base) - node.level + 1] if node.level else []
            target = ".".join([*prefix, node.module] if node.module else prefix)
            found.append((target, node.lineno))
            if target == ROOT:  # ``from unisupport import services``: the package named
                found.extend((f"{target}.{alias.name}", node.lineno) for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return found


@cache
def graph() -> dict[str, list[tuple[str, int]]]:
    """Every module of the package and the ``unisupport`` or third-party modules it
    imports, with the line."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        out[name] = imports_of(path.read_text(encoding="utf-8"), name, is_package=path.name == "__init__.py")
    return out


def top_level(module: str) -> str:
    """The package or module right under ``unisupport`` (``unisupport.sla.calendar``
    → ``sla``); '' for the root package and anything outside it."""
    parts = module.split(".")
    return parts[1] if parts[0] == ROOT and len(parts) > 1 else ""


def is_within(module: str, names: tuple[str, ...]) -> bool:
    return any(module == name or module.startswith(name + ".") for name in names)


def violations(sources: tuple[str, ...], banned: tuple[str, ...]) -> list[str]:
    """``module:line imports target`` for each import from a module in ``sources``
    (top-level names) of a module in ``banned`` (dotted names)."""
    out = []
    for module, imported in graph().items():
        if top_level(module) not in sources:
            continue
        for target, line in imported:
            if is_within(target, banned) and not any(is_within(target, (c,)) for m, c in COMPOSITION if m == module):
                out.append(f"{module}:{line} imports {target}")
    return sorted(set(out))


def under(*names: str) -> tuple[str, ...]:
    return tuple(f"{ROOT}.{n}" for n in names)


# ------------------------------------------------------------------ the rules
def test_every_module_belongs_to_one_layer():
    placed = [name for layer in LAYERS.values() for name in layer]
    assert len(placed) == len(set(placed)), "a package is in two layers"
    unplaced = sorted({top_level(m) for m in graph()} - set(placed) - {""})
    assert not unplaced, f"place {unplaced} in a layer of tests/test_architecture.py"
    for name in CORE_PACKAGES:
        assert (PACKAGE / name / "__init__.py").is_file(), f"core package {name} is missing"


@pytest.mark.parametrize("name", CORE)
def test_the_core_imports_no_adapter_use_case_or_framework(name):
    bad = violations((name,), under(*SERVICES, *INFRASTRUCTURE, *ENTRY_POINTS) + FRAMEWORKS)
    assert not bad, "the domain core must stay pure:\n" + "\n".join(bad)


def test_the_use_cases_import_no_entry_point():
    bad = violations(SERVICES, under(*ENTRY_POINTS))
    assert not bad, "services may not import the API, the pages, the CLI, the worker or the demo:\n" + "\n".join(bad)


def test_infrastructure_imports_no_entry_point():
    bad = violations(INFRASTRUCTURE, under(*ENTRY_POINTS))
    assert not bad, "storage, notifications and settings may not import an entry point:\n" + "\n".join(bad)


@pytest.mark.parametrize("name", ("api", "web"))
def test_the_api_and_the_pages_do_not_import_each_other_or_the_cli(name):
    others = tuple(n for n in ("api", "web", "cli") if n != name)
    bad = violations((name,), under(*others))
    assert not bad, f"{name} reaches another entry point; share it through services or the core:\n" + "\n".join(bad)


def test_no_two_packages_import_each_other():
    edges: dict[str, dict[str, str]] = defaultdict(dict)
    for module, imported in graph().items():
        source = top_level(module)
        for target, line in imported:
            destination = top_level(target)
            if source and destination and destination != source and target.split(".")[0] == ROOT:
                edges[source].setdefault(destination, f"{module}:{line} imports {target}")
    cycle = _a_cycle(edges)
    assert cycle is None, "import cycle between packages:\n" + "\n".join(edges[a][b] for a, b in pairwise(cycle))


def _a_cycle(edges: dict[str, dict[str, str]]) -> list[str] | None:
    """One cycle of the graph as ``[a, b, …, a]``, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for following in sorted(edges.get(node, {})):
            if state.get(following) == 1:
                return [*path[path.index(following) :], following]
            if following not in state and (found := visit(following)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


# ------------------------------------------------------------------ the checker itself
def test_the_checker_sees_every_kind_of_import():
    source = """
from typing import TYPE_CHECKING
import sqlalchemy.orm
from unisupport.storage.tables import IncidentRow
from unisupport import notifications
from . import sibling
from ..services import incidents
if TYPE_CHECKING:
    from unisupport.web.page import Page
def later():
    from fastapi import Request
"""
    found = {target for target, _ in imports_of(source, "unisupport.sla.calendar")}
    assert {"sqlalchemy.orm", "unisupport.storage.tables", "fastapi"} <= found
    assert {"unisupport.notifications", "unisupport.sla", "unisupport.services"} <= found
    assert not any(target.startswith("unisupport.web") for target in found)
    assert _a_cycle({"a": {"b": ""}, "b": {"c": ""}, "c": {"a": ""}}) == ["a", "b", "c", "a"]
    assert _a_cycle({"a": {"b": ""}, "b": {"c": ""}}) is None
