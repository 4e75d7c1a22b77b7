"""Severities (docs/rules.md R-SEV-1) and their definitions in French and English."""

from __future__ import annotations

from enum import StrEnum

from unisupport.errors import InvalidInput


class Severity(StrEnum):
    SEV_1 = "1"
    SEV_A = "A"
    SEV_B = "B"
    SEV_C = "C"

    @classmethod
    def parse(cls, value: object, *, field: str = "severity") -> Severity:
        text = str(value).strip().upper()
        try:
            return cls(text)
        except ValueError:
            raise InvalidInput(
                f"{value!r} is not a severity (expected 1, A, B or C)", field=field, rule="R-SEV-1"
            ) from None

    @property
    def is_critical(self) -> bool:
        """Severity 1 and A are worked 24x7 (R-SEV-3)."""
        return self in (Severity.SEV_1, Severity.SEV_A)

    def label(self, lang: str = "en") -> str:
        return ("Gravité " if lang == "fr" else "Severity ") + self.value

    def definition(self, lang: str = "en") -> str:
        return DEFINITIONS[self][lang if lang in ("en", "fr") else "en"]


# R-SEV-1, in the source's words (Annex A) and in English.
DEFINITIONS: dict[Severity, dict[str, str]] = {
    Severity.SEV_1: {
        "en": (
            "Critical business systems down: business at risk, complete loss of a critical application or solution; "
            "needs immediate attention."
        ),
        "fr": (
            "Arrêt des systèmes de gestion critiques : activité à risque, perte complète d'une application ou d'une "
            "solution critique ; nécessite une attention immédiate."
        ),
    },
    Severity.SEV_A: {
        "en": (
            "Critical business systems degraded: significant loss or degradation of services; needs attention within "
            "the hour."
        ),
        "fr": (
            "Dégradation des systèmes de gestion critiques : pertes ou dégradations des services importantes ; "
            "nécessite une attention dans l'heure."
        ),
    },
    Severity.SEV_B: {
        "en": "Moderate business impact: disrupts but does not prevent the reasonable continuation of business.",
        "fr": "Impact modéré sur l'activité : perturbe sans empêcher la poursuite raisonnable de l'activité.",
    },
    Severity.SEV_C: {
        "en": "Minimal business impact: business continues with minimal or no impairment of services.",
        "fr": "Impact minimal sur l'activité : l'activité se poursuit avec peu ou pas de dégradation des services.",
    },
}
