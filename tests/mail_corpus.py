"""The mail-in corpus (tests/mail/): its manifest, and each mail's bytes with the
placeholders of a test's incidents filled in (shared by the corpus tests and the
benchmark)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from unisupport.access import Principal, Role
from unisupport.incidents.conversation import thread_root
from unisupport.incidents.requests import ClosureIn, IncidentIn
from unisupport.orders.validation import read_order_document
from unisupport.services import incidents
from unisupport.services.incidents import IncidentSettings
from unisupport.services.orders import import_order
from unisupport.storage.tables import ContactRow, CustomerRow, IncidentRow, SiteRow

CORPUS = Path(__file__).with_name("mail")
MANIFEST = CORPUS / "manifest.yaml"


def entries() -> list[dict[str, Any]]:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))["mails"]


def name(entry: dict[str, Any]) -> str:
    return entry.get("file") or entry["generate"]


@dataclass(frozen=True)
class Threads:
    """What the placeholders stand for in one test's database."""

    token_open: str = "token-open"
    msgid_open: str = "<thread-open@contoso.example>"
    number_open: int = 1
    token_closed_recent: str = "token-closed-recent"
    msgid_closed_recent: str = "<thread-closed-recent@contoso.example>"
    msgid_closed_old: str = "<thread-closed-old@contoso.example>"

    def fill(self, raw: bytes) -> bytes:
        values = {
            "TOKEN_OPEN": self.token_open,
            "MSGID_OPEN": self.msgid_open,
            "NUMBER_OPEN": str(self.number_open),
            "TOKEN_CLOSED_RECENT": self.token_closed_recent,
            "MSGID_CLOSED_RECENT": self.msgid_closed_recent,
            "MSGID_CLOSED_OLD": self.msgid_closed_old,
            "RECIPIENTS_500": ",\n ".join(f"colleague{i:03d}@contoso.example" for i in range(499))
            + ",\n support@provider.example",
        }
        for key, value in values.items():
            raw = raw.replace(f"${{{key}}}".encode(), value.encode())
        return raw


def mail_bytes(entry: dict[str, Any], threads: Threads = Threads()) -> bytes:
    if "file" in entry:
        return threads.fill((CORPUS / entry["file"]).read_bytes())
    return threads.fill(GENERATED[entry["generate"]]())


def _with_attachment(size: int, filename: str, message_id: str) -> bytes:
    # Not random: the same bytes every time (a stable synthetic Message-ID if needed).
    data = (b"MDMP\x93\xa7\x00\x00" + bytes(range(256)) * 64) * (size // (8 + 256 * 64) + 1)
    encoded = base64.encodebytes(data[:size]).decode()  # lines of 76 characters
    return f"""From: Contoso Cloud Operations <cloud-ops@contoso.example>
To: Support <support@provider.example>
Subject: RE: Mail flow stopped
Date: Tue, 2 Jun 2026 12:00:00 +0000
Message-ID: {message_id}
In-Reply-To: ${{MSGID_OPEN}}
References: ${{MSGID_OPEN}}
X-Mailer: Microsoft Outlook 16.0
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="----=_NextPart_000_0012_01DAB4C1.5E2F3A10"

------=_NextPart_000_0012_01DAB4C1.5E2F3A10
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: 7bit

The memory dump is attached.

------=_NextPart_000_0012_01DAB4C1.5E2F3A10
Content-Type: application/octet-stream; name="{filename}"
Content-Disposition: attachment; filename="{filename}"
Content-Transfer-Encoding: base64

{encoded}
------=_NextPart_000_0012_01DAB4C1.5E2F3A10--
""".encode()


GENERATED = {
    "attachment_10mb": lambda: _with_attachment(10 * 1024 * 1024, "w3wp.dmp", "<dump-10mb@contoso.example>"),
    "attachment_30mb": lambda: _with_attachment(23 * 1024 * 1024, "full.dmp", "<dump-30mb@contoso.example>"),
}


# ------------------------------------------------------------------ a database for the corpus
NOW = datetime(2026, 6, 2, 10, 0, tzinfo=UTC)  # a Tuesday; both example orders are active
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "orders"
PROVIDER = "provider.example"
ENGINEER = Principal(user_id=2, email="eng@provider.example", role=Role.ENGINEER, teams=frozenset({"standard-support"}))


@dataclass(frozen=True)
class World:
    """The incidents the corpus answers, by their ids, and the placeholders' values."""

    threads: Threads
    open_id: int
    closed_recent_id: int
    closed_old_id: int
    customers: dict[str, int]


def build_world(session: Session, *, now: datetime = NOW, settings: IncidentSettings | None = None) -> World:
    """Contoso and Fabrikam (the example orders), a contact of Contoso whose roles do
    not open incidents, a consultant who is a contact of both, and three Contoso
    incidents: open (opened 2 hours before ``now``), closed 4 days and 32 days before."""
    setup = datetime(2026, 1, 1, tzinfo=UTC)
    for order_file in ("contoso-multicountry.yaml", "fabrikam-single-site.yaml"):
        import_order(session, read_order_document(EXAMPLES / order_file), actor="ops", now=setup)
    customers = dict(session.execute(select(CustomerRow.code, CustomerRow.id)).all())
    contoso_paris = session.scalar(select(SiteRow.id).where(SiteRow.customer_id == customers["contoso"]))
    session.add_all(
        [
            ContactRow(
                customer_id=customers["contoso"],
                email="ops-watch@contoso.example",
                name="Contoso Ops Watch",
                roles=["outage-contact"],
                site_id=contoso_paris,
                language="en",
                active=True,
            ),
            *(
                ContactRow(
                    customer_id=customers[code],
                    email="consultant@partner.example",
                    name="Sam Partner",
                    roles=["reactive-contact"],
                    site_id=None,
                    language="en",
                    active=True,
                )
                for code in ("contoso", "fabrikam")
            ),
        ]
    )
    session.flush()
    marie = Principal(
        user_id=10,
        email="marie.dupont@contoso.example",
        role=Role.SUPPORT_ADMINISTRATOR,
        customer_id=customers["contoso"],
    )
    settings = settings or IncidentSettings(reply_address=f"support@{PROVIDER}")

    def opened(title: str, product: str, at: datetime) -> IncidentRow:
        data = IncidentIn(site="paris", product=product, severity="B", title=title, business_impact="Users blocked")
        return incidents.open_incident(session, marie, data, now=at, settings=settings)

    def closed(incident: IncidentRow, at: datetime) -> None:
        incidents.close(session, ENGINEER, incident.id, ClosureIn(summary="Fixed"), now=at)

    open_one = opened("Mail flow stopped", "exchange-online", now - timedelta(hours=2))
    recent = opened("SharePoint sync errors", "sharepoint-online", now - timedelta(days=6))
    closed(recent, now - timedelta(days=4))
    old = opened("Teams meeting recordings missing", "microsoft-teams", now - timedelta(days=40))
    closed(old, now - timedelta(days=32))

    def root(incident: IncidentRow) -> str:
        return thread_root(incident.id, incident.opened_at, PROVIDER)

    threads = Threads(
        token_open=open_one.reply_token,
        msgid_open=root(open_one),
        number_open=open_one.id,
        token_closed_recent=recent.reply_token,
        msgid_closed_recent=root(recent),
        msgid_closed_old=root(old),
    )
    return World(threads, open_one.id, recent.id, old.id, customers)
