"""What callers send to open and work an incident. Shared by the API (request
bodies, hence the OpenAPI schema), the web pages and the CLI, so every adapter
accepts exactly the same fields with the same checks."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from unisupport.incidents.communication import Direction, Medium, OpeningChannel
from unisupport.incidents.conversation import Visibility
from unisupport.incidents.state import State
from unisupport.incidents.diagnostics import DiagnosticActivity
from unisupport.incidents.supported_products import EntitlementOutcome
from unisupport.inputs import Input, Instant
from unisupport.sla.severity import Severity


class _In(Input):
    """The base of the incident request models: unknown keys and control characters refused (``inputs.Input``)."""


class IncidentIn(_In):
    order: str | None = Field(
        default=None, max_length=64, description="Order number; defaults to the customer's only active order."
    )
    site: str = Field(max_length=64, description="Site code of the order (its calendar sets business hours).")
    contact: str | None = Field(
        default=None,
        max_length=254,
        description="E-mail of the designated contact opening it (R-ORD-4); customer users: themselves.",
    )
    channel: OpeningChannel = OpeningChannel.API
    product: str = Field(max_length=64)
    severity: Severity
    title: str = Field(min_length=1, max_length=200)
    business_impact: str = Field(
        min_length=1, max_length=4000, description="The customer's statement of impact (R-SEV-1)."
    )
    production_impact: bool = False
    language: str = Field(default="en", pattern=r"^[a-z]{2}$")
    description: str | None = Field(default=None, max_length=20000)
    reproduction_steps: str | None = Field(
        default=None, max_length=20000, description="How to reproduce the problem (R-REQ-1); optional."
    )
    environment: str | None = Field(
        default=None,
        max_length=4000,
        description="Where it happens: versions, operating system, configuration (R-REQ-1); optional.",
    )
    tenant: str | None = Field(default=None, max_length=200)
    opened_at: Instant | None = Field(default=None, description="Admins importing history only; audited.")


class CommunicationIn(_In):
    direction: Direction | None = Field(default=None, description="Customer users: always inbound.")
    medium: Medium
    body: str = Field(min_length=1, max_length=20000)
    at: Instant | None = Field(default=None, description="When it happened, for a call logged after the fact; audited.")
    requests_customer_action: bool = Field(default=False, description="Starts the customer-side clock (R-SLA-4).")
    diagnostic: DiagnosticActivity | None = Field(
        default=None,
        description="A diagnostic activity asked of the customer (R-REQ-1): a tracked request, on the customer-side "
        "clock (R-SLA-4).",
    )


class SeverityChangeIn(_In):
    severity: Severity
    reason: str = Field(min_length=1, max_length=2000)
    grounds: str | None = Field(
        default=None,
        description=(
            "Downgrades: customer-agreed, customer-resources-unavailable (R-SEV-3), customer-response-missed (R-SLA-4)."
        ),
    )


class MitigationIn(_In):
    at: Instant | None = None
    summary: str = Field(min_length=1, max_length=4000)


class ClosureIn(_In):
    at: Instant | None = None
    summary: str = Field(min_length=1, max_length=4000)


class RcaIn(_In):
    note: str | None = Field(default=None, max_length=4000)


class ThirdPartyIn(_In):
    vendor: str = Field(
        min_length=1,
        max_length=120,
        description="The third-party vendor the customer asks the provider to work with (R-INC-4).",
    )
    product: str | None = Field(default=None, max_length=200, description="The vendor's product involved.")
    note: str | None = Field(default=None, max_length=4000)


class EngagementIn(_In):
    vendor_reference: str | None = Field(
        default=None, max_length=200, description="The vendor's own case number, once reached."
    )
    note: str | None = Field(default=None, max_length=4000)


class CollaborationEndIn(_In):
    note: str | None = Field(default=None, max_length=4000)


class MessageIn(_In):
    """A message on an incident: a reply to the customer (public, mailed), an internal
    note (provider roles only), or a customer's message (always public)."""

    visibility: Visibility = Field(
        default=Visibility.PUBLIC,
        description="public: seen by the customer, and mailed when a provider user writes it; "
        "internal: provider roles only (customers may not write one: 403).",
    )
    body: str = Field(min_length=1, max_length=20000, description="Plain text; Markdown is shown formatted.")
    attachments: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(
        default_factory=list,
        max_length=50,
        description="Ids of files uploaded first (POST /api/v1/incidents/{id}/attachments) by the same user.",
    )
    cc: list[Annotated[str, Field(max_length=320)]] = Field(
        default_factory=list,
        max_length=1000,
        description="Addresses to add to the incident's copy list (at most 20 in all); public messages only.",
    )
    needs_answer: bool = Field(
        default=False,
        description="A provider's reply that asks the customer for an answer: "
        "starts the customer-side clock (R-SLA-4).",
    )
    diagnostic: DiagnosticActivity | None = Field(
        default=None,
        description="A provider's reply asking for a diagnostic activity (R-REQ-1): a tracked request on the "
        "customer-side clock (R-SLA-4), answered by the customer's message and its attachments.",
    )


class ReopeningIn(_In):
    reason: str = Field(min_length=1, max_length=2000)


class StateChangeIn(_In):
    """A person's move of the incident to another state (incidents.state), with why."""

    state: State = Field(description="The state to move to: " + ", ".join(s.value for s in State) + ".")
    reason: str = Field(min_length=1, max_length=2000)


class RemoteAccessIn(_In):
    """The customer authorises a remote connection (R-RA-1)."""

    systems: list[Annotated[str, Field(max_length=2000)]] = Field(
        min_length=1,
        max_length=50,
        description="The systems the provider may connect to: names, or one free text split on commas.",
    )
    tool: str = Field(
        min_length=1,
        max_length=64,
        description="An approved tool's code (GET /api/v1/remote-access/tools), or 'other' with other_tool.",
    )
    other_tool: str | None = Field(default=None, max_length=120, description="The other tool, when tool is 'other'.")
    acknowledge_data_responsibility: bool = Field(
        default=False,
        description="With another tool: the customer is responsible for the integrity and security of its data.",
    )
    valid_from: Instant | None = Field(default=None, description="From when (default: now).")
    valid_until: Instant
    note: str | None = Field(default=None, max_length=4000)


class RemoteAccessWithdrawalIn(_In):
    note: str | None = Field(default=None, max_length=4000)


class RemoteSessionIn(_In):
    """An engineer starts a remote session on one authorised system (R-RA-1)."""

    system: str = Field(min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=4000)


class RemoteSessionEndIn(_In):
    note: str | None = Field(default=None, max_length=4000)


class EntitlementCheckIn(_In):
    """The engineer's outcome of the supported-product check (R-SUP-1)."""

    outcome: EntitlementOutcome
    note: str | None = Field(default=None, max_length=4000)
