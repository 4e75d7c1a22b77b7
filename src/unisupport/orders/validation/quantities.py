"""What the order holds and spends: credits never spent beyond those bought (R-CRED-2), and the
fixed quantity limits of the catalog or the price list (R-DEV-1)."""

from __future__ import annotations

from decimal import Decimal

from unisupport.orders.order_file import Funding
from unisupport.orders.validation.order_check import CREDITS, OrderCheck, first_over
from unisupport.orders.validation.wording import number


def check_credits(check: OrderCheck) -> None:
    held = sum((line.quantity for _, line in check.lines_of(CREDITS)), Decimal(0))
    spending = [(i, line) for i, line in check.lines if line.funding == Funding.CREDITS and line.credits is not None]
    over = first_over(spending, held, amount=lambda line: line.credits)
    if over is not None:
        spent = sum((line.credits for _, line in spending if line.credits is not None), Decimal(0))
        check.error(
            "R-CRED-2",
            f"lines[{over[0]}].credits",
            f"lines funded by credits spend {number(spent)} credits, more than the {number(held)} the order "
            f"holds (its {CREDITS} lines); line {over[1].id!r} goes over",
        )


def check_quantity_limits(check: OrderCheck) -> None:
    for code in dict.fromkeys(service.code for service in check.services.values()):
        service = check.catalog.get(code)
        if service.limits.max_quantity is None:
            continue
        if service.limits.max_quantity != "price-list":
            limit, source = service.limits.max_quantity, "the catalog"
        elif check.price_list is not None:
            limit, source = (
                check.price_list.developer_support_max_quantity,
                f"price list {check.price_list.code}",
            )
        else:
            continue
        bought = check.lines_of(code)
        over = first_over(bought, Decimal(limit), amount=lambda line: line.quantity)
        if over is not None:
            total = sum((line.quantity for _, line in bought), Decimal(0))
            check.error(
                "R-DEV-1",
                f"lines[{over[0]}].quantity",
                f"{service.en} is bought within a limit of {limit} ({source}), but the order buys {number(total)}",
            )
