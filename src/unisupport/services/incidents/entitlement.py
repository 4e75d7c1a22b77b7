"""The supported-product check of an incident (R-SUP-1): flagged at opening when no
entitlement of the order's annex A covers the product (``incidents.supported_products``),
and the engineer's outcome, recorded on the timeline and in the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from unisupport.access import Principal
from unisupport.errors import Refused
from unisupport.incidents.requests import EntitlementCheckIn
from unisupport.incidents.supported_products import COVERED, RULE
from unisupport.services.audit import record_event
from unisupport.services.incidents.changes import PROVIDER_WORKERS, get_incident, record_change
from unisupport.storage.tables import IncidentRow


def entitlement_flag_event(incident: IncidentRow, *, at: datetime) -> dict[str, Any]:
    """The opening's timeline row saying the incident is flagged, and why."""
    check = incident.entitlement or {}
    return {
        "customer_id": incident.customer_id,
        "incident_id": incident.id,
        "at": at,
        "actor": "system",
        "kind": "entitlement-flagged",
        "before": None,
        "after": {"product": incident.product, "listed": check.get("listed", [])},
        "reason": check.get("reason"),
        "rule": RULE,
    }


def record_entitlement_check(
    session: Session, principal: Principal, incident_id: int, data: EntitlementCheckIn, *, now: datetime
) -> IncidentRow:
    """The engineer's outcome of the check of a flagged incident (it may be corrected
    later: each outcome is an event with the one it replaces)."""
    incident = get_incident(session, principal, incident_id, lock=True)  # another tenant's: 404 before any 403
    principal.require(*PROVIDER_WORKERS, action="record the entitlement check")
    check = dict(incident.entitlement or {})
    if not check or check.get("state") == COVERED:
        raise Refused(
            "nothing to check: the incident's product is covered by the order's annex A, or the order has none",
            rule=RULE,
            field="outcome",
        )
    before = {"state": check["state"], "outcome": check.get("outcome")}
    check.update(outcome=data.outcome.value, checked_by=principal.email, checked_at=now.isoformat(), note=data.note)
    check["state"] = "checked"
    incident.entitlement = check
    after = {"outcome": data.outcome.value, "product": incident.product}
    reason = data.note or f"entitlement checked: {data.outcome.value}"
    record_change(
        session,
        incident,
        kind="entitlement-checked",
        actor=principal.email,
        at=now,
        rule=RULE,
        before=before,
        after=after,
        reason=reason,
    )
    record_event(
        session,
        customer_id=incident.customer_id,
        subject_type="incident",
        subject_id=incident.id,
        tag="entitlement-checked",
        actor=principal.email,
        at=now,
        before=before,
        after=after,
        reason=reason,
        rule=RULE,
    )
    return incident
