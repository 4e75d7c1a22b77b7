"""API benchmark: POST /api/v1/incidents and GET /api/v1/incidents/{id} next to /healthz.

    python bench/api_bench.py [--seconds 10] [--warmup 2] [--connections 4]
                              [--backends sqlite,postgresql] [--tool auto|wrk|httpx]
                              [--app MODULE:FACTORY]

wrk comes from Debian's packages (``apt-get install -y wrk``); without it the
asyncio httpx client is used (the same tool for every endpoint of a run).

For each backend, on a throw-away database (SQLite: a temp file in WAL mode;
PostgreSQL: a fresh database created from the admin URL in
UNISUPPORT_BENCH_POSTGRES_URL or UNISUPPORT_TEST_POSTGRES_URL, dropped at the end):

1. the database is prepared in this process with tests/api_server.py's ``start()``
   (migrations, the two example orders, the teams, a user and a token per role);
   its in-thread server is stopped at once;
2. the real server runs in its own process: ``python -m uvicorn
   unisupport.api.app:app_from_env --factory --workers 1`` on 127.0.0.1 with
   UNISUPPORT_DATABASE_URL pointing at that database (system clock; no access log,
   where ``unisupport serve`` logs each request at level info); ``--app`` serves
   another factory, for experiments only;
3. a separate load process (wrk, one thread, with the Lua script below; or, with
   ``--tool httpx`` or when wrk is missing, an asyncio httpx client) keeps
   ``--connections`` connections busy on each endpoint for a warm-up, then for
   ``--seconds``: GET /healthz; POST /api/v1/incidents (a Sev B on site paris,
   exchange-online, contact marie.dupont@contoso.example with her
   support-administrator token, a different title each time); GET
   /api/v1/incidents/{id} over the ids the POST phase created.

Prints per endpoint requests/s, p50, p99, errors (non-2xx or socket errors), the
server's CPU per request, and the verdicts: creations >= 25 % of the /healthz rate,
p99 <= 25 ms (POST and GET), 0 errors. Only loopback addresses; every phase is
bounded in time and the script stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from throwaway import Throwaway, admin_url, git_revision, load, show, verdict

ROOT = Path(__file__).resolve().parents[1]
for _p in (ROOT / "src", ROOT / "tests"):  # tests/ for api_server.start()
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

TARGET_SHARE = 0.25  # creations/s >= 25 % of /healthz/s
TARGET_P99_MS = 25.0
HOST = "127.0.0.1"  # loopback only
APP = "unisupport.api.app:app_from_env"
CONTACT = "marie.dupont@contoso.example"
WARMUP_CONNECTIONS_PER_WORKER = 8  # see warmup_connections
PHASE_TIMEOUT_EXTRA_S = 60  # a load process that overruns its duration by this much is killed

WRK_SCRIPT = r"""
-- unisupport api_bench: one script for the three endpoints (BENCH_MODE), so the
-- load generator does the same work per request for each of them.
local mode = os.getenv("BENCH_MODE") or "healthz"
local token = os.getenv("BENCH_TOKEN") or ""
local run = os.getenv("BENCH_RUN") or "r"
local ids = {}
local counter = 0
local nthreads = 0

function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
end

function init(args)
  if mode == "get" then
    local f = assert(io.open(os.getenv("BENCH_IDS"), "r"))
    for line in f:lines() do ids[#ids + 1] = line end
    f:close()
    counter = (tid or 1) * 7919
  end
end

local auth = {["Authorization"] = "Bearer " .. token}
local post_headers = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}

