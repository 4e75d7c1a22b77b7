"""The order's annex A (R-SUP-1): each enrolment, licence agreement and billing account id
once within its kind, and each covering at least one known product."""

from __future__ import annotations

from unisupport.orders.order_file import AnnexA
from unisupport.orders.validation.order_check import OrderCheck

RULE = "R-SUP-1"


def check_annex_a(check: OrderCheck) -> None:
    annex: AnnexA | None = check.get("annex_a")
    if annex is None:
        return
    kinds = ("enrolments", "licence_agreements", "billing_accounts")
    if not any(getattr(annex, kind) for kind in kinds):
        check.error(
            RULE, "annex_a", "annex A lists no enrolment, licence agreement or billing account: list one or remove it"
        )
    for kind in kinds:
        seen: dict[str, int] = {}
        for i, entry in enumerate(getattr(annex, kind)):
            here = f"annex_a.{kind}[{i}]"
            first = seen.setdefault(entry.id.casefold(), i)
            if first != i:
                check.error(RULE, f"{here}.id", f"{entry.id!r} is already listed at annex_a.{kind}[{first}]")
            if not entry.products:
                check.error(RULE, f"{here}.products", f"{entry.id!r} covers no product: list the products it covers")
            for j, product in enumerate(entry.products):
                if product not in check.products:
                    check.error(RULE, f"{here}.products[{j}]", check.unknown_product(product))
