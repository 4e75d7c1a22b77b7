"""Who may see and do what (issue 4: roles and tenant isolation).

Provider roles: ``admin``, ``engineer`` (member of teams), ``incident-manager``,
``csam`` (assigned customers). Customer roles: ``support-administrator`` and
``reactive-contact`` (R-ORD-4). A :class:`Principal` is what every service receives
from an adapter; its :attr:`customer_scope` is the tenant filter applied to every
query of customer data: ``None`` means every customer, a set means only those. A
record outside the scope is reported exactly like a missing one (404), never as
forbidden, so that nobody can probe another tenant's ids."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from unisupport.errors import Forbidden


class Role(StrEnum):
    ADMIN = "admin"
    ENGINEER = "engineer"
    INCIDENT_MANAGER = "incident-manager"
    CSAM = "csam"
    SUPPORT_ADMINISTRATOR = "support-administrator"
    REACTIVE_CONTACT = "reactive-contact"

    @property
    def is_provider(self) -> bool:
        return self in PROVIDER_ROLES

    @property
    def is_customer(self) -> bool:
        return not self.is_provider

    @property
    def with_article(self) -> str:
        """``an engineer``, ``a csam``: the role as the subject of a sentence."""
        return ("an " if self.value[0] in "aeiou" else "a ") + self.value


PROVIDER_ROLES = frozenset({Role.ADMIN, Role.ENGINEER, Role.INCIDENT_MANAGER, Role.CSAM})
# Who reads contracts (orders, balances) and who books proactive services, on the API
# and the pages alike.
CONTRACT_READERS = (Role.ADMIN, Role.ENGINEER, Role.INCIDENT_MANAGER, Role.CSAM, Role.SUPPORT_ADMINISTRATOR)
BOOKERS = (Role.ADMIN, Role.CSAM, Role.SUPPORT_ADMINISTRATOR)
# Who says a proactive service was delivered (R-CSAT-1): the provider's people who deliver it.
DELIVERERS = (Role.ADMIN, Role.CSAM, Role.ENGINEER)


@dataclass(frozen=True)
class Principal:
    user_id: int
    email: str
    role: Role
    customer_id: int | None = None  # customer users only
    teams: frozenset[str] = field(default_factory=frozenset)  # engineers
    assigned_customers: frozenset[int] = field(default_factory=frozenset)  # CSAMs
    language: str = "en"

    @property
    def customer_scope(self) -> frozenset[int] | None:
        """Customers whose data this principal may see; None: all of them."""
        if self.role.is_customer:
            return frozenset({self.customer_id}) if self.customer_id is not None else frozenset()
        if self.role is Role.CSAM:
            return self.assigned_customers
        return None

    def sees(self, customer_id: int) -> bool:
        scope = self.customer_scope
        return scope is None or customer_id in scope

    def require(self, *roles: Role, action: str) -> None:
        """Refuse (403) when the role may not perform ``action``."""
        if self.role not in roles:
            raise Forbidden(f"{self.role.with_article} may not {action}", field="role")


# The operator at the command line acts for the whole installation: the CLI's
# reads that the API scopes to a principal (an event's post-event summary) run as it.
SYSTEM = Principal(user_id=0, email="system", role=Role.ADMIN)
