"""Severity matrices as data (docs/rules.md §5 table, R-SLA-2, R-SLA-3): for each plan
and severity, the first-response minutes for Azure components and for other
products, the coverage, the exclusions, the languages and the extras. Loaded
from ``data/severity-matrix.yaml`` and checked against the product registry."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from unisupport.catalog.product import ProductFlag, ProductRegistry, default_products
from unisupport.datafile import entry_named, read_yaml, shipped, validate
from unisupport.errors import DataFileError, InvalidInput
from unisupport.sla.severity import Severity

BASE = "base"


class Coverage(StrEnum):
    H24X7 = "24x7"
    BUSINESS_HOURS = "business_hours"

    def describe(self, lang: str = "en") -> str:
        if self is Coverage.H24X7:
            return "24 h/24, 7 j/7" if lang == "fr" else "24x7"
        return "heures ouvrées" if lang == "fr" else "business hours"


class Covers(StrEnum):
    ALL_PRODUCTS = "all_products"
    AZURE_COMPONENTS = "azure_components"
    SECURITY_PRODUCTS = "security_products"


class Scope(StrEnum):
    NONE = "none"
    AZURE_COMPONENTS = "azure_components"
    ENROLLED_PRODUCTS = "enrolled_products"
    TENANTS = "tenants"
    EVENT = "event"


class Extra(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    en: str
    fr: str
    within_minutes: int | None = Field(default=None, gt=0)


class Row(BaseModel):
    """One severity of one plan."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    azure: int | None = Field(default=None, gt=0)
    other: int | None = Field(default=None, gt=0)
    all: int | None = Field(default=None, gt=0)
    coverage: Coverage | None = None
    fallback: Literal["base"] | None = None
    extras: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _shape(self) -> Row:
        figures = [self.azure, self.other, self.all]
        if self.fallback:
            if any(f is not None for f in figures) or self.coverage is not None:
                raise ValueError("a fallback row takes no minutes and no coverage of its own")
            return self
        if self.all is not None and (self.azure is not None or self.other is not None):
            raise ValueError("give either 'all' or 'azure'/'other', not both")
        if all(f is None for f in figures):
            raise ValueError("a row needs minutes ('all', 'azure' or 'other') or 'fallback: base'")
        if self.coverage is None:
            raise ValueError("a row with minutes needs a coverage (24x7 or business_hours)")
        return self

    def minutes_for(self, azure_target: bool) -> int | None:
        """Minutes for a product that does (or does not) get the Azure figure."""
        if self.all is not None:
            return self.all
        return self.azure if azure_target else self.other


class UpdateRow(BaseModel):
    """How often the customer hears of the incident at one severity ("next update
    due", R-INC-2): every ``minutes``, counted 24x7 or in business hours."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    minutes: int = Field(gt=0, le=60 * 24 * 30)
    coverage: Coverage


class Plan(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    code: str
    en: str
    fr: str
    covers: Covers
    scope: Scope = Scope.NONE
    azure_exclusions: frozenset[str] = frozenset()
    excluded_flags: frozenset[ProductFlag] = frozenset()
    languages: tuple[str, ...] | None = None
    severities: dict[Severity, Row]
    # Update targets per severity (R-INC-2): a figure, or None ("none" in the file) for
    # no update target; a severity left out takes the Base Package's figure.
    updates: dict[Severity, UpdateRow | None] = {}

    @field_validator("updates", mode="before")
    @classmethod
    def _none_words(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: None if v in ("none", None) else v for k, v in value.items()}
        return value

    def name(self, lang: str = "en") -> str:
        return self.fr if lang == "fr" else self.en

    @model_validator(mode="after")
    def _every_severity(self) -> Plan:
        missing = [s.value for s in Severity if s not in self.severities]
        if missing:
            raise ValueError(f"severities {', '.join(missing)} are missing")
        if self.covers is not Covers.ALL_PRODUCTS:
            for sev, row in self.severities.items():
                if row.other is not None:
                    raise ValueError(f"severity {sev.value}: a plan covering {self.covers.value} has no 'other' figure")
        return self


class _MatrixFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str
    source: str
    extras: dict[str, Extra]
    plans: dict[str, dict] = Field(min_length=1)


class SeverityMatrix:
    """Every plan's targets, in precedence order (the file's order)."""

    def __init__(self, plans: dict[str, Plan], extras: dict[str, Extra], *, version: str, source: str, path: str):
        self.plans = plans
        self.extras = extras
        self.version = version
        self.source = source
        self.path = path

    def plan(self, code: str, *, field: str = "plans") -> Plan:
        try:
            return self.plans[code]
        except KeyError:
            raise InvalidInput(
                f"unknown plan {code!r} (expected one of {', '.join(self.plans)})", field=field
            ) from None

    @property
    def base(self) -> Plan:
        return self.plans[BASE]

    def precedence(self, code: str) -> int:
        return list(self.plans).index(code)

    @classmethod
    def load(cls, path: str | Path | None = None, *, products: ProductRegistry | None = None) -> SeverityMatrix:
        file = Path(path) if path else shipped("severity-matrix.yaml")
        products = products or default_products()
        parsed = validate(file, _MatrixFile, read_yaml(file))
        plans: dict[str, Plan] = {}
        for code, body in parsed.plans.items():
            if not isinstance(body, dict):
                raise DataFileError(str(file), "must be a mapping", entry=code)
            plan = validate(file, Plan, {**body, "code": code}, entry_key=entry_named(code))
            for product in sorted(plan.azure_exclusions):
                if product not in products:
                    raise DataFileError(str(file), f"unknown product {product!r}", entry=code, field="azure_exclusions")
            for sev, row in plan.severities.items():
                for extra in row.extras:
                    if extra not in parsed.extras:
                        raise DataFileError(
                            str(file),
                            f"unknown extra {extra!r} (declare it under 'extras')",
                            entry=code,
                            field=f"severities.{sev.value}.extras",
                        )
            plans[code] = plan
        if BASE not in plans:
            raise DataFileError(str(file), "the Base Package plan 'base' is missing", field="plans")
        for sev, row in plans[BASE].severities.items():
            if row.fallback:
                raise DataFileError(
                    str(file),
                    "the Base Package cannot fall back to itself",
                    entry=BASE,
                    field=f"severities.{sev.value}",
                )
        missing = [s.value for s in Severity if s not in plans[BASE].updates]
        if missing:
            raise DataFileError(
                str(file),
                f"the Base Package names no update target for severities {', '.join(missing)} (give minutes or none)",
                entry=BASE,
                field="updates",
            )
        return cls(plans, dict(parsed.extras), version=parsed.version, source=parsed.source, path=str(file))


@lru_cache(maxsize=1)
def default_matrix() -> SeverityMatrix:
    """The shipped matrix, loaded once per process."""
    return SeverityMatrix.load()
