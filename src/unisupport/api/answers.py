"""What the API answers when it succeeds: the shapes of its responses, for the OpenAPI
document (docs/decisions.md D92).

These models describe the JSON the services build (``incident_view``, ``booking_dict``
…); they are never used to build or check a response at run time, so answering stays
as fast as it is (GET /api/v1/incidents/{id} sends its view as prebuilt JSON).
tests/test_api_contract.py validates real answers of every operation against them.
Every key listed is always present (``None`` where it says so); an answer may hold
more keys than listed. Instants are ISO 8601 with the offset of the site's zone;
amounts are decimal numbers written as text."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field


def answer(model: Any, status: int = 200, description: str = "Done") -> dict[int | str, dict[str, Any]]:
    """The OpenAPI response of a success: ``model``'s schema under ``status``."""
    return {status: {"model": model, "description": description}}


class Health(BaseModel):
    status: str


# ------------------------------------------------------------------ the SLA engine
class Considered(BaseModel):
    """A plan the customer holds, and whether and why its target applies (R-SLA-1)."""

    plan: str
    applies: bool
    target_minutes: int | None
    reason: str
    reason_fr: str


class Extra(BaseModel):
    """Something else a plan brings at this severity (a critical-situation resource …)."""

    code: str
    plan: str
    en: str
    fr: str
    within_minutes: int | None = Field(default=None, description="Present when it has a deadline.")
    due: datetime | None = Field(default=None, description="Present when it has a deadline.")


class SiteCalendar(BaseModel):
    country: str
    timezone: str
    subdivision: str | None


class Explanation(BaseModel):
    """The first-response target and how it was reached: every plan considered."""

    due: datetime
    target_minutes: int
    coverage: str = Field(description="``business_hours`` or ``24x7``.")
    plan: str = Field(description="The plan whose target governs.")
    considered: list[Considered]
    severity: str
    product: str
    opened: datetime
    site: SiteCalendar
    extras: list[Extra]


# ------------------------------------------------------------------ incidents
class Routing(BaseModel):
    team: str
    reason: str
    rule: str
    roles: list[str]
    enhanced_escalation: bool
    post_incident_review: bool


class FirstResponse(BaseModel):
    due: datetime
    warn_at: datetime | None
    target_minutes: int
    coverage: str
    plan: str
    started_at: datetime | None
    responded_at: datetime | None
    breached_at: datetime | None
    state: str = Field(description="``pending``, ``met``, ``late`` or ``breached``.")
    explanation: Explanation


class UpdatePause(BaseModel):
    from_: datetime = Field(alias="from")
    to: datetime | None = Field(description="None while the pause lasts.")
    minutes: float = Field(description="Minutes the pause took out, counted on the target's own calendar.")


class UpdateTarget(BaseModel):
    """A "next update due" target (R-INC-2): started by a communication to the customer,
    met by the next one, paused while awaiting the customer."""

    seq: int
    state: str = Field(description="``pending``, ``paused``, ``met``, ``met_late``, ``breached`` or ``ended``.")
    plan: str
    severity: str
    target_minutes: int
    coverage: str
    started_at: datetime
    due: datetime | None = Field(description="None while paused (awaiting the customer).")
    warn_at: datetime | None
    paused_since: datetime | None
    pauses: list[UpdatePause]
    paused_minutes: float
    met_at: datetime | None
    warned_at: datetime | None
    breached_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    explanation: dict[str, Any] = Field(description="Which plan, which figure, which calendar, every plan considered.")
    rule: str


class UpdateTargets(BaseModel):
    items: list[UpdateTarget]
    story: list[dict[str, Any]] = Field(
        description="The pending business-hours target's day-by-day story: windows counted, days closed and why."
    )


class CriticalSituationResource(BaseModel):
    due: datetime
    designated_at: datetime | None
    rule: str


class Escalation(BaseModel):
    enhanced: bool
    since: datetime | None
    rule: str


class Assignment(BaseModel):
    role: str
    person: str | None
    automatic: bool
    rule: str | None


class CustomerSide(BaseModel):
    """A request for the customer's action still awaited, or missed (R-SLA-4)."""

    communication: int
    asked_at: datetime
    due: datetime | None
    answered_at: datetime | None
    missed: bool
    rule: str


class DiagnosticRequest(BaseModel):
    """A diagnostic activity asked of the customer (R-REQ-1), on the customer-side clock (R-SLA-4)."""

    communication: int
    activity: str = Field(
        description="network-trace, error-capture, configuration-data, configuration-change or new-version."
    )
    asked_at: datetime
    asked_by: str
    due: datetime | None
    answered_at: datetime | None
    state: str = Field(description="``pending`` or ``answered``.")
    missed: bool
    rule: str


