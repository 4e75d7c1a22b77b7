"""The demo's past months (issue 10): incidents answered, mitigated and closed in
each of the last five months, some first responses late, so that a month's SLA
report (``/reports/sla``) shows charts and figures. Deterministic: the same ``now``
gives the same history."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from unisupport.incidents.communication import Medium, OpeningChannel
from unisupport.incidents.requests import ClosureIn, CommunicationIn, IncidentIn, MitigationIn
from unisupport.services import incidents
from unisupport.services.users import principal_for_user, user_by_email
from unisupport.sla.severity import Severity
from unisupport.storage.tables import CustomerRow, OrderRow

MONTHS = 5
# customer, contact, sites, (severity, product, title) …
CUSTOMERS = [
    (
        "contoso",
        "marie.dupont@contoso.example",
        ("paris", "munich", "tokyo"),
        [
            ("1", "azure-sql-database", "Bascule de la base des commandes bloquée"),
            ("A", "dynamics-365", "Impossible d'enregistrer les devis"),
            ("B", "exchange-online", "Invitations d'agenda en retard"),
            ("B", "azure-storage", "Restaurations du niveau archive lentes"),
            ("C", "sharepoint-online", "Modèles de page manquants"),
        ],
    ),
    (
        "fabrikam",
        "alex.kim@fabrikam.example",
        ("seattle",),
        [
            ("B", "exchange-online", "Déplacements de boîtes aux lettres en échec"),
            ("C", "sharepoint-online", "Thème du site réinitialisé"),
        ],
    ),
]


def _month_start(now: datetime, back: int) -> datetime:
    year, month = now.year, now.month - back
    while month < 1:
        year, month = year - 1, month + 12
    return datetime(year, month, 1, tzinfo=UTC)


DEMO_CUSTOMERS = ("contoso",)  # Fabrikam's single site has no name: its pages would show its code


def load_history(session: Session, *, now: datetime, customers: tuple[str, ...] = DEMO_CUSTOMERS) -> int:
    """Open and close the past incidents of ``customers`` (codes); the number opened."""
    admin = principal_for_user(session, user_by_email(session, "admin@provider.example").id)
    engineer = principal_for_user(session, user_by_email(session, "engineer@provider.example").id)
    rng = random.Random(now.year * 100 + now.month)
    count = 0
    for code, contact, sites, cases in CUSTOMERS:
        if code not in customers:
            continue
        order = session.scalar(
            select(OrderRow)
            .join(CustomerRow, CustomerRow.id == OrderRow.customer_id)
            .where(CustomerRow.code == code, OrderRow.status == "active")
        )
        if order is None:
            continue
        for back in range(MONTHS, 0, -1):
            start = _month_start(now, back)
            for k, (severity, product, title) in enumerate(cases):
                opened = start + timedelta(days=2 + 5 * k + rng.randint(0, 3), hours=8 + rng.randint(0, 7))
                opened += timedelta(days=(7 - opened.weekday()) % 7 if opened.weekday() >= 5 else 0)
                if opened.date() < order.term_start:
                    continue
                data = IncidentIn(
                    order=order.number,
                    site=sites[k % len(sites)],
                    contact=contact,
                    channel=OpeningChannel.PORTAL,
                    product=product,
                    severity=Severity(severity),
                    title=title,
                    business_impact="Les utilisateurs contournent le problème",
                    production_impact=severity in ("1", "A"),
                    language="fr",
                    opened_at=opened,
                )
                incident = incidents.open_incident(session, admin, data, now=now)
                target = (incident.first_response_due - incident.opened_at).total_seconds()
                late = rng.random() < 0.2
                answered = incident.opened_at + timedelta(seconds=target * (1.3 if late else rng.uniform(0.2, 0.9)))
                incidents.add_communication(
                    session,
                    engineer,
                    incident.id,
                    CommunicationIn(medium=Medium.PHONE, body="Appel du contact : diagnostic lancé.", at=answered),
                    now=now,
                )
                mitigated = answered + timedelta(hours=rng.randint(1, 30))
                summary = "Correctif appliqué et vérifié avec le client."
                incidents.mitigate(session, engineer, incident.id, MitigationIn(at=mitigated, summary=summary), now=now)
                closed = mitigated + timedelta(hours=rng.randint(4, 72))
                incidents.close(session, engineer, incident.id, ClosureIn(at=closed, summary=summary), now=now)
                count += 1
    return count
