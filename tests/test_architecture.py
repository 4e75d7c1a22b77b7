"""The domain core knows nothing of HTTP, SQL, templates or the command line
(README, "How the code is laid out"): its modules must not import adapters."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "unisupport"
CORE = [
    "catalog",
    "sla",
    "bookings",
    "mission_critical",
    "errors.py",
    "refusal.py",
    "datafile.py",
    # Mail in's rules: reading a mail, its quoted history, loops, threading (pure).
    "mail_in/message.py",
    "mail_in/quoted_history.py",
    "mail_in/automatic.py",
    "mail_in/thread.py",
]
ADAPTER_IMPORTS = {
    "typer",
    "rich",
    "click",
    "sqlalchemy",
    "alembic",
    "fastapi",
    "starlette",
    "jinja2",
    "uvicorn",
    "psycopg",
    "unisupport.cli",
}


def core_modules():
    for entry in CORE:
        path = PACKAGE / entry
        yield from ([path] if path.is_file() else sorted(path.rglob("*.py")))


@pytest.mark.parametrize("module", list(core_modules()), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_module_imports_no_adapter(module):
    tree = ast.parse(module.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    bad = {name for name in imported for banned in ADAPTER_IMPORTS if name == banned or name.startswith(banned + ".")}
    assert not bad, f"{module.name} imports {sorted(bad)}"
