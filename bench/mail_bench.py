"""Mail-in benchmark: 10,000 inbound mails from the corpus (tests/mail/) through
mail-in, into SQLite and PostgreSQL, then a kill -9 half-way and a restart.

    python bench/mail_bench.py [--mails 10000] [--backends sqlite,postgresql] [--batch 50]
                               [--no-kill] [--cores 0]

Needs a Dovecot (``bash .ci/start-dovecot.sh`` prints its URL; the benchmark reads
UNISUPPORT_BENCH_IMAP_URL or UNISUPPORT_TEST_IMAP_URL) and, for PostgreSQL, the admin
URL in UNISUPPORT_BENCH_POSTGRES_URL or UNISUPPORT_TEST_POSTGRES_URL (bench/throwaway.py).

Setup: a throw-away database with the two example orders and the three Contoso
incidents the corpus answers (tests/mail_corpus.py ``build_world``). The mails are
the corpus's files in turn, each with a Message-ID of its own (and a header that
makes the bytes, hence the synthetic id, of the mail without one unique): replies
on open and closed incidents, new incidents, strangers, bounces, out-of-office
replies, in the corpus's proportions. They are put into a fresh Dovecot folder with
IMAP APPEND (not timed).

Measured (i): one ``mail-in`` pass (``intake.poll``: fetch, handle, commit a batch,
mark) in this process, pinned to one core (``--cores``): mails per second (wall),
CPU seconds per mail of this process (the database server and Dovecot run on the
other core), and the p50/p99 of one mail's handling inside its batch's transaction;
the batch commits are timed apart.
(ii): the same mails into a second fresh database and folder by ``unisupport
mail-in --once`` as a child process, killed with SIGKILL once half of them are
recorded, then run again to the end: every Message-ID recorded once (0 lost, 0
duplicates), every incident message once, nothing left unmarked in the mailbox.
"""

from __future__ import annotations

import argparse
import imaplib
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests"), str(ROOT / "bench")]

from mail_corpus import NOW, build_world, entries, mail_bytes  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from throwaway import Throwaway, admin_url, git_revision, load  # noqa: E402

from unisupport.clock import FixedClock  # noqa: E402
from unisupport.mail_in.imap import Mailbox  # noqa: E402
from unisupport.services.mail_intake import poll  # noqa: E402
from unisupport.mail_in.settings import MailInSettings, imap_endpoint  # noqa: E402
from unisupport.services.incidents import IncidentSettings  # noqa: E402
from unisupport.storage.database import Database, make_engine, migrate  # noqa: E402
from unisupport.storage.tables import InboundMailRow, MessageRow  # noqa: E402

REPLY = "support@provider.example"
_MESSAGE_ID = re.compile(rb"^(Message-I[Dd]: *<)", re.MULTILINE | re.IGNORECASE)


def imap_url() -> str:
    url = os.environ.get("UNISUPPORT_BENCH_IMAP_URL") or os.environ.get("UNISUPPORT_TEST_IMAP_URL")
    if not url:
        sys.exit("no Dovecot: run `bash .ci/start-dovecot.sh` and set UNISUPPORT_TEST_IMAP_URL to its last line")
    return url


def corpus_mails(world, count: int) -> list[bytes]:
    """``count`` mails from the corpus's files in turn, each its own."""
    files = [e for e in entries() if "file" in e]
    templates = [mail_bytes(e, world.threads) for e in files]
    out = []
    for n in range(count):
        raw = templates[n % len(templates)]
        raw = _MESSAGE_ID.sub(rb"\1bench-%d-" % n, raw, count=1)
        out.append(b"X-Bench-Sequence: %d\n" % n + raw)
    return out


def fresh_folder(url: str) -> str:
    ep = imap_endpoint(url)
    folder = f"bench-{uuid.uuid4().hex[:10]}"
    imap = imaplib.IMAP4(ep.host, ep.port)
    imap.login(ep.username, ep.password)
    assert imap.create(f'"{folder}"')[0] == "OK"
    imap.logout()
    return urlunsplit(urlsplit(url)._replace(path=f"/{folder}"))


