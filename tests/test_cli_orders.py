"""The order, booking and event commands as an operator runs them: real processes
against a real database (SQLite and PostgreSQL), JSON out, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import select

from unisupport.access import SYSTEM, Principal, Role
from unisupport.incidents.requests import ClosureIn, IncidentIn
from unisupport.services import incidents
from unisupport.storage.database import Database, make_engine
from unisupport.storage.tables import CustomerRow

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "orders"
CONTOSO = EXAMPLES / "contoso-multicountry.yaml"
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def cli(backend, temp_databases, tmp_path):
    url = temp_databases.new_url(backend)
    env = {
        **os.environ,
        "UNISUPPORT_DATABASE_URL": url,
        "UNISUPPORT_ACTOR": "ops@provider.example",
        "UNISUPPORT_DATA_DIR": str(tmp_path),
    }

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [sys.executable, "-m", "unisupport.cli.main", *args], capture_output=True, text=True, env=env, timeout=120
        )
        assert "Traceback" not in done.stderr, done.stderr
        if ok:
            assert done.returncode == 0, done.stderr + done.stdout
        return done

    run.url = url  # type: ignore[attr-defined]
    return run


def test_import_is_idempotent_and_balances_are_explained(cli):
    first = json.loads(cli("order", "import", str(CONTOSO), "--json").stdout)[0]
    assert first["outcome"] == "created" and first["ledger_entries"] > 0
    again = json.loads(cli("order", "import", str(CONTOSO), "--json").stdout)[0]
    assert (again["outcome"], again["ledger_entries"]) == ("unchanged", 0)
    balances = json.loads(cli("order", "balances", first["number"], "--json", "--entries").stdout)
    by_account = {b["account"]: b for b in balances["balances"]}
    assert all(b["balance"] == "0" for k, b in by_account.items() if k.startswith("flex:"))  # all allocated (R-FLEX-6)
    assert all(e["rule"] and e["reason"] and e["actor"] == "ops@provider.example" for e in balances["entries"])
    cli("order", "verify", first["number"])


def test_an_invalid_file_is_not_imported_and_the_exit_code_says_so(cli):
    done = cli("order", "import", str(EXAMPLES / "invalid-many-violations.yaml"), "--json", ok=False)
    assert done.returncode == 1
    assert json.loads(done.stdout)[0]["outcome"] == "invalid"


def test_book_quote_the_fee_cancel_and_close_the_period(cli):
    number = json.loads(cli("order", "import", str(CONTOSO), "--json").stdout)[0]["number"]
    balances = {b["account"]: b for b in json.loads(cli("order", "balances", number, "--json").stdout)["balances"]}
    credits_before = sum(float(b["balance"]) for b in balances.values() if b["unit"] == "credits")
    booking = (
        "booking",
        "create",
        "--order",
        number,
        "--site",
        "paris",
        "--service",
        "workshops",
        "--on",
        "2028-09-01",
        "--unit",
        "per-attendee",
        "--attendees",
        "4",
        "--json",
    )
    shown = json.loads(cli(*booking, "--quote").stdout)
    assert shown["confirm_with"] == {"expected_cost": "30"}  # 4 × 7.5 credits
    unconfirmed = cli(*booking, ok=False)  # D45: nothing is booked without the cost shown
    assert (
        unconfirmed.returncode == 2 and "expected_cost = 30" in unconfirmed.stderr and "R-CRED-1" in unconfirmed.stderr
    )
    booked = json.loads(cli(*booking, "--expected-cost", "30").stdout)
    assert booked["status"] == "scheduled" and booked["cost_unit"] == "credits" and booked["cost"] == "30"
    quote = json.loads(cli("booking", "cancel", str(booked["id"]), "--json").stdout)
    assert quote["cancelled"] is False and quote["fee_percent"] == 0  # far ahead: free
    assert quote["confirm_with"] == {"expected_fee": "0"}
    said = cli("booking", "cancel", str(booked["id"])).stdout
    assert "add --confirm --expected-fee 0 to cancel" in said
    unconfirmed = cli("booking", "cancel", str(booked["id"]), "--confirm", ok=False)  # R-BOOK-1: the fee first
    assert unconfirmed.returncode == 2 and "expected_fee" in unconfirmed.stderr and "R-BOOK-1" in unconfirmed.stderr
    cancelled = json.loads(
        cli("booking", "cancel", str(booked["id"]), "--confirm", "--expected-fee", "0", "--json").stdout
    )
    assert cancelled["cancelled"] is True
    balances = {b["account"]: b for b in json.loads(cli("order", "balances", number, "--json").stdout)["balances"]}
    assert sum(float(b["balance"]) for b in balances.values() if b["unit"] == "credits") == credits_before
    closed = json.loads(cli("order", "close-period", "--as-of", "2029-01-01", "--order", number, "--json").stdout)
    assert closed[0]["expired"] and closed[0]["forfeited"]
    assert (
        json.loads(cli("order", "close-period", "--as-of", "2029-01-01", "--json").stdout) == []
    )  # nothing active left


def test_an_amendment_that_forfeits_waits_for_the_forfeit_to_be_confirmed(cli, tmp_path):
    """D45 on the command line: the refusal says what would be forfeited and how to confirm."""
    cli("order", "import", str(CONTOSO))
    terminated = tmp_path / "terminated.yaml"
    terminated.write_text(yaml.safe_dump(yaml.safe_load(CONTOSO.read_text()) | {"status": "terminated"}))
    refused = cli("order", "import", str(terminated), "--json", ok=False)
    assert refused.returncode == 1
    result = json.loads(refused.stdout)[0]
    assert (result["outcome"], result["rule"]) == ("refused", "R-ORD-2") and "expected_forfeit" in result["error"]
    shown = result["details"]["confirm_with"]["expected_forfeit"]
    assert "198 credits" in shown  # year 1's 48 left and year 3's 150
    done = json.loads(cli("order", "import", str(terminated), "--expected-forfeit", shown, "--json").stdout)[0]
    assert done["outcome"] == "amended"
    assert json.loads(cli("order", "show", done["number"], "--json").stdout)["status"] == "terminated"


def test_bad_input_exits_2_with_one_line(cli):
    cli("order", "import", str(CONTOSO))
    done = cli(
        "booking",
        "create",
        "--order",
        "NOPE",
        "--site",
        "paris",
        "--service",
        "workshops",
        "--on",
        "2027-01-01",
        ok=False,
    )
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and "NOPE" in done.stderr
    done = cli("order", "close-period", "--as-of", "someday", ok=False)
    assert done.returncode == 2 and "--as-of" in done.stderr


def test_event_list_and_event_summary_show_the_post_event_summary_r_evt_1(cli):
    cli("order", "import", str(CONTOSO))
    database = Database(make_engine(cli.url))
    with database.transaction() as session:
        customer = session.scalar(select(CustomerRow).where(CustomerRow.code == "contoso"))
        marie = Principal(
            user_id=1, email="marie.dupont@contoso.example", role=Role.REACTIVE_CONTACT, customer_id=customer.id
        )
        during = IncidentIn(
            site="paris",
            product="azure-app-service",
            severity="1",
            title="Checkout down",
            business_impact="No sales",
            description="AEM checkout",
        )
        opened = [
            incidents.open_incident(session, marie, during, now=datetime(2026, 11, 27, 20, 0, tzinfo=PARIS)).id,
            incidents.open_incident(session, marie, during, now=datetime(2026, 11, 24, 9, 0, tzinfo=PARIS)).id,
        ]
        incidents.open_incident(session, marie, during, now=datetime(2026, 11, 28, 9, 0, tzinfo=PARIS))  # after it
        incidents.close(
            session, SYSTEM, opened[1], ClosureIn(summary="fixed"), now=datetime(2026, 11, 24, 10, tzinfo=PARIS)
        )
    database.engine.dispose()

    [listed] = json.loads(cli("event", "list", "--order", "ESO-2026-0042", "--json").stdout)
    assert listed["id"] == "black-friday-2026" and listed["summary"]["rule"] == "R-EVT-1"
    assert sorted(int(c["id"]) for c in listed["summary"]["cases"]) == sorted(opened)
    table = cli("event", "list", "--order", "ESO-2026-0042").stdout
    assert (
        "black-friday-2026  2026-11-23 to 2026-11-27" in table
        and "2 case(s) opened during the event, 1 resolved" in table
    )
    summary = json.loads(
        cli("event", "summary", "--order", "ESO-2026-0042", "--id", "black-friday-2026", "--json").stdout
    )
    assert summary == listed["summary"] and summary["all_resolved"] is False
    assert [c["resolved"] for c in summary["cases"]] == [True, False]  # oldest first
    text = cli("event", "summary", "--order", "ESO-2026-0042", "--id", "black-friday-2026").stdout
    assert "not all resolved" in text and str(opened[0]) in text
    done = cli("event", "summary", "--order", "ESO-2026-0042", "--id", "nope", ok=False)
    assert done.returncode == 2 and "nope" in done.stderr
