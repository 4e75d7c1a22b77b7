"""Throw-away PostgreSQL databases for the benchmarks (the tests have their own in
tests/conftest.py): created from an admin URL, dropped at the end."""

from __future__ import annotations

import os
import subprocess
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def create_database(admin_url: str) -> tuple[str, str]:
    """A new empty database: its name and its URL."""
    name = f"unisupport_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def admin_url() -> str | None:
    """The PostgreSQL admin URL the benchmarks create their databases from."""
    return os.environ.get("UNISUPPORT_BENCH_POSTGRES_URL") or os.environ.get("UNISUPPORT_TEST_POSTGRES_URL")


def load() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "load n/a"
    return f"load avg {one:.2f} (1 min) {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def git_revision(root) -> str:
    """The code measured: HEAD, and whether src/ differs from it (read-only git)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "diff-index", "--quiet", "HEAD", "--", "src"], cwd=root, capture_output=True,
                               timeout=10, check=False).returncode != 0
    except (OSError, subprocess.SubprocessError):
        return "git revision n/a"
    return f"git HEAD {head}{' + uncommitted changes in src/' if dirty else ''}"