function request()
  counter = counter + 1
  if mode == "healthz" then
    return wrk.format("GET", "/healthz")
  elseif mode == "post" then
    local body = string.format(
      '{"site":"paris","contact":"marie.dupont@contoso.example","product":"exchange-online","severity":"B",' ..
      '"title":"Mail flow stopped (bench %s-%d-%d)",' ..
      '"business_impact":"Order confirmations are not sent","channel":"portal"}',
      run, tid or 1, counter)
    return wrk.format("POST", "/api/v1/incidents", post_headers, body)
  else
    return wrk.format("GET", "/api/v1/incidents/" .. ids[(counter % #ids) + 1], auth)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_s":%.6f,"errors_socket":%d,"errors_status":%d,"errors_timeout":%d,' ..
    '"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"mean_ms":%.3f}\n',
    summary.requests, summary.duration / 1e6, e.connect + e.read + e.write, e.status, e.timeout,
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(99) / 1e3,
    latency.max / 1e3, latency.mean / 1e3))
end
"""


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _processes():
    """(pid, the fields of /proc/PID/stat after the command name, the command name) of each live process."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                head, _, tail = f.read().rpartition(")")
        except OSError:
            continue
        yield int(pid), tail.split(), head.partition("(")[2]


def _cpu(fields: list[str]) -> float:
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(session: int) -> float:
    """CPU of every live process of the session ``session`` (a server and its workers)."""
    return sum(_cpu(fields) for _, fields, _ in _processes() if int(fields[3]) == session)  # field 6: the session


def postgres_cpu_seconds() -> float:
    """CPU of every process named postgres (the server and its backends), in seconds."""
    return sum(_cpu(fields) for _, fields, name in _processes() if name == "postgres")


def versions(tool: str) -> str:
    import fastapi
    import h11
    import httpx
    import pydantic
    import sqlalchemy
    import starlette
    import uvicorn

    from unisupport import __version__

    extras = []
    for name in ("uvloop", "httptools", "psycopg"):
        try:
            mod = __import__(name)
            extras.append(f"{name} {getattr(mod, '__version__', '?')}")
        except ImportError:
            extras.append(f"{name} absent")
    wrk = "absent"
    if shutil.which("wrk"):
        out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=10, check=False)
        wrk = (out.stdout + out.stderr).splitlines()[0].split(" Copyright")[0]
    return (
        f"unisupport {__version__} | Python {platform.python_version()} ({platform.python_implementation()}) | fastapi "
        f"{fastapi.__version__} starlette {starlette.__version__} pydantic {pydantic.__version__} | uvicorn "
        f"{uvicorn.__version__} h11 {h11.__version__} | {' | '.join(extras)} | SQLAlchemy {sqlalchemy.__version__} | "
        f"SQLite {sqlite3.sqlite_version} | httpx {httpx.__version__} | wrk: {wrk} | load tool used: {tool} | "
        f"{platform.platform()} | {os.cpu_count()} CPUs"
    )


# --------------------------------------------------------------------------- databases


class TempDatabase(Throwaway):
    def __init__(self, backend: str):
        super().__init__(backend, prefix="unisupport-api-bench-")

    def describe(self) -> str:
        from sqlalchemy import create_engine

        engine = create_engine(self.url)
        try:
            with engine.connect() as c:
                if self.backend == "sqlite":
                    return (
                        f"SQLite {sqlite3.sqlite_version}, file {self.tmpdir}/unisupport.db, "
                        f"journal_mode={c.exec_driver_sql('PRAGMA journal_mode').scalar()} (set by make_engine on "
                        "connect: WAL), BEGIN IMMEDIATE per transaction"
                    )
                return (
                    f"PostgreSQL {show(c, 'server_version')}, database {self.pg_name}, fsync={show(c, 'fsync')} "
                    f"synchronous_commit={show(c, 'synchronous_commit')} shared_buffers={show(c, 'shared_buffers')}"
                )
        finally:
            engine.dispose()


def prepare(url: str) -> str:
    """tests/api_server.start(): migrated database, example orders, teams, a user and a
    token per role. Its in-thread server is stopped at once; returns the
    support-administrator token of marie.dupont@contoso.example."""
    import api_server

    server, uv, thread = api_server.start(url, datetime.now(UTC))
    token = server.tokens["contoso_admin"]
    assert api_server.PEOPLE["contoso_admin"][0] == CONTACT
    api_server.stop(uv, thread, server)
    return token


