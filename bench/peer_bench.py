"""Peer benchmark: creating a ticket in django-helpdesk against creating an incident in
unisupport, one after the other on the same machine, with the same load generator.

    python bench/peer_bench.py [--seconds 15] [--warmup 2] [--connections 4] [--workers 1,2]
                               [--venv ~/.cache/unisupport-peer-bench] [--backends sqlite,postgresql]

1. django-helpdesk (``PEER``, from PyPI) is installed with gunicorn into a bench-only
   virtual environment outside the repository (``--venv``); none of its code is kept
   here. A throw-away Django project (settings and URLs written by this script into a
   temporary folder: helpdesk's REST API, DRF token authentication, SQLite, mail to
   Django's dummy backend) is migrated, with a staff user, its token and one queue.
2. It runs under gunicorn, sync workers (``--workers`` each), then unisupport runs as
   bench/api_bench.py runs it (``cli.server.run_uvicorn``, SQLite, then PostgreSQL when
   UNISUPPORT_BENCH_POSTGRES_URL or UNISUPPORT_TEST_POSTGRES_URL is set).
3. wrk (Debian's; ``apt-get install -y wrk``), one thread, ``--connections``
   connections: POST /api/tickets/ (a different title each time, ``Authorization: Token``)
   against POST /api/v1/incidents (bench/api_bench.py's script, a bearer token). The same
   warm-up and measured seconds for each.

Prints requests/s, p50/p99, errors and the server's CPU per request for each, and the
table: unisupport / django-helpdesk at equal workers (target >= 5x). Loopback only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import api_bench as ab
from throwaway import admin_url, git_revision, load

PEER = "django-helpdesk==2.6.1"
DEFAULT_VENV = Path.home() / ".cache" / "unisupport-peer-bench"
TARGET_RATIO = 5.0

SETTINGS = """
SECRET_KEY = "peer-bench-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "peer_urls"
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
    "django.contrib.messages", "django.contrib.staticfiles", "django.contrib.sites", "django.contrib.humanize",
    "rest_framework", "rest_framework.authtoken", "helpdesk",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware", "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware", "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [], "APP_DIRS": True,
              "OPTIONS": {"context_processors": ["django.template.context_processors.request",
                                                 "django.contrib.auth.context_processors.auth",
                                                 "django.contrib.messages.context_processors.messages"]}}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": DB_PATH,
                         "OPTIONS": {"timeout": 60, "init_command": "PRAGMA journal_mode=WAL"}}}
SITE_ID = 1
HELPDESK_TEAMS_MODE_ENABLED = False  # no pinax-teams: teams are not what is measured
USE_TZ = True
STATIC_URL = "/static/"
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
REST_FRAMEWORK = {"DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"]}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
"""

URLS = """
from django.urls import include, path
urlpatterns = [path("", include("helpdesk.urls"))]
"""

SETUP = """
import django
django.setup()
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from helpdesk.models import Queue
user = User.objects.create_user("bench", "bench@example.com", "bench-password", is_staff=True, is_superuser=True)
queue = Queue.objects.create(title="Support", slug="support", email_address="support@example.com")
print(Token.objects.create(user=user).key, queue.id)
"""

WRK_PEER = r"""
local token = os.getenv("BENCH_TOKEN")
local queue = os.getenv("BENCH_QUEUE")
local run = os.getenv("BENCH_RUN") or "r"
local counter = 0
local headers = {["Authorization"] = "Token " .. token, ["Content-Type"] = "application/json"}
function request()
  counter = counter + 1
  local body = string.format(
    '{"queue":%s,"title":"Mail flow stopped (bench %s-%d)","description":"Order confirmations are not sent",' ..
    '"submitter_email":"marie.dupont@contoso.example","priority":2}', queue, run, counter)
  return wrk.format("POST", "/api/tickets/", headers, body)
