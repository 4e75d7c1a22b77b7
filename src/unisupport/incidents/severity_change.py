"""Changing an incident's severity (R-SEV-1, R-SEV-3, R-SLA-4) and what it does to
the first-response target.

Every change records who, when and why. A downgrade also needs its grounds: the
customer agreed, the customer cannot commit the 24x7 resources a Sev 1/A needs
(R-SEV-3), or a recorded customer-side miss (R-SLA-4). Before the first response the
target restarts from the change instant with the new severity — except that an
upgrade never makes the due time later than it was. After the first response the
first-response target is settled and does not move."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from unisupport.errors import InvalidInput
from unisupport.refusal import Refused
from unisupport.sla.calendar import epoch_seconds
from unisupport.sla.severity import Severity

ORDER = {Severity.SEV_1: 0, Severity.SEV_A: 1, Severity.SEV_B: 2, Severity.SEV_C: 3}


class DowngradeGrounds(StrEnum):
    CUSTOMER_AGREED = "customer-agreed"
    CUSTOMER_RESOURCES_UNAVAILABLE = "customer-resources-unavailable"  # R-SEV-3
    CUSTOMER_RESPONSE_MISSED = "customer-response-missed"  # R-SLA-4

    @property
    def rule(self) -> str:
        return {
            "customer-agreed": "R-SEV-1",
            "customer-resources-unavailable": "R-SEV-3",
            "customer-response-missed": "R-SLA-4",
        }[self.value]


def is_upgrade(old: Severity, new: Severity) -> bool:
    return ORDER[new] < ORDER[old]


@dataclass(frozen=True)
class SeverityChange:
    old: Severity
    new: Severity
    reason: str
    grounds: DowngradeGrounds | None
    rule: str

    @property
    def upgrade(self) -> bool:
        return is_upgrade(self.old, self.new)


def check_change(
    old: Severity, new: Severity, *, reason: str | None, grounds: str | None, recorded_misses: int
) -> SeverityChange:
    """Validate a change; refuse what the rules refuse."""
    if new == old:
        raise InvalidInput(f"the incident is already Severity {old.value}", field="severity")
    if not reason or not reason.strip():
        raise InvalidInput(
            "say why the severity changes (R-SEV-1: every change is recorded with why)", field="reason", rule="R-SEV-1"
        )
    if is_upgrade(old, new):
        return SeverityChange(old, new, reason.strip(), None, "R-SEV-1")
    if not grounds:
        raise Refused(
            "a downgrade needs its grounds: customer-agreed, customer-resources-unavailable (R-SEV-3) or "
            "customer-response-missed (R-SLA-4)",
            rule="R-SEV-3",
            field="grounds",
        )
    try:
        parsed = DowngradeGrounds(grounds)
    except ValueError:
        raise InvalidInput(
            f"unknown grounds {grounds!r} (expected {', '.join(g.value for g in DowngradeGrounds)})", field="grounds"
        ) from None
    if parsed is DowngradeGrounds.CUSTOMER_RESPONSE_MISSED and recorded_misses == 0:
        raise Refused(
            "no customer-side miss is recorded on this incident to ground the downgrade",
            rule="R-SLA-4",
            field="grounds",
        )
    if parsed is DowngradeGrounds.CUSTOMER_RESOURCES_UNAVAILABLE and not old.is_critical:
        raise Refused("24x7 customer resources are only expected at Severity 1 or A", rule="R-SEV-3", field="grounds")
    return SeverityChange(old, new, reason.strip(), parsed, parsed.rule)


def retarget(
    change: SeverityChange, *, current_due: datetime, restarted_due: datetime, first_response_at: datetime | None
) -> tuple[datetime, str]:
    """The first-response due instant after ``change`` and why.

    ``restarted_due`` is the new severity's target counted from the change instant."""
    if first_response_at is not None:
        return current_due, "the first response was already given: its target does not move"
    if change.upgrade and epoch_seconds(restarted_due) > epoch_seconds(current_due):
        return current_due, "an upgrade never makes the due time later: the earlier due time stands"
    return restarted_due, f"the target restarts from the change with Severity {change.new.value}"
