"""The resolver: the first-response target of an incident and why (docs/rules.md R-SLA-1).

Every plan the customer holds is considered; each says whether it applies to this
incident and, if so, its target. The shortest due instant wins (ties go to the plan
listed first in the matrix file, enhanced plans before the Base Package), and the
explanation keeps a one-sentence reason for every plan held.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from unisupport.catalog.product import Product, ProductRegistry, default_products
from unisupport.errors import InvalidInput
from unisupport.sla.calendar import Calendar, epoch_seconds
from unisupport.sla.matrix import (
    BASE,
    Coverage,
    Covers,
    Plan,
    Scope,
    SeverityMatrix,
    default_matrix,
)
from unisupport.sla.severity import Severity

# "Event-related incidents must be submitted through the Azure portal, including
# AEM in the case description" (Annex A, Azure Events).
AEM_MARKER = re.compile(r"\bAEM\b", re.IGNORECASE)
MAX_EVENT_DAYS = 5  # R-EVT-2
LANGUAGE_NAMES = {
    "en": "English",
    "fr": "French",
    "ja": "Japanese",
    "zh": "Chinese",
    "de": "German",
    "es": "Spanish",
    "it": "Italian",
    "pt": "Portuguese",
}


@dataclass(frozen=True)
class Holding:
    """A plan the customer holds, with the scope its order names, if any.

    ``scope`` is a set of product codes (ARR's Azure components, MCSAP's enrolled
    products) or of tenant ids (Security Plus); ``None`` means the order names no
    restriction. ``event_start``/``event_end`` bound an Azure Events window.
    """

    plan: str
    scope: frozenset[str] | None = None
    event_start: datetime | None = None
    event_end: datetime | None = None

    @classmethod
    def of(cls, value: Holding | str) -> Holding:
        return value if isinstance(value, Holding) else cls(plan=str(value).strip())


@dataclass(frozen=True)
class Considered:
    plan: str
    applies: bool
    target_minutes: int | None
    reason: str
    coverage: Coverage | None = None
    due: datetime | None = None
    fallback: bool = False
    extras: tuple[str, ...] = ()
    reason_fr: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "applies": self.applies,
            "target_minutes": self.target_minutes,
            "reason": self.reason,
            "reason_fr": self.reason_fr,
        }


@dataclass(frozen=True)
class Explanation:
    """The answer of :func:`explain`: the due instant and how it was reached."""

    due: datetime
    target_minutes: int
    coverage: Coverage
    plan: str
    considered: tuple[Considered, ...]
    severity: Severity
    product: Product
    opened: datetime
    calendar: Calendar
    extras: tuple[dict[str, Any], ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "due": self.due.isoformat(),
            "target_minutes": self.target_minutes,
            "coverage": self.coverage.value,
            "plan": self.plan,
            "considered": [c.to_dict() for c in self.considered],
            "severity": self.severity.value,
            "product": self.product.code,
            "opened": self.calendar.localize(self.opened).isoformat(),
            "site": {
                "country": self.calendar.country,
                "timezone": self.calendar.timezone,
                "subdivision": self.calendar.subdivision,
            },
            "extras": [dict(e) for e in self.extras],
        }

    @property
    def governing(self) -> Considered:
        return next(c for c in self.considered if c.plan == self.plan)


def explain(
    *,
    severity: Severity | str,
    product: str,
    opened: datetime,
    country: str | None = None,
    timezone: str | None = None,
    calendar: Calendar | None = None,
    plans: Iterable[Holding | str] = (),
    description: str | None = None,
    event_start: datetime | None = None,
    event_end: datetime | None = None,
    tenant: str | None = None,
    language: str | None = None,
    matrix: SeverityMatrix | None = None,
    products: ProductRegistry | None = None,
) -> Explanation:
    """The first-response target of an incident, with a reason for every plan held.

    ``plans`` are catalog codes or :class:`Holding` values (``base`` is always held,
    listed or not). The site is ``calendar``, or ``Calendar.for_country(country,
    timezone)``. ``event_start``/``event_end`` give the Azure Events window of a
    ``mcs-azure-events`` holding given as a bare code.
    """
    matrix = matrix or default_matrix()
    products = products or default_products()
    sev = Severity.parse(severity)
    prod = products.get(product, field="product")
    epoch_seconds(opened, field="opened")  # refuses naive or malformed instants early
    if calendar is None:
        if country is None or timezone is None:
            raise InvalidInput("give a calendar, or both country and timezone", field="country")
        calendar = Calendar.for_country(country, timezone)

    holdings = _holdings(plans, matrix, event_start, event_end, calendar)
    considered = [
        _consider(matrix.plans[h.plan], h, matrix, sev, prod, opened, calendar, description, tenant, language)
        for h in holdings
    ]
    candidates = [c for c in considered if c.applies and c.due is not None]
    # Shortest due instant wins; ties go to a plan's own figure over a fallback
    # (the figure is the Base Package's then), then to file precedence.
    best = min(
        candidates,
        key=lambda c: (epoch_seconds(c.due), c.fallback, matrix.precedence(c.plan)),  # type: ignore[arg-type]
    )
    extras = []
    seen = set()
    for c in considered:
        if not c.applies:
            continue
        for code in c.extras:
            if code in seen:
                continue
            seen.add(code)
            extra = matrix.extras[code]
            item: dict[str, Any] = {"code": code, "plan": c.plan, "en": extra.en, "fr": extra.fr}
            if extra.within_minutes is not None:
                item["within_minutes"] = extra.within_minutes
                item["due"] = elapsed(calendar, opened, extra.within_minutes).isoformat()
            extras.append(item)
    order = {h.plan: i for i, h in enumerate(holdings)}
    considered.sort(key=lambda c: (c.plan != best.plan, order[c.plan]))
    return Explanation(
        due=best.due,  # type: ignore[arg-type]
        target_minutes=best.target_minutes,  # type: ignore[arg-type]
        coverage=best.coverage,  # type: ignore[arg-type]
        plan=best.plan,
        considered=tuple(considered),
        severity=sev,
        product=prod,
        opened=calendar.localize(opened),
        calendar=calendar,
        extras=tuple(extras),
    )


def _holdings(
    plans: Iterable[Holding | str],
    matrix: SeverityMatrix,
    event_start: datetime | None,
    event_end: datetime | None,
    calendar: Calendar,
) -> list[Holding]:
    if isinstance(plans, str):
        plans = [p for p in plans.split(",") if p.strip()]
    held: dict[str, Holding] = {}
    for value in plans:
        holding = Holding.of(value)
        if not holding.plan:
            continue
        matrix.plan(holding.plan)  # unknown code → InvalidInput(field="plans")
        if holding.plan in held:
            raise InvalidInput(f"plan {holding.plan!r} is listed twice", field="plans")
        held[holding.plan] = holding
    held.setdefault(BASE, Holding(BASE))

    if (event_start is None) != (event_end is None):
        raise InvalidInput(
            "an event window needs both a start and an end",
            field="event_start" if event_start is None else "event_end",
            rule="R-EVT-2",
        )
    if event_start is not None:
        events = [h for h in held.values() if matrix.plans[h.plan].scope is Scope.EVENT]
        if not events:
            raise InvalidInput(
                "an event window was given but no Azure Events plan (mcs-azure-events) is held",
                field="event_start",
                rule="R-EVT-2",
            )
        for h in events:
            held[h.plan] = Holding(h.plan, h.scope, event_start, event_end)
    for h in held.values():
        if h.event_start is not None:
            _check_event_window(h, calendar)
    # Precedence order of the matrix file.
    return sorted(held.values(), key=lambda h: matrix.precedence(h.plan))


def _check_event_window(h: Holding, calendar: Calendar) -> None:
    start = epoch_seconds(h.event_start, field="event_start")  # type: ignore[arg-type]
    end = epoch_seconds(h.event_end, field="event_end")  # type: ignore[arg-type]
    if end <= start:
        raise InvalidInput("the event must end after it starts", field="event_end", rule="R-EVT-2")
    # Calendar days are counted on the site's wall clock: five days across a clock
    # change last 119 or 121 hours.
    wall = calendar.localize(h.event_end).replace(tzinfo=None) - calendar.localize(h.event_start).replace(tzinfo=None)  # type: ignore[arg-type]
    if wall > timedelta(days=MAX_EVENT_DAYS):
        raise InvalidInput(
            f"an event covers at most {MAX_EVENT_DAYS} consecutive calendar days (buy consecutive events)",
            field="event_end",
            rule="R-EVT-2",
        )


@dataclass(frozen=True)
class Words:
    """One sentence in English and in French: every reason is given in both, so that
    the portal explains a target in its reader's language."""

    en: str
    fr: str

    def __add__(self, other: Words) -> Words:
        return Words(self.en + other.en, self.fr + other.fr)


