"""What incident pages and API answers show, times in the site's zone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from unisupport.incidents import diagnostics, third_party
from unisupport.services.incidents.lifecycle import rca_window
from unisupport.services.incidents.updates import target_view
from unisupport.services.incidents.queries import Related, first_response_state, load_related
from unisupport.sla.calendar import Calendar, epoch_seconds
from unisupport.sla.site_calendar import site_calendar
from unisupport.storage.tables import CommunicationRow, IncidentEventRow, IncidentRow, ThirdPartyRow


def incident_view(
    session: Session, incident: IncidentRow, *, now: datetime, related: Related | None = None
) -> dict[str, Any]:
    """Everything an incident page or API answer shows, times in the site's zone.
    ``related``: the rows it shows beside the incident, when the caller has them."""
    r = related or load_related(session, incident)
    calendar = site_calendar(r.site)
    local = calendar.localize

    def when(value: datetime | None) -> str | None:
        return None if value is None else local(value).isoformat()

    customer, order, site, contact, rca, pir, assignments, comms = (
        r.customer,
        r.order,
        r.site,
        r.contact,
        r.rca,
        r.pir,
        r.assignments,
        r.communications,
    )
    # R-SLA-4: what the customer was asked and has not answered, and every miss (a late answer included).
    customer_side = [
        c for c in comms if c.requests_customer_action and (c.answered_at is None or c.missed_at is not None)
    ]
    return {
        "id": incident.id,
        "version": incident.version,
        "customer": customer.code if customer else None,
        "order": order.number if order else None,
        "site": site.code if site else None,
        "timezone": calendar.timezone,
        "contact": contact.email if contact else None,
        "channel": incident.channel,
        "product": incident.product,
        "title": incident.title,
        "business_impact": incident.business_impact,
        "description": incident.description,
        "reproduction_steps": incident.reproduction_steps,  # R-REQ-1
        "environment": incident.environment,  # R-REQ-1
        "entitlement": incident.entitlement,  # R-SUP-1: null when the order has no annex A
        "tenant": incident.tenant,
        "severity": incident.severity,
        "severity_to_confirm": incident.severity_to_confirm,  # opened by mail: an engineer agrees it (R-SEV-1)
        "previous_incident": incident.previous_incident_id,  # the closed incident this one follows up
        "highest_severity": incident.highest_severity,
        "production_impact": incident.production_impact,
        "language": incident.language,
        "status": incident.status,
        "state": incident.state,  # whose turn it is (incidents.state, D93)
        "update_target": None
        if r.update_target is None
        else target_view(r.update_target, calendar, now=now),  # R-INC-2
        "team": incident.team,
        "routing": incident.routing,
        "opened_at": when(incident.opened_at),
        "first_response": {
            "due": when(incident.first_response_due),
            "warn_at": when(incident.first_response_warn_at),
            "target_minutes": incident.target_minutes,
            "coverage": incident.coverage,
            "plan": incident.plan,
            "started_at": when(incident.target_started_at),
            "responded_at": when(incident.first_response_at),
            "breached_at": when(incident.breached_at),
            "state": first_response_state(incident, now),
            "explanation": incident.explanation,
        },
        "critical_situation_resource": None
        if incident.critical_resource_due is None
        else {
            "due": when(incident.critical_resource_due),
            "designated_at": when(incident.critical_resource_at),
            "rule": "R-EVT-2",
        },
        "escalation": {
            "enhanced": incident.escalated_at is not None,
            "since": when(incident.escalated_at),
            "rule": "R-INC-2",
        },
        "assignments": [
            {"role": a.role, "person": a.person, "automatic": a.automatic, "rule": a.rule} for a in assignments
        ],
        "customer_side": [
            {
                "communication": c.id,
                "asked_at": when(c.at),
                "due": when(c.customer_response_due),
                "answered_at": when(c.answered_at),
                "missed": c.missed_at is not None
                or (
                    c.answered_at is None
                    and c.customer_response_due is not None
                    and epoch_seconds(now) > epoch_seconds(c.customer_response_due)
                ),
                "rule": "R-SLA-4",
            }
            for c in customer_side
        ],
        "diagnostic_requests": [diagnostic_view(c, calendar, now=now) for c in comms if c.diagnostic],
        "customer_misses": sum(1 for c in comms if c.missed_at is not None),
        "mitigated_at": when(incident.mitigated_at),
        "closed_at": when(incident.closed_at),
        "rca": None
        if rca is None
        else {"requested_at": when(rca.requested_at), "due": when(rca.due_at), "rule": rca.rule, "status": rca.status},
        "rca_window": rca_window(session, incident, now=now, calendar=calendar) if rca is None else None,
        "post_incident_review": None
        if pir is None
        else {"status": pir.status, "created_at": when(pir.created_at), "rule": "R-PIR-1"},
        "third_parties": [collaboration_view(t, calendar) for t in r.third_parties],
        "links": {  # the conversation (docs/decisions.md D70)
            "messages": f"/api/v1/incidents/{incident.id}/messages",
            "attachments": f"/api/v1/incidents/{incident.id}/attachments",
            "copies": f"/api/v1/incidents/{incident.id}/copies",
            "remote_access": f"/api/v1/incidents/{incident.id}/remote-access",  # R-RA-1
        },
    }


def collaboration_view(row: ThirdPartyRow, calendar: Calendar) -> dict[str, Any]:
    """A third-party collaboration (R-INC-4), times in the site's zone."""

    def when(value: datetime | None) -> str | None:
        return None if value is None else calendar.localize(value).isoformat()

    return {
        "id": row.id,
        "vendor": row.vendor,
        "product": row.product,
        "status": row.status,
        "requested_at": when(row.requested_at),
        "requested_by": row.requested_by,
        "engaged_at": when(row.engaged_at),
        "engaged_by": row.engaged_by,
        "vendor_reference": row.vendor_reference,
        "ended_at": when(row.ended_at),
        "ended_by": row.ended_by,
        "rule": third_party.RULE,
        "responsibility": third_party.RESPONSIBILITY["en"],
    }