def incident_ids(url: str) -> list[int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as c:
            return [r[0] for r in c.execute(text("SELECT id FROM incidents ORDER BY id"))]
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- the server


def wait_until_answers(proc: subprocess.Popen, url: str, died) -> None:  # noqa: ANN001
    """Wait (60 s at most) until ``url`` answers 2xx, raising ``died()``'s words if ``proc`` exits."""
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(died())
        try:
            if httpx.get(url, timeout=2).is_success:
                return
        except httpx.HTTPError:
            pass  # not listening yet: try again
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within 60 s")


class ServerProcess:
    def __init__(self, url: str, workdir: str, app: str, workers: int = 1):
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        env = dict(os.environ, UNISUPPORT_DATABASE_URL=url, UNISUPPORT_DATA_DIR=workdir, PYTHONUNBUFFERED="1")
        # unisupport serve's own uvicorn start (cli.server.run_uvicorn), without its
        # access log and its demo data.
        self.command = [
            sys.executable,
            "-c",
            "from unisupport.cli.server import run_uvicorn; "
            f"run_uvicorn({HOST!r}, {self.port}, {workers}, app={app!r}, log_level='warning')",
        ]
        self.log_path = Path(workdir) / "uvicorn.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            self.command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        wait_until_answers(self.proc, f"{self.base}/readyz", lambda: f"uvicorn exited:\n{self.tail()}")

    def cpu(self) -> float:
        """The CPU of the server's processes: uvicorn's and, with several workers, each
        worker's (its session, started by Popen's start_new_session)."""
        return tree_cpu_seconds(self.proc.pid)

    def tail(self, n: int = 30) -> str:
        self.log.flush()
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self.log.close()


# --------------------------------------------------------------------------- load generators


def run_wrk(
    base: str, mode: str, seconds: float, connections: int, token: str, ids_file: str | None, run: str, script: str
) -> dict:
    env = dict(os.environ, BENCH_MODE=mode, BENCH_TOKEN=token, BENCH_RUN=run, BENCH_IDS=ids_file or "")
    cmd = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        script,
        base + "/",
    ]
    out = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=seconds + PHASE_TIMEOUT_EXTRA_S, check=False
    )
    for line in out.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            result = json.loads(line.removeprefix("BENCH_JSON "))
            result["errors"] = result["errors_socket"] + result["errors_status"] + result["errors_timeout"]
            result["rps"] = result["requests"] / result["duration_s"]
            result["command"] = " ".join(cmd)
            return result
    raise RuntimeError(f"wrk printed no result (exit {out.returncode}):\n{out.stdout}\n{out.stderr}")


def run_httpx(
    base: str, mode: str, seconds: float, connections: int, token: str, ids_file: str | None, run: str
) -> dict:
    """The asyncio httpx client, in its own process (this file with --load-worker)."""
    spec = json.dumps(
        {
            "base": base,
            "mode": mode,
            "seconds": seconds,
            "connections": connections,
            "token": token,
            "ids": ids_file,
            "run": run,
        }
    )
    cmd = [sys.executable, __file__, "--load-worker", spec]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + PHASE_TIMEOUT_EXTRA_S, check=False)
    for line in out.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            result = json.loads(line.removeprefix("BENCH_JSON "))
            result["command"] = f"{sys.executable} {__file__} --load-worker '<{mode}>'"
            return result
    raise RuntimeError(f"the httpx load process printed no result (exit {out.returncode}):\n{out.stdout}\n{out.stderr}")


