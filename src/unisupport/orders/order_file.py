"""The order file: an Enterprise Services Order written down (docs/rules.md §2, R-ORD-1).

This module is the *shape* of an order — the schema both the YAML order files
(``unisupport order validate|import``) and the API's JSON use. The rules that
cross fields and consult the catalog (R-FLEX-2, R-MC-2 …) live in
``orders.validation``; here only what a type can say is checked.

Money is ``Decimal`` (YAML numbers are read through their text, never through a
binary float); dates are ISO dates; codes are lower-case slugs.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field

from unisupport.inputs import Day, Input

SLUG = r"^[a-z0-9][a-z0-9._-]*$"
Slug = Annotated[str, Field(pattern=SLUG, max_length=64)]


def _decimal_text(value: Any) -> Any:
    # YAML gives floats for 1200000.50; go through repr so 0.1 stays 0.1.
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


Money = Annotated[Decimal, BeforeValidator(_decimal_text), Field(ge=0, max_digits=18, decimal_places=2)]
Quantity = Annotated[Decimal, BeforeValidator(_decimal_text), Field(gt=0, max_digits=14, decimal_places=2)]


class OrderStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"  # executed
    EXPIRED = "expired"
    TERMINATED = "terminated"


class Funding(StrEnum):
    PAID = "paid"
    FLEX = "flex"  # the flexible allocation (R-FLEX-1)
    CREDITS = "credits"  # proactive credits (R-CRED-1)


class ContactRole(StrEnum):
    SUPPORT_ADMINISTRATOR = "support-administrator"
    REACTIVE_CONTACT = "reactive-contact"
    CLOUD_ADMINISTRATOR = "cloud-administrator"
    OUTAGE_CONTACT = "outage-contact"  # told of Azure platform outages (MCSAP Plus, R-MCSAP-5)


class _Strict(Input):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Customer(_Strict):
    code: Slug
    name: str = Field(min_length=1, max_length=200)


class Term(_Strict):
    start: Day
    end: Day


class SiteCalendar(_Strict):
    """Overrides of the country's default calendar (``data/calendars.yaml``)."""

    subdivision: str | None = None
    week: dict[str, list[str]] | None = None
    closures: list[Day] = []
    open_days: list[dict[str, Any]] = []


class Site(_Strict):
    id: Slug
    name: str | None = None
    country: str = Field(pattern=r"^[A-Z]{2}$")
    timezone: str = Field(min_length=1)
    language: str = Field(default="en", pattern=r"^[a-z]{2}$")
    calendar: SiteCalendar = SiteCalendar()


class Contact(_Strict):
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    name: str = Field(min_length=1, max_length=200)
    roles: list[ContactRole] = Field(min_length=1)
    site: Slug | None = None  # the site a support administrator serves; None = host
    language: str | None = Field(default=None, pattern=r"^[a-z]{2}$")
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9][0-9 ().-]{3,38}$")  # how an engineer calls back


class BasePackage(_Strict):
    list_price: Money


class FlexibleAllocation(_Strict):
    """The flexible allocation, per contract year (R-FLEX-1, R-FLEX-3)."""

    amount_per_year: Money


class Line(_Strict):
    id: Slug
    service: Slug  # catalog code
    quantity: Quantity
    unit: str  # one of the service's catalog units
    site: Slug | None = None  # None: the host site (DE/EDE must name one, R-MC-3)
    price: Money = Decimal("0")  # the line's total price in the order currency
    funding: Funding = Funding.PAID
    credits: Quantity | None = None  # credits spent when funding is credits
    contract_year: int = Field(default=1, ge=1, le=10)
    start: Day | None = None
    end: Day | None = None
    products: list[Slug] = []  # products the service covers (DE/EDE/REDE, R-HRS-2)
    note: str | None = None


class McsapScope(_Strict):
    enrolled_subscriptions: list[str] = []
    enrolled_products: list[Slug] = []
    evaluated_azure_spend_usd: Money | None = None  # at contract execution (R-MCSAP-1)
    plus_floor_price_paid: bool = False


class Scopes(_Strict):
    arr_components: list[Slug] = []  # Azure components named for ARR
    mcsap: McsapScope = McsapScope()
    security_plus_tenants: list[str] = []
    o365_tenants: list[str] = []


class AzureEvent(_Strict):
    """One Azure Events engagement (R-EVT-2)."""

    id: Slug
    line: Slug  # the mcs-azure-events line that pays for it
    solution: str = Field(min_length=1)
    start: Day
    end: Day  # inclusive: at most 5 consecutive calendar days
    confirmed_on: Day
    provider_consent: bool = False  # late confirmation accepted: reduced pre-event assessment
    cloud: str = "public"


class Entitlement(_Strict):
    """One enrolment, licence agreement or billing account of annex A and the products
    it covers (R-SUP-1)."""

    id: str = Field(min_length=1, max_length=64)
    products: list[Slug] = []  # product codes of data/products.yaml; at least one (checked, R-SUP-1)
    note: str | None = Field(default=None, max_length=500)


class AnnexA(_Strict):
    """The order's annex A (R-SUP-1): what support rests on."""

    enrolments: list[Entitlement] = []
    licence_agreements: list[Entitlement] = []
    billing_accounts: list[Entitlement] = []


class OrderFile(_Strict):
    """An Enterprise Services Order (R-ORD-1): what the customer signed."""

    number: str = Field(min_length=1, max_length=64)
    customer: Customer
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    price_list: Slug = "global-2024-09"
    term: Term
    status: OrderStatus = OrderStatus.DRAFT
    executed_on: Day | None = None
    host_site: Slug
    sites: list[Site] = Field(min_length=1)
    base_package: BasePackage | None = None
    flexible_allocation: FlexibleAllocation | None = None
    contacts: list[Contact] = []
    lines: list[Line] = []
    scopes: Scopes = Scopes()
    events: list[AzureEvent] = []
    annex_a: AnnexA | None = None  # R-SUP-1; without it no product check (docs/decisions.md D123)

    def site(self, site_id: str | None) -> Site | None:
        wanted = site_id or self.host_site
        return next((s for s in self.sites if s.id == wanted), None)

    def line(self, line_id: str) -> Line | None:
        return next((x for x in self.lines if x.id == line_id), None)

    def contract_years(self) -> int:
        """How many contract years the term spans (a partial year counts)."""
        years = 0
        start = self.term.start
        while start <= self.term.end:
            years += 1
            start = contract_year_start(self.term.start, years + 1)
        return max(years, 1)

    def canonical(self) -> dict[str, Any]:
        """A JSON-ready form that is equal for equal orders (import idempotency)."""
        document = self.model_dump(mode="json", exclude_defaults=False)
        if document.get("annex_a") is None:
            del document["annex_a"]  # orders without one keep the hash they had before annex A existed
        return document


def contract_year_start(term_start: date, year: int) -> date:
    """First day of contract year ``year`` (1-based). 29 February anniversaries fall
    on 28 February in common years."""
    y = term_start.year + year - 1
    try:
        return term_start.replace(year=y)
    except ValueError:
        return term_start.replace(year=y, day=28)
