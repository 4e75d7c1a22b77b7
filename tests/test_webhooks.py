"""Webhooks (issue 11, docs/webhooks.md), on SQLite and PostgreSQL, against a real HTTP
receiver that verifies every signature with the Standard Webhooks library: events
written with their changes, delivered by the worker in order per incident, retried
through 500s and a hang past the timeout with the same webhook-id, each arriving
once; the delivery log, redelivery, disabling after 24 hours of failure with a mail
to the owner; and the subscriptions refused, naming the field, leaving no row."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from unisupport.access import Principal, Role
from unisupport.cli.webhook_receiver import Receiver, receiving
from unisupport.clock import FixedClock
from unisupport.errors import Forbidden, InvalidInput, NotFound
from unisupport.incidents.requests import ClosureIn, IncidentIn, MessageIn, MitigationIn, SeverityChangeIn
from unisupport.notifications.mailer import render
from unisupport.notifications.webhook_delivery import deliver_webhooks
from unisupport.notifications.webhook_target import resolve
from unisupport.notifications.webhooks import EVENT_TYPES
from unisupport.orders.validation import read_order_document
from unisupport.services import incidents as svc
from unisupport.services import webhooks as hooks
from unisupport.services.conversation import post_message
from unisupport.services.orders import import_order
from unisupport.services.watcher import sweep
from unisupport.settings import WebhookSettings
from unisupport.storage.tables import (
    CustomerRow,
    OutboxRow,
    WebhookAttemptRow,
    WebhookDeliveryRow,
    WebhookEventRow,
    WebhookSubscriptionEventRow,
    WebhookSubscriptionRow,
)

PARIS = ZoneInfo("Europe/Paris")
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "orders"
OPENED = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)
LOCAL = WebhookSettings(allow_private=("127.0.0.1/32",), timeout=0.4)
ENGINEER = Principal(user_id=2, email="engineer@provider.example", role=Role.ENGINEER)
ADMIN = Principal(user_id=1, email="admin@provider.example", role=Role.ADMIN)


def public_dns(host: str, port: int) -> list[str]:
    """Names of the tests (hooks.example is public, intranet.example private); the
    others through the system's resolver (addresses resolve to themselves)."""
    names = {"hooks.example": ["93.184.216.34"], "intranet.example": ["10.1.2.3"]}
    return names[host] if host in names else resolve(host, port)


@pytest.fixture
def world(fresh_database):
    with fresh_database.transaction() as session:
        for name in ("contoso-multicountry.yaml", "fabrikam-single-site.yaml"):
            import_order(session, read_order_document(EXAMPLES / name), actor="setup", now=OPENED)
        ids = dict(session.execute(select(CustomerRow.code, CustomerRow.id)).all())
    world = type("World", (), {})()
    world.db = fresh_database
    world.clock = FixedClock(OPENED)
    world.contoso_admin = Principal(
        user_id=3, email="marie.dupont@contoso.example", role=Role.SUPPORT_ADMINISTRATOR, customer_id=ids["contoso"]
    )
    world.contact = Principal(
        user_id=4, email="cloud-ops@contoso.example", role=Role.REACTIVE_CONTACT, customer_id=ids["contoso"]
    )
    world.fabrikam_admin = Principal(
        user_id=5, email="alex.kim@fabrikam.example", role=Role.SUPPORT_ADMINISTRATOR, customer_id=ids["fabrikam"]
    )
    return world


def subscribe(world, receiver: Receiver, path: str, who: Principal, types: list[str], **more) -> int:
    with world.db.transaction() as session:
        data = hooks.WebhookIn(url=receiver.url + path, event_types=types, **more)
        made = hooks.create_subscription(session, who, data, now=world.clock.now(), settings=LOCAL)
    receiver.secrets[path] = made.secret
    assert made.secret.startswith("whsec_")
    return made.subscription["id"]


def open_incident(world, title: str, severity: str = "C") -> int:
    data = IncidentIn(site="paris", product="exchange-online", severity=severity, title=title, business_impact="b")
    with world.db.transaction() as session:
        return svc.open_incident(session, world.contact, data, now=world.clock.now()).id


def deliver_until_done(world, passes: int = 40) -> None:
    """Worker passes, an hour apart on the worker's clock, until nothing is left to try."""
    for _ in range(passes):
        deliver_webhooks(world.db, worker="w1", clock=world.clock, settings=LOCAL, concurrency=4)
        with world.db.reading() as session:
            left = session.scalar(
                select(func.count()).select_from(WebhookDeliveryRow).where(WebhookDeliveryRow.status == "pending")
            )
        if not left:
            return
        world.clock.advance(hours=1)
    raise AssertionError("deliveries still pending")


