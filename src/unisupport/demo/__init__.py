"""The demo data set that ``unisupport serve`` loads on a new SQLite database: the two
example orders moved to the current year, users for every role, and open incidents
of every severity — one with a reply and an internal note — so that a newcomer can sign
in and click through."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from unisupport.access import Principal, Role
from unisupport.incidents.communication import Medium, OpeningChannel
from unisupport.incidents.conversation import Visibility
from unisupport.demo.history import load_history
from unisupport.incidents.requests import ClosureIn, CommunicationIn, IncidentIn, MessageIn, RemoteAccessIn
from unisupport.incidents.routing import TEAMS
from unisupport.mission_critical.platform_outage import OutageIn, OutageNoticeIn
from unisupport.orders.validation import read_order_document
from unisupport.services import conversation, incidents, platform_outages, remote_access, surveys
from unisupport.services.orders import import_order
from unisupport.sla.severity import Severity
from unisupport.services.users import (
    add_to_team,
    assign_csam,
    create_team,
    create_token,
    create_user,
    principal_for_user,
    user_by_email,
)
from unisupport.storage.tables import CustomerRow, OrderRow, SurveyRow, TeamRow

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "orders"
PASSWORD = "demo-password-2026"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# email, name, role, customer, language, teams; provider users read times in Paris, customers in their site's zone
PROVIDER_ZONE = "Europe/Paris"
USERS = [
    ("admin@provider.example", "Alex Admin", Role.ADMIN, None, "en", ()),
    ("engineer@provider.example", "Eva Engineer", Role.ENGINEER, None, "fr", tuple(TEAMS)),
    ("im@provider.example", "Ian Incident-Manager", Role.INCIDENT_MANAGER, None, "en", ()),
    ("csam@provider.example", "Chloé CSAM", Role.CSAM, None, "fr", ()),
    ("marie.dupont@contoso.example", "Marie Dupont", Role.SUPPORT_ADMINISTRATOR, "contoso", "fr", ()),
    ("cloud-ops@contoso.example", "Cloud Ops", Role.REACTIVE_CONTACT, "contoso", "en", ()),
    ("alex.kim@fabrikam.example", "Alex Kim", Role.SUPPORT_ADMINISTRATOR, "fabrikam", "en", ()),
]


@dataclass
class DemoLogin:
    email: str
    role: str
    token: str


@dataclass
class DemoResult:
    created: bool
    logins: list[DemoLogin] = field(default_factory=list)
    password: str = PASSWORD


def _shift(document: Any, years: int) -> Any:
    """Every ISO date of an order document moved by ``years`` (29 February → 28)."""
    if isinstance(document, dict):
        return {k: _shift(v, years) for k, v in document.items()}
    if isinstance(document, list):
        return [_shift(v, years) for v in document]
    if isinstance(document, date):
        document = document.isoformat()
    if isinstance(document, str) and _DATE.match(document):
        d = date.fromisoformat(document)
        try:
            return d.replace(year=d.year + years).isoformat()
        except ValueError:
            return d.replace(year=d.year + years, day=28).isoformat()
    return document


def _document(name: str, today: date) -> dict[str, Any]:
    document = read_order_document(EXAMPLES / name)
    start = date.fromisoformat(str(document["term"]["start"]))
    # The term moved to the year that puts today inside it (Fabrikam's runs April to March).
    years = today.year - start.year - (1 if (today.month, today.day) < (start.month, start.day) else 0)
    shifted = _shift(copy.deepcopy(document), years)
    for event in shifted.get("events", []):
        # An event in progress today, confirmed well ahead (R-EVT-2).
        start = today - timedelta(days=1)
        event.update(
            start=start.isoformat(),
            end=(start + timedelta(days=4)).isoformat(),
            confirmed_on=(start - timedelta(days=60)).isoformat(),
        )
        if start < date.fromisoformat(shifted["term"]["start"]) or start + timedelta(days=4) > date.fromisoformat(
            shifted["term"]["end"]
        ):
            shifted["events"] = []
    return shifted


def load(session: Session, *, now: datetime) -> DemoResult:
    """Load the demo once; later calls find it and change nothing."""
    if session.scalar(select(CustomerRow).where(CustomerRow.code == "contoso")) is not None:
        return DemoResult(created=False)
    today = now.date()
    actor = "demo"
    for name in ("contoso-multicountry.yaml", "fabrikam-single-site.yaml"):
        document = _document(name, today)
        if name.startswith("contoso"):
            document["annex_a"] = CONTOSO_ANNEX_A
        import_order(session, document, actor=actor, now=now, reason="demo data")
    for code, (en, _fr) in TEAMS.items():
        if session.scalar(select(TeamRow).where(TeamRow.code == code)) is None:
            create_team(session, code=code, name=en, actor=actor, now=now)
    result = DemoResult(created=True)
    for email, name, role, customer, language, teams in USERS:
        create_user(
            session,
            email=email,
            name=name,
            role=role,
            customer_code=customer,
            contact_email=email if customer else None,
            language=language,
            password=PASSWORD,
            timezone=None if customer else PROVIDER_ZONE,
            actor=actor,
            now=now,
        )
        for team in teams:
            add_to_team(session, email=email, team_code=team, actor=actor, now=now)
        if role is Role.CSAM:
            assign_csam(session, email=email, customer_code="contoso", actor=actor, now=now)
        token, _ = create_token(session, user_email=email, label="demo", actor=actor, now=now)
        result.logins.append(DemoLogin(email, role.value, token))
    _incidents(session, now=now)
    load_history(session, now=now)
    _outage(session, now=now)
    _surveys(session, now=now)
    return result


# (severity, product, site, title, days ago, score and comment or None: not answered yet)
ANSWERED = [
    ("B", "exchange-online", "paris", "Calendar invitations delayed", 40, (5, "Quick and clear, thank you.")),
    ("C", "sharepoint-online", "tokyo", "A site collection is read-only", 20, (3, "Solved, but it took three calls.")),
    ("B", "azure-storage", "paris", "A storage account key was rotated by mistake", 9, None),
]


def _marie_opens(
    order: str | None,
    severity: str,
    product: str,
    site: str,
    title: str,
    impact: str,
    production: bool,
    opened_at: datetime,
) -> IncidentIn:
    """An incident Marie reports on the portal (in French), as the demo opens it."""
    return IncidentIn(
        order=order,
        site=site,
        contact="marie.dupont@contoso.example",
        channel=OpeningChannel.PORTAL,
        product=product,
        severity=Severity(severity),
        title=title,
        business_impact=impact,
        production_impact=production,
        language="fr",
        opened_at=opened_at,
    )


def _surveys(session: Session, *, now: datetime) -> None:
    """Incidents closed in the past weeks, each with its satisfaction survey
    (R-CSAT-1) — two answered — so that the CSAM's survey page has results."""
    marie = _principal(session, "marie.dupont@contoso.example")
    engineer = _principal(session, "engineer@provider.example")
    admin = _principal(session, "admin@provider.example")
    order = _order_of(session, marie)
    for severity, product, site, title, days, answer in ANSWERED:
        opened = now - timedelta(days=days)
        data = _marie_opens(
            order, severity, product, site, title, "Demo: a closed incident with its survey", False, opened
        )
        incident = incidents.open_incident(session, admin, data, now=opened)
        closed = opened + timedelta(hours=6)
        incidents.close(session, engineer, incident.id, ClosureIn(summary="Solved (demo)."), now=closed)
        if answer is not None:
            survey = session.scalar(select(SurveyRow).where(SurveyRow.subject_id == incident.id))
            if survey is not None:
                surveys.answer_from_portal(
                    session, marie, survey.id, score=answer[0], comment=answer[1], now=closed + timedelta(days=1)
                )


