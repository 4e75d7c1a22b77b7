"""Platform outage management for MCSAP Plus (R-MCSAP-5): during an Azure-declared
multi-customer outage, tailored communications go to each customer's pre-identified
contacts.

Who is told, and why, is decided here for every customer holding MCSAP, so that the
incident manager sees the whole audience before and after sending:

* only MCSAP **Plus** customers are told (MCSAP alone: not this feature);
* *tailored*: a customer is told when the outage touches one of the products enrolled
  in its MCSAP (an outage naming no product touches every one), and the notice lists
  exactly those products; a customer whose enrolment names no product is told of every
  outage;
* to the contacts the customer pre-identified (contact role ``outage-contact`` on the
  order); a Plus customer concerned but with no such contact is reported, not skipped
  silently."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import Field

from unisupport.inputs import Input

RULE = "R-MCSAP-5"


class OutageIn(Input):
    """An Azure-declared outage, as an incident manager declares it."""

    reference: str = Field(
        min_length=1, max_length=64, pattern=r"^\S+$", description="The platform's own tracking id of the outage."
    )
    title: str = Field(min_length=1, max_length=200)
    products: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, max_length=100, description="Product codes affected; empty: the whole platform."
    )
    regions: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(default_factory=list, max_length=100)
    message: str = Field(
        min_length=1, max_length=8000, description="What the pre-identified contacts are told (R-MCSAP-5)."
    )


class OutageNoticeIn(Input):
    """An update on an outage, or its end."""

    message: str = Field(min_length=1, max_length=8000)
    resolved: bool = Field(default=False, description="This notice says the outage is over.")


@dataclass(frozen=True)
class McsapHolder:
    """A customer's active MCSAP order, as the decision needs it."""

    customer: str
    order: str
    plus: bool
    enrolled_products: frozenset[str]  # empty: the enrolment names no product
    outage_contacts: tuple[str, ...]


@dataclass(frozen=True)
class NoticeDecision:
    customer: str
    order: str
    notified: bool
    reason: str
    reason_fr: str
    affected_products: tuple[str, ...] = ()
    contacts: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        return {
            "customer": self.customer,
            "order": self.order,
            "notified": self.notified,
            "rule": RULE,
            "reason": self.reason,
            "reason_fr": self.reason_fr,
            "affected_products": list(self.affected_products),
            "contacts": list(self.contacts),
        }


def decide(holder: McsapHolder, outage_products: Iterable[str]) -> NoticeDecision:
    """Whether ``holder`` is told of an outage touching ``outage_products`` (none:
    the whole platform), to whom, about which of its products."""
    named = frozenset(outage_products)
    if not holder.plus:
        return NoticeDecision(
            holder.customer,
            holder.order,
            False,
            "holds MCSAP without Plus: platform outage communications are an MCSAP Plus feature",
            "détient MCSAP sans Plus : les communications d'incident de plateforme sont réservées à MCSAP Plus",
        )
    if not named:
        affected = tuple(sorted(holder.enrolled_products))
    elif not holder.enrolled_products:
        affected = tuple(sorted(named))
    else:
        affected = tuple(sorted(holder.enrolled_products & named))
        if not affected:
            return NoticeDecision(
                holder.customer,
                holder.order,
                False,
                "none of the products enrolled in its MCSAP Plus is affected",
                "aucun des produits inscrits à son MCSAP Plus n'est touché",
            )
    if not holder.outage_contacts:
        return NoticeDecision(
            holder.customer,
            holder.order,
            False,
            "concerned, but no pre-identified outage contact: add the role outage-contact to a contact of the order",
            "concerné, mais aucun contact désigné pour les incidents de plateforme : ajouter le rôle outage-contact "
            "à un contact de la commande",
            affected,
        )
    scope = "its enrolled products are affected" if affected else "the whole platform is affected"
    scope_fr = "ses produits inscrits sont touchés" if affected else "toute la plateforme est touchée"
    return NoticeDecision(
        holder.customer,
        holder.order,
        True,
        f"holds MCSAP Plus and {scope}: told through its {len(holder.outage_contacts)} pre-identified contact(s)",
        f"détient MCSAP Plus et {scope_fr} : informé par ses {len(holder.outage_contacts)} contact(s) désigné(s)",
        affected,
        holder.outage_contacts,
    )


def product_names(codes: Iterable[str], names: dict[str, tuple[str, str]], language: str) -> str:
    """``Azure Storage, Azure SQL Database`` / ``Stockage Azure, …``; no product: the whole platform."""
    codes = list(codes)
    if not codes:
        return "toute la plateforme" if language == "fr" else "the whole platform"
    return ", ".join(names.get(c, (c, c))[1 if language == "fr" else 0] for c in codes)
