"""Root cause analysis requests (R-RCA-1, R-RCA-2) and post-incident reviews (R-PIR-1).

Base Package and UER: an RCA must be requested before the incident is closed.
MCSAP: until 7 calendar days after closure, for Sev 1/A incidents with production
impact only; it is due 10 business days after the later of the request and the
mitigation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from unisupport.refusal import Refused
from unisupport.sla.calendar import Calendar, epoch_seconds
from unisupport.sla.severity import Severity

MCSAP_PLANS = frozenset({"mcsap", "mcsap-plus"})
AFTER_CLOSURE_DAYS = 7
DUE_BUSINESS_DAYS = 10


@dataclass(frozen=True)
class RcaDecision:
    rule: str
    due: datetime | None
    reason: str
    reason_fr: str


def _refuse(message: str, message_fr: str, *, rule: str, field: str) -> Refused:
    """A refusal that also says why in French (``details["reason_fr"]``, for the portal)."""
    return Refused(message, rule=rule, field=field, details={"reason_fr": message_fr})


def nth_business_day_end(calendar: Calendar, after: datetime, n: int) -> datetime:
    """The end of the ``n``-th working day of the site strictly after ``after``'s
    local date (the close of its last window)."""
    day: date = calendar.localize(after).date()
    counted = 0
    while counted < n:
        day += timedelta(days=1)
        if calendar.day_windows(day):
            counted += 1
    last = calendar.day_windows(day)[-1]
    midnight = datetime(day.year, day.month, day.day, tzinfo=calendar.zone)
    return calendar.localize(midnight + timedelta(minutes=last.end))


def decide_rca(
    *,
    plans: set[str],
    severity: Severity,
    production_impact: bool,
    closed_at: datetime | None,
    mitigated_at: datetime | None,
    requested_at: datetime,
    calendar: Calendar,
) -> RcaDecision:
    """Accept an RCA request (with its due instant when the rules set one) or refuse
    it naming the rule."""
    mcsap = bool(plans & MCSAP_PLANS)
    mcsap_eligible = mcsap and severity.is_critical and production_impact

    def mcsap_due() -> datetime:
        later = max(requested_at, mitigated_at or requested_at, key=epoch_seconds)
        return nth_business_day_end(calendar, later, DUE_BUSINESS_DAYS)

    if closed_at is None:
        if mcsap_eligible:
            return RcaDecision(
                "R-RCA-2",
                mcsap_due(),
                "MCSAP RCA: due 10 business days after the later of the request and the mitigation",
                "RCA MCSAP : attendue 10 jours ouvrés après la demande ou l'atténuation, la plus tardive des deux",
            )
        return RcaDecision(
            "R-RCA-1",
            None,
            "requested before closure; the engineer says whether the technology allows it and any extra fees",
            "demandée avant la clôture ; l'ingénieur indique si la technologie le permet "
            "et les éventuels frais supplémentaires",
        )
    if not mcsap:
        raise _refuse(
            "an RCA must be requested before the incident is closed",
            "une RCA doit être demandée avant la clôture de l'incident",
            rule="R-RCA-1",
            field="requested_at",
        )
    if epoch_seconds(requested_at) > epoch_seconds(closed_at) + AFTER_CLOSURE_DAYS * 86_400:
        raise _refuse(
            f"an MCSAP RCA may be requested until {AFTER_CLOSURE_DAYS} calendar days after closure",
            f"une RCA MCSAP peut être demandée jusqu'à {AFTER_CLOSURE_DAYS} jours calendaires après la clôture",
            rule="R-RCA-2",
            field="requested_at",
        )
    if not severity.is_critical:
        raise _refuse(
            "after closure, an MCSAP RCA is only for Severity 1 or A incidents",
            "après la clôture, une RCA MCSAP n'est possible que pour les incidents de gravité 1 ou A",
            rule="R-RCA-2",
            field="severity",
        )
    if not production_impact:
        raise _refuse(
            "after closure, an MCSAP RCA is only for incidents with production impact",
            "après la clôture, une RCA MCSAP n'est possible que pour les incidents ayant un impact sur la production",
            rule="R-RCA-2",
            field="production_impact",
        )
    return RcaDecision(
        "R-RCA-2",
        mcsap_due(),
        "MCSAP RCA after closure: due 10 business days after the later of the request and the mitigation",
        "RCA MCSAP après clôture : attendue 10 jours ouvrés après la demande ou l'atténuation, "
        "la plus tardive des deux",
    )