def test_every_event_arrives_signed_once_in_order_per_incident_through_500s_and_a_hang(world):
    types = ["incident.opened", "incident.updated", "incident.severity_changed", "message.created"]
    with receiving(Receiver(script=["500", "500", "hang", "500"], hang_seconds=1.0)) as receiver:
        subscribe(world, receiver, "/provider", ADMIN, types, internal=True)
        subscribe(world, receiver, "/contoso", world.contoso_admin, types)
        incidents = [open_incident(world, f"Case {n}") for n in range(3)]
        for incident_id in incidents:
            with world.db.transaction() as session:
                svc.change_severity(
                    session, ENGINEER, incident_id, SeverityChangeIn(severity="B", reason="more mailboxes"),
                    now=world.clock.now(),
                )  # fmt: skip
                post_message(session, ENGINEER, incident_id, MessageIn(body="Looking."), now=world.clock.now())
                post_message(
                    session, ENGINEER, incident_id, MessageIn(body="Ask the SAN team.", visibility="internal"),
                    now=world.clock.now(),
                )  # fmt: skip
                svc.mitigate(session, ENGINEER, incident_id, MitigationIn(summary="restarted"), now=world.clock.now())
                svc.close(session, ENGINEER, incident_id, ClosureIn(summary="fixed"), now=world.clock.now())
        deliver_until_done(world)

    with world.db.reading() as session:
        deliveries = session.execute(
            select(WebhookDeliveryRow.id, WebhookDeliveryRow.status, WebhookSubscriptionRow.url)
            .join(WebhookSubscriptionRow, WebhookSubscriptionRow.id == WebhookDeliveryRow.subscription_id)
        ).all()  # fmt: skip
        outcomes = Counter(session.scalars(select(WebhookAttemptRow.outcome)))
        events = session.scalar(select(func.count()).select_from(WebhookEventRow))
    # Per incident: opened, severity, public message, internal note, mitigated, closed (the
    # customer's subscription does not get the internal note).
    assert events == 3 * 6
    assert len([d for d in deliveries if d.url.endswith("/provider")]) == 18
    assert len([d for d in deliveries if d.url.endswith("/contoso")]) == 15
    assert {d.status for d in deliveries} == {"delivered"}
    ids = [r.webhook_id for r in receiver.accepted]
    assert len(ids) == len(set(ids)) == len(deliveries)  # every delivery arrived, once
    assert receiver.bad_signatures == 0
    # Each refused try was retried with the same webhook-id, and then accepted.
    assert {i for i, _ in receiver.refused} <= set(ids) and len(receiver.refused) == 4
    assert outcomes == {"delivered": 33, "http-error": 3, "timeout": 1}
    for path in ("/provider", "/contoso"):
        for incident_id in incidents:
            seen = [
                r.payload["type"]
                for r in receiver.accepted
                if r.path == path and r.payload["data"]["incident"]["id"] == incident_id
            ]
            expected = ["incident.opened", "incident.severity_changed", "message.created"]
            expected += ["message.created"] * (path == "/provider") + ["incident.updated", "incident.updated"]
            assert seen == expected, (path, incident_id)
    visible = [r.payload["data"]["message"]["visibility"] for r in receiver.accepted if r.path == "/contoso"
               and r.payload["type"] == "message.created"]  # fmt: skip
    assert visible == ["public"] * 3


def test_the_log_shows_each_try_and_a_redelivery_sends_the_same_webhook_id(world):
    with receiving(Receiver(script=["500"])) as receiver:
        subscription = subscribe(world, receiver, "/h", world.contoso_admin, ["incident.opened"])
        open_incident(world, "Mail flow stopped")
        deliver_until_done(world)
        with world.db.reading() as session:
            log = hooks.deliveries(session, world.contoso_admin, subscription)
        assert [t["outcome"] for t in log[0]["tries"]] == ["http-error", "delivered"]
        assert log[0]["tries"][0]["status_code"] == 500
        assert log[0]["tries"][0]["excerpt"] == "receiver failing on purpose"
        assert log[0]["status"] == "delivered" and log[0]["tries"][1]["duration_ms"] >= 0
        with world.db.transaction() as session:
            again = hooks.redeliver(session, world.contoso_admin, subscription, log[0]["id"], now=world.clock.now())
        assert again["status"] == "pending"
        deliver_until_done(world)
    assert [r.webhook_id for r in receiver.accepted] == [log[0]["webhook_id"]] * 2
    with world.db.reading() as session, pytest.raises(NotFound):
        hooks.deliveries(session, world.fabrikam_admin, subscription)  # another customer's: as if missing


