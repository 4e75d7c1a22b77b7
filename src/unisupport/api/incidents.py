"""``/api/v1/incidents``: open, read, work and close incidents."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials

from unisupport.api.answers import (
    CollaborationChanged,
    Communication,
    CommunicationLogged,
    Event,
    Incident,
    IncidentChanged,
    IncidentPage,
    RcaRequested,
    UpdateTargets,
    answer,
)
from unisupport.api.problems import STALE
from unisupport.api.json_body import JsonRoute
from unisupport.api.unit import bearer, etag, if_match, remember, replay, unit
from unisupport.incidents.requests import (
    ClosureIn,
    CollaborationEndIn,
    CommunicationIn,
    EngagementIn,
    EntitlementCheckIn,
    IncidentIn,
    MitigationIn,
    RcaIn,
    ReopeningIn,
    SeverityChangeIn,
    StateChangeIn,
    ThirdPartyIn,
)
from unisupport.inputs import Instant
from unisupport.services import incidents as svc
from unisupport.services import third_parties
from unisupport.services.incidents.entitlement import record_entitlement_check

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"], route_class=JsonRoute)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
RecordId = Annotated[int, Path(ge=1, le=2**31 - 1)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]


def _view(u, incident) -> dict[str, Any]:
    return svc.incident_view(u.session, incident, now=u.now)


def _settings(request: Request) -> svc.IncidentSettings:
    return request.app.state.incident_settings


@router.post(
    "",
    status_code=201,
    summary="Open an incident",
    description=(
        "Computes the first-response target (R-SLA-1) with its full explanation, routes it (R-INC-3), assigns the "
        "automatic roles."
    ),
    responses=answer(Incident, 201, "Opened"),
)
def open_incident(
    request: Request, data: IncidentIn, credentials: Credentials, key: IdempotencyKey = None
) -> JSONResponse:
    with unit(request, credentials) as u:
        replayed, digest = replay(u, key, "POST", request.url.path, data)
        if replayed:
            return replayed
        body = svc.open_and_view(u.session, u.principal, data, now=u.now, settings=_settings(request))
        headers = {"ETag": etag(body["version"]), "Location": f"/api/v1/incidents/{body['id']}"}
        response = remember(u, key, "POST", request.url.path, digest, 201, body, headers=headers)
    return response


@router.get(
    "",
    summary="List incidents (newest first, cursor pagination)",
    responses=answer(IncidentPage),
)
def list_incidents(
    request: Request,
    credentials: Credentials,
    status: Annotated[str | None, Query(pattern="^(open|mitigated|closed)$")] = None,
    severity: Annotated[str | None, Query(pattern="^[1ABCabc]$")] = None,
    customer: Annotated[str | None, Query(max_length=64)] = None,
    team: Annotated[str | None, Query(max_length=64)] = None,
    breached: bool | None = None,
    due_before: Instant | None = None,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    with unit(request, credentials) as u:
        rows, next_cursor = svc.list_incidents(
            u.session,
            u.principal,
            svc.IncidentFilter(status, severity, customer, team, breached, due_before),
            now=u.now,
            cursor=cursor,
            limit=limit,
        )
        related = svc.load_related_many(u.session, rows)  # the page's rows in five queries, not five per incident
        items = [svc.incident_view(u.session, r, now=u.now, related=related[r.id]) for r in rows]
        return {"items": items, "next_cursor": next_cursor}


@router.get(
    "/{incident_id}",
    summary="One incident, with its target and why",
    responses=answer(Incident),
)
def get_incident(request: Request, incident_id: RecordId, credentials: Credentials) -> JSONResponse:
    with unit(request, credentials) as u:
        incident, related = svc.get_incident_related(u.session, u.principal, incident_id)
        body = svc.incident_view(u.session, incident, now=u.now, related=related)
    # The view is JSON already: answered as is, not walked again by FastAPI's encoder.
    return JSONResponse(body, headers={"ETag": etag(body["version"])})


def _change(request: Request, credentials, incident_id: RecordId, change, *data) -> JSONResponse:
    """:func:`_mutation` of a service call ``change(session, principal, incident_id,
    *data, now=, expected_version=)`` whose own answer is not shown."""

    def act(u, expected) -> None:
        change(u.session, u.principal, incident_id, *data, now=u.now, expected_version=expected)

    return _mutation(request, credentials, incident_id, act)


def _mutation(request: Request, credentials, incident_id: RecordId, action) -> JSONResponse:
    expected = if_match(request)
    with unit(request, credentials) as u:
        result = action(u, expected)
        incident = svc.get_incident(u.session, u.principal, incident_id)
        body = {"incident": _view(u, incident)} | (result or {})
    return JSONResponse(body, headers={"ETag": etag(body["incident"]["version"])})


@router.post(
    "/{incident_id}/communications",
    summary=(
        "Log a communication (phone, e-mail …); the first outbound non-automated phone or e-mail is the first "
        "response (R-SEV-2)"
    ),
    responses=answer(CommunicationLogged) | STALE,
)
def add_communication(
    request: Request, incident_id: RecordId, data: CommunicationIn, credentials: Credentials
) -> JSONResponse:
    def act(u, expected):
        row = svc.add_communication(
            u.session, u.principal, incident_id, data, now=u.now, settings=_settings(request), expected_version=expected
        )
        incident = svc.get_incident(u.session, u.principal, incident_id)
        return {"communication": svc.communication_view(row, svc.calendar_of(u.session, incident))}

    return _mutation(request, credentials, incident_id, act)


@router.get(
    "/{incident_id}/communications",
    summary="Communications, oldest first",
    responses=answer(list[Communication]),
)
def list_communications(request: Request, incident_id: RecordId, credentials: Credentials) -> list[dict[str, Any]]:
    with unit(request, credentials) as u:
        incident = svc.get_incident(u.session, u.principal, incident_id)
        calendar = svc.calendar_of(u.session, incident)
        return [svc.communication_view(c, calendar) for c in svc.communications(u.session, incident)]


@router.post(
    "/{incident_id}/severity",
    summary="Change the severity (R-SEV-1; downgrades need grounds: R-SEV-3, R-SLA-4); If-Match optional",
    responses=answer(IncidentChanged) | STALE,
)
def change_severity(
    request: Request, incident_id: RecordId, data: SeverityChangeIn, credentials: Credentials
) -> JSONResponse:
    return _mutation(
        request,
        credentials,
        incident_id,
        lambda u, expected: (
            svc.change_severity(
                u.session,
                u.principal,
                incident_id,
                data,
                now=u.now,
                settings=_settings(request),
                expected_version=expected,
            )
            and None
        ),
    )


@router.post(
    "/{incident_id}/severity/confirmation",
    summary="Agree the severity of an incident opened by mail (R-SEV-1): severity_to_confirm becomes false",
    responses=answer(IncidentChanged) | STALE,
)
def confirm_severity(request: Request, incident_id: RecordId, credentials: Credentials) -> JSONResponse:
    return _change(request, credentials, incident_id, svc.confirm_severity)


@router.post(
    "/{incident_id}/mitigation",
    summary="Record the mitigation",
    responses=answer(IncidentChanged) | STALE,
)
def mitigate(request: Request, incident_id: RecordId, data: MitigationIn, credentials: Credentials) -> JSONResponse:
    return _change(request, credentials, incident_id, svc.mitigate, data)


@router.post(
    "/{incident_id}/closure",
    summary="Close (a UER Sev 1 gets its post-incident review, R-PIR-1)",
    responses=answer(IncidentChanged) | STALE,
)
def close(request: Request, incident_id: RecordId, data: ClosureIn, credentials: Credentials) -> JSONResponse:
    return _change(request, credentials, incident_id, svc.close, data)


@router.post(
    "/{incident_id}/reopening",
    summary="Reopen a closed incident (R-INC-1); the first response's facts stay as recorded. Send If-Match.",
    responses=answer(IncidentChanged) | STALE,
)
def reopen(request: Request, incident_id: RecordId, data: ReopeningIn, credentials: Credentials) -> JSONResponse:
    def act(u, expected):
        svc.require_provider_worker(u.principal, "reopen incidents")
        incident = svc.get_incident(u.session, u.principal, incident_id, lock=True)
        svc.check_version(incident, expected)
        svc.reopen(u.session, incident, actor=u.principal.email, reason=data.reason, now=u.now)

    return _mutation(request, credentials, incident_id, act)


@router.post(
    "/{incident_id}/state",
    summary=(
        "Move the incident to another state with a reason (in progress, awaiting the customer or a third party, "
        "mitigated, closed, reopened; R-INC-1, R-INC-4, R-SLA-4); If-Match optional"
    ),
    responses=answer(IncidentChanged) | STALE,
)
def change_state(
    request: Request, incident_id: RecordId, data: StateChangeIn, credentials: Credentials
) -> JSONResponse:
    return _change(request, credentials, incident_id, svc.change_state, data)


@router.get(
    "/{incident_id}/update-targets",
    summary="Update targets (next update due, R-INC-2), oldest first: plan, figure, calendar, pauses, and the story",
    responses=answer(UpdateTargets),
)
def update_targets(request: Request, incident_id: RecordId, credentials: Credentials) -> dict[str, Any]:
    with unit(request, credentials) as u:
        incident = svc.get_incident(u.session, u.principal, incident_id)
        return svc.update_targets(u.session, incident, now=u.now)


@router.post(
    "/{incident_id}/rca",
    summary="Request a root cause analysis (R-RCA-1 before closure; MCSAP R-RCA-2 until 7 days after)",
    responses=answer(RcaRequested) | STALE,
)
def request_rca(request: Request, incident_id: RecordId, data: RcaIn, credentials: Credentials) -> JSONResponse:
    def act(u, expected):
        row = svc.request_rca(u.session, u.principal, incident_id, now=u.now, note=data.note)
        return {"rca": {"rule": row.rule, "due": row.due_at.isoformat() if row.due_at else None, "status": row.status}}

    return _mutation(request, credentials, incident_id, act)


@router.post(
    "/{incident_id}/third-parties",
    summary=(
        "Ask the provider to work with a third-party vendor (R-INC-4); the vendor remains responsible for its product"
    ),
    responses=answer(CollaborationChanged) | STALE,
)
def request_collaboration(
    request: Request, incident_id: RecordId, data: ThirdPartyIn, credentials: Credentials
) -> JSONResponse:
    return _collaborate(
        request,
        credentials,
        incident_id,
        lambda u: third_parties.request_collaboration(u.session, u.principal, incident_id, data, now=u.now),
    )


@router.post(
    "/{incident_id}/third-parties/{collaboration_id}/engagement",
    summary="Record that the provider reached the vendor the customer asked for (R-INC-4)",
    responses=answer(CollaborationChanged) | STALE,
)
def engage_third_party(
    request: Request, incident_id: RecordId, collaboration_id: RecordId, data: EngagementIn, credentials: Credentials
) -> JSONResponse:
    return _collaborate(
        request,
        credentials,
        incident_id,
        lambda u: third_parties.engage(u.session, u.principal, incident_id, collaboration_id, data, now=u.now),
    )


@router.post(
    "/{incident_id}/third-parties/{collaboration_id}/end",
    summary="End a third-party collaboration (R-INC-4)",
    responses=answer(CollaborationChanged) | STALE,
)
def end_third_party(
    request: Request,
    incident_id: RecordId,
    collaboration_id: RecordId,
    data: CollaborationEndIn,
    credentials: Credentials,
) -> JSONResponse:
    return _collaborate(
        request,
        credentials,
        incident_id,
        lambda u: third_parties.end(u.session, u.principal, incident_id, collaboration_id, data, now=u.now),
    )


def _collaborate(request: Request, credentials, incident_id: int, change) -> JSONResponse:
    """Run ``change(u)`` on a collaboration; answer the incident and the collaboration."""

    def act(u, expected):
        row = change(u)
        calendar = svc.calendar_of(u.session, svc.get_incident(u.session, u.principal, incident_id))
        return {"third_party": svc.collaboration_view(row, calendar)}

    return _mutation(request, credentials, incident_id, act)


@router.post(
    "/{incident_id}/entitlement-check",
    summary="Record the outcome of the supported-product check of a flagged incident (R-SUP-1)",
    responses=answer(IncidentChanged) | STALE,
)
def check_entitlement(
    request: Request, incident_id: RecordId, data: EntitlementCheckIn, credentials: Credentials
) -> JSONResponse:
    def act(u, expected):
        svc.check_version(svc.get_incident(u.session, u.principal, incident_id), expected)
        record_entitlement_check(u.session, u.principal, incident_id, data, now=u.now)

    return _mutation(request, credentials, incident_id, act)


@router.get(
    "/{incident_id}/events",
    summary="The timeline: every change with actor, time, before/after, reason and rule",
    responses=answer(list[Event]),
)
def events(request: Request, incident_id: RecordId, credentials: Credentials) -> list[dict[str, Any]]:
    with unit(request, credentials) as u:
        incident = svc.get_incident(u.session, u.principal, incident_id)
        calendar = svc.calendar_of(u.session, incident)
        return [svc.event_view(e, calendar) for e in svc.timeline(u.session, u.principal, incident_id)]
