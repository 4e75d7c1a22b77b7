"""The flexible allocation, per contract year (R-FLEX-1, R-FLEX-2, R-FLEX-6): the lines it pays for
never exceed it, credits and custom proactive services never exceed the cap, and what is left
unallocated at execution is forfeited (a warning)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from unisupport.orders.order_file import Funding, Line, OrderStatus
from unisupport.orders.validation.order_check import OrderCheck, first_over
from unisupport.orders.validation.wording import number


def check_flexible_allocation(check: OrderCheck) -> None:
    if not check.known("flexible_allocation"):
        return
    allocation = check.get("flexible_allocation")
    by_year: dict[int, list[tuple[int, Line]]] = defaultdict(list)
    for i, line in check.lines:
        if line.funding == Funding.FLEX:
            by_year[line.contract_year].append((i, line))
    if allocation is None:
        for i, line in (item for year in by_year.values() for item in year):
            check.error(
                "R-FLEX-1",
                f"lines[{i}].funding",
                f"line {line.id!r} is funded by flex, but the order has no flexible_allocation",
            )
        return
    amount: Decimal = allocation.amount_per_year
    for year, year_lines in sorted(by_year.items()):
        check_flex_year(check, year, year_lines, amount)

    # R-FLEX-6: what is unallocated at execution is forfeited; the order stays valid.
    if check.get("status") != OrderStatus.ACTIVE or check.term is None or not check.complete("lines"):
        return
    for year in range(1, check.years + 1):
        allocated = sum((line.price for _, line in by_year.get(year, [])), Decimal(0))
        if allocated < amount:
            check.warn(
                "R-FLEX-6",
                "flexible_allocation.amount_per_year",
                f"contract year {year}: only {check.money(allocated)} of the {check.money(amount)} flexible "
                f"allocation is allocated; the unallocated {check.money(amount - allocated)} is forfeited at execution",
            )


def check_flex_year(check: OrderCheck, year: int, year_lines: list[tuple[int, Line]], amount: Decimal) -> None:
    """One contract year: the lines never exceed the allocation (R-FLEX-1), and
    credits plus custom proactive services never exceed the cap (R-FLEX-2).
    Each is reported once, on the line that goes over, with the year's totals."""
    capped = [(i, line) for i, line in year_lines if i in check.services and check.services[i].counts_toward_flex_cap]
    total = sum((line.price for _, line in year_lines), Decimal(0))
    over = first_over(year_lines, amount)
    if over is not None:
        check.error(
            "R-FLEX-1",
            f"lines[{over[0]}].price",
            f"contract year {year}: lines paid with the flexible allocation total {check.money(total)}, more than "
            f"the {check.money(amount)} the order holds for the year (line {over[1].id!r} goes over)",
        )
    if check.price_list is None:
        return
    cap = check.price_list.flex_cap(amount)
    over = first_over(capped, cap)
    if over is not None:
        pl = check.price_list
        check.error(
            "R-FLEX-2",
            f"lines[{over[0]}].price",
            f"contract year {year}: proactive credits and custom proactive services paid with the flexible "
            f"allocation total {check.money(sum((line.price for _, line in capped), Decimal(0)))}, above the cap "
            f"of {check.money(cap)} (the {pl.flex_cap_rule} of {number(pl.flex_cap_percent)} % of "
            f"{check.money(amount)} and {check.money(pl.flex_cap_amount)}, price list {pl.code})",
        )