def test_a_receiver_failing_for_24_hours_fails_the_delivery_and_disables_the_subscription(world):
    with receiving(Receiver(script=["500"] * 100)) as receiver:
        subscription = subscribe(world, receiver, "/down", world.contoso_admin, ["incident.opened"])
        open_incident(world, "Mail flow stopped")
        deliver_until_done(world)
    with world.db.reading() as session:
        row = session.get(WebhookSubscriptionRow, subscription)
        delivery = session.scalar(select(WebhookDeliveryRow))
        mail = session.scalar(select(OutboxRow).where(OutboxRow.kind == "webhook.disabled"))
        assert delivery.status == "failed" and 8 <= delivery.attempts <= 16
        assert not row.active and row.disabled_reason == "a delivery was retried for 24 hours without success"
        assert mail.recipient == "marie.dupont@contoso.example" and mail.payload["url"].endswith("/down")
        assert mail.language == "en" and mail.payload["reason"] == "gave-up"
        subject, body = render(mail.kind, mail.language, mail.payload)
        assert subject.startswith("Webhook disabled") and "retried for 24 hours" in body
    with world.db.transaction() as session:
        view = hooks.set_active(session, world.contoso_admin, subscription, True, now=world.clock.now())
    assert view["active"] and view["failures_in_a_row"] == 0


def test_the_watcher_s_breaches_are_announced_in_bulk(world):
    with receiving(Receiver()) as receiver:
        subscribe(world, receiver, "/breaches", ADMIN, ["incident.first_response_breached"])
        incidents = [open_incident(world, f"Case {n}", severity="A") for n in range(3)]
        world.clock.advance(hours=5)
        with world.db.transaction() as session:
            report = sweep(session, now=world.clock.now())
        assert report.breached == 3
        deliver_until_done(world)
    assert sorted(r.payload["data"]["incident"]["id"] for r in receiver.accepted) == incidents
    assert {r.payload["data"]["incident"]["links"]["api"] for r in receiver.accepted} == {
        f"/api/v1/incidents/{i}" for i in incidents
    }


def test_no_subscriber_no_event(world):
    open_incident(world, "Nobody listens")
    with world.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(WebhookEventRow)) == 0


@pytest.mark.parametrize(
    ("who", "changes", "field", "error"),
    [
        ("admin", {"url": "http://hooks.example/x"}, "url", InvalidInput),
        ("admin", {"url": "https://intranet.example/x"}, "url", InvalidInput),
        ("admin", {"url": "https://127.0.0.1:9/x"}, "url", InvalidInput),
        ("admin", {"url": "ftp://hooks.example/x"}, "url", InvalidInput),
        ("admin", {"event_types": ["incident.opened", "incident.exploded"]}, "event_types[1]", InvalidInput),
        ("contoso", {"customer": "fabrikam"}, "customer", NotFound),
        ("contoso", {"internal": True}, "internal", InvalidInput),
        ("contact", {}, "role", Forbidden),
    ],
)
def test_a_refused_subscription_names_the_field_and_leaves_no_row(world, who, changes, field, error):
    principal = {"admin": ADMIN, "contoso": world.contoso_admin, "contact": world.contact}[who]
    data = {"url": "https://hooks.example/x", "event_types": ["incident.opened"]} | changes
    with pytest.raises(error) as refused, world.db.transaction() as session:
        hooks.create_subscription(
            session, principal, hooks.WebhookIn(**data), now=world.clock.now(), settings=WebhookSettings(),
            resolver=public_dns,
        )  # fmt: skip
    assert refused.value.field == field
    with world.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(WebhookSubscriptionRow)) == 0
        assert session.scalar(select(func.count()).select_from(WebhookSubscriptionEventRow)) == 0


def test_a_public_https_target_is_accepted_and_every_documented_type_is_subscribable(world):
    with world.db.transaction() as session:
        made = hooks.create_subscription(
            session, ADMIN, hooks.WebhookIn(url="https://hooks.example/x", event_types=list(EVENT_TYPES)),
            now=world.clock.now(), settings=WebhookSettings(), resolver=public_dns,
        )  # fmt: skip
    assert made.subscription["event_types"] == sorted(EVENT_TYPES) and made.subscription["customer"] is None
    documented = (Path(__file__).resolve().parents[1] / "docs" / "webhooks.md").read_text()
    assert all(f"`{t}`" in documented for t in EVENT_TYPES)
