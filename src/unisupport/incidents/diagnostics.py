"""Diagnostic requests (R-REQ-1, "Soumission d'une Demande de Service", "Identification et
résolution des problèmes").

A reactive contact has a basic understanding of the problem and can reproduce it: the
incident form asks for the reproduction steps and the environment. An engineer may ask
the customer for a diagnostic activity; the request is a tracked request on the incident
with the customer-side clock of R-SLA-4 (``incidents.customer_clock``), answered by the
customer's next message and its attachments."""

from __future__ import annotations

from enum import StrEnum

RULE = "R-REQ-1"


class DiagnosticActivity(StrEnum):
    NETWORK_TRACE = "network-trace"
    ERROR_CAPTURE = "error-capture"
    CONFIGURATION_DATA = "configuration-data"
    CONFIGURATION_CHANGE = "configuration-change"
    NEW_VERSION = "new-version"


NAMES = {
    DiagnosticActivity.NETWORK_TRACE: ("a network trace", "une trace réseau"),
    DiagnosticActivity.ERROR_CAPTURE: ("an error capture", "une capture d'erreur"),
    DiagnosticActivity.CONFIGURATION_DATA: ("configuration data", "des données de configuration"),
    DiagnosticActivity.CONFIGURATION_CHANGE: ("a configuration change", "une modification de configuration"),
    DiagnosticActivity.NEW_VERSION: ("installing a new version", "l'installation d'une nouvelle version"),
}


def activity_name(activity: DiagnosticActivity | str, lang: str = "en") -> str:
    en, fr = NAMES[DiagnosticActivity(activity)]
    return fr if lang == "fr" else en
