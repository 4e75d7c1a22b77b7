"""The supported-product flag of the incident page (R-SUP-1): provider users see why the
product is flagged and record the check's outcome (``pages_entitlement``); customers
are never shown the flag — their incident is handled as any other."""

from __future__ import annotations

from typing import Any

from unisupport.incidents.supported_products import EntitlementOutcome
from unisupport.web.page import Page


def entitlement_context(p: Page, view: dict[str, Any], *, worker: bool, product: str) -> dict[str, Any] | None:
    """``product``: the incident's product as the reader names it."""
    check = view.get("entitlement")
    if not p.principal.role.is_provider or not check or check["state"] == "covered":
        return None
    return {
        "state": check["state"],
        "reason": p.t("entitlement.reason", product=product, listed=", ".join(check.get("listed", [])) or "—"),
        "outcome": p.t(f"entitlement.outcome.{check['outcome']}") if check.get("outcome") else None,
        "checked_by": check.get("checked_by"),
        "checked_at": p.at(check["checked_at"]) if check.get("checked_at") else None,
        "note": check.get("note"),
        "outcomes": [(o.value, p.t(f"entitlement.outcome.{o.value}")) for o in EntitlementOutcome],
        "may_record": worker and view["status"] != "closed",
    }
