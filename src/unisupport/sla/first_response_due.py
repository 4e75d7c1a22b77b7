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
    Row,
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
    event_start, event_end = h.event_start, h.event_end
    if event_start is None or event_end is None:
        raise InvalidInput("an event window needs both a start and an end", field="event_end", rule="R-EVT-2")
    start = epoch_seconds(event_start, field="event_start")
    end = epoch_seconds(event_end, field="event_end")
    if end <= start:
        raise InvalidInput("the event must end after it starts", field="event_end", rule="R-EVT-2")
    # Calendar days are counted on the site's wall clock: five days across a clock
    # change last 119 or 121 hours.
    wall = calendar.localize(event_end).replace(tzinfo=None) - calendar.localize(event_start).replace(tzinfo=None)
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
    """Whether ``plan`` applies to this incident and, if it does, its due instant, with
    the reason in English and in French: 1. the products the plan covers, 2. the
    order's scope for it, 3. its figure, or the Base Package's where its row is blank."""
    excluded, why_excluded = _exclusion(plan, product)
    refusal = _covers_refusal(plan, product, excluded, why_excluded) or _scope_refusal(
        plan, holding, product, opened, calendar, description, tenant
    )
    if refusal is not None:
        return _not_applicable(plan, refusal)
    row = plan.severities[sev]
    fallback = row.fallback is not None
    minutes, coverage = _figure(matrix, sev, row, product, excluded)
    if minutes is None:  # a plan covering Azure only has no "other" figure
        return _not_applicable(
            plan,
            why_excluded
            + Words(
                ", and the plan has no target for other products.",
                ", et le plan n'a pas de délai pour les autres produits.",
            ),
        )
    assert coverage is not None  # a row with minutes has its coverage (Row's validator)
    reason = (
        _target_reason(plan, sev, row, product, excluded, why_excluded, minutes, coverage)
        + _scope_note(plan, holding)
        + _language_note(plan, language)
        + Words(".", ".")
    )
    return Considered(
        plan.code,
        True,
        minutes,
        f"{plan.en}: {reason.en}",
        coverage=coverage,
        due=_due(calendar, opened, minutes, coverage),
        fallback=fallback,
        extras=row.extras,
        reason_fr=f"{plan.fr} : {reason.fr}",
    )


def _not_applicable(plan: Plan, reason: Words) -> Considered:
    return Considered(plan.code, False, None, f"{plan.en}: {reason.en}", reason_fr=f"{plan.fr} : {reason.fr}")


def _exclusion(plan: Plan, product: Product) -> tuple[bool, Words]:
    """Whether the plan excludes the product from its Azure target (by name, or by a
    technology flag it leaves out of its scope), and why, in words."""
    p = Words(product.en, product.fr)
    excluded_flag = sorted(f.value for f in plan.excluded_flags if product.has(f))
    excluded = product.code in plan.azure_exclusions or bool(excluded_flag)
    if product.code in plan.azure_exclusions:
        return excluded, Words(f"{p.en} is excluded from its Azure target", f"{p.fr} est exclu de son délai Azure")
    flags = [FLAG_NAMES.get(f, (f, f)) for f in excluded_flag]
    return excluded, Words(
        f"{p.en} is excluded ({', '.join(e for e, _ in flags)} technologies are out of its scope)",
        f"{p.fr} est exclu (les technologies {', '.join(f for _, f in flags)} sont hors de son périmètre)",
    )


def _covers_refusal(plan: Plan, product: Product, excluded: bool, why_excluded: Words) -> Words | None:
    """1. Why the plan does not cover this product at all (None: it does)."""
    p = Words(product.en, product.fr)
    if plan.covers is Covers.AZURE_COMPONENTS:
        if not product.is_azure:
            return Words(
                f"covers Azure components only, and {p.en} is not one.",
                f"ne couvre que les composants Azure, et {p.fr} n'en est pas un.",
            )
        if excluded:
            return why_excluded + Words(
                ", and the plan covers Azure components only.", ", et le plan ne couvre que les composants Azure."
            )
    elif plan.covers is Covers.SECURITY_PRODUCTS and not product.has("security_pillar"):
        return Words(
            f"covers the security portfolio (Entra, Intune, Purview, Defender) only, and {p.en} is not in it.",
            f"ne couvre que le portefeuille sécurité (Entra, Intune, Purview, Defender), et {p.fr} n'en fait "
            "pas partie.",
        )
    return None


def _scope_refusal(
    plan: Plan,
    holding: Holding,
    product: Product,
    opened: datetime,
    calendar: Calendar,
    description: str | None,
    tenant: str | None,
) -> Words | None:
    """2. Why the order's scope for the plan leaves this incident out (None: it is in)."""
    if plan.scope is Scope.AZURE_COMPONENTS or plan.scope is Scope.ENROLLED_PRODUCTS:
        if holding.scope is not None and product.code not in holding.scope:
            what = _scope_words(plan)
            listed = ", ".join(sorted(holding.scope)) or "—"
            return Words(
                f"{product.en} is not among the {what.en} ({listed}).",
                f"{product.fr} ne figure pas parmi les {what.fr} ({listed}).",
            )
    elif plan.scope is Scope.TENANTS:
        return _tenant_refusal(holding, tenant)
    elif plan.scope is Scope.EVENT:
        return _event_refusal(holding, opened, calendar, description)
    return None


def _scope_words(plan: Plan) -> Words:
    """What the order lists for a plan scoped to named components or products."""
    if plan.scope is Scope.AZURE_COMPONENTS:
        return Words("Azure components named on the order", "composants Azure nommés dans l'Ordre de Services")
    return Words("products enrolled on the order", "produits inscrits dans l'Ordre de Services")


