"""Rate cards: what a service costs in proactive credits, per price list and dated
(R-CAT-2). Loaded from ``data/rate-cards.yaml``, which operators edit and version;
the services and units are checked against the catalog at load, so a rate can never
name something that cannot be sold.

The card in force on a date is the latest card of the price list whose
``effective_from`` is on or before that date. A card is complete in itself: a newer
card replaces the older one entirely (no fall-through to older rates), so what a
booking cost can always be explained by one card.
"""

from __future__ import annotations

import difflib
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from unisupport.bookings.booking_rules import require_local_date
from unisupport.catalog.catalog import Catalog, Unit, default_catalog
from unisupport.catalog.price_list import PriceLists, default_price_lists
from unisupport.catalog.product import CODE_PATTERN
from unisupport.datafile import read_yaml, shipped, validate
from unisupport.errors import DataFileError, InvalidInput
from unisupport.refusal import Refused

RULE = "R-CAT-2"


def _exact_decimal(value: Any) -> Any:
    # YAML reads 7.5 as a binary float; going through repr keeps it 7.5 exactly.
    if isinstance(value, bool):
        # ValueError, not TypeError: pydantic reports only the former as a field error.
        raise ValueError("a rate is a number of credits, not true/false")  # noqa: TRY004
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


Credits = Annotated[Decimal, BeforeValidator(_exact_decimal), Field(gt=0, allow_inf_nan=False)]


class _CardEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    price_list: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    effective_from: date
    rates: dict[Annotated[str, Field(pattern=CODE_PATTERN)], dict[str, Credits]] = Field(min_length=1)


class _RateCardFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    rate_cards: list[_CardEntry] = Field(min_length=1)


@dataclass(frozen=True)
class RateCard:
    """One dated card of one price list."""

    price_list: str
    effective_from: date
    rates: Mapping[str, Mapping[str, Decimal]]

    @property
    def identity(self) -> str:
        """How explanations name the card: ``global-2024-09 of 2026-07-01``."""
        return card_identity(self.price_list, self.effective_from)


@dataclass(frozen=True)
class Rate:
    """The credits one unit of a service costs, and the card it comes from."""

    value: Decimal  # credits per unit
    service: str
    unit: str
    price_list: str
    effective_from: date
    card: str  # the card's identity, for explanations

    def __str__(self) -> str:
        return f"{self.value.normalize():f} credits per {unit_noun(self.unit, 1)} (rate card {self.card}, {RULE})"


# How explanations count a unit: (one, many).
_NOUNS: dict[str, tuple[str, str]] = {
    Unit.PER_ATTENDEE: ("attendee", "attendees"),
    Unit.DEDICATED_DELIVERY: ("dedicated delivery", "dedicated deliveries"),
    Unit.HOURS: ("hour", "hours"),
    Unit.ENGAGEMENT: ("engagement", "engagements"),
    Unit.PER_EVENT: ("event", "events"),
    Unit.PER_TENANT: ("tenant", "tenants"),
    Unit.PER_REQUEST: ("request", "requests"),
}


def unit_noun(unit: str, quantity: Decimal | int) -> str:
    """``attendee`` / ``attendees``; the unit code itself when it has no noun."""
    one, many = _NOUNS.get(unit, (unit, unit))
    return one if quantity == 1 else many


def card_identity(price_list: str, effective_from: date | str) -> str:
    day = effective_from.isoformat() if isinstance(effective_from, date) else effective_from
    return f"{price_list} of {day}"


