"""The product registry: what an incident is about, and the flags the SLA rules
test (Azure component, identity, on-premises, government/sovereign cloud, security
portfolio pillar …). Loaded from ``data/products.yaml``; operators may edit it."""

from __future__ import annotations

import difflib
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from unisupport.datafile import CODE_PATTERN, check_codes, read_yaml, shipped, validate
from unisupport.errors import InvalidInput


class ProductFlag(StrEnum):
    AZURE = "azure"
    IDENTITY = "identity"
    ON_PREMISES = "on_premises"
    GOVERNMENT_CLOUD = "government_cloud"
    SOVEREIGN_CLOUD = "sovereign_cloud"
    SECURITY_PILLAR = "security_pillar"
    USER_DEVICE = "user_device"
    CLIENT_SOFTWARE = "client_software"


class ProductFamily(StrEnum):
    AZURE = "azure"
    MICROSOFT_365 = "microsoft-365"
    SECURITY = "security"
    DYNAMICS = "dynamics"
    GITHUB = "github"
    ON_PREMISES = "on-premises"
    DEVELOPER = "developer"
    OTHER = "other"


class Product(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=CODE_PATTERN)
    en: str = Field(min_length=1)
    fr: str = Field(min_length=1)
    family: ProductFamily
    flags: frozenset[ProductFlag] = frozenset()

    def name(self, lang: str = "en") -> str:
        return self.fr if lang == "fr" else self.en

    @property
    def is_azure(self) -> bool:
        return ProductFlag.AZURE in self.flags

    def has(self, flag: ProductFlag | str) -> bool:
        return ProductFlag(flag) in self.flags


class _ProductEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    en: str = Field(min_length=1)
    fr: str = Field(min_length=1)
    family: ProductFamily
    flags: list[ProductFlag] = []

    @field_validator("flags")
    @classmethod
    def _no_repeats(cls, flags: list[ProductFlag]) -> list[ProductFlag]:
        if len(set(flags)) != len(flags):
            raise ValueError("a flag is listed twice")
        return flags


class _ProductFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str
    products: dict[str, _ProductEntry] = Field(min_length=1)

    @field_validator("products")
    @classmethod
    def _codes(cls, products: dict[str, _ProductEntry]) -> dict[str, _ProductEntry]:
        check_codes(products, "product")
        return products


class ProductRegistry:
    """Every known product, by code."""

    def __init__(self, products: dict[str, Product], *, version: str, source: str):
        self._products = products
        self.version = version
        self.source = source

    def __iter__(self):
        return iter(self._products.values())

    def __len__(self) -> int:
        return len(self._products)

    def __contains__(self, code: object) -> bool:
        return code in self._products

    def get(self, code: str, *, field: str = "product") -> Product:
        """The product with this code, or InvalidInput naming the field and the
        closest known codes."""
        try:
            return self._products[code]
        except KeyError:
            close = difflib.get_close_matches(str(code), self._products, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise InvalidInput(f"unknown product {code!r}{hint}", field=field) from None

    @classmethod
    def load(cls, path: str | Path | None = None) -> ProductRegistry:
        path = Path(path) if path else shipped("products.yaml")
        parsed = validate(path, _ProductFile, read_yaml(path))
        products = {
            code: Product(code=code, en=e.en, fr=e.fr, family=e.family, flags=frozenset(e.flags))
            for code, e in parsed.products.items()
        }
        return cls(products, version=parsed.version, source=str(path))


@lru_cache(maxsize=1)
def default_products() -> ProductRegistry:
    """The shipped registry, loaded once per process."""
    return ProductRegistry.load()