def append(url: str, mails: list[bytes]) -> float:
    ep = imap_endpoint(url)
    imap = imaplib.IMAP4(ep.host, ep.port)
    imap.login(ep.username, ep.password)
    started = time.perf_counter()
    for raw in mails:
        status, data = imap.append(f'"{ep.mailbox}"', None, None, raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
        assert status == "OK", data
    imap.logout()
    return time.perf_counter() - started


def prepared(backend: str, mails_count: int, url: str):
    db_place = Throwaway(backend, prefix="unisupport-mail-bench-")
    db = Database(make_engine(db_place.url))
    migrate(db.engine)
    with db.transaction() as session:
        world = build_world(session)
    folder = fresh_folder(url)
    mails = corpus_mails(world, mails_count)
    seconds = append(folder, mails)
    settings = MailInSettings(
        reply_address=REPLY,
        mail_from="unisupport@provider.example",
        blob_dir=Path(db_place.tmpdir) / "blobs",
        incident=IncidentSettings(reply_address=REPLY),
        imap_url=folder,
    )
    return db_place, db, folder, settings, seconds


def throughput(backend: str, count: int, url: str, batch: int, cores: set[int]) -> Counter:
    db_place, db, folder, settings, appended = prepared(backend, count, url)
    print(f"\n== {backend}: {count} mails appended to Dovecot in {appended:.1f} s (not timed below)")
    os.sched_setaffinity(0, cores)
    try:
        with Mailbox(imap_endpoint(folder)) as mailbox:
            cpu = time.process_time()
            report = poll(db, mailbox, settings=settings, clock=FixedClock(NOW), batch=batch)
            cpu = time.process_time() - cpu
            assert mailbox.pending() == [], "mail left unhandled"
    finally:
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    durations = sorted(report.durations)
    p99 = durations[int(0.99 * (len(durations) - 1))]
    print(f"   handled {report.handled} mails in {report.seconds:.2f} s: {report.handled / report.seconds:.0f} mails/s")
    print(f"   CPU of this process: {cpu / report.handled * 1000:.2f} ms per mail (pinned to core(s) {sorted(cores)})")
    print(
        f"   one mail's handling in its batch: p50 {statistics.median(durations) * 1000:.2f} ms, "
        f"p99 {p99 * 1000:.2f} ms, max {durations[-1] * 1000:.1f} ms (batches of {batch}, one commit each)"
    )
    print(f"   outcomes: {dict(sorted(report.outcomes.items()))}; failed {report.failed}")
    db.engine.dispose()
    db_place.drop()
    return report.outcomes


def killed_and_restarted(backend: str, count: int, url: str) -> None:
    db_place, db, folder, settings, _ = prepared(backend, count, url)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT / "src"),
        "UNISUPPORT_DATABASE_URL": db_place.url,
        "UNISUPPORT_DATA_DIR": db_place.tmpdir,
        "UNISUPPORT_MAIL_REPLY_ADDRESS": REPLY,
        "UNISUPPORT_IMAP_URL": folder,
    }
    command = [sys.executable, "-m", "unisupport.cli.main", "mail-in", "--once"]

    def recorded() -> int:
        with db.reading() as session:
            return session.scalar(select(func.count()).select_from(InboundMailRow))

    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while recorded() < count // 2 and child.poll() is None:
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    at_kill = recorded()
    started = time.perf_counter()
    second = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert second.returncode == 0, second.stderr
    with db.reading() as session:
        ids = session.scalars(select(InboundMailRow.message_id)).all()
        messages = session.scalars(select(MessageRow.mail_message_id).where(MessageRow.mail_message_id.is_not(None)))
        messages = [m for m in messages if "bench-" in m or "sha256-" in m]
    with Mailbox(imap_endpoint(folder)) as mailbox:
        left = len(mailbox.pending())
    lost = count - len(set(ids))
    duplicates = (len(ids) - len(set(ids))) + (len(messages) - len(set(messages)))
    restart = time.perf_counter() - started
    print(
        f"   kill -9 with {at_kill} of {count} recorded; the restart finished in {restart:.1f} s: "
        f"{len(set(ids))} recorded, {lost} lost, {duplicates} duplicates, {left} left unmarked in the mailbox; "
        f"{len(messages)} incident messages, each once"
    )
    assert lost == 0 and duplicates == 0 and left == 0
    db.engine.dispose()
    db_place.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mails", type=int, default=10_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--cores", default="0", help="the cores this process is pinned to, e.g. 0 or 0,1")
    parser.add_argument("--no-kill", action="store_true", help="skip the kill -9 run")
    args = parser.parse_args()
    url = imap_url()
    backends = [b for b in args.backends.split(",") if b]
    if "postgresql" in backends and not admin_url():
        sys.exit("no PostgreSQL: set UNISUPPORT_BENCH_POSTGRES_URL (or UNISUPPORT_TEST_POSTGRES_URL)")
    print(f"mail-in benchmark · {git_revision(ROOT)} · {load()} · Python {sys.version.split()[0]}")
    cores = {int(c) for c in args.cores.split(",")}
    for backend in backends:
        throughput(backend, args.mails, url, args.batch, cores)
        if not args.no_kill:
            killed_and_restarted(backend, args.mails, url)


if __name__ == "__main__":
    main()