class RateCards:
    """Every rate card, grouped by price list and sorted by effective date."""

    def __init__(self, cards: list[RateCard], *, catalog: Catalog, version: str, path: str):
        self.catalog = catalog
        self.version = version
        self.path = path
        self._by_list: dict[str, list[RateCard]] = {}
        for card in sorted(cards, key=lambda c: (c.price_list, c.effective_from)):
            self._by_list.setdefault(card.price_list, []).append(card)

    def cards(self, price_list: str | None = None) -> list[RateCard]:
        if price_list is None:
            return [card for cards in self._by_list.values() for card in cards]
        return list(self._cards_of(price_list))

    def card_in_force(self, price_list: str, on: date, *, field: str = "on") -> RateCard:
        """The card of ``price_list`` in force on local date ``on`` (R-CAT-2)."""
        require_local_date(on, field)
        cards = self._cards_of(price_list)
        i = bisect_right([c.effective_from for c in cards], on) - 1
        if i < 0:
            raise Refused(
                f"no rate card of price list {price_list!r} is in force on {on.isoformat()}: "
                f"the first takes effect on {cards[0].effective_from.isoformat()}",
                rule=RULE,
                field=field,
            )
        return cards[i]

    def rate(self, price_list: str, service: str, unit: str | Unit, on: date) -> Rate:
        """The rate of ``service`` per ``unit`` in force on the booking date ``on``."""
        entry = self.catalog.get(service, field="service")
        if unit not in entry.units:
            raise InvalidInput(
                f"{service} is not sold per {str(unit)!r} (its units: {', '.join(entry.units)})",
                field="unit",
            )
        card = self.card_in_force(price_list, on)
        value = card.rates.get(service, {}).get(str(unit))
        if value is None:
            raise Refused(
                f"rate card {card.identity} has no rate for {service} (unit: {unit})",
                rule=RULE,
                field="service" if service not in card.rates else "unit",
            )
        return Rate(value, service, str(unit), card.price_list, card.effective_from, card.identity)

    def _cards_of(self, price_list: str) -> list[RateCard]:
        try:
            return self._by_list[price_list]
        except KeyError:
            known = ", ".join(self._by_list)
            raise InvalidInput(
                f"no rate card for price list {price_list!r} (price lists with rates: {known})",
                field="price_list",
            ) from None

    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        *,
        catalog: Catalog | None = None,
        price_lists: PriceLists | None = None,
    ) -> RateCards:
        file = Path(path) if path else shipped("rate-cards.yaml")
        catalog = catalog or default_catalog()
        price_lists = price_lists or default_price_lists()
        data = read_yaml(file)

        def entry_of(loc: tuple) -> str | None:
            # ("rate_cards", 2, "rates", "workshops", "per-attendee") → the card's identity.
            if len(loc) < 2 or loc[0] != "rate_cards" or not isinstance(loc[1], int):
                return None
            raw = data["rate_cards"][loc[1]]
            if isinstance(raw, dict) and "price_list" in raw and "effective_from" in raw:
                return card_identity(str(raw["price_list"]), raw["effective_from"])
            return f"#{loc[1] + 1}"

        parsed = validate(file, _RateCardFile, data, entry_key=entry_of)
        cards = [
            RateCard(
                e.price_list, e.effective_from, MappingProxyType({k: MappingProxyType(v) for k, v in e.rates.items()})
            )
            for e in parsed.rate_cards
        ]
        _check_cards(str(file), cards, catalog, price_lists)
        return cls(cards, catalog=catalog, version=parsed.version, path=str(file))


def _check_cards(path: str, cards: list[RateCard], catalog: Catalog, price_lists: PriceLists) -> None:
    """What a type cannot say: price lists, services and units exist; one card per date."""
    known_lists = {p.code for p in price_lists}
    seen: set[tuple[str, date]] = set()
    for card in cards:
        entry = card.identity
        if card.price_list not in known_lists:
            message = f"unknown price list {card.price_list!r} (known: {', '.join(sorted(known_lists))})"
            raise DataFileError(path, message, entry=entry, field="price_list")
        if (card.price_list, card.effective_from) in seen:
            message = f"a card of {card.price_list} already takes effect on {card.effective_from.isoformat()}"
            raise DataFileError(path, message, entry=entry, field="effective_from")
        seen.add((card.price_list, card.effective_from))
        for service, units in card.rates.items():
            if service not in catalog:
                close = difflib.get_close_matches(service, [s.code for s in catalog], n=3)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                raise DataFileError(path, f"unknown service {service!r}{hint}", entry=entry, field=f"rates.{service}")
            sold_per = catalog.get(service).units
            if not units:
                raise DataFileError(path, "lists no unit", entry=entry, field=f"rates.{service}")
            for unit in units:
                if unit not in sold_per:
                    message = f"{service} is not sold per {unit!r} (its units: {', '.join(sold_per)})"
                    raise DataFileError(path, message, entry=entry, field=f"rates.{service}.{unit}")


@lru_cache(maxsize=1)
def default_rate_cards() -> RateCards:
    """The shipped rate cards, loaded once per process."""
    return RateCards.load()