class Rca(BaseModel):
    requested_at: datetime
    due: datetime | None
    rule: str
    status: str


class RcaWindow(BaseModel):
    """Whether a root cause analysis can be requested now (R-RCA-1, R-RCA-2)."""

    open: bool
    rule: str | None
    reason: str
    reason_fr: str | None
    until: datetime | None = Field(default=None, description="Present when the window is open.")
    due_if_requested_now: datetime | None = Field(default=None, description="Present when the window is open.")


class PostIncidentReview(BaseModel):
    status: str
    created_at: datetime
    rule: str


class Collaboration(BaseModel):
    """A third-party vendor the provider works with at the customer's request (R-INC-4)."""

    id: int
    vendor: str
    product: str | None
    status: str
    requested_at: datetime
    requested_by: str
    engaged_at: datetime | None
    engaged_by: str | None
    vendor_reference: str | None
    ended_at: datetime | None
    ended_by: str | None
    rule: str
    responsibility: str


class Incident(BaseModel):
    """An incident with its target and why, in its site's zone."""

    id: int
    version: int = Field(description="Send it back as ``If-Match`` to change the incident.")
    customer: str | None
    order: str | None
    site: str | None
    timezone: str
    contact: str | None
    channel: str
    product: str
    title: str
    business_impact: str | None
    description: str | None
    reproduction_steps: str | None = Field(description="How to reproduce the problem (R-REQ-1).")
    environment: str | None = Field(description="Where it happens (R-REQ-1).")
    entitlement: dict[str, Any] | None = Field(
        description="The supported-product check (R-SUP-1): state ``covered`` (with ``by``), ``to-check`` (with "
        "``reason``) or ``checked`` (with ``outcome``); null when the order has no annex A."
    )
    tenant: str | None
    severity: str
    highest_severity: str
    production_impact: bool
    language: str
    status: str = Field(description="``open``, ``mitigated`` or ``closed``.")
    state: str = Field(
        description=(
            "Whose turn it is: ``open``, ``in_progress``, ``awaiting_customer``, ``awaiting_third_party``, "
            "``mitigated``, ``closed`` or ``reopened`` (every active state has the status ``open``)."
        )
    )
    update_target: UpdateTarget | None = Field(description="The latest update target (next update due, R-INC-2).")
    team: str
    routing: Routing
    opened_at: datetime
    first_response: FirstResponse
    critical_situation_resource: CriticalSituationResource | None
    escalation: Escalation
    assignments: list[Assignment]
    customer_side: list[CustomerSide]
    diagnostic_requests: list[DiagnosticRequest]
    customer_misses: int
    mitigated_at: datetime | None
    closed_at: datetime | None
    rca: Rca | None
    rca_window: RcaWindow | None
    post_incident_review: PostIncidentReview | None
    third_parties: list[Collaboration]


class IncidentPage(BaseModel):
    items: list[Incident]
    next_cursor: str | None = Field(description="Send it as ``cursor`` for the next page; None: the last page.")


class Communication(BaseModel):
    id: int
    direction: str
    medium: str
    automated: bool
    author: str
    at: datetime
    logged_at: datetime
    body: str
    first_response: bool
    requests_customer_action: bool
    customer_response_due: datetime | None
    diagnostic: str | None


class IncidentChanged(BaseModel):
    incident: Incident


class CommunicationLogged(IncidentChanged):
    communication: Communication


class RcaRequest(BaseModel):
    rule: str
    due: datetime | None
    status: str


class RcaRequested(IncidentChanged):
    rca: RcaRequest


class CollaborationChanged(IncidentChanged):
    third_party: Collaboration


class RemoteAccessAuthorisation(BaseModel):
    """The customer's authorisation of a remote connection (R-RA-1)."""

    id: int
    state: str = Field(description="``future``, ``in-force``, ``ended`` or ``withdrawn``.")
    authorised_by: str
    authorised_at: datetime
    systems: list[str]
    tool: str = Field(description="An approved tool's code, or the other tool's name.")
    tool_approved: bool
    data_responsibility_acknowledged: bool
    valid_from: datetime
    valid_until: datetime = Field(description="Sessions may start until the minute before.")
    withdrawn_at: datetime | None
    withdrawn_by: str | None
    note: str | None


class RemoteSession(BaseModel):
    """A remote session an engineer logged (R-RA-1)."""

    id: int
    authorisation: int
    system: str
    engineer: str
    started_at: datetime
    ended_at: datetime | None
    ended_by: str | None
    end_reason: str | None = Field(description="``ended`` by the engineer, or ``withdrawn`` with the authorisation.")


class RemoteAccess(BaseModel):
    """Whether an engineer may connect now, to which systems, until when; every authorisation and session."""

    rule: str
    may_connect_now: bool
    systems_now: list[str]
    until: datetime | None
    authorisations: list[RemoteAccessAuthorisation]
    sessions: list[RemoteSession]