def diagnostic_view(c: CommunicationRow, calendar: Calendar, *, now: datetime) -> dict[str, Any]:
    """A diagnostic activity asked of the customer (R-REQ-1), on the customer-side clock (R-SLA-4)."""
    late = c.missed_at is not None or (
        c.answered_at is None
        and c.customer_response_due is not None
        and epoch_seconds(now) > epoch_seconds(c.customer_response_due)
    )
    return {
        "communication": c.id,
        "activity": c.diagnostic,
        "asked_at": calendar.localize(c.at).isoformat(),
        "asked_by": c.author,
        "due": None if c.customer_response_due is None else calendar.localize(c.customer_response_due).isoformat(),
        "answered_at": None if c.answered_at is None else calendar.localize(c.answered_at).isoformat(),
        "state": "answered" if c.answered_at is not None else "pending",
        "missed": late,
        "rule": diagnostics.RULE,
    }


def communication_view(c: CommunicationRow, calendar: Calendar) -> dict[str, Any]:
    return {
        "id": c.id,
        "direction": c.direction,
        "medium": c.medium,
        "automated": c.automated,
        "author": c.author,
        "at": calendar.localize(c.at).isoformat(),
        "logged_at": calendar.localize(c.logged_at).isoformat(),
        "body": c.body,
        "first_response": c.first_response,
        "requests_customer_action": c.requests_customer_action,
        "diagnostic": c.diagnostic,
        "customer_response_due": calendar.localize(c.customer_response_due).isoformat()
        if c.customer_response_due
        else None,
    }


def event_view(e: IncidentEventRow, calendar: Calendar) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": calendar.localize(e.at).isoformat(),
        "actor": e.actor,
        "kind": e.kind,
        "before": e.before,
        "after": e.after,
        "reason": e.reason,
        "rule": e.rule,
    }