end
""" + ab.WRK_SCRIPT[ab.WRK_SCRIPT.index("function done(") :]


def install(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    ok = subprocess.run([str(python), "-c", "import helpdesk, gunicorn"], capture_output=True).returncode == 0
    if not ok:
        subprocess.run([str(python), "-m", "pip", "install", "-q", PEER, "gunicorn"], check=True)
    return python


class Peer:
    """django-helpdesk under gunicorn (sync workers) on a fresh SQLite file."""

    def __init__(self, python: Path, workers: int):
        self.dir = Path(tempfile.mkdtemp(prefix="unisupport-peer-bench-"))
        db = self.dir / "helpdesk.sqlite3"
        (self.dir / "peer_settings.py").write_text(f"DB_PATH = {str(db)!r}\n" + SETTINGS)
        (self.dir / "peer_urls.py").write_text(URLS)
        (self.dir / "wsgi_app.py").write_text(
            "from django.core.wsgi import get_wsgi_application\napplication = get_wsgi_application()\n"
        )
        env = dict(os.environ, DJANGO_SETTINGS_MODULE="peer_settings", PYTHONPATH=str(self.dir))
        env.pop("PYTHONHOME", None)
        subprocess.run(
            [str(python), "-m", "django", "migrate", "-v", "0"], cwd=self.dir, env=env, check=True, timeout=600
        )
        out = subprocess.run(
            [str(python), "-c", SETUP], cwd=self.dir, env=env, check=True, capture_output=True, text=True
        )
        self.token, self.queue = out.stdout.split()
        self.port = ab.free_port()
        self.base = f"http://{ab.HOST}:{self.port}"
        self.log = open(self.dir / "gunicorn.log", "wb")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            [str(python), "-m", "gunicorn", "-w", str(workers), "-k", "sync", "-b", f"{ab.HOST}:{self.port}",
             "--log-level", "warning", "wsgi_app:application"],
            cwd=self.dir, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self._wait()

    def _wait(self) -> None:
        log = self.dir / "gunicorn.log"
        ab.wait_until_answers(self.proc, f"{self.base}/api/", lambda: f"gunicorn exited: {log.read_text()[-2000:]}")

    def cpu(self) -> float:
        return ab.tree_cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        ab.ServerProcess.stop(self)  # type: ignore[arg-type]  (same fields: proc, log)
        shutil.rmtree(self.dir, ignore_errors=True)


def measure(server, script: str, env: dict[str, str], args: argparse.Namespace) -> dict:
    def go(seconds: float) -> dict:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{args.connections}", f"-d{seconds:g}s", "--timeout", "10s", "-s", script, server.base],
            env=dict(os.environ, **env), capture_output=True, text=True, timeout=seconds + ab.PHASE_TIMEOUT_EXTRA_S,
        )  # fmt: skip
        line = next((x for x in out.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
        if line is None:
            raise RuntimeError(f"wrk printed no result:\n{out.stdout}\n{out.stderr}")
        import json

        r = json.loads(line.split(" ", 1)[1])
        r["errors"] = r["errors_socket"] + r["errors_status"] + r["errors_timeout"]
        r["rps"] = r["requests"] / r["duration_s"]
        return r

    warm = go(args.warmup)
    cpu0 = server.cpu()
    r = go(args.seconds)
    r["cpu_ms"] = (server.cpu() - cpu0) / max(r["requests"], 1) * 1000
    r["errors"] += warm["errors"]
    return r


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--backends", default="sqlite,postgresql", help="unisupport's databases (the peer: SQLite)")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="the peer's virtual environment")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        parser.error("wrk is not installed: apt-get install -y wrk")
    backends = [b for b in args.backends.split(",") if b != "postgresql" or admin_url()]
    workers = [int(w) for w in args.workers.split(",")]
    python = install(args.venv)
    version = subprocess.run(
        [str(python), "-c", "import django, helpdesk, gunicorn; print(django.__version__, gunicorn.__version__)"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    scratch = Path(tempfile.mkdtemp(prefix="unisupport-peer-wrk-"))
    peer_script, ours_script = scratch / "peer.lua", scratch / "ours.lua"
    peer_script.write_text(WRK_PEER)
    ours_script.write_text(ab.WRK_SCRIPT)
    print("peer benchmark (bench/peer_bench.py)")
    print(f"command: {' '.join([sys.executable] + sys.argv)}")
    print(f"peer: {PEER}, Django {version[0]}, gunicorn {version[1]} sync workers, SQLite (WAL), in {args.venv}")
    print(f"ours: {ab.versions('wrk')}")
    print(
        f"load: wrk -t1 -c{args.connections}, {args.warmup:g} s warm-up then {args.seconds:g} s; {load()}; "
        f"{git_revision(ab.ROOT)}"
    )
    rows: dict[tuple[str, int], dict] = {}
    try:
        for n in workers:
            peer = Peer(python, n)
            try:
                env = {"BENCH_TOKEN": peer.token, "BENCH_QUEUE": peer.queue, "BENCH_RUN": uuid.uuid4().hex[:6]}
                rows[("django-helpdesk (SQLite)", n)] = measure(peer, str(peer_script), env, args)
            finally:
                peer.stop()
            for backend in backends:
                db = ab.TempDatabase(backend)
                server = None
                try:
                    token = ab.prepare(db.url)
                    server = ab.ServerProcess(db.url, db.tmpdir, ab.APP, n)
                    env = {"BENCH_MODE": "post", "BENCH_TOKEN": token, "BENCH_RUN": uuid.uuid4().hex[:6]}
                    rows[(f"unisupport ({backend})", n)] = measure(server, str(ours_script), env, args)
                finally:
                    if server is not None:
                        server.stop()
                    db.drop()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"\n{load()}")
    print("\n| workers each | server | creations/s | p50 / p99 ms | errors | CPU/creation | × django-helpdesk |")
    print("|---|---|---|---|---|---|---|")
    verdicts = []
    for n in workers:
        peer = rows[("django-helpdesk (SQLite)", n)]
        for (name, w), r in rows.items():
            if w != n:
                continue
            ratio = r["rps"] / peer["rps"] if peer["rps"] else float("nan")
            print(
                f"| {n} | {name} | {r['rps']:.1f} | {r['p50_ms']:.1f} / {r['p99_ms']:.1f} | {r['errors']} | "
                f"{r['cpu_ms']:.2f} ms | {ratio:.2f}× |"
            )
            if name.startswith("unisupport"):
                verdicts.append(ratio >= TARGET_RATIO)
    print(f"\ntarget: unisupport >= {TARGET_RATIO:g}x django-helpdesk at equal workers: {ab.verdict(all(verdicts))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
