"""The ``unisupport`` command as a user runs it: a real process, its environment
without the caller's UNISUPPORT_* settings unless given."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def clean_environment(**settings: str) -> dict[str, str]:
    """This process's environment without UNISUPPORT_* variables, plus ``settings``."""
    return {k: v for k, v in os.environ.items() if not k.startswith("UNISUPPORT_")} | settings


def unisupport(
    *args: str, env: dict[str, str], cwd: Path, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "unisupport.cli.main", *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        input=stdin,
        timeout=timeout,
    )