def _outage(session: Session, *, now: datetime) -> None:
    """An Azure platform outage told to Contoso's outage contacts (R-MCSAP-5)."""
    im = _principal(session, "im@provider.example")
    outage, _ = platform_outages.declare(
        session,
        im,
        OutageIn(
            reference="DEMO-VN4S",
            title="Azure Storage: write latency in West Europe",
            products=["azure-storage"],
            regions=["West Europe"],
            message="Writes to Azure Storage accounts in West Europe are slow; a fix is being deployed.",
        ),
        now=now - timedelta(hours=3),
    )
    platform_outages.post_notice(
        session,
        im,
        outage.id,
        OutageNoticeIn(message="The fix is deployed; write latency is back to normal.", resolved=True),
        now=now - timedelta(hours=1),
    )


def _principal(session: Session, email: str) -> Principal:
    return principal_for_user(session, user_by_email(session, email).id)


# R-SUP-1: what Contoso's support rests on. Azure Storage is in none of them: the demo's
# "Blob uploads" incident is flagged for the engineer to check the entitlement.
CONTOSO_ANNEX_A = {
    "enrolments": [{"id": "EA-8812345", "products": ["exchange-online", "sharepoint-online", "microsoft-teams"]}],
    "licence_agreements": [{"id": "MLA-2024-017", "products": ["dynamics-365"]}],
    "billing_accounts": [{"id": "BA-99-0042", "products": ["azure-sql-database", "azure-virtual-machines"]}],
}


