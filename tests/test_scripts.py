"""scripts/_venv.sh (what scripts/run.sh and scripts/test.sh source first) says what
it is doing before the minute it takes on a first run, and says nothing when there is
nothing to do. Run for real — a virtual environment made, a project installed from the
package index — on a tiny project beside a copy of the script, not on this one's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = """[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "tiny"
version = "0"

[project.optional-dependencies]
test = []
"""


def source_venv(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", "source scripts/_venv.sh"],
        check=False,
        capture_output=True,
        text=True,
        cwd=root,
        env={k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"} | {"PYTHON": sys.executable},
        timeout=300,
    )


def test_the_first_run_says_it_installs_and_later_runs_are_quiet(tmp_path):
    (tmp_path / "scripts").mkdir()
    for name in ("_venv.sh", "bootstrap_pip.py"):
        shutil.copy(ROOT / "scripts" / name, tmp_path / "scripts" / name)
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "src" / "tiny").mkdir(parents=True)
    (tmp_path / "src" / "tiny" / "__init__.py").write_text("")

    first = source_venv(tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stderr.splitlines()[0] == "creating .venv and installing dependencies (first run, about a minute)…"
    assert (tmp_path / ".venv" / "bin" / "python").exists()

    again = source_venv(tmp_path)
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")

    (tmp_path / "pyproject.toml").write_text(PYPROJECT + "# a new dependency, say\n")
    changed = source_venv(tmp_path)
    assert changed.returncode == 0, changed.stderr
    assert changed.stderr.splitlines()[0] == "pyproject.toml changed: installing dependencies into .venv…"
