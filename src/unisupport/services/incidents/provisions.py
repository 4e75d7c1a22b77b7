"""What an incident's severity and plans bring it (R-INC-2, R-INC-3, R-EVT-2): its routing,
the roles its plans assign automatically, the enhanced escalation of Sev 1/A and the Azure
Events critical-situation-resource clock. One code path, used at the opening and at every
severity change, so an upgraded incident holds what opening it at that severity gives.

What an incident already holds stays: a downgrade takes no one off it, stops no escalation
and no clock (the people named keep working it; the timeline says why they came)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from unisupport.incidents.routing import Routing, route
from unisupport.services.incidents.targets import minutes_after
from unisupport.sla.first_response_due import Explanation
from unisupport.storage.tables import AssignmentRow, IncidentRow


@dataclass
class Provided:
    """What a severity's plans add to an incident: the automatic roles to assign and the
    timeline events saying so, turned into rows by :meth:`rows` once the incident has
    its id (the opening decides before its first flush)."""

    routing: Routing
    at: datetime
    roles: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def rows(self, incident: IncidentRow) -> tuple[list[AssignmentRow], list[dict[str, Any]]]:
        """The assignments to add, and the ``incident_events`` rows as dicts."""
        ids = {"customer_id": incident.customer_id, "incident_id": incident.id}
        assignments = [
            AssignmentRow(**ids, role=role, person=None, automatic=True, rule="R-INC-3", at=self.at)
            for role in self.roles
        ]
        return assignments, [ids | {"at": self.at, "actor": "system"} | e for e in self.events]


def provide(
    incident: IncidentRow, explanation: Explanation, *, at: datetime, assigned: set[str], opening: bool = False
) -> Provided:
    """Apply to ``incident`` what ``explanation``'s severity and plans bring at ``at``:
    route it (a ``routed`` event at the opening and whenever the team changes), assign
    the automatic roles not in ``assigned`` yet, start the enhanced escalation (Sev 1/A)
    and the critical-situation-resource clock (Azure Events Sev 1) unless running."""
    routing = route(explanation)
    out = Provided(routing, at)

    def event(kind: str, after: dict[str, Any], reason: str, rule: str, before: dict | None = None) -> None:
        out.events.append({"kind": kind, "before": before, "after": after, "reason": reason, "rule": rule})

    severity = explanation.severity.value
    incident.routing = routing.to_dict()
    if opening or routing.team != incident.team:
        event("routed", {"team": routing.team}, routing.reason, "R-INC-3", None if opening else {"team": incident.team})
        incident.team = routing.team
    for role in routing.roles:
        if role not in assigned:
            out.roles.append(role)
            event(
                "role-assigned", {"role": role}, f"assigned automatically by the plan at Severity {severity}", "R-INC-3"
            )
    if routing.enhanced_escalation and incident.escalated_at is None:
        incident.escalated_at = at
        reason = f"Severity {severity}: enhanced escalation starts automatically"
        event("escalated", {"escalation": "enhanced"}, reason, "R-INC-2")
    critical = next((e for e in explanation.extras if "within_minutes" in e), None)
    if critical and incident.critical_resource_due is None:
        minutes = critical["within_minutes"]
        incident.critical_resource_due = minutes_after(at, minutes)
        event(
            "clock-started",
            {"clock": "critical-situation-resource", "due": incident.critical_resource_due.isoformat()},
            f"Azure Events Sev 1: a critical situation resource is designated within {minutes} minutes",
            "R-EVT-2",
        )
    return out
