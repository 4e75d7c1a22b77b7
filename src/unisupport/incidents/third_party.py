"""Third-party collaboration on an incident (R-INC-4).

On the customer's request the provider works with another vendor whose product is
involved (a storage array, an identity provider, an ISV's application). The
collaboration is the customer's to ask for: the provider never engages a vendor on
its own initiative, and the vendor remains responsible for its product — the
provider coordinates, it does not take over the vendor's support.

A collaboration goes ``requested`` → ``engaged`` (the provider reached the vendor,
usually with the vendor's case reference) → ``ended``; it may also end straight
from ``requested`` (the customer withdrew it, or the vendor is not needed)."""

from __future__ import annotations

from enum import StrEnum

from unisupport.refusal import Refused

RULE = "R-INC-4"
RESPONSIBILITY = {
    "en": (
        "The third party remains responsible for its product; the provider collaborates with it on the customer's "
        "request."
    ),
    "fr": "Le tiers reste responsable de son produit ; le fournisseur collabore avec lui à la demande du client.",
}


class Collaboration(StrEnum):
    REQUESTED = "requested"
    ENGAGED = "engaged"
    ENDED = "ended"


def vendor_key(vendor: str) -> str:
    """How two spellings of one vendor are recognised as the same (``Contoso SAN`` =
    ``contoso  san``)."""
    return " ".join(vendor.split()).casefold()


def check_engagement(status: Collaboration, vendor: str) -> None:
    """The provider engages a vendor the customer asked for, once."""
    if status is Collaboration.ENGAGED:
        raise Refused(f"{vendor} is already engaged on this incident", rule=RULE, field="vendor")
    if status is Collaboration.ENDED:
        raise Refused(
            f"the collaboration with {vendor} has ended; the customer asks again to resume it",
            rule=RULE,
            field="vendor",
        )


def check_end(status: Collaboration, vendor: str) -> None:
    if status is Collaboration.ENDED:
        raise Refused(f"the collaboration with {vendor} has already ended", rule=RULE, field="vendor")