def load_worker(spec: dict) -> None:
    import httpx

    ids = Path(spec["ids"]).read_text().split() if spec["mode"] == "get" else []
    latencies: list[float] = []
    errors = {"status": 0, "exceptions": 0}
    headers = {"Authorization": f"Bearer {spec['token']}"}

    async def worker(client: httpx.AsyncClient, wid: int, deadline: float) -> None:
        n = wid * 7919
        while time.perf_counter() < deadline:
            n += 1
            t0 = time.perf_counter()
            try:
                if spec["mode"] == "healthz":
                    r = await client.get("/healthz")
                elif spec["mode"] == "post":
                    r = await client.post(
                        "/api/v1/incidents",
                        headers=headers,
                        json={
                            "site": "paris",
                            "contact": CONTACT,
                            "product": "exchange-online",
                            "severity": "B",
                            "title": f"Mail flow stopped (bench {spec['run']}-{wid}-{n})",
                            "business_impact": "Order confirmations are not sent",
                            "channel": "portal",
                        },
                    )
                else:
                    r = await client.get(f"/api/v1/incidents/{ids[n % len(ids)]}", headers=headers)
                ok = 200 <= r.status_code < 300
            except httpx.HTTPError:
                ok = False
                errors["exceptions"] += 1
            else:
                if not ok:
                    errors["status"] += 1
            latencies.append(time.perf_counter() - t0)

    async def main() -> float:
        limits = httpx.Limits(max_connections=spec["connections"], max_keepalive_connections=spec["connections"])
        async with httpx.AsyncClient(base_url=spec["base"], limits=limits, timeout=10) as client:
            t0 = time.perf_counter()
            await asyncio.gather(*(worker(client, w, t0 + spec["seconds"]) for w in range(spec["connections"])))
            return time.perf_counter() - t0

    elapsed = asyncio.run(main())
    lat = sorted(latencies)

    def pick(q: float) -> float:
        return lat[min(len(lat) - 1, int(q * len(lat)))] * 1e3 if lat else float("nan")

    print(
        "BENCH_JSON "
        + json.dumps(
            {
                "requests": len(lat),
                "duration_s": elapsed,
                "rps": len(lat) / elapsed,
                "errors": errors["status"] + errors["exceptions"],
                "errors_status": errors["status"],
                "errors_socket": errors["exceptions"],
                "errors_timeout": 0,
                "p50_ms": pick(0.50),
                "p90_ms": pick(0.90),
                "p99_ms": pick(0.99),
                "max_ms": lat[-1] * 1e3 if lat else float("nan"),
                "mean_ms": sum(lat) / len(lat) * 1e3 if lat else float("nan"),
            }
        ),
        flush=True,
    )


# --------------------------------------------------------------------------- one backend


def warmup_connections(connections: int, workers: int) -> int:
    """Connections of the warm-up: enough that every worker process serves some.
    Each process compiles and caches on its first requests (statements, templates), and
    a connection stays with the worker that accepted it: with ``connections`` alone, a
    worker that got none in the warm-up got its first requests in the measured phase,
    and on SQLite its slow first writes held the file's writer turn while every other
    worker waited (a 2–4 worker p99 of 0.3–2 s; with them warm, 50–150 ms)."""
    return connections if workers == 1 else max(connections, WARMUP_CONNECTIONS_PER_WORKER * workers)


