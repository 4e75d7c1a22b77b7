"""`unisupport sla explain` as a user runs it: a real process, its output and exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime

import pytest

from unisupport.sla import Calendar, explain


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "unisupport.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


FRIDAY = [
    "--severity",
    "B",
    "--product",
    "azure-virtual-machines",
    "--opened",
    "2026-11-27T16:45:00+01:00",
    "--country",
    "FR",
    "--timezone",
    "Europe/Paris",
]


def test_json_output_is_one_object_equal_to_the_library_result():
    run = cli("sla", "explain", *FRIDAY, "--plans", "unified-enhanced-response,mcsap", "--json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["due"] == "2026-11-30T10:15:00+01:00"
    assert data["target_minutes"] == 120 and data["coverage"] == "business_hours" and data["plan"] == "base"
    assert [c["plan"] for c in data["considered"]] == ["base", "mcsap", "unified-enhanced-response"]
    library = explain(
        severity="B",
        product="azure-virtual-machines",
        opened=datetime.fromisoformat("2026-11-27T16:45:00+01:00"),
        calendar=Calendar.for_country("FR", "Europe/Paris"),
        plans=["unified-enhanced-response", "mcsap"],
    )
    assert library.to_dict() == data


def test_human_output_explains_the_target_and_the_days_counted():
    run = cli("sla", "explain", *FRIDAY, "--plans", "mcsap")
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "First response due Mon 2026-11-30 10:15 CET" in out
    assert "Sat 2026-11-28: closed, not a working day (sat)" in out
    assert "Fri 2026-11-27: 16:45–17:30 counted (45 min)" in out
    assert "mcsap" in out and "leaves its Severity B row blank" in out


def test_scope_flags_reach_the_plans():
    run = cli(
        "sla",
        "explain",
        "--severity",
        "1",
        "--product",
        "azure-sql-database",
        "--opened",
        "2026-11-27T02:00:00Z",
        "--country",
        "US",
        "--timezone",
        "America/New_York",
        "--plans",
        "azure-rapid-response",
        "--arr-components",
        "azure-kubernetes-service",
        "--json",
    )
    data = json.loads(run.stdout)
    arr = next(c for c in data["considered"] if c["plan"] == "azure-rapid-response")
    assert arr["applies"] is False and "azure-kubernetes-service" in arr["reason"]
    assert data["due"] == "2026-11-26T21:15:00-05:00"


@pytest.mark.parametrize(
    "change, needle",
    [
        (["--severity", "X"], "--severity"),
        (["--product", "azure-unicorns"], "--product"),
        (["--plans", "premier"], "--plans"),
        (["--timezone", "Mars/Olympus"], "--timezone"),
        (["--country", "XX"], "--country"),
        (["--opened", "2026-11-27T16:45:00"], "--opened"),
        (["--opened", "next friday"], "--opened"),
        (["--event-start", "2026-11-27T00:00:00Z", "--event-end", "2026-11-28T00:00:00Z"], "--event-start"),
        (["--tenant", "x", "--security-tenants", "x"], "--security-tenants"),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_the_value(change, needle):
    args = list(FRIDAY)
    for i in range(0, len(change), 2):
        if change[i] in args:
            args[args.index(change[i]) + 1] = change[i + 1]
        else:
            args += change[i : i + 2]
    run = cli("sla", "explain", *args)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], run.stderr


def test_demo_runs_and_explains_targets():
    run = cli("demo")
    assert run.returncode == 0, run.stderr
    assert "First response due" in run.stdout and "Catalog: 45 services" in run.stdout
