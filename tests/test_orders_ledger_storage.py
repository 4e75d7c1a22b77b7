"""Orders and ledgers on a real database, SQLite and PostgreSQL (R-ORD-1..3,
R-FLEX-1/3/6, R-CRED-2). Each test runs in a transaction rolled back at its end."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.pool import NullPool

from order_documents import order
from unisupport.errors import InvalidInput
from unisupport.ledger.charge import ChargeNotConfirmed
from unisupport.refusal import Refused
from unisupport.services import ledger
from unisupport.services.audit import events_of
from unisupport.services.orders import OrderInvalid, close_period, import_order, order_by_number, versions
from unisupport.storage import database
from unisupport.storage.database import Database, ReadOnly, make_engine
from unisupport.storage.tables import ContactRow, LedgerEntryRow

NOW = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)


def balances_of(session, number="ESO-TEST-1"):
    row = order_by_number(session, number)
    return {b.key: b for b in ledger.balances(session, customer_id=row.customer_id, order_id=row.id)}


def test_import_creates_the_order_and_executes_it(session):
    result = import_order(session, order(), actor="ops@provider", now=NOW)
    assert (result.outcome, result.version) == ("created", 1)
    b = balances_of(session)
    # R-FLEX-1: granted, allocated to the flex lines; R-FLEX-6: the rest forfeited at execution.
    assert b["flex:y1"].granted == Decimal("100000") and b["flex:y1"].balance == 0
    assert b["flex:y1"].forfeited == Decimal("30000")
    assert b["flex:y2"].forfeited == Decimal("80000")
    assert b["line:credits-y1"].balance == Decimal("100") and b["line:credits-y1"].unit == "credits"
    assert b["line:de-paris"].unit == "hours" and b["line:de-paris"].expires_on == date(2026, 12, 31)
    assert b["line:workshops-paid"].expires_on == date(2027, 12, 31)  # paid: the end of the term (R-ORD-3)
    assert b["line:credits-y2"].expires_on == date(2027, 12, 31)


def test_importing_the_same_file_twice_changes_nothing(session):
    import_order(session, order(), actor="ops", now=NOW)
    count = session.scalar(select(text("count(*)")).select_from(LedgerEntryRow))
    again = import_order(session, order(), actor="ops", now=NOW)
    assert again.outcome == "unchanged" and again.version == 1
    assert session.scalar(select(text("count(*)")).select_from(LedgerEntryRow)) == count


def test_an_amendment_keeps_every_past_version_and_says_what_changed(session):
    import_order(session, order(), actor="ops", now=NOW)
    amended = order()
    amended["lines"][3]["quantity"] = "12"
    amended["lines"][3]["price"] = "18000.00"
    result = import_order(session, amended, actor="csam@provider", now=NOW, reason="two more seats")
    assert (result.outcome, result.version) == ("amended", 2)
    assert {"path": "lines[workshops-paid].quantity", "before": "10", "after": "12"} in result.changes
    row = order_by_number(session, "ESO-TEST-1")
    history = versions(session, row)
    assert [v.version for v in history] == [1, 2]
    assert history[0].document["lines"][3]["quantity"] == "10"
    assert history[1].actor == "csam@provider" and history[1].reason == "two more seats"
    # The ledger grants the difference.
    assert balances_of(session)["line:workshops-paid"].balance == Decimal("12")


def refused_amendment(session, document, **kwargs):
    """The refusal of an import, its writes undone (as the API's and the CLI's
    transactions undo them)."""
    with pytest.raises((ChargeNotConfirmed, InvalidInput)) as info, session.begin_nested():
        import_order(session, document, actor="ops", now=NOW, **kwargs)
    return info.value


def test_an_amendment_that_takes_back_is_made_only_once_what_it_takes_is_confirmed(session):
    """D45: a lower quantity takes back what the customer held; it is shown first."""
    import_order(session, order(), actor="ops", now=NOW)
    amended = order()
    amended["lines"][1]["quantity"] = "70"  # de-paris: 80 → 70 hours
    refused = refused_amendment(session, amended)
    assert isinstance(refused, ChargeNotConfirmed)
    assert (refused.rule, refused.field) == ("R-ORD-1", "expected_forfeit")
    assert refused.details["charge"] == {"hours": "10"} and refused.details["confirm_with"] == {
        "expected_forfeit": "10"
    }
    assert refused.details["accounts"][0]["account"] == "line:de-paris" and "10 hours" in refused.message
    assert "not 8 hours" in refused_amendment(session, amended, expected_forfeit="8 hours").message
    assert balances_of(session)["line:de-paris"].balance == 80 and order_by_number(session, "ESO-TEST-1").version == 1
    result = import_order(session, amended, actor="ops", now=NOW, expected_forfeit="10 hours")
    assert result.outcome == "amended" and balances_of(session)["line:de-paris"].balance == 70


def test_terminating_an_order_forfeits_only_what_was_confirmed(session):
    """R-ORD-2 forfeits every add-on balance: in several units, confirmed as shown."""
    import_order(session, order(), actor="ops", now=NOW)
    terminated = order(status="terminated")
    refused = refused_amendment(session, terminated)
    assert refused.rule == "R-ORD-2"
    assert refused.details["charge"] == {"credits": "150", "hours": "80", "per-attendee": "10", "annual": "1"}
    shown = refused.details["confirm_with"]["expected_forfeit"]
    assert shown == "150 credits, 80 hours, 10 per-attendee, 1 annual"
    assert isinstance(refused_amendment(session, terminated, expected_forfeit="150"), InvalidInput)  # which unit?
    assert order_by_number(session, "ESO-TEST-1").status == "active"
    import_order(session, terminated, actor="ops", now=NOW, expected_forfeit=shown)
    assert order_by_number(session, "ESO-TEST-1").status == "terminated"
    assert all(b.balance == 0 for k, b in balances_of(session).items() if not k.startswith("fees:"))


def test_an_invalid_order_is_refused_whole_with_every_violation(session):
    bad = order(base_package=None)
    with pytest.raises(OrderInvalid) as info:
        import_order(session, bad, actor="ops", now=NOW)
    assert any(v.rule == "R-ORD-2" for v in info.value.violations)
    assert session.scalar(select(text("count(*)")).select_from(LedgerEntryRow)) == 0


def test_an_order_cannot_go_back_to_draft(session):
    import_order(session, order(), actor="ops", now=NOW)
    with pytest.raises(Refused) as info:
        import_order(session, order(status="draft"), actor="ops", now=NOW)
    assert info.value.rule == "R-ORD-1"


def test_a_draft_order_posts_nothing_until_it_is_executed(session):
    draft = order(status="draft", executed_on=None)
    import_order(session, draft, actor="ops", now=NOW)
    assert balances_of(session) == {}
    import_order(session, order(), actor="ops", now=NOW)
    assert balances_of(session)["line:credits-y1"].balance == Decimal("100")


def test_contact_changes_are_kept_with_who_and_when(session):
    import_order(session, order(), actor="ops", now=NOW)
    changed = order()
    changed["contacts"] = [changed["contacts"][0] | {"name": "Ada Lovelace"}]
    later = datetime(2026, 2, 1, tzinfo=UTC)
    import_order(session, changed, actor="admin@northwind.example", now=later)
    contacts = {c.email: c for c in session.scalars(select(ContactRow))}
    assert contacts["ops@northwind.example"].active is False  # withdrawn, not deleted (R-ORD-4)
    ada = contacts["admin@northwind.example"]
    events = events_of(session, customer_id=ada.customer_id, subject_type="contact", subject_id=ada.id)
    update = [e for e in events if e.tag == "contact:update"][0]
    assert (update.actor, update.at, update.before["name"], update.after["name"]) == (
        "admin@northwind.example",
        later,
        "Ada Admin",
        "Ada Lovelace",
    )


def test_year_end_forfeits_what_that_year_paid_for_and_is_unused(session):
    import_order(session, order(), actor="ops", now=NOW)
    close_period(session, as_of=date(2026, 12, 31), actor="system", now=NOW)
    assert balances_of(session)["line:credits-y1"].balance == 100  # still the last day
    results = close_period(session, as_of=date(2027, 1, 1), actor="system", now=NOW)
    b = balances_of(session)
    assert b["line:credits-y1"].balance == 0 and b["line:credits-y1"].forfeited == 100  # R-FLEX-3
    assert b["line:de-paris"].forfeited == 80
    assert b["line:credits-y2"].balance == 50 and b["line:workshops-paid"].balance == 10
    forfeited = {f["account"]: f["rule"] for f in results[0].forfeited}
    assert forfeited == {"line:credits-y1": "R-FLEX-3", "line:de-paris": "R-FLEX-3"}


def test_term_end_forfeits_everything_unused_and_expires_the_order(session):
    import_order(session, order(), actor="ops", now=NOW)
    results = close_period(session, as_of=date(2028, 1, 1), actor="system", now=NOW)
    assert results[0].expired
    assert all(b.balance == 0 for k, b in balances_of(session).items() if not k.startswith("fees:"))
    rules = {f["account"]: f["rule"] for f in results[0].forfeited}
    assert rules["line:workshops-paid"] == "R-ORD-3" and rules["line:credits-y1"] == "R-FLEX-3"
    assert order_by_number(session, "ESO-TEST-1").status == "expired"


def test_closing_a_period_twice_forfeits_once(session):
    import_order(session, order(), actor="ops", now=NOW)
    close_period(session, as_of=date(2027, 1, 1), actor="system", now=NOW)
    count = session.scalar(select(text("count(*)")).select_from(LedgerEntryRow))
    second = close_period(session, as_of=date(2027, 1, 1), actor="system", now=NOW)
    assert second[0].forfeited == []
    assert session.scalar(select(text("count(*)")).select_from(LedgerEntryRow)) == count


def test_running_balances_match_the_entries(session):
    import_order(session, order(), actor="ops", now=NOW)
    close_period(session, as_of=date(2027, 1, 1), actor="system", now=NOW)
    row = order_by_number(session, "ESO-TEST-1")
    assert ledger.verify(session, customer_id=row.customer_id, order_id=row.id) == []


def test_ledger_entries_cannot_be_changed_or_deleted(session):
    import_order(session, order(), actor="ops", now=NOW)
    for statement in ("UPDATE ledger_entries SET amount = 0", "DELETE FROM ledger_entries"):
        nested = session.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(statement))
        nested.rollback()


def test_a_posting_that_would_overdraw_is_refused(session):
    from unisupport.ledger.posting import EntryKind, Posting

    import_order(session, order(), actor="ops", now=NOW)
    row = order_by_number(session, "ESO-TEST-1")
    with pytest.raises(Refused) as info:
        ledger.post(
            session,
            row,
            [Posting("line:credits-y1", EntryKind.CONSUME, Decimal("-101"), "too much", "R-CRED-2", date(2026, 3, 1))],
            actor="x",
            at=NOW,
        )
    assert info.value.rule == "R-CRED-2"
    assert balances_of(session)["line:credits-y1"].balance == 100


def test_an_exchange_of_equal_value_needs_the_approver_and_is_two_ledger_entries(session):
    from unisupport.services.exchanges import exchange

    import_order(session, order(), actor="ops", now=NOW)
    row = order_by_number(session, "ESO-TEST-1")
    at = datetime(2026, 2, 1, tzinfo=UTC)
    kwargs = dict(
        from_line="workshops-paid",
        quantity=Decimal("4"),
        to_service="chalk-talks",
        to_unit="engagement",
        to_quantity=Decimal("1"),
        reason="a chalk talk fits better",
        actor="csam@provider",
        now=at,
    )
    with pytest.raises(Refused) as info:
        exchange(session, row, approver=None, to_value=Decimal("6000"), **kwargs)
    assert info.value.rule == "R-FLEX-5"
    with pytest.raises(Refused, match="equal value"):
        exchange(session, row, approver="sdm@provider.example", to_value=Decimal("6500"), **kwargs)  # 4 × 1,500 = 6,000
    done = exchange(session, row, approver="sdm@provider.example", to_value=Decimal("6000"), **kwargs)
    b = balances_of(session)
    assert (
        b["line:workshops-paid"].balance == 6 and b[done.account].balance == 1 and b[done.account].unit == "engagement"
    )
    assert b[done.account].expires_on == b["line:workshops-paid"].expires_on
    entries = session.scalars(select(LedgerEntryRow).where(LedgerEntryRow.kind == "exchange")).all()
    assert (
        len(entries) == 2
        and len({e.correlation for e in entries}) == 1
        and all("sdm@provider.example" in e.reason for e in entries)
    )


def test_a_read_only_transaction_does_not_wait_for_a_writer(fresh_database):
    """On SQLite a reader must not queue behind a writer holding the write lock."""
    with fresh_database.transaction() as session:
        import_order(session, order(), actor="ops", now=NOW)
    with fresh_database.transaction() as writer:
        writer.execute(text("UPDATE orders SET updated_at = updated_at"))  # holds the write lock
        with fresh_database.reading() as reader:
            row = order_by_number(reader, "ESO-TEST-1")
            assert ledger.quick_balances(reader, customer_id=row.customer_id, order_id=row.id)["line:credits-y1"] == 100


def test_a_read_only_transaction_refuses_to_write(fresh_database):
    with fresh_database.transaction() as session:
        import_order(session, order(), actor="ops", now=NOW)
    with fresh_database.reading() as reader:
        order_by_number(reader, "ESO-TEST-1").status = "closed"
        with pytest.raises(ReadOnly):
            reader.flush()
    with fresh_database.reading() as reader:
        assert order_by_number(reader, "ESO-TEST-1").status != "closed"


def test_sqlite_writers_of_one_process_take_turns_and_always_give_the_turn_back(fresh_database, backend, monkeypatch):
    """The in-process write lock (storage.database): one per SQLite file, released
    however the transaction ends; PostgreSQL writers lock rows only."""
    lock = fresh_database.write_lock
    if backend == "postgresql":
        assert lock is None
        return
    other = Database(make_engine(fresh_database.engine.url.render_as_string(hide_password=False)))
    assert other.write_lock is lock
    other.engine.dispose()
    with pytest.raises(ValueError):
        with fresh_database.transaction():
            raise ValueError("the work failed")
    with pytest.raises(IntegrityError):
        with fresh_database.transaction() as session:
            session.execute(
                text(
                    "INSERT INTO customers (id, code, name, created_at) VALUES (1, 'a', 'A', '2026-01-01'), (1, 'b', "
                    "'B', '2026-01-01')"
                )
            )
    assert lock.acquire(blocking=False)
    try:
        # A writer that gets no turn within the busy timeout fails as on a busy file;
        # readers never take a turn.
        monkeypatch.setattr(database, "BUSY_TIMEOUT_S", 0.01)
        with pytest.raises(OperationalError, match="database is locked"):
            with fresh_database.transaction():
                pass  # an empty writing transaction: starting it is what must fail
        with fresh_database.reading() as reader:
            assert reader.execute(text("SELECT count(*) FROM customers")).scalar() == 0
    finally:
        lock.release()
    with fresh_database.transaction() as session:
        assert session.execute(text("SELECT count(*) FROM customers")).scalar() == 0


HOLD_A_WRITE = """
import sys
from sqlalchemy import text
from unisupport.storage.database import Database, make_engine
db = Database(make_engine(sys.argv[1]))
with db.transaction() as session:
    session.execute(text("INSERT INTO customers (code, name, created_at) VALUES ('other', 'Other', '2026-01-01')"))
    print("writing", flush=True)
    sys.stdin.readline()