def bench_backend(backend: str, args: argparse.Namespace, tool: str, script: str | None, workers: int = 1) -> dict:
    db = TempDatabase(backend)
    server = None
    out: dict = {"backend": backend, "workers": workers}
    endpoints = args.endpoints
    try:
        t0 = time.perf_counter()
        token = prepare(db.url)
        print(f"\n=== {backend}, {workers} worker(s): {db.describe()}")
        print(
            f"prepared with tests/api_server.start() in {time.perf_counter() - t0:.1f} s (orders, teams, users, tokens)"
        )
        server = ServerProcess(db.url, db.tmpdir, args.app, workers)
        print(
            f"server: {' '.join(server.command)}  (pid {server.proc.pid}, UNISUPPORT_DATABASE_URL=<the {backend} "
            "database>)"
        )
        run = uuid.uuid4().hex[:6]
        ids_file = str(Path(db.tmpdir) / "ids.txt")

        def phase(mode: str) -> dict:
            ids = ids_file if mode == "get" else None

            def go(seconds: float, connections: int = args.connections) -> dict:
                if tool == "wrk":
                    return run_wrk(server.base, mode, seconds, connections, token, ids, run, script)  # type: ignore[arg-type]
                return run_httpx(server.base, mode, seconds, connections, token, ids, run)

            warm = go(args.warmup, warmup_connections(args.connections, workers))
            cpu0, pg0 = server.cpu(), postgres_cpu_seconds() if backend == "postgresql" else 0.0
            result = go(args.seconds)
            result["server_cpu_s"] = server.cpu() - cpu0
            result["postgres_cpu_s"] = (postgres_cpu_seconds() - pg0) if backend == "postgresql" else None
            result["warmup_requests"], result["warmup_errors"] = warm["requests"], warm["errors"]
            if server.proc.poll() is not None:
                raise RuntimeError(f"the server died during {mode}:\n{server.tail()}")
            return result

        before = len(incident_ids(db.url))
        if "healthz" in endpoints:
            out["healthz"] = phase("healthz")
        out["post"] = phase("post")  # the GET phase reads what it created
        ids = incident_ids(db.url)
        out["created_in_db"] = len(ids) - before
        random.Random(42).shuffle(ids)
        Path(ids_file).write_text("\n".join(map(str, ids)) + "\n")
        if "get" in endpoints:
            out["get"] = phase("get")
        out["ids"] = len(ids)
        out["describe"] = db.describe()
        out["command"] = out["post"]["command"]
        log = server.tail()
        out["server_log"] = log
    finally:
        if server is not None:
            server.stop()
        db.drop()
    return out


def report(r: dict, args: argparse.Namespace) -> list[tuple[str, str, str, str]]:
    print(
        f"\n--- {r['backend']}: {args.connections} connections, {args.warmup:g} s warm-up then {args.seconds:g} s per "
        "endpoint"
    )
    print(
        f"{'endpoint':<28}{'req/s':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}"
        f"{'srv CPU':>9}{'ms CPU/req':>11}{'pg CPU':>8}"
    )
    names = {"healthz": "GET /healthz", "post": "POST /api/v1/incidents", "get": "GET /api/v1/incidents/{id}"}
    for key, name in names.items():
        x = r[key]
        per = x["server_cpu_s"] / x["requests"] * 1e3 if x["requests"] else float("nan")
        pg = "" if x["postgres_cpu_s"] is None else f"{x['postgres_cpu_s'] / x['duration_s'] * 100:.0f}%"
        print(
            f"{name:<28}{x['rps']:>9.1f}{x['p50_ms']:>9.2f}{x['p90_ms']:>9.2f}{x['p99_ms']:>9.2f}{x['max_ms']:>9.1f}"
            f"{x['errors']:>8}{x['server_cpu_s'] / x['duration_s'] * 100:>8.0f}%{per:>11.2f}{pg:>8}"
        )
    for key in names:
        x = r[key]
        if x["errors"] or x["warmup_errors"]:
            print(
                f"  {key}: errors status={x['errors_status']} socket={x['errors_socket']} timeout={x['errors_timeout']}"
                f" (warm-up errors {x['warmup_errors']})"
            )
    print(
        f"creations: {r['post']['requests'] + r['post']['warmup_requests']} answered (warm-up included), "
        f"{r['created_in_db']} incidents in the database (a few requests in flight at the end of a phase may add "
        f"some); GET read {r['ids']} ids"
    )
    if r["server_log"].strip():
        print("server log (last lines):\n  " + r["server_log"].replace("\n", "\n  "))
    share = r["post"]["rps"] / r["healthz"]["rps"]
    errors = r["healthz"]["errors"] + r["post"]["errors"] + r["get"]["errors"]
    b = r["backend"]
    rows = [
        (f"{b}: /healthz rate", f"{r['healthz']['rps']:.0f}/s", "-", "-"),
        (
            f"{b}: POST rate (share of /healthz)",
            f"{r['post']['rps']:.0f}/s ({share:.0%})",
            ">= 25 %",
            verdict(share >= TARGET_SHARE),
        ),
        (
            f"{b}: POST p50 / p99",
            f"{r['post']['p50_ms']:.1f} / {r['post']['p99_ms']:.1f} ms",
            "p99 <= 25 ms",
            verdict(r["post"]["p99_ms"] <= TARGET_P99_MS),
        ),
        (f"{b}: GET rate", f"{r['get']['rps']:.0f}/s", "-", "-"),
        (
            f"{b}: GET p50 / p99",
            f"{r['get']['p50_ms']:.1f} / {r['get']['p99_ms']:.1f} ms",
            "p99 <= 25 ms",
            verdict(r["get"]["p99_ms"] <= TARGET_P99_MS),
        ),
        (f"{b}: errors (healthz+POST+GET)", f"{errors}", "0", verdict(errors == 0)),
        (
            f"{b}: server CPU per request",
            " / ".join(f"{r[k]['server_cpu_s'] / r[k]['requests'] * 1e3:.2f}" for k in ("healthz", "post", "get"))
            + " ms",
            "(healthz/POST/GET)",
            "-",
        ),
    ]
    print("verdicts: " + "; ".join(f"{m.split(': ', 1)[1]} {v}" for m, _, _, v in rows if v != "-"))
    return rows


