"""The monthly reports (issue 10, item 4): SLA attainment and contract consumption on
both databases, against a plain-Python oracle that reads the incidents one by one;
the percentiles against ``statistics``; the CSV a spreadsheet reads; the tenant scope
(a customer never sees another's lines); the pages, the CLI's formats."""

from __future__ import annotations

import csv
import io
import statistics
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from unisupport.demo import load
from unisupport.demo.history import load_history
from unisupport.errors import Forbidden, InvalidInput, NotFound
from unisupport.services.reports import consumption, sla
from unisupport.services.reports.csv import write_csv
from unisupport.services.reports.figures import MEDIAN, P90, minutes, percentile, share
from unisupport.services.users import principal_for_user, user_by_email
from unisupport.sla.site_calendar import site_calendar
from unisupport.storage.tables import CommunicationRow, CustomerRow, IncidentRow, SiteRow, UpdateTargetRow

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PERIOD = sla.Period(date(2026, 6, 1), date(2026, 11, 30))


# ------------------------------------------------------------------ figures
@given(st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=60))
def test_median_and_p90_are_those_of_statistics(values):
    assert float(percentile(values, MEDIAN)) == pytest.approx(statistics.median(values))
    expected = values[0] if len(values) == 1 else statistics.quantiles(values, n=10, method="inclusive")[8]
    assert float(percentile(values, P90)) == pytest.approx(expected)


def test_no_values_no_percentile_and_shares_to_the_tenth():
    assert percentile([], MEDIAN) is None and minutes(None) is None and share(1, 0) is None
    assert share(2, 3) == Decimal("66.7") and minutes(Fraction(90)) == Decimal("1.5")


def test_a_period_ends_after_it_starts():
    with pytest.raises(InvalidInput):
        sla.Period(date(2026, 2, 1), date(2026, 1, 1))
    assert [m for m, _, _ in sla.Period(date(2026, 1, 15), date(2026, 3, 2)).months()] == [
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
    ]


# ------------------------------------------------------------------ CSV
@pytest.mark.parametrize(("locale", "separator", "number"), [("en", ",", "1271.5"), ("fr", ";", "1271,5")])
def test_the_csv_is_what_a_spreadsheet_reads(locale, separator, number):
    body = write_csv(["month", "customer", "minutes"], [["2026-11", "Société; «x»", Decimal("1271.5")]], locale)
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=separator))
    assert rows == [["month", "customer", "minutes"], ["2026-11", "Société; «x»", number]]
    with pytest.raises(InvalidInput):
        write_csv(["a"], [], "de")


# ------------------------------------------------------------------ the report on the demo, both databases
@pytest.fixture
def demo_db(fresh_database):
    with fresh_database.transaction() as session:
        load(session, now=NOW)
        load_history(session, now=NOW, customers=("fabrikam",))  # a second tenant with history
    return fresh_database


def _principal(session, email):
    return principal_for_user(session, user_by_email(session, email).id)


def oracle(session, customer_code=None):
    """The report, incident by incident, with the calendar's own business minutes."""
    groups = defaultdict(
        lambda: {"n": 0, "met": 0, "breached": 0, "response": [], "mitigate": [], "close": [], "upd": [0, 0]}
    )
    targets = defaultdict(list)
    for t in session.scalars(select(UpdateTargetRow)):
        targets[t.incident_id].append(t)
    codes = {c.id: c.code for c in session.scalars(select(CustomerRow))}
    for i in session.scalars(select(IncidentRow)):
        if not (PERIOD.first <= i.opened_at.date() <= PERIOD.last):
            continue
        if customer_code and codes[i.customer_id] != customer_code:
            continue
        g = groups[(i.opened_at.date().replace(day=1), codes[i.customer_id], i.severity, i.plan)]
        g["n"] += 1
        if i.first_response_at is not None and i.first_response_at <= i.first_response_due:
            g["met"] += 1
        elif i.breached_at is not None or i.first_response_at is not None:
            g["breached"] += 1
        if i.first_response_at is not None:
            if i.coverage == "business_hours":
                calendar = site_calendar(session.get(SiteRow, i.site_id))
                g["response"].append(calendar.business_minutes_between(i.target_started_at, i.first_response_at))
            else:
                g["response"].append((i.first_response_at - i.target_started_at).total_seconds() / 60)
        if i.mitigated_at:
            g["mitigate"].append((i.mitigated_at - i.opened_at).total_seconds() / 60)
        if i.closed_at:
            g["close"].append((i.closed_at - i.opened_at).total_seconds() / 60)
        _count_updates(g["upd"], targets[i.id])
    return groups


