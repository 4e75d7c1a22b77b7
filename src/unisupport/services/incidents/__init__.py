"""The incident lifecycle, stored (R-INC-1..4, R-SEV-1..4, R-SLA-1..4, R-RCA-1/2,
R-PIR-1, R-EVT-1).

Opening an incident computes its first-response target with the resolver (every plan
the order holds, with its scope, on the site's calendar), routes it, assigns the roles
that come automatically and starts the clocks. Every later change is an event on the
incident's timeline with actor, time, before/after, reason and rule; the target is
recomputed whenever the severity changes, and the explanation stored with it always
describes the target in force.

One module per use case: :mod:`.opening`, :mod:`.communications`, :mod:`.severity`,
:mod:`.lifecycle` (mitigation, closure, RCA, people), :mod:`.queries` and :mod:`.views`;
what they share is in :mod:`.changes` (finding, versioning and recording changes),
:mod:`.targets` (the plans an order holds, the clocks' instants) and :mod:`.provisions`
(what a severity's plans bring: routing, roles, escalation, the critical-resource clock)."""

from unisupport.incidents.settings import IncidentSettings
from unisupport.services.incidents.changes import (
    PROVIDER_WORKERS,
    calendar_of,
    check_version,
    get_incident,
    record_change,
    require_provider_worker,
)
from unisupport.services.incidents.communications import add_communication
from unisupport.services.incidents.lifecycle import (
    ASSIGNABLE_ROLES,
    assign,
    change_state,
    close,
    mitigate,
    rca_window,
    reopen,
    request_rca,
)
from unisupport.services.incidents.opening import (
    ACKNOWLEDGEMENT,
    OPENING_ROLES,
    open_and_view,
    open_incident,
    preview_target,
)
from unisupport.services.incidents.queries import (
    IncidentFilter,
    Related,
    communications,
    decode_cursor,
    encode_cursor,
    event_summary,
    first_response_outcomes,
    first_response_state,
    get_incident_related,
    is_incident_number,
    list_incidents,
    load_related,
    load_related_many,
    open_reviews,
    timeline,
)
from unisupport.services.incidents.severity import change_severity, confirm_severity
from unisupport.services.incidents.targets import holdings
from unisupport.services.incidents.updates import targets_answer as update_targets
from unisupport.services.incidents.views import collaboration_view, communication_view, event_view, incident_view

__all__ = [
    "ACKNOWLEDGEMENT",
    "ASSIGNABLE_ROLES",
    "OPENING_ROLES",
    "PROVIDER_WORKERS",
    "IncidentFilter",
    "IncidentSettings",
    "Related",
    "add_communication",
    "assign",
    "calendar_of",
    "change_severity",
    "change_state",
    "check_version",
    "close",
    "confirm_severity",
    "collaboration_view",
    "communication_view",
    "communications",
    "decode_cursor",
    "encode_cursor",
    "event_summary",
    "event_view",
    "first_response_outcomes",
    "first_response_state",
    "get_incident",
    "get_incident_related",
    "holdings",
    "incident_view",
    "is_incident_number",
    "list_incidents",
    "load_related",
    "load_related_many",
    "mitigate",
    "open_and_view",
    "open_incident",
    "open_reviews",
    "preview_target",
    "rca_window",
    "record_change",
    "reopen",
    "request_rca",
    "require_provider_worker",
    "timeline",
    "update_targets",
]