def report_scaling(results: list[dict]) -> list[tuple[str, str, str, str]]:
    """Creations per worker count, each backend's ratio to its one-worker run, and the
    verdicts of issue 14: 2 workers >= 1.3x one, never below one up to 4, 0 errors."""
    print("\n--- creations by worker processes (POST /api/v1/incidents)")
    print(
        f"{'backend':<12}{'workers':>8}{'req/s':>9}{'x 1 worker':>11}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
        f"{'ms CPU/req':>11}"
    )
    rows: list[tuple[str, str, str, str]] = []
    for backend in dict.fromkeys(r["backend"] for r in results):
        mine = [r for r in results if r["backend"] == backend]
        one = next((r["post"]["rps"] for r in mine if r["workers"] == 1), None)
        for r in mine:
            x = r["post"]
            ratio = x["rps"] / one if one else float("nan")
            per = x["server_cpu_s"] / x["requests"] * 1e3 if x["requests"] else float("nan")
            print(
                f"{backend:<12}{r['workers']:>8}{x['rps']:>9.1f}{ratio:>10.2f}x{x['p50_ms']:>9.2f}{x['p99_ms']:>9.2f}"
                f"{x['errors'] + x['warmup_errors']:>8}{per:>11.2f}"
            )
            if one and r["workers"] > 1:
                target = 1.3 if r["workers"] == 2 else 1.0
                rows.append(
                    (
                        f"{backend}: {r['workers']} workers / 1",
                        f"{ratio:.2f}x",
                        f">= {target}x",
                        verdict(ratio >= target),
                    )
                )
            rows.append(
                (f"{backend}: {r['workers']} worker(s) errors", str(x["errors"]), "0", verdict(x["errors"] == 0))
            )
            rows.append((f"{backend}: {r['workers']} worker(s) CPU per creation", f"{per:.2f} ms", "-", "-"))
    return rows


