"""Which database the command line uses, said when it matters: run from another
folder, the default ``./data`` is a new, empty database (one line on stderr says so
and how to reach the real one), and a data folder that cannot be one stops the
command with one line naming the variable (exit 2), never a traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cli_process import clean_environment
from cli_process import unisupport as run

try:
    from unisupport.cli.environment import new_database_notice
except ImportError:
    new_database_notice = None
from unisupport.settings import Settings


def unisupport(*args: str, cwd: Path, **settings: str) -> subprocess.CompletedProcess:
    return run(*args, env=clean_environment(**settings), cwd=cwd)


def test_a_new_database_is_named_once_on_stderr(tmp_path):
    first = unisupport("user", "list", "--json", cwd=tmp_path)
    assert first.returncode == 0 and first.stdout.strip() == "[]"
    created = tmp_path / "data" / "unisupport.db"
    assert first.stderr.splitlines() == [first.stderr.strip()]  # one line
    assert first.stderr.startswith(f"created a new empty database at {created}; set UNISUPPORT_DATA_DIR or run from ")
    again = unisupport("user", "list", "--json", cwd=tmp_path)
    assert again.returncode == 0 and again.stderr == ""  # the same database: nothing to say


def test_a_new_database_in_unisupport_data_dir_is_named_too(tmp_path):
    done = unisupport("token", "list", cwd=tmp_path, UNISUPPORT_DATA_DIR=str(tmp_path / "kept"))
    assert done.returncode == 0
    assert done.stderr.strip() == (
        f"created a new empty database at {tmp_path / 'kept' / 'unisupport.db'} "
        "(UNISUPPORT_DATA_DIR names a folder without one)"
    )
    named = tmp_path / "named.db"
    done = unisupport("token", "list", cwd=tmp_path, UNISUPPORT_DATABASE_URL=f"sqlite:///{named}")
    assert done.returncode == 0 and named.is_file() and done.stderr == ""  # the very file asked for


def test_the_notice_points_at_the_clones_database_when_there_is_one(tmp_path):
    checkout = tmp_path / "clone"
    (checkout / "data").mkdir(parents=True)
    (checkout / "pyproject.toml").write_text("[project]\n")
    elsewhere = tmp_path / "elsewhere" / "data" / "unisupport.db"
    settings = Settings.from_env({"UNISUPPORT_DATA_DIR": ""})
    assert "run from the folder that holds data/unisupport.db" in new_database_notice(
        settings, elsewhere, checkout=checkout
    )
    own = checkout / "data" / "unisupport.db"
    assert new_database_notice(settings, own, checkout=checkout) == f"created a new empty database at {own}"
    own.write_bytes(b"")
    assert new_database_notice(settings, elsewhere, checkout=checkout) == (
        f"created a new empty database at {elsewhere}; set UNISUPPORT_DATA_DIR or run from {checkout} "
        "to use the database scripts/run.sh made there"
    )


@pytest.mark.parametrize("command", [["user", "list"], ["worker", "--once"], ["serve", "--port", "1"]])
@pytest.mark.parametrize("inside", [False, True])
def test_a_data_folder_that_is_a_file_is_one_line_and_exit_2(tmp_path, command, inside):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    folder = a_file / "data" if inside else a_file
    done = unisupport(*command, cwd=tmp_path, UNISUPPORT_DATA_DIR=str(folder))
    assert (done.returncode, done.stdout) == (2, "")
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith(f"error: UNISUPPORT_DATA_DIR: '{folder}' ")


def test_a_database_url_under_a_file_is_one_line_naming_the_url(tmp_path):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    done = unisupport("user", "list", cwd=tmp_path, UNISUPPORT_DATABASE_URL=f"sqlite:///{a_file}/unisupport.db")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert (
        done.stderr.strip()
        == f"error: UNISUPPORT_DATABASE_URL: cannot create the folder '{a_file}': a file is in the way"
    )
