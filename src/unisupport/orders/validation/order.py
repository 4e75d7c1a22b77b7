"""The order as a whole (R-ORD-1, R-CAT-2, R-FLEX-1): its term, its price list and currency, when it
was executed, and a flexible allocation only with a Base Package."""

from __future__ import annotations

from datetime import date

from unisupport.errors import InvalidInput
from unisupport.orders.order_file import OrderFile, OrderStatus, Term
from unisupport.orders.validation.order_check import OrderCheck


def check_order(check: OrderCheck) -> None:
    term: Term | None = check.get("term")
    if term is not None and term.end <= term.start:
        check.error(
            "R-ORD-1",
            "term.end",
            f"the term must end after it starts: {term.start} to {term.end}",
        )
    elif term is not None:
        check.term = term
        check.years = OrderFile.model_construct(term=term).contract_years()

    if check.get("price_list") is not None:
        try:
            check.price_list = check.price_lists.get(check.get("price_list"))
        except InvalidInput as exc:
            check.error("R-CAT-2", "price_list", exc.message)
    currency = check.get("currency")
    if check.price_list and currency and currency != check.price_list.currency:
        check.error(
            "R-CAT-2",
            "currency",
            f"the order is in {currency} but price list {check.price_list.code} is in "
            f"{check.price_list.currency}; an order uses the currency of its price list",
        )

    executed_on: date | None = check.get("executed_on")
    if check.get("status") == OrderStatus.ACTIVE and check.known("executed_on") and executed_on is None:
        check.error(
            "R-ORD-1",
            "executed_on",
            "an active order must say when it was executed (executed_on)",
        )
    if executed_on is not None and check.term is not None and not check.within_term(executed_on):
        check.error("R-ORD-1", "executed_on", f"executed_on {executed_on} is outside {check.term_text()}")

    no_base = check.known("base_package") and check.get("base_package") is None
    if no_base and check.get("flexible_allocation") is not None:
        check.error(
            "R-FLEX-1",
            "flexible_allocation",
            "a flexible allocation is part of the Base Package list price, but the order has no base_package",
        )
