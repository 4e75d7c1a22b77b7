"""Throw-away databases for the benchmarks (the tests have their own in
tests/conftest.py): a SQLite file in a temporary folder, or a PostgreSQL database
created from an admin URL; dropped at the end."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
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


class Throwaway:
    """One benchmark's database: ``url``, the temporary folder ``tmpdir`` (the SQLite
    file lives there; a server's files may too), and ``pg_name`` on PostgreSQL.
    ``drop()`` removes both."""

    def __init__(self, backend: str, *, prefix: str):
        self.backend = backend
        self.tmpdir = tempfile.mkdtemp(prefix=prefix)
        self.pg_name: str | None = None
        if backend == "sqlite":
            self.url = f"sqlite:///{self.tmpdir}/unisupport.db"
        else:
            self.pg_name, self.url = create_database(admin_url())  # type: ignore[arg-type]

    def drop(self) -> None:
        shutil.rmtree(self.tmpdir, ignore_errors=True)
        if self.pg_name:
            drop_database(admin_url(), self.pg_name)  # type: ignore[arg-type]


def show(connection, name: str) -> str:
    """A PostgreSQL setting, as ``SHOW name`` gives it (for the reports)."""
    return connection.exec_driver_sql(f"SHOW {name}").scalar()


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


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
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = (
            subprocess.run(
                ["git", "diff-index", "--quiet", "HEAD", "--", "src"],
                cwd=root,
                capture_output=True,
                timeout=10,
                check=False,
            ).returncode
            != 0
        )
    except (OSError, subprocess.SubprocessError):
        return "git revision n/a"
    return f"git HEAD {head}{' + uncommitted changes in src/' if dirty else ''}"
