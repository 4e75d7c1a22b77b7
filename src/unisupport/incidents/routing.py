"""Routing (R-INC-3) and what starts automatically (R-INC-2, R-PIR-1): decided from
the resolver's explanation, so routing and targets always agree on which plans apply."""

from __future__ import annotations

from dataclasses import dataclass

from unisupport.sla.first_response_due import Explanation

STANDARD = "standard-support"
MCSAP_ENGINEERS = "mcsap-engineers"
RAPID_RESPONSE = "rapid-response"
SECURITY_ENGINEERS = "security-engineers"
AZURE_EVENTS = "azure-events"
EIM = "eim"

TEAMS = {
    STANDARD: ("Standard support", "Support standard"),
    MCSAP_ENGINEERS: ("MCSAP support engineers", "Ingénieurs du support MCSAP"),
    RAPID_RESPONSE: ("Rapid Response engineers", "Ingénieurs Rapid Response"),
    SECURITY_ENGINEERS: ("Security engineers", "Ingénieurs de sécurité"),
    AZURE_EVENTS: ("Azure Events team", "Équipe Événements Azure"),
    EIM: ("Enhanced Incident Management", "Gestion Améliorée des Incidents"),
}

# Extras of the severity matrix that put someone on the incident automatically.
AUTOMATIC_ROLES = {
    "critical-situation-manager": "critical-situation-manager",
    "critical-situation-supervision": "critical-situation-supervisor",
    "eim-team": "eim",
    "senior-incident-manager": "senior-incident-manager",
    "critical-situation-resource": "critical-situation-resource",
}


@dataclass(frozen=True)
class Routing:
    team: str
    reason: str
    rule: str = "R-INC-3"
    roles: tuple[str, ...] = ()  # assigned automatically
    enhanced_escalation: bool = False  # R-INC-2
    post_incident_review: bool = False  # R-PIR-1, at closure

    def to_dict(self) -> dict:
        return {
            "team": self.team,
            "reason": self.reason,
            "rule": self.rule,
            "roles": list(self.roles),
            "enhanced_escalation": self.enhanced_escalation,
            "post_incident_review": self.post_incident_review,
        }


def route(explanation: Explanation) -> Routing:
    applies = {c.plan for c in explanation.considered if c.applies}
    if applies & {"mcsap", "mcsap-plus"}:
        team, why = (
            MCSAP_ENGINEERS,
            "MCSAP covers this Azure component: incidents of any severity go to MCSAP support engineers",
        )
    elif "azure-rapid-response" in applies:
        team, why = (
            RAPID_RESPONSE,
            "Azure Rapid Response covers this component: the Rapid Response team keeps ownership 24x7",
        )
    elif "mcs-security-plus" in applies:
        team, why = SECURITY_ENGINEERS, "MCS Security Plus covers this product and tenant: dedicated security engineers"
    elif "mcs-azure-events" in applies:
        team, why = AZURE_EVENTS, "opened during a covered Azure event with the AEM marker: the Azure Events team"
    else:
        team, why = STANDARD, "no enhanced plan covers it: standard support"
    extras = {e["code"] for e in explanation.extras}
    roles = tuple(
        dict.fromkeys(AUTOMATIC_ROLES[x] for x in (e["code"] for e in explanation.extras) if x in AUTOMATIC_ROLES)
    )
    return Routing(
        team=team,
        reason=why,
        roles=roles,
        enhanced_escalation=explanation.severity.is_critical,  # R-INC-2: Sev 1/A
        post_incident_review="post-incident-review" in extras,  # R-PIR-1 (UER Sev 1)
    )