print("committed", flush=True)
"""


def test_sqlite_writers_of_different_processes_take_turns_on_the_writer_file(tmp_path, monkeypatch):
    """serve --workers N on SQLite (D144): another process's writing transaction holds
    the file's writer turn until it ends; a writer here waits for it (and, past the busy
    timeout, fails as on a busy file, writing nothing), then gets its turn at once."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path}/shared.db"
    db = Database(make_engine(url))
    database.migrate(db.engine)
    assert db.file_turn is not None and db.file_turn.path == f"{tmp_path}/shared.db-writer"
    other = subprocess.Popen(
        [sys.executable, "-c", HOLD_A_WRITE, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert other.stdout.readline().strip() == "writing"
        monkeypatch.setattr(database, "BUSY_TIMEOUT_S", 0.05)
        with pytest.raises(OperationalError, match="no turn to write"):
            with db.transaction() as session:
                session.execute(text("INSERT INTO customers (code, name, created_at) VALUES ('x', 'X', '2026-01-01')"))
        assert db.write_lock.acquire(blocking=False)  # given back after the refusal
        db.write_lock.release()
        other.stdin.write("\n")
        other.stdin.flush()
        assert other.stdout.readline().strip() == "committed"
        monkeypatch.setattr(database, "BUSY_TIMEOUT_S", 5)
        with db.transaction() as session:
            session.execute(text("INSERT INTO customers (code, name, created_at) VALUES ('x', 'X', '2026-01-01')"))
        with db.reading() as reader:
            assert reader.execute(text("SELECT code FROM customers ORDER BY code")).scalars().all() == ["other", "x"]
    finally:
        other.kill()
        other.wait()
        db.engine.dispose()


def test_postgresql_connections_the_server_dropped_are_replaced_before_use(fresh_database, backend):
    """A restarted server (or an idle timeout) leaves dead connections in the pool:
    the checkout drops them (the socket has the server's farewell to read, D150), so the
    next request does not fail. (SQLite has no
    server and no connection to lose.)"""
    if backend == "sqlite":
        assert fresh_database.engine.dialect.name == "sqlite"
        return
    assert (fresh_database.engine.pool.size(), fresh_database.engine.pool._max_overflow) == (
        database.POOL_SIZE,
        database.POOL_OVERFLOW,
    )
    assert not fresh_database.engine.pool._pre_ping  # no round trip per checkout (D150)
    with fresh_database.transaction() as session:
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar()
    admin = create_engine(fresh_database.engine.url, poolclass=NullPool)
    with admin.connect() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid}).scalar()
    admin.dispose()
    with fresh_database.transaction() as session:
        assert session.execute(text("SELECT pg_backend_pid()")).scalar() != pid
