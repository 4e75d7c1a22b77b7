"""The code-health gate (scripts/check.sh, docs/decisions.md D90) cannot weaken silently.

Tiny modules, each with one defect, are checked in a temporary folder with a copy of
the project's ``pyproject.toml``, by the same ruff and mypy the gate runs: each defect
must be reported, with its rule's code, and a clean module must pass — so a rule
dropped from the configuration, a laxer setting or a higher complexity limit fails
here. The gate's wiring is checked too: what scripts/check.sh runs, that CI runs it
before the tests, and that the code base holds no blanket ignore."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = REPO / "pyproject.toml"
CHECKED = ("src", "tests", "bench", "scripts")  # what scripts/check.sh lints

CLEAN = '''"""A module the gate accepts."""

from __future__ import annotations


def double(value: int) -> int:
    return value * 2
'''

# One defect each, and the code ruff must report for it.
RUFF_DEFECTS = {
    "long_line": ("E501", 'MESSAGE = "' + "x" * 120 + '"\n'),
    "unused_import": ("F401", "import os\n"),
    "undefined_name": ("F821", "def f() -> int:\n    return missing\n"),
    "trailing_whitespace": ("W291", "x = 1 \n"),
    "mutable_default": ("B006", "def f(items: list[int] = []) -> list[int]:\n    return items\n"),
    "old_typing": ("UP006", "from typing import List\n\n\ndef f(items: List[int]) -> int:\n    return len(items)\n"),
    # Thirteen decisions: one over the limit of 12.
    "complex_function": (
        "C901",
        "def grade(n: int) -> str:\n"
        + "".join(f"    if n == {i}:\n        return '{i}'\n" for i in range(12))
        + "    return 'many'\n",
    ),
}

# One defect each, and the error code mypy must report for it.
MYPY_DEFECTS = {
    "type_error": ("return-value", 'def name() -> int:\n    return "not a number"\n'),
    # check_untyped_defs: the body of a function without annotations is checked too.
    "untyped_body": ("operator", 'def f():\n    return 1 + "one"\n'),
    # warn_unused_ignores: an ignore that silences nothing is an error.
    "unused_ignore": ("unused-ignore", "x: int = 1  # type: ignore[assignment]\n"),
    # enable_error_code ignore-without-code: an ignore names what it silences.
    "bare_ignore": ("ignore-without-code", 'x: int = "one"  # type: ignore\n'),
    # strict_equality_for_none: a None check on what cannot be None.
    "none_check": ("comparison-overlap", "def f(x: int) -> bool:\n    return x is None\n"),
    # no_implicit_optional: a None default does not make the type optional.
    "implicit_optional": ("assignment", "def f(x: int = None) -> int:\n    return 1\n"),
}


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the project's configuration and the modules above."""
    folder = tmp_path_factory.mktemp("gate")
    shutil.copy(PYPROJECT, folder / "pyproject.toml")
    (folder / "clean.py").write_text(CLEAN)
    for name, (_, text) in RUFF_DEFECTS.items():
        (folder / f"{name}.py").write_text(f'"""Probe: {name}."""\n\n{text}')
    for name, (_, text) in MYPY_DEFECTS.items():
        (folder / f"{name}.py").write_text(text)
    return folder


@pytest.fixture(scope="module")
def mypy_report(probe: Path) -> str:
    """One mypy run over every probe, with the copied configuration (as the gate runs it)."""
    files = ["clean.py", *(f"{name}.py" for name in MYPY_DEFECTS)]
    result = _run("mypy", "--config-file", "pyproject.toml", "--cache-dir", str(probe / ".mypy"), *files, cwd=probe)
    assert result.returncode == 1, result.stdout + result.stderr
    return result.stdout


def test_a_clean_module_passes_ruff_and_mypy(probe: Path, mypy_report: str) -> None:
    assert _run("ruff", "check", "clean.py", cwd=probe).returncode == 0
    assert _run("ruff", "format", "--check", "clean.py", cwd=probe).returncode == 0
    assert "clean.py" not in mypy_report


@pytest.mark.parametrize("name", sorted(RUFF_DEFECTS))
def test_ruff_reports_each_defect(probe: Path, name: str) -> None:
    code = RUFF_DEFECTS[name][0]
    result = _run("ruff", "check", "--output-format", "concise", f"{name}.py", cwd=probe)
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(rf"^{name}\.py:\d+:\d+: {code} ", result.stdout, re.M), result.stdout


@pytest.mark.parametrize("name", sorted(MYPY_DEFECTS))
def test_mypy_reports_each_defect(mypy_report: str, name: str) -> None:
    code = MYPY_DEFECTS[name][0]
    assert re.search(rf"^{name}\.py:\d+: error: .*\[{code}\]$", mypy_report, re.M), mypy_report


def test_ruff_format_check_refuses_unformatted_code(probe: Path) -> None:
    (probe / "unformatted.py").write_text("x=[1,2 ,3]\n")
    result = _run("ruff", "format", "--check", "unformatted.py", cwd=probe)
    assert result.returncode == 1
    assert "unformatted.py" in result.stdout + result.stderr


def test_the_configuration_covers_the_code_base() -> None:
    config = tomllib.loads(PYPROJECT.read_text())
    mypy = config["tool"]["mypy"]
    assert mypy["files"] == ["src/unisupport"]
    assert not any("ignore_errors" in o for o in [mypy, *mypy.get("overrides", [])])
    ignores = config["tool"]["ruff"]["lint"].get("per-file-ignores", {})
    assert not [pattern for pattern in ignores if pattern.startswith(("src", "tests", "scripts", "*"))], ignores


def test_scripts_check_sh_runs_format_lint_and_types_on_every_folder() -> None:
    script = (REPO / "scripts" / "check.sh").read_text()
    assert re.search(r"^paths=\((.*)\)$", script, re.M).group(1).split() == list(CHECKED)
    for step in (r'ruff" format --check "\$\{paths\[@\]\}"', r'ruff" check "\$\{paths\[@\]\}"', r'mypy" \|\|'):
        assert re.search(step, script), step
    assert 'exit "$status"' in script


def test_ci_runs_the_gate_before_the_tests() -> None:
    lines = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    assert "set -euo pipefail" in lines
    assert lines.index("scripts/check.sh") < lines.index("scripts/test.sh")


# A blanket silencing: a whole file, or every error of a line.
BLANKET = (
    (re.compile(r"#\s*mypy:\s*ignore-errors"), "a file-level mypy: ignore-errors"),
    (re.compile(r"#\s*type:\s*ignore(?!\[)"), "a type: ignore without its error code"),
    (re.compile(r"#\s*ruff:\s*noqa"), "a file-level ruff: noqa"),
    (re.compile(r"#\s*noqa(?!:)"), "a noqa without its rule code"),
    (re.compile(r"#\s*noqa:\s*C901\s*$"), "a noqa: C901 that does not say why"),
)


def test_no_blanket_ignore_in_the_code_base() -> None:
    found = []
    for folder in CHECKED:
        for path in sorted((REPO / folder).rglob("*.py")):
            if path == Path(__file__).resolve():
                continue  # this file names them
            for number, line in enumerate(path.read_text().splitlines(), 1):
                found += [
                    f"{path.relative_to(REPO)}:{number}: {what}" for pattern, what in BLANKET if pattern.search(line)
                ]
    assert found == []
