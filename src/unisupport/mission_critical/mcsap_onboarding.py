"""MCSAP onboarding milestones (R-MCSAP-2) and Plus monitoring (R-MCSAP-3), computed
from the contract's execution date.

Day N is the execution date + N calendar days (the execution date is day 0), so
"within 14 days" is due on day 14 and "30 days after onboarding ends" on day 90.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from unisupport.bookings.booking_rules import require_local_date
from unisupport.catalog.catalog import Catalog, default_catalog
from unisupport.errors import InvalidInput
from unisupport.refusal import Refused

DUE_SOON_DAYS = 7
DOCUMENTATION_DAYS = 14  # R-MCSAP-2
ONBOARDING_DAYS = 60  # R-MCSAP-2
PLUS_DOCUMENTS_DAYS = 30  # R-MCSAP-3
MONITORS_AFTER_ONBOARDING_DAYS = 30  # R-MCSAP-3


class MilestoneStatus(StrEnum):
    PENDING = "pending"
    DUE_SOON = "due-soon"  # due within the next 7 days, or today
    DONE = "done"
    LATE = "late"  # past its due date and not done


@dataclass(frozen=True)
class Milestone:
    code: str
    due: date
    en: str
    fr: str
    rule: str
    plus_only: bool = False

    def label(self, lang: str = "en") -> str:
        return self.fr if lang == "fr" else self.en

    def status(self, as_of: date, completed_on: date | None = None) -> MilestoneStatus:
        """Where the milestone stands on ``as_of``. Done when completed, even late:
        lateness is then read from ``completed_on`` against ``due``."""
        require_local_date(as_of, "as_of")
        if completed_on is not None:
            if require_local_date(completed_on, "completed_on") > as_of:
                raise InvalidInput(f"completed on {completed_on}, after {as_of}", field="completed_on")
            return MilestoneStatus.DONE
        if as_of > self.due:
            return MilestoneStatus.LATE
        if (self.due - as_of).days <= DUE_SOON_DAYS:
            return MilestoneStatus.DUE_SOON
        return MilestoneStatus.PENDING


def onboarding_milestones(executed_on: date, *, plus: bool) -> tuple[Milestone, ...]:
    """The milestones of an MCSAP (``plus=False``) or MCSAP Plus contract, by due date."""
    day0 = require_local_date(executed_on, "executed_on")

    def day(n: int) -> date:
        return day0 + timedelta(days=n)

    milestones = [
        Milestone(
            "initial-documentation",
            day(DOCUMENTATION_DAYS),
            "Initial documentation completed by the customer with the CSAM",
            "Documentation initiale complétée par le client avec le CSAM",
            "R-MCSAP-2",
        ),
        Milestone(
            "onboarding-end",
            day(ONBOARDING_DAYS),
            "End of onboarding (first 60 days)",
            "Fin de l'intégration (60 premiers jours)",
            "R-MCSAP-2",
        ),
    ]
    if plus:
        milestones += [
            Milestone(
                "plus-customer-documents",
                day(PLUS_DOCUMENTS_DAYS),
                "Monitoring documents provided by the customer",
                "Documents de surveillance fournis par le client",
                "R-MCSAP-3",
                plus_only=True,
            ),
            Milestone(
                "plus-monitors-ready",
                day(ONBOARDING_DAYS + MONITORS_AFTER_ONBOARDING_DAYS),
                "Monitors ready for testing",
                "Moniteurs prêts pour les tests",
                "R-MCSAP-3",
                plus_only=True,
            ),
        ]
    return tuple(sorted(milestones, key=lambda m: m.due))


def check_monitoring_scenarios(
    scenarios: Sequence[str], *, plus: bool, catalog: Catalog | None = None
) -> tuple[str, ...]:
    """R-MCSAP-3: monitoring is a Plus feature, with at most 7 scenarios (the limit
    is the catalog's ``mcsap-plus`` ``max_monitoring_scenarios``). Returns the
    scenario names, trimmed."""
    names = tuple(s.strip() for s in scenarios)
    for i, name in enumerate(names):
        if not name:
            raise InvalidInput("a monitoring scenario needs a name", field=f"scenarios[{i}]")
        if name in names[:i]:
            raise InvalidInput(f"scenario {name!r} is listed twice", field=f"scenarios[{i}]")
    if names and not plus:
        raise Refused("monitoring scenarios are an MCSAP Plus feature", rule="R-MCSAP-3", field="scenarios")
    limit = (catalog or default_catalog()).get("mcsap-plus").limits.max_monitoring_scenarios or 7
    if len(names) > limit:
        raise Refused(
            f"at most {limit} monitoring scenarios are defined, {len(names)} were given",
            rule="R-MCSAP-3",
            field="scenarios",
            details={"limit": limit, "given": len(names)},
        )
    return names
