"""Order documents for storage tests: a small valid order, built in code so each
test can change one thing and say which rule it exercises."""

from __future__ import annotations

import copy
from typing import Any

BASE_ORDER: dict[str, Any] = {
    "number": "ESO-TEST-1",
    "customer": {"code": "northwind", "name": "Northwind SA"},
    "currency": "USD",
    "price_list": "global-2024-09",
    "term": {"start": "2026-01-01", "end": "2027-12-31"},
    "status": "active",
    "executed_on": "2026-01-01",
    "host_site": "paris",
    "sites": [
        {"id": "paris", "country": "FR", "timezone": "Europe/Paris", "language": "fr"},
        {"id": "berlin", "country": "DE", "timezone": "Europe/Berlin", "language": "de"},
    ],
    "base_package": {"list_price": "500000.00"},
    "flexible_allocation": {"amount_per_year": "100000.00"},
    "contacts": [
        {"email": "admin@northwind.example", "name": "Ada Admin", "roles": ["support-administrator"]},
        {"email": "ops@northwind.example", "name": "Olu Ops", "roles": ["reactive-contact"], "site": "berlin"},
    ],
    "lines": [
        # Year 1: 40,000 of credits (the R-FLEX-2 cap is the greater of 20 % and 50,000).
        {
            "id": "credits-y1",
            "service": "proactive-credits",
            "quantity": "100",
            "unit": "credits",
            "price": "40000.00",
            "funding": "flex",
            "contract_year": 1,
        },
        {
            "id": "de-paris",
            "service": "designated-engineering",
            "quantity": "80",
            "unit": "hours",
            "site": "paris",
            "price": "30000.00",
            "funding": "flex",
            "contract_year": 1,
        },
        # Year 2: part of the allocation stays unallocated (R-FLEX-6).
        {
            "id": "credits-y2",
            "service": "proactive-credits",
            "quantity": "50",
            "unit": "credits",
            "price": "20000.00",
            "funding": "flex",
            "contract_year": 2,
        },
        {
            "id": "workshops-paid",
            "service": "workshops",
            "quantity": "10",
            "unit": "per-attendee",
            "site": "paris",
            "price": "15000.00",
            "funding": "paid",
        },
        {
            "id": "uer",
            "service": "unified-enhanced-response",
            "quantity": "1",
            "unit": "annual",
            "site": "paris",
            "price": "90000.00",
            "funding": "paid",
        },
    ],
}


def order(**changes: Any) -> dict[str, Any]:
    """A deep copy of the base order with top-level keys replaced."""
    document = copy.deepcopy(BASE_ORDER)
    document.update(copy.deepcopy(changes))
    return document
