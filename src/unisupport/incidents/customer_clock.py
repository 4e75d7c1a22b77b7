"""Customer-side expectations (R-SLA-4): when an engineer asks the customer for
something, the customer's expected answer time is tracked and a miss is shown.

Sev B: the change-approval authority answers within 4 business hours; Sev C: within
24 hours; Sev 1/A: resources 24x7 with rapid access and response — a configurable
short default (60 minutes of wall-clock time)."""

from __future__ import annotations

from datetime import UTC, datetime

from unisupport.sla.calendar import Calendar, epoch_seconds
from unisupport.sla.severity import Severity

CRITICAL_DEFAULT_MINUTES = 60


def customer_response_due(
    severity: Severity, asked_at: datetime, calendar: Calendar, *, critical_minutes: int = CRITICAL_DEFAULT_MINUTES
) -> tuple[datetime, str]:
    """When the customer's answer is expected, and the rule in words."""
    if severity is Severity.SEV_B:
        return calendar.add_business_minutes(
            asked_at, 240
        ), "Sev B: the change-approval authority answers within 4 business hours (R-SLA-4)"
    if severity is Severity.SEV_C:
        at = datetime.fromtimestamp(epoch_seconds(asked_at) + 24 * 3600, UTC)
        return calendar.localize(at), "Sev C: an answer within 24 hours (R-SLA-4)"
    at = datetime.fromtimestamp(epoch_seconds(asked_at) + critical_minutes * 60, UTC)
    return calendar.localize(
        at
    ), f"Sev {severity.value}: rapid access and response, within {critical_minutes} minutes (R-SLA-4)"
