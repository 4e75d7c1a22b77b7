"""The incident page's conversation (docs/decisions.md D79): one thread, oldest first
like a mail client — the messages (replies, the customer's messages, internal notes
set apart), the calls and other communications logged, the automatic
acknowledgement — with the system's events folded into one line per run that
opens (``<details>``), the oldest entries of a long thread folded too so that the
newest stay in view, and the composer under it.

Customers get only what ``services.conversation`` lets them see: no internal note,
no file one carries, no delivery report."""

from __future__ import annotations

from typing import Any

from unisupport.incidents.diagnostics import DiagnosticActivity
from unisupport.uploads import conversation_settings_of
from unisupport.incidents.attachment import MB, size_text
from unisupport.incidents.conversation import MAX_CC, Visibility
from unisupport.services.conversation import ThreadMessage
from unisupport.services.incidents import PROVIDER_WORKERS
from unisupport.sla.calendar import epoch_seconds
from unisupport.storage.tables import IncidentRow
from unisupport.web.message_text import message_html
from unisupport.web.page import Page

FORM = "composer"  # the composer's form id (web.outcome)
RECENT = 8  # entries of the thread shown open; older ones fold into one line


def linked_communications(messages: list[ThreadMessage]) -> set[int]:
    """The communications the messages recorded (shown with their message, not apart)."""
    return {t.message.communication_id for t in messages if t.message.communication_id}


def _message(p: Page, t: ThreadMessage, provider: bool) -> dict[str, Any]:
    m, c = t.message, t.communication
    deliveries = []
    for r in m.recipients or []:
        row = t.deliveries.get(r.get("outbox") or 0)
        status = row.status if row is not None else "pending"
        deliveries.append(
            {
                "email": r["email"],
                "copy": r.get("copy", False),
                "status": status,
                "label": p.t(f"thread.delivery.{status}"),
                "at": p.at(row.sent_at) if row is not None and row.sent_at else None,
                "error": row.last_error if row is not None and status == "failed" else None,
            }
        )
    role = "customer" if m.from_customer else "provider"
    return {
        # At the same instant, a message comes after what the system recorded with it.
        "sort": (epoch_seconds(m.at), 2, m.id),
        "kind": "message",
        "id": m.id,
        "internal": m.visibility == Visibility.INTERNAL.value,
        "from_customer": m.from_customer,
        "author": m.author_name or m.author,
        "author_email": m.author,
        "side": p.t(f"thread.side.{role}"),
        "channel": p.t(f"thread.channel.{m.channel}"),
        "at": p.at(m.at),
        "body": message_html(m.body),
        "files": [
            {
                "name": f.filename,
                "size": size_text(f.size),
                "type": f.content_type,
                "original": f.original,
                "url": f"/incidents/{m.incident_id}/attachments/{f.id}",
                "id": f.id,
            }
            for f in t.files
        ],
        "to": [d["email"] for d in deliveries if not d["copy"]],
        "copies": [d["email"] for d in deliveries if d["copy"]],
        "deliveries": deliveries if provider else [],
        "first_response": bool(c and c.first_response),
        "needs_answer": bool(c and c.requests_customer_action),
        "answer_due": p.at(c.customer_response_due) if c and c.customer_response_due else None,
        "answered": bool(c and c.answered_at),
    }


def _fold_events(p: Page, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each run of consecutive system events becomes one entry that opens."""
    out: list[dict[str, Any]] = []
    for item in items:
        if item["kind"] in ("message", "communication"):
            out.append(item)
            continue
        if out and out[-1]["kind"] == "events":
            out[-1]["events"].append(item)
        else:
            out.append({"kind": "events", "events": [item], "sort": item["sort"]})
    for entry in out:
        if entry["kind"] == "events":
            labels = list(dict.fromkeys(e["label"] for e in entry["events"]))
            key = "thread.event" if len(entry["events"]) == 1 else "thread.events"
            entry["summary"] = p.t(key, count=len(entry["events"]), kinds=", ".join(labels))
            entry["at"] = entry["events"][0]["at"]
    return out


def thread_context(p: Page, messages: list[ThreadMessage], others: list[dict[str, Any]]) -> dict[str, Any]:
    """The thread: ``messages`` (what the viewer may see) merged with ``others`` (the
    communications no message recorded and the timeline's events, as
    ``pages_incident`` words them), oldest first, events folded."""
    provider = p.principal.role.is_provider
    items = sorted([_message(p, t, provider) for t in messages] + others, key=lambda i: i["sort"])
    entries = _fold_events(p, items)
    earlier, recent = entries[:-RECENT], entries[-RECENT:]
    if len(earlier) == 1:  # folding one entry saves nothing
        earlier, recent = [], entries
    return {
        "earlier": earlier,
        "recent": recent,
        "earlier_summary": p.t("thread.earlier", count=len(earlier)) if earlier else None,
        "count": len(entries),
    }


def composer_context(p: Page, incident: IncidentRow, copies: list[str]) -> dict[str, Any] | None:
    """What the composer offers the viewer: a reply (a provider worker, on an incident
    not closed) or an internal note (provider roles), or the customer's message
    (always public; on a closed incident it reopens it)."""
    principal = p.principal
    settings = conversation_settings_of(p.request)
    customer = principal.role.is_customer
    closed = incident.status == "closed"
    may_reply = customer or (principal.role in PROVIDER_WORKERS and not closed)
    may_note = principal.role.is_provider
    return {
        "form": FORM,
        "customer": customer,
        "closed": closed,
        "may_reply": may_reply,
        "may_note": may_note,
        "default": "public" if may_reply else "internal",
        "copies": copies,
        "max_cc": MAX_CC,
        "file_mb": settings.attachment_max_bytes // MB,
        "message_mb": settings.message_max_bytes // MB,
        # R-REQ-1: a reply may ask for a diagnostic activity, a tracked request on the customer-side clock.
        "diagnostics": [(a.value, p.t(f"diagnostic.{a.value}")) for a in DiagnosticActivity],
    }
