"""How the mails about one incident stay one thread in the recipient's mail client
(docs/decisions.md D74).

Every mail about an incident — the acknowledgement, warnings and breaches, replies —
references the incident's root Message-ID (``incidents.conversation.thread_root``):
``References: <root> …`` and, unless it answers a particular mail of the customer,
``In-Reply-To: <root>``. The root is worked out at send time from the outbox row
(its incident and the payload's opening instant), so the notifications the watcher
writes in SQL join the thread without carrying anything more; the headers a row
stores itself (a reply's ``In-Reply-To`` the customer's last mail, its ``Reply-To``
with the incident's token) come on top."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from unisupport.incidents.conversation import thread_root

MAX_REFERENCES = 12  # the root and the latest others; RFC 5322 lets a long list be cut


def thread_headers(
    subject_type: str, subject_id: int, payload: Mapping[str, Any], stored: Mapping[str, str] | None, *, domain: str
) -> dict[str, str]:
    """The extra headers of one mail: the thread's (incident mails) and those its row stores."""
    out = dict(stored or {})
    opened = _instant(payload.get("opened_at")) if subject_type == "incident" else None
    if opened is None:
        return out
    root = thread_root(subject_id, opened, domain)
    chain = [root] + [r for r in (out.get("References") or "").split() if r != root]
    parent = out.get("In-Reply-To")
    if parent and parent not in chain:
        chain.append(parent)
    if len(chain) > MAX_REFERENCES:
        chain = chain[:1] + chain[-(MAX_REFERENCES - 1) :]
    out["References"] = " ".join(chain)
    out["In-Reply-To"] = parent or root
    return out


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