def _scope_note(plan: Plan, holding: Holding) -> Words:
    """Said after the target when the order lists no components or products for a plan
    scoped to them: all are assumed in scope."""
    if plan.scope not in (Scope.AZURE_COMPONENTS, Scope.ENROLLED_PRODUCTS) or holding.scope is not None:
        return Words("", "")
    what = _scope_words(plan)
    return Words(
        f"; no list of {what.en} was given, so all are assumed in scope",
        f" ; aucune liste des {what.fr} n'a été donnée : tous sont supposés couverts",
    )


def _tenant_refusal(holding: Holding, tenant: str | None) -> Words | None:
    if holding.scope is None:
        return None
    listed = ", ".join(sorted(holding.scope))
    if tenant is None:
        return Words(
            f"the incident names no tenant, and the plan covers only the tenants named on the order ({listed}).",
            "l'incident ne nomme aucun locataire, et le plan ne couvre que les locataires nommés dans "
            f"l'Ordre de Services ({listed}).",
        )
    if tenant not in holding.scope:
        return Words(
            f"tenant {tenant!r} is not among the tenants named on the order ({listed}).",
            f"le locataire « {tenant} » ne figure pas parmi les locataires nommés dans l'Ordre de Services ({listed}).",
        )
    return None


def _event_refusal(holding: Holding, opened: datetime, calendar: Calendar, description: str | None) -> Words | None:
    if holding.event_start is None or holding.event_end is None:
        return Words(
            "no event window was given, so no event is in progress.",
            "aucune fenêtre d'événement n'a été donnée : aucun événement n'est en cours.",
        )
    start, end = epoch_seconds(holding.event_start), epoch_seconds(holding.event_end)
    if not (start <= epoch_seconds(opened) < end):
        a, b = calendar.localize(holding.event_start).isoformat(), calendar.localize(holding.event_end).isoformat()
        return Words(
            f"the incident was opened outside the event window ({a} to {b}).",
            f"l'incident a été ouvert hors de la fenêtre de l'événement ({a} à {b}).",
        )
    if not description or not AEM_MARKER.search(description):
        return Words(
            'the case description does not carry the "AEM" marker that identifies event cases.',
            "la description du cas ne porte pas la mention « AEM » qui identifie les cas de l'événement.",
        )
    return None


def _figure(
    matrix: SeverityMatrix, sev: Severity, row: Row, product: Product, excluded: bool
) -> tuple[int | None, Coverage | None]:
    """3. The minutes and coverage: the plan's own row, or the Base Package's where
    the plan's row is blank (with the Base Package's own Azure exclusions)."""
    if row.fallback is not None:
        source_row = matrix.base.severities[sev]
        base_excluded = product.code in matrix.base.azure_exclusions
        return source_row.minutes_for(product.is_azure and not base_excluded), source_row.coverage
    return row.minutes_for(product.is_azure and not excluded), row.coverage


def _target_reason(
    plan: Plan,
    sev: Severity,
    row: Row,
    product: Product,
    excluded: bool,
    why_excluded: Words,
    minutes: int,
    coverage: Coverage,
) -> Words:
    """Which figure applies and why: a blank row's fallback, an excluded product's
    other-products target, or the plan's own target for this kind of product."""
    if coverage is Coverage.BUSINESS_HOURS:
        figure = Words(f"{minutes} business minutes", f"{minutes} minutes ouvrées")
    else:
        figure = Words(f"{minutes} minutes, 24x7", f"{minutes} minutes, 24 h/24, 7 j/7")
    if row.fallback is not None:
        return Words(
            f"the source leaves its Severity {sev.value} row blank, so the Base Package's target applies ({figure.en})",
            f"la source laisse vide sa ligne Gravité {sev.value} : le délai du Package de Base s'applique "
            f"({figure.fr})",
        )
    if excluded and product.is_azure and row.all is None:
        return why_excluded + Words(
            f", so Severity {sev.value} gets its other-products target: a first response within {figure.en}",
            f" : la Gravité {sev.value} reçoit le délai des autres produits, première réponse sous {figure.fr}",
        )
    kind = _product_kind(plan, row, product.is_azure and not excluded)
    return Words(
        f"Severity {sev.value}{kind.en} gets a first response within {figure.en}",
        f"Gravité {sev.value}{kind.fr} : première réponse sous {figure.fr}",
    )


def _product_kind(plan: Plan, row: Row, azure_target: bool) -> Words:
    """The kind of product a row's figure is for (nothing when one figure is for all)."""
    if row.all is not None:
        return Words("", "")
    if not azure_target:
        return Words(" on a product other than an Azure component", " sur un produit autre qu'un composant Azure")
    if plan.code != BASE:
        return Words(" on an Azure component in its scope", " sur un composant Azure de son périmètre")
    return Words(" on an Azure component", " sur un composant Azure")


def _language_note(plan: Plan, language: str | None) -> Words:
    """R-SLA-3: a plan delivered in some languages only applies in English to others."""
    if not language or plan.languages is None or language in plan.languages:
        return Words("", "")
    offered = Words(
        _listing([LANGUAGE_NAMES.get(c, c) for c in plan.languages], "and"),
        _listing([LANGUAGE_NAMES_FR.get(c, c) for c in plan.languages], "et"),
    )
    return Words(
        f"; it is delivered in {offered.en} only, so it applies in English, not "
        f"{LANGUAGE_NAMES.get(language, language)} (R-SLA-3)",
        f" ; il n'est fourni qu'en {offered.fr} : il s'applique en anglais, non en "
        f"{LANGUAGE_NAMES_FR.get(language, language)} (R-SLA-3)",
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
