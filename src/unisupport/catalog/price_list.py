"""Price lists: per-currency settings of the contract rules (R-CAT-2, R-FLEX-2,
R-DEV-1, R-MCSAP-1), loaded from ``data/price-lists.yaml``."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from unisupport.datafile import entry_named, read_yaml, shipped, validate
from unisupport.errors import InvalidInput


class PriceList(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    code: str
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    flex_cap_percent: Decimal = Field(ge=0, le=100)
    flex_cap_amount: Decimal = Field(ge=0)
    flex_cap_rule: Literal["greater", "lesser"] = "greater"
    developer_support_max_quantity: int = Field(ge=0)
    mcsap_plus_min_evaluated_spend_usd: Decimal = Field(ge=0)

    def flex_cap(self, allocation: Decimal) -> Decimal:
        """R-FLEX-2: the most of ``allocation`` that may pay for proactive credits
        plus custom proactive services."""
        share = (allocation * self.flex_cap_percent / Decimal(100)).quantize(Decimal("0.01"))
        return max(share, self.flex_cap_amount) if self.flex_cap_rule == "greater" else min(share, self.flex_cap_amount)


class _PriceListFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str
    price_lists: dict[str, dict] = Field(min_length=1)


class PriceLists:
    def __init__(self, lists: dict[str, PriceList], *, path: str):
        self._lists = lists
        self.path = path

    def __iter__(self):
        return iter(self._lists.values())

    def get(self, code: str, *, field: str = "price_list") -> PriceList:
        try:
            return self._lists[code]
        except KeyError:
            raise InvalidInput(f"unknown price list {code!r} (known: {', '.join(self._lists)})", field=field) from None

    @classmethod
    def load(cls, path: str | Path | None = None) -> PriceLists:
        file = Path(path) if path else shipped("price-lists.yaml")
        parsed = validate(file, _PriceListFile, read_yaml(file))
        lists = {
            code: validate(file, PriceList, {**body, "code": code}, entry_key=entry_named(code))
            for code, body in parsed.price_lists.items()
        }
        return cls(lists, path=str(file))


@lru_cache(maxsize=1)
def default_price_lists() -> PriceLists:
    return PriceLists.load()