FLAG_NAMES = {
    "identity": ("identity and authentication", "d'identité et d'authentification"),
    "on_premises": ("on-premises", "locales (on-premises)"),
    "government_cloud": ("government cloud", "de cloud gouvernemental"),
    "sovereign_cloud": ("sovereign cloud", "de cloud souverain"),
    "user_device": ("user device", "d'appareils des utilisateurs"),
    "client_software": ("client software", "de logiciels clients"),
}
LANGUAGE_NAMES_FR = {
    "en": "anglais",
    "fr": "français",
    "ja": "japonais",
    "zh": "chinois",
    "de": "allemand",
    "es": "espagnol",
    "it": "italien",
    "pt": "portugais",
}


def _listing(names: list[str], joiner: str) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" {joiner} " + names[-1]


def _consider(
    plan: Plan,
    holding: Holding,
    matrix: SeverityMatrix,
    sev: Severity,
    product: Product,
    opened: datetime,
    calendar: Calendar,
    description: str | None,
    tenant: str | None,
    language: str | None,
) -> Considered:
    p = Words(product.en, product.fr)

    def refuse(reason: Words) -> Considered:
        return Considered(plan.code, False, None, f"{plan.en}: {reason.en}", reason_fr=f"{plan.fr} : {reason.fr}")

    # 1. Does the plan cover this product at all?
    excluded_flag = sorted(f.value for f in plan.excluded_flags if product.has(f))
    excluded = product.code in plan.azure_exclusions or bool(excluded_flag)
    if product.code in plan.azure_exclusions:
        why_excluded = Words(f"{p.en} is excluded from its Azure target", f"{p.fr} est exclu de son délai Azure")
    else:
        flags = [FLAG_NAMES.get(f, (f, f)) for f in excluded_flag]
        why_excluded = Words(
            f"{p.en} is excluded ({', '.join(e for e, _ in flags)} technologies are out of its scope)",
            f"{p.fr} est exclu (les technologies {', '.join(f for _, f in flags)} sont hors de son périmètre)",
        )
    if plan.covers is Covers.AZURE_COMPONENTS:
        if not product.is_azure:
            return refuse(
                Words(
                    f"covers Azure components only, and {p.en} is not one.",
                    f"ne couvre que les composants Azure, et {p.fr} n'en est pas un.",
                )
            )
        if excluded:
            return refuse(
                why_excluded
                + Words(
                    ", and the plan covers Azure components only.", ", et le plan ne couvre que les composants Azure."
                )
            )
    elif plan.covers is Covers.SECURITY_PRODUCTS:
        if not product.has("security_pillar"):
            return refuse(
                Words(
                    f"covers the security portfolio (Entra, Intune, Purview, Defender) only, and {p.en} is not in it.",
                    f"ne couvre que le portefeuille sécurité (Entra, Intune, Purview, Defender), et {p.fr} n'en fait pas partie.",
                )
            )

    # 2. Does the order's scope for the plan include this incident?
    scope_note = Words("", "")
    if plan.scope is Scope.AZURE_COMPONENTS or plan.scope is Scope.ENROLLED_PRODUCTS:
        what = (
            Words("Azure components named on the order", "composants Azure nommés dans l'Ordre de Services")
            if plan.scope is Scope.AZURE_COMPONENTS
            else Words("products enrolled on the order", "produits inscrits dans l'Ordre de Services")
        )
        if holding.scope is not None and product.code not in holding.scope:
            listed = ", ".join(sorted(holding.scope)) or "—"
            return refuse(
                Words(
                    f"{p.en} is not among the {what.en} ({listed}).",
                    f"{p.fr} ne figure pas parmi les {what.fr} ({listed}).",
                )
            )
        if holding.scope is None:
            scope_note = Words(
                f"; no list of {what.en} was given, so all are assumed in scope",
                f" ; aucune liste des {what.fr} n'a été donnée : tous sont supposés couverts",
            )
    elif plan.scope is Scope.TENANTS:
        if holding.scope is not None:
            listed = ", ".join(sorted(holding.scope))
            if tenant is None:
                return refuse(
                    Words(
                        f"the incident names no tenant, and the plan covers only the tenants named on the order ({listed}).",
                        f"l'incident ne nomme aucun locataire, et le plan ne couvre que les locataires nommés dans l'Ordre de Services ({listed}).",
                    )
                )
            if tenant not in holding.scope:
                return refuse(
                    Words(
                        f"tenant {tenant!r} is not among the tenants named on the order ({listed}).",
                        f"le locataire « {tenant} » ne figure pas parmi les locataires nommés dans l'Ordre de Services ({listed}).",
                    )
                )
    elif plan.scope is Scope.EVENT:
        if holding.event_start is None or holding.event_end is None:
            return refuse(
                Words(
                    "no event window was given, so no event is in progress.",
                    "aucune fenêtre d'événement n'a été donnée : aucun événement n'est en cours.",
                )
            )
        start, end = epoch_seconds(holding.event_start), epoch_seconds(holding.event_end)
        at = epoch_seconds(opened)
        if not (start <= at < end):
            a, b = calendar.localize(holding.event_start).isoformat(), calendar.localize(holding.event_end).isoformat()
            return refuse(
                Words(
                    f"the incident was opened outside the event window ({a} to {b}).",
                    f"l'incident a été ouvert hors de la fenêtre de l'événement ({a} à {b}).",
                )
            )
        if not description or not AEM_MARKER.search(description):
            return refuse(
                Words(
                    'the case description does not carry the "AEM" marker that identifies event cases.',
                    "la description du cas ne porte pas la mention « AEM » qui identifie les cas de l'événement.",
                )
            )

    # 3. The figure: the plan's own, or the Base Package's where the row is blank.
    row = plan.severities[sev]
    fallback = row.fallback is not None
    source_row = matrix.base.severities[sev] if fallback else row
    azure_target = product.is_azure and not excluded
    if fallback:
        base_excluded = product.code in matrix.base.azure_exclusions
        minutes = source_row.minutes_for(product.is_azure and not base_excluded)
    else:
        minutes = source_row.minutes_for(azure_target)
    if minutes is None:  # a plan covering Azure only has no "other" figure
        return refuse(
            why_excluded
            + Words(
                ", and the plan has no target for other products.",
                ", et le plan n'a pas de délai pour les autres produits.",
            )
        )
    coverage = source_row.coverage
    assert coverage is not None
    due = _due(calendar, opened, minutes, coverage)

    if coverage is Coverage.BUSINESS_HOURS:
        figure = Words(f"{minutes} business minutes", f"{minutes} minutes ouvrées")
    else:
        figure = Words(f"{minutes} minutes, 24x7", f"{minutes} minutes, 24 h/24, 7 j/7")
    if fallback:
        reason = Words(
            f"the source leaves its Severity {sev.value} row blank, so the Base Package's target applies ({figure.en})",
            f"la source laisse vide sa ligne Gravité {sev.value} : le délai du Package de Base s'applique ({figure.fr})",
        )
    elif excluded and product.is_azure and row.all is None:
        reason = why_excluded + Words(
            f", so Severity {sev.value} gets its other-products target: a first response within {figure.en}",
            f" : la Gravité {sev.value} reçoit le délai des autres produits, première réponse sous {figure.fr}",
        )
    else:
        if row.all is not None:
            kind = Words("", "")
        elif azure_target:
            kind = (
                Words(" on an Azure component in its scope", " sur un composant Azure de son périmètre")
                if plan.code != BASE
                else Words(" on an Azure component", " sur un composant Azure")
            )
        else:
            kind = Words(" on a product other than an Azure component", " sur un produit autre qu'un composant Azure")
        reason = Words(
            f"Severity {sev.value}{kind.en} gets a first response within {figure.en}",
            f"Gravité {sev.value}{kind.fr} : première réponse sous {figure.fr}",
        )
    reason += scope_note
    if language and plan.languages is not None and language not in plan.languages:
        offered = Words(
            _listing([LANGUAGE_NAMES.get(c, c) for c in plan.languages], "and"),
            _listing([LANGUAGE_NAMES_FR.get(c, c) for c in plan.languages], "et"),
        )
        reason += Words(
            f"; it is delivered in {offered.en} only, so it applies in English, not {LANGUAGE_NAMES.get(language, language)} (R-SLA-3)",
            f" ; il n'est fourni qu'en {offered.fr} : il s'applique en anglais, non en {LANGUAGE_NAMES_FR.get(language, language)} (R-SLA-3)",
        )
    reason += Words(".", ".")
    return Considered(
        plan.code,
        True,
        minutes,
        f"{plan.en}: {reason.en}",
        coverage=coverage,
        due=due,
        fallback=fallback,
        extras=row.extras,
        reason_fr=f"{plan.fr} : {reason.fr}",
    )


def _due(calendar: Calendar, opened: datetime, minutes: int, coverage: Coverage) -> datetime:
    if coverage is Coverage.H24X7:
        return elapsed(calendar, opened, minutes)
    return calendar.add_business_minutes(opened, minutes)


def elapsed(calendar: Calendar, start: datetime, minutes: int) -> datetime:
    """``minutes`` of wall-clock time after ``start``, in the site's zone. Done on
    epoch seconds: aware-datetime arithmetic in one zone is wall-clock arithmetic and
    would be an hour off across a clock change."""
    return calendar.localize(datetime.fromtimestamp(epoch_seconds(start) + minutes * 60, UTC))