def _count_updates(counts, targets):
    """Decided targets only: pending, paused and ended-unmet ones are not counted."""
    for t in targets:
        late = t.met_at is not None and t.due_at is not None and t.met_at > t.due_at
        if t.breached_at is not None or late:
            counts[1] += 1
        elif t.met_at is not None:
            counts[0] += 1


def update_target_row(incident, seq, started, due, **outcome):
    """An update target of ``incident`` (R-INC-2) as the state machine would store it,
    its outcome (met_at, met_late, breached_at, ended_at, paused_since) as given."""
    return UpdateTargetRow(
        customer_id=incident.customer_id,
        incident_id=incident.id,
        seq=seq,
        plan=incident.plan,
        severity=incident.severity,
        target_minutes=120,
        coverage="24x7",
        started_at=started,
        due_at=due,
        warn_at=None,
        pauses=[],
        paused_seconds=0,
        explanation={},
        **outcome,
    )


def _add_targets(session):
    """On two November incidents: every outcome an update target can have."""
    incidents = session.scalars(
        select(IncidentRow)
        .where(
            IncidentRow.opened_at >= datetime(2026, 11, 1, tzinfo=UTC),
            IncidentRow.opened_at < datetime(2026, 12, 1, tzinfo=UTC),
        )
        .order_by(IncidentRow.id)
        .limit(2)
    ).all()
    hour = timedelta(hours=1)
    outcomes = [  # due, met, late, breached, ended, paused
        (2, 1, False, None, None, None),  # met on time
        (2, 2, False, None, None, None),  # met at the due instant: on time
        (2, 3, True, None, None, None),  # met late
        (2, 4, True, 2, None, None),  # breached, met since: late
        (2, None, None, 2, None, None),  # breached, never met: late
        (2, None, None, 2, 3, None),  # breached, then the incident mitigated: late
        (2, None, None, None, None, None),  # pending: not decided
        (None, None, None, None, None, 1),  # paused: not decided
        (2, None, None, None, 1, None),  # ended before its due instant: never owed
    ]
    for incident in incidents:
        start = incident.opened_at + hour
        for seq, (due, met, late, breached, ended, paused) in enumerate(outcomes, start=100):  # after the demo's own

            def at(h, start=start):
                return None if h is None else start + h * hour

            session.add(
                update_target_row(
                    incident,
                    seq,
                    start,
                    at(due),
                    paused_since=at(paused),
                    met_at=at(met),
                    met_late=late,
                    breached_at=at(breached),
                    ended_at=at(ended),
                )
            )
    return incidents


