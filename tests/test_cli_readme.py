"""Every command of the README's command table, run once as a user would: real
processes, on the demo database that ``unisupport serve`` loads, human output and
``--json`` wherever the command has it. Each must exit as documented (0 here) and
never print a traceback (the README promises it).

The commands come from the README itself: a row added there without a run below
fails ``test_every_command_of_the_readme_is_run``, and a command the CLI has but the
README does not list fails ``test_the_readme_lists_every_command``."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
import typer.main
import yaml
from cli_process import clean_environment, unisupport

from unisupport.cli.main import app
from unisupport.cli.webhook_receiver import Receiver, receiving

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
EXAMPLES = ROOT / "examples" / "orders"
TODAY = date.today()  # the CLI runs on the system clock; so does the demo it loads
DEMO_ORDER = "ESO-2026-0042"  # Contoso's, moved to this year by the demo
ORDER = "ESO-README-1"  # a copy the write commands may change without touching the demo


def readme_commands() -> set[str]:
    """``group sub`` (or ``command``) for every command named in the README's table
    under "The command line": cells list commands separated by ``·``, and
    ``user create|list`` names two sub-commands of one group."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### The command line", 1)[1].split("\n#", 1)[0]
    groups = set(cli_commands(groups_only=True))
    found: set[str] = set()
    for cell in re.findall(r"^\| (`.+?) \| [^|]+\|$", section, flags=re.MULTILINE):
        for chunk in re.findall(r"`([^`]+)`", cell):
            words = chunk.split()
            if words[0] in groups:
                found |= {f"{words[0]} {sub}" for sub in words[1].split("|")}
            else:
                found.add(words[0])
    return found


def cli_commands(*, groups_only: bool = False) -> dict[str, bool]:
    """Every command of the ``unisupport`` app (``group sub`` or ``command``), and
    whether it takes ``--json``; or only the names of the groups."""
    commands: dict[str, bool] = {}
    root = typer.main.get_command(app)
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        if hasattr(command, "commands"):
            if groups_only:
                commands[name] = False
                continue
            for sub, leaf in command.commands.items():
                commands[f"{name} {sub}"] = any("--json" in p.opts for p in leaf.params)
        elif not groups_only:
            commands[name] = any("--json" in p.opts for p in command.params)
    return commands


def command_of(args: list[str]) -> str:
    groups = set(cli_commands(groups_only=True))
    return f"{args[0]} {args[1]}" if args[0] in groups else args[0]


@dataclass
class Runs:
    """The commands run so far, and what went wrong with them."""

    env: dict[str, str]
    cwd: Path
    done: dict[str, set[bool]] = field(default_factory=dict)  # command -> {with --json?}
    problems: list[str] = field(default_factory=list)
    curls: subprocess.CompletedProcess | None = None  # the README's curl examples, run while serve ran

    def __call__(self, *args: str, code: int = 0, stdin: str | None = None) -> subprocess.CompletedProcess:
        done = unisupport(*args, env=self.env, cwd=self.cwd, stdin=stdin)
        self.record(list(args), done.returncode, done.stdout, done.stderr, code)
        return done

    def record(self, args: list[str], returncode: int, stdout: str, stderr: str, code: int) -> None:
        self.done.setdefault(command_of(args), set()).add("--json" in args)
        shown = "unisupport " + " ".join(args)
        if "Traceback" in stdout + stderr:
            self.problems.append(f"{shown}: a traceback\n{stderr[-3000:]}")
        elif returncode != code:
            self.problems.append(f"{shown}: exit {returncode}, not {code}\n{stderr[-1500:]}{stdout[-500:]}")

    def json(self, *args: str) -> object:
        done = self(*args, "--json")
        try:
            return json.loads(done.stdout)
        except ValueError:
            self.problems.append(f"unisupport {' '.join(args)} --json: not JSON: {done.stdout[:300]!r}")
            return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(runs: Runs) -> None:
    """``serve`` on a new data folder: it loads the demo and prints a token for each
    account, answers /healthz, serves the README's curl examples (``runs.curls``), and
    stops cleanly on Ctrl-C."""
    port = free_port()
    args = ["serve", "--port", str(port)]
    out, err = runs.cwd / "serve.out", runs.cwd / "serve.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        server = subprocess.Popen(
            [sys.executable, "-m", "unisupport.cli.main", *args],
            stdout=stdout,
            stderr=stderr,
            env=runs.env,
            cwd=runs.cwd,
        )
        try:
            if healthy(port, server):
                runs.curls = run_curl_examples(f"http://127.0.0.1:{port}", demo_tokens(out.read_text()), runs.cwd)
            server.send_signal(signal.SIGINT)
            server.wait(timeout=60)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
    runs.record(args, server.returncode, out.read_text(), err.read_text(), 0)
    if "Demo data loaded" not in out.read_text():
        runs.problems.append(f"unisupport serve did not load the demo:\n{out.read_text()}{err.read_text()}")


