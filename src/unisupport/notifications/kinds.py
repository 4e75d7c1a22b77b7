"""What kind of communication each mail is (R-COM-1, docs/rules.md).

Service mail — about the user's own incidents, bookings and contract, and outage
notices for its products — is always sent. Every other kind is optional, per
address and per kind: the recipient may refuse it, from the mail itself (one click,
RFC 8058) or from the preferences page, and the refusal holds from that moment
(the outbox checks it when it queues a mail and again when it sends it)."""

from __future__ import annotations

SERVICE = "service"
# The optional kinds, in the order the preferences page lists them; each is also the
# template kind of its mails (``templates/<kind>.<language>.txt``).
OPTIONAL = ("announcement", "newsletter", "briefing", "survey")
# What an announcement may be sent as (the composer's choice).
BROADCASTS = ("announcement", "newsletter", "briefing")


def category_of(kind: str) -> str:
    """The communication kind of a mail kind: one of OPTIONAL, else SERVICE
    (``incident.breached``, ``booking.cancelled``, ``outage.notice`` …)."""
    return kind if kind in OPTIONAL else SERVICE


def is_optional(kind: str) -> bool:
    return category_of(kind) != SERVICE


def address_key(address: str) -> str:
    """How an address is compared with the refusals: trimmed, in lower case."""
    return address.strip().lower()
