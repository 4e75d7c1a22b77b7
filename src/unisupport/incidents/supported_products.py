"""Supported products (R-SUP-1, "Produits pris en charge").

Support rests on the enrolments, licence agreements and billing account ids of the
order's annex A, each listing the products it covers. An incident for a product none of
them covers is still opened — the customer is never blocked — but flagged for the
engineer, who checks the entitlement and records the outcome. An order without an annex
A is not checked: support then rests on the order itself (docs/decisions.md D123).

Pure: reads the order document as stored (``OrderFile.canonical()``)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

RULE = "R-SUP-1"
KINDS = {
    "enrolments": ("enrolment", "inscription"),
    "licence_agreements": ("licence agreement", "contrat de licence"),
    "billing_accounts": ("billing account", "compte de facturation"),
}
TO_CHECK = "to-check"
COVERED = "covered"


class EntitlementOutcome(StrEnum):
    """What the engineer found when checking a flagged incident."""

    COVERED = "covered"  # covered after all (an agreement not yet in annex A, a product alias)
    NOT_COVERED = "not-covered"  # the customer is told; the account team follows up
    WRONG_PRODUCT = "wrong-product"  # the incident names the wrong product


def entitlement_check(document: Mapping[str, Any], product: str) -> dict[str, Any] | None:
    """The check of ``product`` against the order's annex A: ``None`` without an annex
    A; ``covered`` with the entitlements that cover it; ``to-check`` with why."""
    annex = document.get("annex_a")
    if not annex:
        return None
    listed: list[str] = []
    covering: list[str] = []
    for kind, (word, _) in KINDS.items():
        for entry in annex.get(kind) or ():
            name = f"{word} {entry['id']}"
            listed.append(name)
            if product in entry.get("products", ()):
                covering.append(name)
    if covering:
        return {"state": COVERED, "by": covering, "rule": RULE}
    return {
        "state": TO_CHECK,
        "rule": RULE,
        "listed": listed,
        "reason": f"no enrolment, licence agreement or billing account of the order's annex A covers {product} "
        f"(annex A lists {', '.join(listed) or 'nothing'}): check the entitlement",
    }