def healthy(port: int, server: subprocess.Popen) -> bool:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                return answer.status == 200
        except OSError:
            time.sleep(0.2)  # the server is starting: a real process, polled
    return False


def demo_tokens(printed: str) -> dict[str, str]:
    """email -> token, from the accounts ``serve`` printed."""
    return dict(re.findall(r"^ +\S+ +(\S+@\S+) +token (us_\S+)$", printed, flags=re.MULTILINE))


def curl_examples(base_url: str, tokens: dict[str, str]) -> str:
    """The README's ``sh`` blocks that call curl, as one script: against ``base_url``,
    each ``NAME=us_…   # …'s token (EMAIL)`` line given that account's token, and curl
    failing on an HTTP error."""
    blocks = [
        b for b in re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL) if "curl " in b
    ]
    script = "\n".join(blocks).replace("http://127.0.0.1:8000", base_url)
    script = re.sub(
        r"^(\w+)=us_…\s+#.*\((\S+@\S+)\)$",
        lambda m: f"{m.group(1)}={tokens.get(m.group(2), 'no-such-account')}",
        script,
        flags=re.MULTILINE,
    )
    return 'set -euo pipefail\ncurl() { command curl --fail-with-body --show-error "$@"; }\n' + script


def run_curl_examples(base_url: str, tokens: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    script = curl_examples(base_url, tokens)
    return subprocess.run(["bash", "-c", script], check=False, capture_output=True, text=True, cwd=cwd, timeout=120)


def readme_order(tmp_path: Path) -> Path:
    """Contoso's example order under another number and customer, with no event
    yet: the commands that change an order change this one."""
    document = yaml.safe_load((EXAMPLES / "contoso-multicountry.yaml").read_text(encoding="utf-8"))
    # Its term (from 1 January 2026) moved by whole months to begin on the first of last
    # month: today and the months after are in its first contract year, whatever the day
    # the test runs, and its contract years stay anniversaries of the start.
    months = (TODAY.year - 2026) * 12 + TODAY.month - 2

    def moved(value: object) -> object:
        if isinstance(value, dict):
            return {k: moved(v) for k, v in value.items()}
        if isinstance(value, list):
            return [moved(v) for v in value]
        if isinstance(value, date):
            after = value + timedelta(days=1)  # ends of months stay ends of months
            month = after.year * 12 + after.month - 1 + months
            return (after.replace(year=month // 12, month=month % 12 + 1) - timedelta(days=1)).isoformat()
        return value

    document = moved(document)
    document["number"] = ORDER
    document["customer"] = {"code": "readme", "name": "Readme Ltd"}
    document.pop("events", None)
    for line in document["lines"]:
        if line["id"] == "azure-events":
            line["quantity"] = 2  # two engagements: one told in words, one in JSON
    path = tmp_path / "readme-order.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def day(days: int) -> str:
    return (TODAY + timedelta(days=days)).isoformat()


def run_webhook_commands(runs: Runs) -> None:
    """The README's webhook walkthrough: a receiver on the loopback (allowed), subscribed
    to bookings; a booking made and cancelled; the worker delivers both, signed."""
    runs.env["UNISUPPORT_WEBHOOK_ALLOW_PRIVATE"] = "127.0.0.1"
    with receiving(Receiver()) as receiver:
        hook = ["webhook", "create", "--event", "booking.created"]
        runs(*hook, "--url", receiver.url + "/itsm", "--event", "booking.cancelled", "--customer", "readme")
        made = runs.json(*hook, "--url", receiver.url + "/hook", "--description", "the ITSM")
        first = made["subscription"]["id"] if isinstance(made, dict) else 0
        receiver.secrets["/hook"] = made["secret"] if isinstance(made, dict) else ""
        receiver.secrets["/itsm"] = receiver.secrets["/hook"]  # not its secret: its deliveries are refused (401)
        booking = ["booking", "create", "--order", ORDER, "--site", "paris", "--service", "workshops"]
        booking += ["--on", day(46), "--unit", "per-attendee", "--attendees", "1"]
        quoted = runs.json(*booking, "--quote")
        cost = quoted["confirm_with"]["expected_cost"] if isinstance(quoted, dict) else "0"
        runs(*booking, "--expected-cost", cost)
        runs("worker", "--once")
        runs("webhook", "list")
        runs.json("webhook", "list")
        runs("webhook", "deliveries", str(first))
        log = runs.json("webhook", "deliveries", str(first))
        delivery = str(log[0]["id"]) if isinstance(log, list) and log else "0"
        runs("webhook", "redeliver", str(first), delivery)
        runs.json("webhook", "redeliver", str(first), delivery)
        runs("webhook", "disable", str(first))
        runs("webhook", "enable", str(first))
    # The booking reaches both; only the one whose secret the receiver holds verifies.
    if len(receiver.accepted) != 1 or receiver.bad_signatures != 1:
        runs.problems.append(f"webhook deliveries: {len(receiver.accepted)} verified, {receiver.bad_signatures} bad")
    secret = receiver.secrets["/hook"]
    runs("webhook", "receive", "--secret", secret, "--port", str(free_port()), "--for", "0.3")
    del runs.env["UNISUPPORT_WEBHOOK_ALLOW_PRIVATE"]


def run_every_command(runs: Runs, tmp_path: Path) -> None:
    serve(runs)
    runs("worker", "--once")  # UNISUPPORT_SMTP_URL is not set: queued, nothing fails
    runs("outbox", "list")
    runs("outbox", "list", "--stuck")
    listed = runs.json("outbox", "list", "--limit", "1")
    first_mail = str(listed["mail"][0]["id"]) if isinstance(listed, dict) and listed["mail"] else "0"
    runs("outbox", "retry", first_mail)
    runs.json("outbox", "retry", "--all")
    runs("mail-in", "--status")  # the mails that could not be handled (none here)
    runs("demo")
    runs("demo", "--lang", "fr")
    explain = ["sla", "explain", "--severity", "B", "--product", "azure-storage"]
    explain += ["--opened", "2026-11-27T16:45:00+01:00", "--country", "FR", "--timezone", "Europe/Paris"]
    runs(*explain, "--plans", "mcsap")
    runs.json(*explain, "--plans", "mcsap")
    runs("sla", "recalculate")
    recalculated = runs.json("sla", "recalculate", "--reason", "the Paris calendar was edited")
    if (
        not isinstance(recalculated, dict) or recalculated.get("recalculated") != 0
    ):  # the demo's targets follow the files as shipped
        runs.problems.append(f"sla recalculate changed the demo's update targets: {recalculated}")
    period = ["--from", day(-180), "--to", day(0)]
    runs("report", "sla", *period)
    sla_csv = runs("report", "sla", *period, "--customer", "contoso", "--format", "csv", "--locale", "fr")
    if not sla_csv.stdout.startswith("\ufeffmonth;customer;"):
        runs.problems.append(f"report sla --format csv --locale fr: {sla_csv.stdout[:200]!r}")
    reported = json.loads(runs("report", "sla", *period, "--format", "json").stdout or "{}")
    if not reported.get("lines"):
        runs.problems.append("report sla --format json: no lines on the demo's history")
    runs("report", "consumption", "--from", day(-365), "--to", day(0), "--format", "csv")
    runs("report", "sla", *period, "--customer", "nobody", code=2)
    ancient = runs("report", "sla", "--from", "0001-01-01", "--to", day(0), code=2)  # the API's span (inputs.Day)
    if "--from" not in ancient.stdout + ancient.stderr or "1970-01-01" not in ancient.stdout + ancient.stderr:
        runs.problems.append(f"report sla --from 0001-01-01: {ancient.stdout[-300:]!r} {ancient.stderr[-300:]!r}")

    contoso = str(EXAMPLES / "contoso-multicountry.yaml")
    runs("order", "validate", contoso)
    runs.json("order", "validate", contoso)
    order_file = str(readme_order(tmp_path))
    runs("order", "import", order_file)
    runs.json("order", "import", order_file)
    for number in (DEMO_ORDER, ORDER):
        runs("order", "show", number)
        runs.json("order", "show", number)
        runs("order", "balances", number, "--entries")
        runs.json("order", "balances", number)
        runs("order", "verify", number)
    runs("order", "close-period", "--as-of", day(0), "--order", ORDER)
    runs.json("order", "close-period", "--as-of", day(0), "--order", ORDER)
    exchange = ["order", "exchange", ORDER, "--from-line", "workshops-y1", "--quantity", "1"]
    exchange += ["--to-service", "chalk-talks", "--to-unit", "engagement", "--to-quantity", "1"]
    exchange += ["--to-value", "15000", "--approver", "sdm@provider.example", "--reason", "a chalk talk fits"]
    runs(*exchange)
    runs.json(*exchange)

    booking = ["booking", "create", "--order", ORDER, "--site", "paris", "--service", "workshops"]
    booking += ["--on", day(45), "--unit", "per-attendee", "--attendees", "2"]
    runs(*booking, "--quote")
    quoted = runs.json(*booking, "--quote")
    cost = quoted["confirm_with"]["expected_cost"] if isinstance(quoted, dict) else "0"
    runs(*booking, "--expected-cost", cost)
    booked = runs.json(*booking, "--expected-cost", cost)
    booking_id = str(booked["id"]) if isinstance(booked, dict) else "0"
    runs("booking", "cancel", booking_id)
    fee = runs.json("booking", "cancel", booking_id)
    runs("booking", "list", "--order", ORDER)
    runs.json("booking", "list")
    expected_fee = fee["confirm_with"]["expected_fee"] if isinstance(fee, dict) else "0"
    runs("booking", "cancel", booking_id, "--confirm", "--expected-fee", expected_fee, "--reason", "moved")
    delivered = ["booking", "create", "--order", ORDER, "--site", "paris", "--service", "workshops"]
    delivered += ["--on", day(47), "--unit", "per-attendee", "--attendees", "1"]
    quoted = runs.json(*delivered, "--quote")
    cost = quoted["confirm_with"]["expected_cost"] if isinstance(quoted, dict) else "0"
    first = runs.json(*delivered, "--expected-cost", cost)
    second = runs.json(*delivered, "--expected-cost", cost)
    runs("booking", "deliver", str(first["id"]) if isinstance(first, dict) else "0", "--note", "two days, on site")
    runs.json("booking", "deliver", str(second["id"]) if isinstance(second, dict) else "0")

    event = ["event", "create", "--order", ORDER, "--line", "azure-events", "--solution", "Checkout"]
    event += ["--start", day(70), "--end", day(72), "--confirmed-on", day(0)]
    runs(*event, "--id", "readme-1")
    runs.json(*event, "--id", "readme-2")
    runs("event", "list", "--order", ORDER)
    runs.json("event", "list", "--order", ORDER)
    runs("event", "summary", "--order", ORDER, "--id", "readme-1")
    runs.json("event", "summary", "--order", ORDER, "--id", "readme-2")
    runs("mcsap", "milestones", "--order", ORDER)
    milestones = runs.json("mcsap", "milestones", "--order", ORDER, "--as-of", day(0))
    first = milestones[0]["code"] if isinstance(milestones, list) and milestones else "none"
    runs("mcsap", "complete", "--order", ORDER, "--milestone", first, "--on", day(0))
    runs("mcsap", "scenario", "--order", ORDER, "--name", "checkout latency")
    runs("mcsap", "sip", "--order", ORDER, "--title", "Fewer failovers", "--starts-on", day(0))
    items = json.dumps(
        [{"area": "solution-integrity", "activity": "customer-health-program", "status": "planned", "due": day(90)}]
    )
    runs(
        "success",
        "create",
        "--customer",
        "contoso",
        "--owner",
        "csam@provider.example",
        "--title",
        "FY",
        "--items",
        items,
    )

    new = ["--role", "engineer", "--language", "fr"]
    runs("user", "create", "--email", "ray@provider.example", "--name", "Ray", *new)
    runs.json("user", "create", "--email", "rosa@provider.example", "--name", "Rosa", *new)
    runs(
        "user",
        "create",
        "--email",
        "pat@provider.example",
        "--name",
        "Pat",
        *new,
        "--password-stdin",
        stdin="a long enough password\n",
    )
    runs("user", "update", "--email", "ray@provider.example", "--name", "Ray Engineer")
    runs.json("user", "update", "--email", "rosa@provider.example", "--inactive")
    runs("user", "list")
    runs.json("user", "list")
    runs("user", "team-create", "--code", "readme-team", "--name", "Readme team")
    runs("user", "team-add", "--email", "ray@provider.example", "--team", "readme-team")
    runs("user", "assign", "--email", "csam@provider.example", "--customer", "fabrikam")
    runs("token", "create", "--user", "ray@provider.example", "--label", "readme")
    token = runs.json("token", "create", "--user", "ray@provider.example")
    runs("token", "list")
    runs.json("token", "list", "--user", "ray@provider.example")
    runs("token", "revoke", "--prefix", token["prefix"] if isinstance(token, dict) else "none")

    run_webhook_commands(runs)

    runs("catalog", "list", "--family", "education", "--lang", "fr")
    runs.json("catalog", "list")
    runs("catalog", "products")
    runs.json("catalog", "products")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Runs:
    home = tmp_path_factory.mktemp("readme")
    env = clean_environment(UNISUPPORT_DATA_DIR=str(home / "data"), UNISUPPORT_ACTOR="readme@provider.example")
    done = Runs(env=env, cwd=home)
    run_every_command(done, home)
    return done


def test_every_command_of_the_readme_runs_without_a_traceback(runs):
    assert not runs.problems, "\n\n".join(runs.problems)


def test_every_command_of_the_readme_is_run(runs):
    commands = cli_commands()
    documented = readme_commands()
    assert sorted(documented - set(runs.done)) == []  # a new README row needs a run above
    missing_modes = [
        c for c in documented if c in runs.done and runs.done[c] != ({False, True} if commands.get(c) else {False})
    ]
    assert sorted(missing_modes) == []  # human and --json where the command has it


def test_the_readme_lists_every_command():
    assert sorted(set(cli_commands()) - readme_commands()) == []
    assert sorted(readme_commands() - set(cli_commands())) == []


def test_the_readme_curl_examples_work_against_the_demo(runs):
    script = curl_examples("http://127.0.0.1:1", {})
    assert script.count("curl -s") >= 6 and "us_…" not in script  # every token line was found
    assert runs.curls is not None, "serve did not come up"
    assert runs.curls.returncode == 0, runs.curls.stderr + runs.curls.stdout[-2000:]
    answers = runs.curls.stdout
    assert '"due":"2026-11-30T10:15:00+01:00"' in answers.replace(" ", "")  # the README's Friday 16:45 example
    assert '"first_response":true' in answers.replace(" ", "")  # Eva's call is the first response
