"""What the incident page shows of the customer's diagnosis (R-REQ-1): the reproduction
steps and environment given with the incident, under labels in the reader's language,
and the diagnostic activities the provider asked for, each on the customer-side clock
(R-SLA-4) until the customer's message answers it."""

from __future__ import annotations

from typing import Any

from unisupport.web.page import Page


def diagnosis_context(p: Page, view: dict[str, Any]) -> dict[str, Any]:
    return {
        "reproduction_steps": view["reproduction_steps"],
        "environment": view["environment"],
        "requests": [
            {
                "activity": p.t(f"diagnostic.{d['activity']}"),
                "asked_at": p.at(d["asked_at"]),
                "due": p.at(d["due"]) if d["due"] else None,
                "answered_at": p.at(d["answered_at"]) if d["answered_at"] else None,
                "missed": d["missed"],
                "communication": d["communication"],
            }
            for d in view["diagnostic_requests"]
        ],
    }
