"""Validation of an order file: every violation at once (docs/rules.md §2–§7).

``order_file.py`` says what a type can say; this module checks what needs the
whole order, the catalog, the product registry and the price list (R-FLEX-2,
R-MC-2, R-MCSAP-1 …). A customer fixing an order wants the full list in one
pass, so nothing here stops at the first problem: the structure is checked first
(each pydantic error becomes an ``R-ORD-1`` violation), then every semantic check
runs on the parts that did parse — a broken line is skipped, the other lines are
still checked, and their paths keep the document's own indexes (``lines[3].site``).

Pure: no SQL, HTTP or command line; the CLI and the API call the same function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from unisupport.catalog.catalog import Catalog, default_catalog
from unisupport.catalog.price_list import PriceLists, default_price_lists
from unisupport.catalog.product import ProductRegistry, default_products
from unisupport.errors import OrderFileUnreadable
from unisupport.orders.validation.annex_a import check_annex_a
from unisupport.orders.validation.flexible_allocation import check_flexible_allocation
from unisupport.orders.validation.lines import check_lines
from unisupport.orders.validation.mission_critical import check_events, check_mcsap_plus, check_scopes
from unisupport.orders.validation.order import check_order
from unisupport.orders.validation.order_check import OrderCheck
from unisupport.orders.validation.quantities import check_credits, check_quantity_limits
from unisupport.orders.validation.reading import read_order_document
from unisupport.orders.validation.sites import check_contacts, check_sites
from unisupport.orders.validation.structure import parse
from unisupport.orders.validation.violation import Severity, Violation, is_valid

__all__ = ["OrderFileUnreadable", "Severity", "Violation", "is_valid", "read_order_document", "validate_order"]

# In this order: later checks read what earlier ones settled (the term and price list
# in check_order, each line's catalog entry in check_lines).
CHECKS: tuple[Callable[[OrderCheck], None], ...] = (
    check_order,
    check_sites,
    check_contacts,
    check_lines,
    check_flexible_allocation,
    check_credits,
    check_quantity_limits,
    check_mcsap_plus,
    check_scopes,
    check_events,
    check_annex_a,
)


def validate_order(
    document: Mapping[str, Any],
    *,
    catalog: Catalog | None = None,
    products: ProductRegistry | None = None,
    price_lists: PriceLists | None = None,
) -> list[Violation]:
    """Every violation of ``document`` (an order file as read from YAML or JSON):
    structural ones first (``R-ORD-1``, from the schema), then the rules that
    need the catalog, the products and the price list, in document order within
    each check. An empty list, or warnings only, means the order is valid."""
    if not isinstance(document, Mapping):
        return [Violation("R-ORD-1", "", f"An order file is a mapping of keys, not {type(document).__name__}.")]
    structural, parts = parse(document)
    check = OrderCheck(
        parts,
        catalog or default_catalog(),
        products or default_products(),
        price_lists or default_price_lists(),
    )
    for run in CHECKS:
        run(check)
    return structural + check.out