def print_setup(args: argparse.Namespace, tool: str, notes: list[str]) -> None:
    """The run's header: command, versions, load generator, server, columns, notes."""
    print("unisupport API benchmark (bench/api_bench.py)")
    print(f"command: {' '.join([sys.executable] + sys.argv)}")
    print(f"versions: {versions(tool)}")
    print(
        f"load generator: {tool}, a separate process, {args.connections} connections"
        + (
            ", 1 thread (wrk -t1), the same Lua script for the three endpoints"
            if tool == "wrk"
            else ", one asyncio httpx client"
        )
        + f"; with N > 1 workers the warm-up opens max(connections, {WARMUP_CONNECTIONS_PER_WORKER} x N) "
        "so that every worker is warm before the measured phase"
    )
    if args.app != APP:
        print(f"EXPERIMENT: serving {args.app}, not {APP}")
    print(
        f"server: uvicorn, {args.workers} worker process(es) (FastAPI runs the sync endpoints in its thread pool); "
        "machine: "
        f"{os.cpu_count()} CPUs shared by the server, the load generator and PostgreSQL"
    )
    print(
        "columns: srv CPU = the uvicorn process's CPU (user+system) over the measured phase; ms CPU/req = that CPU per "
        "answered request; pg CPU = every postgres process on the machine (other databases' sessions included)"
    )
    print(f"{load()}; started {datetime.now(UTC).isoformat(timespec='seconds')}; {git_revision(ROOT)}")
    for n in notes:
        print(n)


def pick_tool(tool: str, parser: argparse.ArgumentParser) -> str:
    """wrk when asked or (auto) installed, else the httpx client."""
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "httpx"
    if tool == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install -y wrk), use --tool httpx")
    return tool


def main() -> int:
    # SIGTERM (timeout, kill) unwinds like Ctrl-C: the server is stopped, the databases dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per endpoint")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per endpoint (not counted)")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--tool",
        choices=("auto", "wrk", "httpx"),
        default="auto",
        help="load generator, the same for every endpoint of a run (auto: wrk when installed)",
    )
    parser.add_argument(
        "--app", default=APP, help=f"the uvicorn app factory to serve (default {APP}; another one only for experiments)"
    )
    parser.add_argument(
        "--workers",
        default="1",
        help="uvicorn worker processes, a comma-separated list run one after the other (1,2,4)",
    )
    parser.add_argument(
        "--endpoints", default="healthz,post,get", help="the phases to run (post always runs: GET reads what it made)"
    )
    parser.add_argument("--load-worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_worker:
        load_worker(json.loads(args.load_worker))
        return 0
    if not 1 <= args.seconds <= 120 or not 0 <= args.warmup <= 30 or not 1 <= args.connections <= 64:
        parser.error("--seconds 1..120, --warmup 0..30, --connections 1..64")

    args.endpoints = {e.strip() for e in args.endpoints.split(",")} | {"post"}
    worker_counts = [int(w) for w in args.workers.split(",")]
    tool = pick_tool(args.tool, parser)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    notes = []
    if "postgresql" in backends and not admin_url():
        backends.remove("postgresql")
        notes.append(
            "NOTE: no PostgreSQL: set UNISUPPORT_BENCH_POSTGRES_URL (or UNISUPPORT_TEST_POSTGRES_URL) to an admin URL; "
            "ran SQLite only"
        )

    print_setup(args, tool, notes)

    script = None
    scratch = tempfile.mkdtemp(prefix="unisupport-api-bench-wrk-")
    rows: list[tuple[str, str, str, str]] = []
    try:
        if tool == "wrk":
            script = str(Path(scratch) / "bench.lua")
            Path(script).write_text(WRK_SCRIPT)
        results = []
        for backend in backends:
            for workers in worker_counts:
                results.append(bench_backend(backend, args, tool, script, workers))
        if args.endpoints == {"healthz", "post", "get"} and worker_counts == [1]:
            for r in results:
                rows += report(r, args)
        else:
            rows += report_scaling(results)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print(f"\n{load()}")
    for n in notes:
        print(n)
    print("\nmetric | value | target | verdict")
    w = max(len(m) for m, *_ in rows) if rows else 10
    for m, v, t, said in rows:
        print(f"{m:<{w}} | {v:<22} | {t:<13} | {said}")
    return 0 if all(v in ("PASS", "-") for *_, v in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