def _remote_access(session: Session, marie: Principal, incident_id: int, *, now: datetime) -> None:
    """Marie authorises a remote connection to the checkout database server (R-RA-1)."""
    remote_access.authorise(
        session,
        marie,
        incident_id,
        RemoteAccessIn(
            systems=["sql-checkout-01"],
            tool="azure-bastion",
            valid_until=now + timedelta(hours=4),
            note="Connexion autorisée pour le diagnostic de la base de paiement",
        ),
        now=now - timedelta(minutes=5),
    )


def _incidents(session: Session, *, now: datetime) -> None:
    marie = _principal(session, "marie.dupont@contoso.example")
    engineer = _principal(session, "engineer@provider.example")
    admin = _principal(session, "admin@provider.example")
    opened = [
        ("1", "azure-sql-database", "paris", "Checkout database unreachable", "All online orders fail", 7, True),
        ("A", "dynamics-365", "munich", "CRM very slow", "Sales cannot log calls", 20, True),
        (
            "B",
            "exchange-online",
            "paris",
            "Shared mailbox not syncing",
            "Support team works from personal mailboxes",
            90,
            False,
        ),
        ("C", "sharepoint-online", "tokyo", "Search results out of date", "Minor inconvenience", 240, False),
        (
            "B",
            "azure-storage",
            "paris",
            "Blob uploads intermittently fail",
            "Nightly exports retried by hand",
            60 * 30,
            False,
        ),
    ]
    for severity, product, site, title, impact, minutes_ago, production in opened:
        data = _marie_opens(
            _order_of(session, marie),
            severity,
            product,
            site,
            title,
            impact,
            production,
            now - timedelta(minutes=minutes_ago),
        )
        incident = incidents.open_incident(session, admin, data, now=now)
        if severity == "1":
            _remote_access(session, marie, incident.id, now=now)
        if severity == "C":
            incidents.add_communication(
                session,
                engineer,
                incident.id,
                CommunicationIn(
                    medium=Medium.PHONE, body="Called Marie: index rebuild scheduled.", at=now - timedelta(minutes=200)
                ),
                now=now,
            )
            _conversation(session, engineer, incident.id, now=now)
        if severity == "1":  # answered: its next update is due, and the page says why (R-INC-2)
            incidents.add_communication(
                session,
                engineer,
                incident.id,
                CommunicationIn(medium=Medium.PHONE, body="Appel à Marie : bascule vers la base secondaire lancée."),
                now=now - timedelta(minutes=3),
            )
        if product == "azure-storage":  # awaiting Marie: its update clock paused (R-INC-2, R-SLA-4)
            _awaiting_customer(session, engineer, incident.id, now=now)


def _conversation(session: Session, engineer: Principal, incident_id: int, *, now: datetime) -> None:
    """A reply that asks Marie for an answer, and an internal note she never sees (issue 9)."""
    conversation.post_message(
        session,
        engineer,
        incident_id,
        MessageIn(
            body="Bonjour Marie,\n\nl'index de recherche a été reconstruit cette nuit. Pouvez-vous vérifier que "
            "**les documents de cette semaine** apparaissent maintenant dans les résultats ?",
            needs_answer=True,
        ),
        now=now - timedelta(minutes=120),
    )
    conversation.post_message(
        session,
        engineer,
        incident_id,
        MessageIn(
            visibility=Visibility.INTERNAL,
            body="Le dernier changement du tenant a mis le crawl en mensuel : le remettre en quotidien.",
        ),
        now=now - timedelta(minutes=115),
    )


def _awaiting_customer(session: Session, engineer: Principal, incident_id: int, *, now: datetime) -> None:
    """A call, then a reply that needs Marie's answer: the incident awaits her, its
    update clock paused since the reply (docs/decisions.md D95)."""
    incidents.add_communication(
        session,
        engineer,
        incident_id,
        CommunicationIn(medium=Medium.PHONE, body="Appel à Marie : les échecs suivent l'export de nuit."),
        now=now - timedelta(hours=26),
    )
    conversation.post_message(
        session,
        engineer,
        incident_id,
        MessageIn(
            body="Bonjour Marie,\n\npouvez-vous nous envoyer l'identifiant de requête d'un envoi en échec "
            "(en-tête x-ms-request-id) ?",
            needs_answer=True,
        ),
        now=now - timedelta(hours=3),
    )


def _order_of(session: Session, principal: Principal) -> str | None:
    return session.scalar(
        select(OrderRow.number).where(OrderRow.customer_id == principal.customer_id, OrderRow.status == "active")
    )
