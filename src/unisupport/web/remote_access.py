"""The remote-access section of the incident page (R-RA-1): whether an engineer may
connect now, to which systems and until when; the customer's authorisations and the
sessions logged; the forms of who may act (the customer authorises and withdraws,
provider workers start and end sessions). Its routes are in ``pages_remote_access``."""

from __future__ import annotations

from typing import Any

from unisupport.incidents import remote_access as ra
from unisupport.services import remote_access
from unisupport.services.incidents import PROVIDER_WORKERS
from unisupport.sla.calendar import Calendar
from unisupport.storage.tables import IncidentRow
from unisupport.web.page import Page


def remote_access_context(p: Page, incident: IncidentRow, calendar: Calendar) -> dict[str, Any]:
    view = remote_access.remote_access_view(p.db, p.principal, incident.id, now=p.now, calendar=calendar)
    tools = ra.approved_tools()
    open_incident = incident.status != "closed"
    customer = p.principal.role.is_customer
    worker = p.principal.role in PROVIDER_WORKERS and open_incident

    def tool_label(a: dict[str, Any]) -> str:
        return tools.name(a["tool"], p.language) if a["tool_approved"] else a["tool"]

    return {
        "may_connect": view["may_connect_now"],
        "systems_now": view["systems_now"],
        "until": p.at(view["until"], long=True) if view["until"] else None,
        "authorisations": [
            a
            | {
                "tool_label": tool_label(a),
                "state_label": p.t(f"remote_access.state.{a['state']}"),
                "from": p.at(a["valid_from"]),
                "to": p.at(a["valid_until"]),
                "may_withdraw": customer and a["state"] in ("in-force", "future"),
            }
            for a in view["authorisations"]
        ],
        "sessions": [
            s
            | {
                "started": p.at(s["started_at"]),
                "ended": p.at(s["ended_at"]) if s["ended_at"] else None,
                "may_end": worker and s["ended_at"] is None,
            }
            for s in view["sessions"]
        ],
        "may_authorise": customer and open_incident,
        "may_start": worker and view["may_connect_now"],
        "tools": [(code, tools.name(code, p.language)) for code in tools.tools],
        "other": ra.OTHER_TOOL,
    }
