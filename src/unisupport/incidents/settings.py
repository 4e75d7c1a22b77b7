"""How the incident clocks are tuned for a deployment (``UNISUPPORT_WARN_SHARE``,
``UNISUPPORT_CRITICAL_CUSTOMER_MINUTES``, read by :mod:`unisupport.settings`)."""

from __future__ import annotations

from dataclasses import dataclass

from unisupport.incidents.customer_clock import CRITICAL_DEFAULT_MINUTES


@dataclass(frozen=True)
class IncidentSettings:
    warn_share: float = 0.75  # warn when this share of the target has elapsed
    critical_customer_minutes: int = CRITICAL_DEFAULT_MINUTES  # R-SLA-4, Sev 1/A
    reply_address: str = ""  # mail replies come back to local+<reply token>@domain; empty: no Reply-To


DEFAULT_SETTINGS = IncidentSettings()
