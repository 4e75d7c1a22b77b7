"""One run of the semantic checks over an order, and the catalog codes they name."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from unisupport.catalog.catalog import Catalog, Service
from unisupport.catalog.price_list import PriceList, PriceLists
from unisupport.catalog.product import ProductRegistry
from unisupport.errors import InvalidInput
from unisupport.orders.order_file import Line, Term, contract_year_start
from unisupport.orders.validation.structure import Parts
from unisupport.orders.validation.violation import Violation
from unisupport.orders.validation.wording import money, sentence

# Catalog codes the checks below name (the catalog file is the authority on the
# rest: units, site rules, flex eligibility, the flex cap, limits).
ARR = "azure-rapid-response"
MCSAP_CODES = ("mcsap", "mcsap-plus")
MCSAP_PLUS = "mcsap-plus"
SECURITY_PLUS = "mcs-security-plus"
AZURE_EVENTS = "mcs-azure-events"
CREDITS = "proactive-credits"
# R-EVT-2 figures, used when the catalog entry does not carry them as limits.
EVENT_MAX_DAYS = 5
EVENT_NOTICE_WEEKS = 6
PUBLIC_CLOUD = "public"


class OrderCheck:
    """One run of the semantic checks over an order: what parsed, the reference
    data, the violations found so far, and what earlier checks settled (the price
    list, each line's catalog entry, the term when usable). Each check reads only the
    parts that parsed; a check that needs a missing part is skipped, because the
    structural violation already says what is wrong there."""

    def __init__(self, parts: Parts, catalog: Catalog, products: ProductRegistry, price_lists: PriceLists):
        self.parts = parts
        self.catalog = catalog
        self.products = products
        self.price_lists = price_lists
        self.out: list[Violation] = []
        self.price_list: PriceList | None = None
        self.services: dict[int, Service] = {}  # line index -> its catalog entry
        self.term: Term | None = None  # set only when usable (it ends after it starts)
        self.years = 0

    def error(self, rule: str, path: str, message: str) -> None:
        self.out.append(Violation(rule, path, sentence(message)))

    def warn(self, rule: str, path: str, message: str) -> None:
        self.out.append(Violation(rule, path, sentence(message), severity="warning"))

    def get(self, name: str) -> Any:
        return self.parts.fields.get(name)

    def known(self, name: str) -> bool:
        return name in self.parts.fields

    def items(self, name: str) -> list[tuple[int, Any]]:
        return self.parts.items[name]

    def complete(self, name: str) -> bool:
        return name not in self.parts.incomplete

    def refers_to_unknown(self, name: str, item_id: str) -> bool:
        """Whether ``item_id`` names no item of list ``name``. Broken items still
        count by their id; when the list itself is unusable nothing is unknown, as
        its structural violation already says what to fix."""
        return name not in self.parts.unlisted and item_id not in self.parts.raw_ids[name]

    def check_unique(self, name: str, key: str, normal: Any = str) -> None:
        """R-ORD-1: ids (and contact e-mails) are unique within their list."""
        seen: dict[Any, int] = {}
        for i, item in self.items(name):
            value = getattr(item, key)
            first = seen.setdefault(normal(value), i)
            if first != i:
                self.error(
                    "R-ORD-1",
                    f"{name}[{i}].{key}",
                    f"{key} {value!r} is already used by {name}[{first}]",
                )

    @property
    def lines(self) -> list[tuple[int, Line]]:
        return self.items("lines")

    def lines_of(self, *codes: str) -> list[tuple[int, Line]]:
        return [(i, line) for i, line in self.lines if line.service in codes]

    def money(self, amount: Decimal) -> str:
        # Amounts on the order are in the price list's currency (R-CAT-2).
        currency = self.price_list.currency if self.price_list else self.get("currency") or "?"
        return money(amount, currency)

    def within_term(self, day: date) -> bool:
        return self.term is not None and self.term.start <= day <= self.term.end

    def term_text(self) -> str:
        assert self.term is not None
        return f"the term {self.term.start} to {self.term.end}"

    def year_bounds(self, year: int) -> tuple[date, date]:
        assert self.term is not None
        first = contract_year_start(self.term.start, year)
        following = contract_year_start(self.term.start, year + 1)
        return first, min(following - timedelta(days=1), self.term.end)

    def unknown_product(self, code: str) -> str:
        try:
            self.products.get(code)
        except InvalidInput as exc:
            return exc.message
        return f"unknown product {code!r}"  # pragma: no cover - only called for unknown codes


def first_over(
    items: list[tuple[int, Line]], limit: Decimal, *, amount: Any = lambda line: line.price
) -> tuple[int, Line] | None:
    """The first (index, line) at which the running total of ``amount`` exceeds
    ``limit``: the line a customer would drop or reduce."""
    running = Decimal(0)
    for i, line in items:
        running += amount(line) or 0
        if running > limit:
            return i, line
    return None
