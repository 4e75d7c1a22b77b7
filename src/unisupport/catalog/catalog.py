"""The service catalog (docs/rules.md §1): every service of the description with its
names, family, marker, how it is bought, where and how it is delivered, and its
own prerequisites and limits. Loaded from ``data/catalog.yaml``, which operators
edit and version (R-CAT-2); every invariant the rules fix is checked at load so a
bad edit is refused with the file, the entry and the field it is in."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import holidays
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    ValidationInfo,
    computed_field,
    field_serializer,
    field_validator,
    model_validator,
)

from unisupport.catalog.product import CODE_PATTERN
from unisupport.datafile import read_yaml, shipped, validate
from unisupport.errors import InvalidInput

NAME_LANGUAGES = ("en", "fr")
RULE_ID_PATTERN = r"^R-[A-Z]+-\d+$"


class ServiceFamily(StrEnum):
    PLANNING = "planning"
    IMPLEMENTATION = "implementation"
    MAINTENANCE = "maintenance"
    OPTIMIZATION = "optimization"
    EDUCATION = "education"
    ADDITIONAL_PROACTIVE = "additional-proactive"
    REACTIVE = "reactive"
    SUCCESS = "success"
    MISSION_CRITICAL = "mission-critical"
    ENHANCED = "enhanced"
    STRUCTURE = "structure"


class Marker(StrEnum):
    INCLUDED = "included"  # ✓ in every Base Package
    ADDON = "addon"  # + purchasable
    ADDON_LIMITED = "addon_limited"  # +¹ purchasable within fixed quantity limits


class Unit(StrEnum):
    """How a quantity of the service is counted when it is bought (the order line's unit)."""

    ENGAGEMENT = "engagement"
    SUBSCRIPTION = "subscription"
    HOURS = "hours"
    CREDITS = "credits"
    PER_ATTENDEE = "per-attendee"
    DEDICATED_DELIVERY = "dedicated-delivery"
    AS_NEEDED = "as-needed"
    PER_REQUEST = "per-request"
    ANNUAL = "annual"
    PER_EVENT = "per-event"
    PER_TENANT = "per-tenant"
    PER_DOWNSTREAM_SITE = "per-downstream-site"
    QUANTITY = "quantity"


class DeliveryMode(StrEnum):
    REMOTE = "remote"
    ONSITE = "onsite"


class Requirement(StrEnum):
    """What must hold before the service can be ordered or used."""

    BASE = "base"  # an active Base Package on the same order (R-ORD-2)
    AZURE_SUBSCRIPTION = "azure-subscription"  # an active Azure subscription
    AZURE_PUBLIC_CLOUD = "azure-public-cloud"  # the solution runs in Azure public cloud (R-EVT-2)
    # evaluated Azure spend ≥ USD 60M, or the Plus floor price paid (R-MCSAP-1)
    MCSAP_PLUS_ELIGIBILITY = "mcsap-plus-eligibility"


class SiteRule(StrEnum):
    """Where on a multi-country order the service may be bought and delivered."""

    PER_SITE = "per-site"  # each site gets what was bought for it (R-MC-1)
    HOST_SITE_ONLY = "host-site-only"  # bought for the host country only (R-MC-2)
    SINGLE_SITE = "single-site"  # delivered to one named support location (R-MC-3)


def _country(code: str) -> str:
    # holidays also lists alpha-3 codes; sites are named by alpha-2 only.
    if not re.fullmatch(r"[A-Z]{2}", code) or code not in holidays.list_supported_countries():
        raise ValueError(f"{code!r} is not an upper-case ISO 3166-1 alpha-2 country code with a known holiday calendar")
    return code


Country = Annotated[str, AfterValidator(_country)]
Language = Annotated[str, Field(pattern=r"^[a-z]{2}$")]  # ISO 639-1
RuleId = Annotated[str, Field(pattern=RULE_ID_PATTERN)]


class Prerequisite(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    requires: Requirement
    note: str | None = None


class Limits(BaseModel):
    """Quantitative limits the description fixes for one service. Absent = no limit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # "price-list": the number is a setting of the price list, not of the catalog (R-DEV-1).
    max_quantity: PositiveInt | Literal["price-list"] | None = None
    max_consecutive_days: PositiveInt | None = None
    min_notice_weeks: PositiveInt | None = None
    max_solutions_per_event: PositiveInt | None = None
    max_monitoring_scenarios: PositiveInt | None = None
    max_service_improvement_plans_per_12_months: PositiveInt | None = None
    paid_onsite_help_max_days: PositiveInt | None = None
    paid_remote_help_max_days: PositiveInt | None = None
    typical_duration_days: PositiveInt | None = None


class Service(BaseModel):
    """One catalog entry. Field order matters: the cross-field checks below read the
    fields validated before them (marker before prerequisites, units before hour_based)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=CODE_PATTERN)
    en: str = Field(min_length=1)
    fr: str = Field(min_length=1)
    family: ServiceFamily
    marker: Marker
    units: tuple[Unit, ...] = Field(min_length=1)
    delivery_modes: tuple[DeliveryMode, ...] = Field(default=(DeliveryMode.REMOTE,), min_length=1)
    onsite_requires_written_agreement: bool = True
    onsite_travel_billable_unless_prepaid: bool = True
    prerequisites: tuple[Prerequisite, ...] = Field(default=(), validate_default=True)
    limits: Limits = Field(default_factory=Limits, validate_default=True)
    flex_eligible: bool
    counts_toward_flex_cap: bool = False
    site_rule: SiteRule = SiteRule.PER_SITE
    hour_based: bool = False
    business_hours_only: bool = False
    languages: tuple[Language, ...] | None = Field(default=None, min_length=1)
    countries: tuple[Country, ...] | None = Field(default=None, min_length=1)
    defined_in_annex: bool = False
    rules: tuple[RuleId, ...] = ()

    def name(self, lang: str = "en") -> str:
        return self.fr if lang == "fr" else self.en

    @computed_field  # type: ignore[prop-decorator]  # mypy does not know pydantic's decorator over a property
    @property
    def unit(self) -> Unit:
        """The main unit (the first listed); ``units`` holds the alternatives."""
        return self.units[0]

    def requires(self, requirement: Requirement | str) -> bool:
        return any(p.requires == Requirement(requirement) for p in self.prerequisites)

    def is_sold_in(self, country: str) -> bool:
        """R-CAT-3: no country list means sold everywhere."""
        return self.countries is None or country in self.countries

    @field_serializer("limits")
    def _compact_limits(self, limits: Limits) -> dict[str, Any]:
        return limits.model_dump(exclude_none=True)

    @field_validator("units", "delivery_modes", "languages", "countries", "rules")
    @classmethod
    def _no_repeats(cls, values: tuple | None) -> tuple | None:
        if values is not None and len(set(values)) != len(values):
            raise ValueError("a value is listed twice")
        return values

    @field_validator("prerequisites")
    @classmethod
    def _base_requirement_matches_marker(
        cls, prerequisites: tuple[Prerequisite, ...], info: ValidationInfo
    ) -> tuple[Prerequisite, ...]:
        marker = info.data.get("marker")
        needs_base = any(p.requires == Requirement.BASE for p in prerequisites)
        if marker == Marker.INCLUDED and needs_base:
            raise ValueError("an included service is part of the Base Package: it cannot require it")
        if marker in (Marker.ADDON, Marker.ADDON_LIMITED) and not needs_base:
            raise ValueError(f"an {marker} service must list {{requires: base}} (R-ORD-2)")
        return prerequisites

    @field_validator("limits")
    @classmethod
    def _limited_addon_has_quantity_limit(cls, limits: Limits, info: ValidationInfo) -> Limits:
        if info.data.get("marker") == Marker.ADDON_LIMITED and limits.max_quantity is None:
            raise ValueError("an addon_limited service must set max_quantity (a number or 'price-list', R-DEV-1)")
        return limits

    @field_validator("flex_eligible")
    @classmethod
    def _success_management_never_flex(cls, eligible: bool, info: ValidationInfo) -> bool:
        if eligible and info.data.get("family") == ServiceFamily.SUCCESS:
            raise ValueError("the flexible allocation never pays for Success Management (R-FLEX-4)")
        return eligible

    @field_validator("counts_toward_flex_cap")
    @classmethod
    def _cap_only_for_flex_eligible(cls, counts: bool, info: ValidationInfo) -> bool:
        if counts and info.data.get("flex_eligible") is False:
            raise ValueError("only a flex_eligible service can count toward the flexible allocation cap (R-FLEX-2)")
        return counts

    @field_validator("hour_based")
    @classmethod
    def _hour_based_sold_in_hours(cls, hour_based: bool, info: ValidationInfo) -> bool:
        units = info.data.get("units")
        if hour_based and units is not None and Unit.HOURS not in units:
            raise ValueError("an hour_based service must list 'hours' among its units (R-HRS-1)")
        return hour_based


class _CatalogFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    source: str = Field(min_length=1)
    services: dict[str, Service] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _code_from_key(cls, data: Any) -> Any:
        # Entries are keyed by code; copy the key in so each Service knows its code
        # and errors are located at ("services", code, field).
        if not isinstance(data, dict) or not isinstance(data.get("services"), dict):
            return data
        services = {}
        for code, body in data["services"].items():
            if isinstance(body, dict):
                if "code" in body:
                    raise ValueError(f"entry {code!r}: remove field 'code': the key is the code")
                body = {"code": code, **body}
            services[code] = body
        return {**data, "services": services}


class Catalog:
    """Every service of the description, in file order."""

    def __init__(self, services: dict[str, Service], *, version: str, source: str, path: str):
        self._services = services
        self.version = version
        self.source = source  # the document the file restates
        self.path = path

    def __iter__(self) -> Iterator[Service]:
        return iter(self._services.values())

    def __len__(self) -> int:
        return len(self._services)

    def __contains__(self, code: object) -> bool:
        return code in self._services

    def get(self, code: str, *, field: str = "code") -> Service:
        """The service with this code, or InvalidInput naming the field and the
        closest known codes."""
        try:
            return self._services[code]
        except KeyError:
            close = difflib.get_close_matches(str(code), self._services, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise InvalidInput(f"unknown service {code!r}{hint}", field=field) from None

    def families(self) -> list[ServiceFamily]:
        """The families present, in the order they first appear in the file."""
        return list(dict.fromkeys(s.family for s in self))

    def by_family(self, family: ServiceFamily | str, *, field: str = "family") -> list[Service]:
        try:
            wanted = ServiceFamily(family)
        except ValueError:
            accepted = ", ".join(f.value for f in ServiceFamily)
            message = f"unknown family {family!r} (accepted: {accepted})"
            raise InvalidInput(message, field=field) from None
        return [s for s in self if s.family == wanted]

    def is_sold_in(self, code: str, country: str) -> bool:
        """R-CAT-3: whether the service may be ordered for a site in ``country``."""
        service = self.get(code)
        try:
            _country(country)
        except ValueError as exc:
            raise InvalidInput(str(exc), field="country") from None
        return service.is_sold_in(country)

    @classmethod
    def load(cls, path: str | Path | None = None) -> Catalog:
        path = Path(path) if path else shipped("catalog.yaml")
        data = read_yaml(path)
        parsed = validate(path, _CatalogFile, data)
        return cls(dict(parsed.services), version=parsed.version, source=parsed.source, path=str(path))


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """The shipped catalog, loaded once per process."""
    return Catalog.load()