class RemoteAccessChanged(IncidentChanged):
    remote_access: RemoteAccess


class RemoteTool(BaseModel):
    code: str
    en: str
    fr: str


class RemoteTools(BaseModel):
    """The tools the provider approves (data/remote-tools.yaml); any other needs the customer's acknowledgement."""

    version: str
    items: list[RemoteTool]
    other: str = Field(description="The code to send for another tool.")
    responsibility: dict[str, str]


class Event(BaseModel):
    """One change on an incident's timeline: who, when, before and after, why, the rule."""

    id: int
    at: datetime
    actor: str
    kind: str
    before: Any
    after: Any
    reason: str | None
    rule: str | None


# ------------------------------------------------------------------ customers and orders
class Customer(BaseModel):
    id: int
    code: str
    name: str
    created_at: datetime


class Imported(BaseModel):
    order_id: int
    number: str
    outcome: str = Field(description="``created``, ``amended`` or ``unchanged``.")
    version: int
    changes: list[dict[str, Any]]
    ledger_entries: int


class Violation(BaseModel):
    rule: str
    path: str
    message: str
    severity: str = Field(description="``error`` or ``warning``.")


class Validation(BaseModel):
    valid: bool
    violations: list[Violation]


class Term(BaseModel):
    start: date
    end: date


class Order(BaseModel):
    number: str
    status: str
    currency: str
    price_list: str
    term: Term
    executed_on: date | None
    version: int


class OrderVersion(BaseModel):
    version: int
    at: datetime
    actor: str
    reason: str | None
    changes: list[dict[str, Any]]


class OrderWithHistory(Order):
    document: dict[str, Any] = Field(description="The current order file, as JSON (docs/order-file.md).")
    history: list[OrderVersion]


class EventCase(BaseModel):
    id: str
    opened_at: datetime
    severity: str
    status: str
    resolved: bool


class EventSummary(BaseModel):
    """The cases opened during an Azure event, each resolved or not (R-EVT-1)."""

    event: str
    solution: str
    window_start: datetime
    window_end: datetime
    rule: str
    all_resolved: bool
    cases: list[EventCase]


class Balance(BaseModel):
    account: str
    label: str
    unit: str
    service: str | None
    contract_year: int | None
    expires_on: date | None
    expiry_rule: str | None
    balance: Decimal
    granted: Decimal
    used: Decimal
    forfeited: Decimal
    entries: int


class LedgerEntry(BaseModel):
    id: int
    account: str
    kind: str
    amount: Decimal
    unit: str
    balance_after: Decimal
    rule: str | None
    reason: str | None
    actor: str
    at: datetime
    correlation: str | None


class Balances(BaseModel):
    order: str
    balances: list[Balance]
    entries: list[LedgerEntry] | None = Field(default=None, description="Present with ``entries=true``.")


# ------------------------------------------------------------------ bookings
class Draw(BaseModel):
    account: str
    amount: Decimal


class Quote(BaseModel):
    """What a booking would cost, and how to confirm it (R-BOOK-1, D45)."""

    cost: Decimal
    cost_unit: str
    quantity: Decimal
    unit: str
    explanation: dict[str, Any]
    accounts: list[Draw]
    confirm_with: dict[str, Any] = Field(description="Send these back with the booking to confirm the cost shown.")


class Booking(BaseModel):
    id: int
    service: str
    status: str
    scheduled_on: date
    funding: str
    quantity: Decimal
    unit: str
    cost: Decimal
    cost_unit: str
    fee: Decimal | None
    fee_unit: str | None
    attendees: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    override_reason: str | None
    minimum_registrations: int | None
    recording: bool
    recording_consent: str | None
    cost_explanation: dict[str, Any] | None


class _CancellationTerms(BaseModel):
    notice_days: int
    fee_percent: int
    fee: Decimal
    fee_unit: str
    refund: Decimal
    refund_unit: str
    rule: str
    explanation: str
    schedule: list[str]


class CancellationQuote(_CancellationTerms):
    """What cancelling now would cost (R-BOOK-1), before it is confirmed."""

    booking: int
    confirm_with: dict[str, Any] | None = Field(
        default=None, description="Send these back to cancel; absent when nothing is charged."
    )


class Cancellation(_CancellationTerms):
    booking: Booking


class AuditEvent(BaseModel):
    id: int
    tag: str
    actor: str
    at: datetime
    before: Any
    after: Any
    reason: str | None
    rule: str | None


