"""Third-party collaborations on incidents, stored (R-INC-4): the customer asks, the
provider engages the vendor and ends the collaboration; each step is an event of the
incident's timeline that names the rule. The incident's view lists them
(``services.incidents.incident_view``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from unisupport.access import Principal, Role
from unisupport.errors import Forbidden, InvalidInput, NotFound
from unisupport.incidents.requests import CollaborationEndIn, EngagementIn, ThirdPartyIn
from unisupport.incidents.third_party import (
    RESPONSIBILITY,
    RULE,
    Collaboration,
    check_end,
    check_engagement,
    vendor_key,
)
from unisupport.refusal import Refused
from unisupport.services.incidents import PROVIDER_WORKERS, get_incident, record_change
from unisupport.storage.tables import IncidentRow, ThirdPartyRow


def request_collaboration(
    session: Session, principal: Principal, incident_id: int, data: ThirdPartyIn, *, now: datetime
) -> ThirdPartyRow:
    """The customer asks the provider to work with ``data.vendor`` — through the
    portal or the API, or by phone and recorded by a provider engineer. Asking again
    for a vendor already requested or engaged changes nothing; a vendor whose
    collaboration ended is asked for anew."""
    if principal.role is Role.CSAM:
        raise Forbidden("a CSAM does not work incidents", field="role")
    incident = get_incident(session, principal, incident_id, lock=True)
    if incident.status == "closed":
        raise Refused("the incident is closed: open a new one to involve a third party", rule="R-INC-1", field="id")
    vendor = " ".join(data.vendor.split())
    if not vendor:
        raise InvalidInput("name the vendor", field="vendor")
    row = session.scalar(
        select(ThirdPartyRow).where(
            ThirdPartyRow.incident_id == incident.id, ThirdPartyRow.vendor_key == vendor_key(vendor)
        )
    )
    if row is not None and row.status != Collaboration.ENDED:
        return row
    on_behalf = "" if principal.role.is_customer else " (recorded by the provider at the customer's request)"
    if row is None:
        row = ThirdPartyRow(
            customer_id=incident.customer_id, incident_id=incident.id, vendor=vendor, vendor_key=vendor_key(vendor)
        )
        session.add(row)
    row.product, row.status, row.requested_at, row.requested_by = (
        data.product,
        Collaboration.REQUESTED.value,
        now,
        principal.email,
    )
    row.vendor_reference = row.engaged_at = row.engaged_by = row.ended_at = row.ended_by = None
    record_change(
        session,
        incident,
        kind="third-party-requested",
        actor=principal.email,
        at=now,
        rule=RULE,
        after={"vendor": vendor, "product": data.product},
        reason=(data.note or f"the customer asked the provider to work with {vendor}") + on_behalf,
    )
    return row


def _collaboration(session: Session, incident: IncidentRow, collaboration_id: int) -> ThirdPartyRow:
    row = session.get(ThirdPartyRow, collaboration_id)
    if row is None or row.incident_id != incident.id:
        raise NotFound(
            f"no third-party collaboration {collaboration_id} on incident {incident.id}", field="collaboration"
        )
    return row


def engage(
    session: Session,
    principal: Principal,
    incident_id: int,
    collaboration_id: int,
    data: EngagementIn,
    *,
    now: datetime,
) -> ThirdPartyRow:
    """The provider has reached the vendor the customer asked for."""
    principal.require(*PROVIDER_WORKERS, action="engage third parties")
    incident = get_incident(session, principal, incident_id, lock=True)
    row = _collaboration(session, incident, collaboration_id)
    check_engagement(Collaboration(row.status), row.vendor)
    row.status, row.engaged_at, row.engaged_by, row.vendor_reference = (
        Collaboration.ENGAGED.value,
        now,
        principal.email,
        data.vendor_reference,
    )
    record_change(
        session,
        incident,
        kind="third-party-engaged",
        actor=principal.email,
        at=now,
        rule=RULE,
        before={"status": Collaboration.REQUESTED.value},
        after={"vendor": row.vendor, "status": row.status, "vendor_reference": data.vendor_reference},
        reason=data.note or RESPONSIBILITY["en"],
    )
    return row


def end(
    session: Session,
    principal: Principal,
    incident_id: int,
    collaboration_id: int,
    data: CollaborationEndIn,
    *,
    now: datetime,
) -> ThirdPartyRow:
    """The collaboration is over (the vendor's part is done, or the customer withdrew
    the request: customer users may end their own requests)."""
    if principal.role is Role.CSAM:
        raise Forbidden("a CSAM does not work incidents", field="role")
    incident = get_incident(session, principal, incident_id, lock=True)
    row = _collaboration(session, incident, collaboration_id)
    check_end(Collaboration(row.status), row.vendor)
    before = row.status
    row.status, row.ended_at, row.ended_by = Collaboration.ENDED.value, now, principal.email
    record_change(
        session,
        incident,
        kind="third-party-ended",
        actor=principal.email,
        at=now,
        rule=RULE,
        before={"status": before},
        after={"vendor": row.vendor, "status": row.status},
        reason=data.note,
    )
    return row
