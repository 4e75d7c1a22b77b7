"""docs/rules.md is the rule book users read: it states every rule of the
specification in full and says where each is enforced and which test proves it.

The specification itself (RULES.md) lives outside the repository, in the shared
folder beside a checkout; this file is the only one that reads it, and its checks
are skipped where it is absent. Everything else cites docs/rules.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Beside the clone (../shared), or beside a folder of worktrees (../../shared).
SPEC = next(
    (p / "shared" / "spec" / "RULES.md" for p in ROOT.parents if (p / "shared" / "spec" / "RULES.md").exists()),
    ROOT.parent / "shared" / "spec" / "RULES.md",
)
RULES = ROOT / "docs" / "rules.md"
NO_SPEC = pytest.mark.skipif(
    not SPEC.exists(), reason="the specification lives in ../shared, beside the clone; absent here"
)
ID = r"R-[A-Z0-9]+-\d+"
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def spec_items() -> dict[str, str]:
    """Each ``- R-XXX-N …`` item of the specification, its continuation lines joined."""
    return _items(SPEC.read_text(encoding="utf-8"), rf"^- ({ID}) ")


def statements() -> dict[str, str]:
    """Each ``- **R-XXX-N** …`` statement of docs/rules.md."""
    return _items(RULES.read_text(encoding="utf-8"), rf"^- \*\*({ID})\*\* ")


def _items(text: str, start: str) -> dict[str, str]:
    items: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        opened = re.match(start, line)
        if opened:
            current = opened.group(1)
            items[current] = line[opened.end() :]
        elif current and line.startswith("  ") and line.strip():
            items[current] += " " + line.strip()
        else:
            current = None
    return items


def coverage_rows() -> set[str]:
    return set(re.findall(rf"^\| ({ID}) \|", RULES.read_text(encoding="utf-8"), flags=re.MULTILINE))


def catalog_rows(text: str) -> list[tuple[str, ...]]:
    """The rows of the catalog table: from its ``| code |`` header to the blank line."""
    table = text[text.index("\n| code |") :].split("\n\n", 1)[0]
    return [tuple(cell.strip() for cell in line.strip("|").split("|")) for line in table.splitlines()[3:]]


@NO_SPEC
def test_every_rule_id_is_in_docs_rules():
    ids = set(spec_items())
    assert len(ids) > 40
    assert sorted(ids - coverage_rows()) == []
    assert sorted(ids - set(statements())) == []
    assert sorted(set(statements()) - ids) == []  # no rule of our own making


def test_every_rule_is_stated_and_has_its_coverage_row():
    stated = statements()
    assert len(stated) > 40 and sorted(set(stated) ^ coverage_rows()) == []
    short = [rule for rule, text in stated.items() if len(text) < 60]
    assert short == []  # a statement, not a title


@NO_SPEC
def test_each_statement_keeps_the_figures_and_the_decision_of_its_rule():
    """Every number of a rule (days, percentages, amounts, minutes, source sections)
    is in its statement, and so is the rule's **Decision** when it has one."""
    stated = statements()
    missing = {}
    for rule, text in spec_items().items():
        figures = set(NUMBER.findall(text)) - set(NUMBER.findall(rule))
        lost = sorted(f for f in figures if f not in NUMBER.findall(stated[rule]))
        if lost:
            missing[rule] = lost
        if "**Decision:**" in text and "**Decision:**" not in stated[rule]:
            missing.setdefault(rule, []).append("Decision")
    assert missing == {}


@NO_SPEC
def test_the_catalog_table_is_the_specifications():
    ours = catalog_rows(RULES.read_text(encoding="utf-8"))
    assert len(ours) == 45 and ours == catalog_rows(SPEC.read_text(encoding="utf-8"))


# Files may cite docs/rules.md, never the path of the specification outside the repository.
SPEC_PATH = re.compile(rb"""\.\./shared|shared/spec|["']shared["']\s*/\s*["']spec["']""")
SKIPPED = {".git", ".venv", "__pycache__", ".pytest_cache", ".hypothesis", "node_modules", "artifacts", "data", "build"}


def test_nothing_but_this_test_refers_to_the_specifications_path():
    citing = []
    for path in sorted(ROOT.rglob("*")):
        parts = set(path.relative_to(ROOT).parts)
        if path.is_dir() or parts & SKIPPED or any(p.endswith(".egg-info") for p in parts):
            continue
        if path != Path(__file__).resolve() and SPEC_PATH.search(path.read_bytes()):
            citing.append(str(path.relative_to(ROOT)))
    assert citing == []