# ------------------------------------------------------------------ platform outages
class NoticeDecision(BaseModel):
    """Whether a customer is told of an outage, to whom and why (R-MCSAP-5)."""

    customer: str
    order: str | None
    notified: bool
    rule: str
    reason: str
    reason_fr: str
    affected_products: list[str]
    contacts: list[str]


class OutageNotice(BaseModel):
    sequence: int
    kind: str
    message: str
    at: datetime
    by: str
    decisions: list[NoticeDecision]


class Outage(BaseModel):
    id: int
    reference: str
    title: str
    products: list[str]
    regions: list[str]
    status: str
    declared_at: datetime
    declared_by: str
    resolved_at: datetime | None
    rule: str
    notices: list[OutageNotice]


# ------------------------------------------------------------------ the conversation
class Attachment(BaseModel):
    id: int
    message: int | None = Field(description="The message carrying it; None: uploaded, not sent yet.")
    filename: str
    content_type: str
    size: int
    sha256: str
    inline: bool
    original: bool = Field(description="The whole mail as it was received (.eml).")
    uploaded_by: str
    uploaded_at: datetime
    download: str = Field(description="Where to download it.")


class Recipient(BaseModel):
    email: str
    copy_: bool = Field(alias="copy")
    language: str | None
    delivery: dict[str, Any] | None = Field(default=None, description="Provider users only: how its mail went.")


class Message(BaseModel):
    """A reply, an internal note or a customer's message (docs/decisions.md D70)."""

    id: int
    visibility: str = Field(description="``public`` or ``internal``.")
    from_customer: bool
    channel: str
    author: str
    author_name: str | None
    at: datetime
    body: str
    attachments: list[Attachment]
    recipients: list[Recipient]
    communication: int | None
    first_response: bool
    needs_answer: bool
    answer_due: datetime | None
    mail_message_id: str | None


class MessagePosted(IncidentChanged):
    message: Message


class Uploaded(BaseModel):
    items: list[Attachment]


class Copy(BaseModel):
    email: str
    added_by: str
    added_at: datetime


# A file as it was uploaded, in its own content type, always as an attachment.
FILE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file, as an attachment (Content-Disposition), in its own content type",
        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
    }
}


# ------------------------------------------------------------------ search and saved views
class SearchHit(BaseModel):
    incident: int
    title: str
    status: str
    severity: str
    customer: str = Field(description="The customer's code.")
    rank: float = Field(description="Higher is better; comparable within one search only.")
    snippet: str = Field(description="HTML: the best matching text, escaped, the words found in <mark>.")


class SearchPage(BaseModel):
    items: list[SearchHit]


class SavedView(BaseModel):
    id: int
    page: str = Field(description="queue or incidents")
    name: str
    filters: dict[str, str] = Field(description="The page's query parameters; open the page with them to apply it.")
    created_at: str


# ------------------------------------------------------------------ webhooks
class DeliveryCounts(BaseModel):
    pending: int
    sending: int
    delivered: int
    failed: int


class Webhook(BaseModel):
    """A webhook subscription (docs/webhooks.md); its secret is shown only at creation."""

    id: int
    url: str
    customer: str | None = Field(description="Customer code; None: every customer (provider admins)")
    event_types: list[str]
    description: str
    internal: bool
    active: bool
    owner: str
    created_by: str
    created_at: datetime
    failures_in_a_row: int
    disabled_at: datetime | None
    disabled_reason: str | None
    deliveries: DeliveryCounts


class WebhookCreated(BaseModel):
    subscription: Webhook
    secret: str = Field(description="whsec_…: shown once, keep it in the receiver to verify signatures")


class WebhookTry(BaseModel):
    attempt: int
    at: datetime
    outcome: str = Field(description="delivered, http-error, timeout, unreachable or refused")
    status_code: int | None
    duration_ms: int
    excerpt: str | None = Field(description="The answer's first 500 characters, or the error")


class WebhookDelivery(BaseModel):
    id: int
    webhook_id: str = Field(description="The webhook-id header: the same on every try and redelivery")
    event_type: str
    event_id: int
    incident_id: int | None
    status: str = Field(description="pending, sending, delivered or failed")
    attempts: int
    created_at: datetime
    next_try: datetime | None
    delivered_at: datetime | None
    last_error: str | None
    tries: list[WebhookTry]


class AnnouncementRecipient(BaseModel):
    """One contact of a chosen customer, and whether an announcement reaches them (R-COM-1)."""

    customer: str
    customer_name: str
    contact_id: int
    name: str
    email: str
    language: str
    receives: bool
    why: str


class Announcement(BaseModel):
    """An announcement sent: what it said, to which customers, how many mails were
    queued and how many contacts had refused its kind (R-COM-1)."""

    id: int
    subject_en: str
    subject_fr: str
    customers: list[str]
    queued: int
    refused: int
    created_by: str
    created_at: datetime
    rule: str