def test_the_sla_report_agrees_with_the_oracle(demo_db):
    with demo_db.transaction() as session:
        incidents = _add_targets(session)
        keys = {(session.get(CustomerRow, i.customer_id).code, i.severity, i.plan) for i in incidents}
    with demo_db.reading() as session:
        admin = _principal(session, "admin@provider.example")
        lines = sla.sla_report(session, admin, PERIOD, now=NOW)
        expected = oracle(session)
    assert len(lines) == len(expected) and len(lines) >= 20  # five months of history, two customers
    assert {x.month for x in lines} >= {date(2026, m, 1) for m in range(7, 12)}
    for x in lines:
        g = expected[(x.month, x.customer, x.severity, x.plan)]
        assert (x.incidents, x.first_response_met, x.first_response_breached) == (g["n"], g["met"], g["breached"])
        assert [x.updates_met, x.updates_late] == g["upd"]
        assert x.updates_met_percent == share(g["upd"][0], sum(g["upd"]))
        for values, median, p90 in (
            (g["response"], x.first_response_minutes_median, x.first_response_minutes_p90),
            (g["mitigate"], x.mitigate_minutes_median, x.mitigate_minutes_p90),
            (g["close"], x.close_minutes_median, x.close_minutes_p90),
        ):
            if not values:
                assert median is None and p90 is None
                continue
            assert float(median) == pytest.approx(
                statistics.median(values), abs=0.07
            )  # whole seconds, then tenths of minutes
            top = values[0] if len(values) == 1 else statistics.quantiles(values, n=10, method="inclusive")[8]
            assert float(p90) == pytest.approx(top, abs=0.07)  # whole seconds, then tenths of minutes
    assert sum(x.first_response_breached for x in lines) > 0  # the demo has late first responses
    november = [x for x in lines if x.month == date(2026, 11, 1) and (x.customer, x.severity, x.plan) in keys]
    assert sum(x.updates_met for x in november) >= 4 and sum(x.updates_late for x in november) >= 8
    for x in november:
        assert x.updates_met_percent is not None


def test_customer_misses_and_rcas_are_counted(demo_db):
    with demo_db.transaction() as session:
        incident = session.scalar(
            select(IncidentRow)
            .where(
                IncidentRow.opened_at >= datetime(2026, 11, 1, tzinfo=UTC), IncidentRow.opened_at < NOW.replace(day=1)
            )
            .limit(1)
        )
        session.add(
            CommunicationRow(
                customer_id=incident.customer_id,
                incident_id=incident.id,
                direction="outbound",
                medium="email",
                automated=False,
                author="engineer@provider.example",
                at=incident.opened_at,
                logged_at=incident.opened_at,
                body="Could you send the logs?",
                first_response=False,
                requests_customer_action=True,
                customer_response_due=incident.opened_at,
                missed_at=incident.opened_at,
            )
        )
        key = (incident.customer_id, incident.severity, incident.plan)
    with demo_db.reading() as session:
        admin = _principal(session, "admin@provider.example")
        code = session.get(CustomerRow, key[0]).code
        lines = sla.sla_report(session, admin, sla.Period(date(2026, 11, 1), date(2026, 11, 30)), now=NOW)
    line = next(x for x in lines if (x.customer, x.severity, x.plan) == (code, key[1], key[2]))
    assert (line.customer_requests, line.customer_misses) >= (1, 1)


def test_a_customer_sees_only_its_own_lines(demo_db):
    with demo_db.reading() as session:
        alex = _principal(session, "alex.kim@fabrikam.example")
        mine = sla.sla_report(session, alex, PERIOD, now=NOW)
        assert mine and {x.customer for x in mine} == {"fabrikam"}
        with pytest.raises(NotFound):
            sla.sla_report(session, alex, PERIOD, now=NOW, customer="contoso")
        with pytest.raises(NotFound):
            consumption.consumption_report(session, alex, PERIOD, customer="contoso")
        assert {
            x.customer for x in consumption.consumption_report(session, alex, sla.Period(date(2026, 1, 1), NOW.date()))
        } <= {"fabrikam"}
        csam = _principal(session, "csam@provider.example")  # assigned to Contoso
        assert {x.customer for x in sla.sla_report(session, csam, PERIOD, now=NOW)} == {"contoso"}
        one = sla.sla_report(
            session, _principal(session, "admin@provider.example"), PERIOD, now=NOW, customer="fabrikam"
        )
        assert [x.to_dict() for x in one] == [x.to_dict() for x in mine]
        with pytest.raises(Forbidden):
            consumption.consumption_report(session, _principal(session, "cloud-ops@contoso.example"), PERIOD)


def test_the_consumption_report_sums_the_ledger(demo_db):
    with demo_db.reading() as session:
        admin = _principal(session, "admin@provider.example")
        lines = consumption.consumption_report(session, admin, sla.Period(date(2026, 1, 1), date(2026, 12, 31)))
    assert lines and all(x.consumed >= 0 for x in lines)
    assert any(x.customer == "contoso" and x.consumed > 0 for x in lines)
