"""Password sign-in switched off per customer (``password_sign_in: false`` in
``identity-providers.yaml``): that customer's users sign in through their provider."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from unisupport.access import Principal
from unisupport.services.audit import record_event
from unisupport.services.customers import customer_by_id
from unisupport.services.users.sso.providers import IdentityProvider, IdentityProviders


def refuse_password(
    session: Session, providers: IdentityProviders, principal: Principal, *, now: datetime
) -> IdentityProvider | None:
    """The provider ``principal`` must sign in through instead of a password (an
    audit event ``sso:password-refused`` is recorded), or None: the password may be used."""
    if principal.customer_id is None or not providers:
        return None
    customer = customer_by_id(session, principal.customer_id)
    provider = providers.password_off(customer.code)
    if provider is not None:
        record_event(
            session,
            customer_id=principal.customer_id,
            subject_type="user",
            subject_id=principal.user_id,
            tag="sso:password-refused",
            actor=principal.email,
            at=now,
            after={"provider": provider.key},
            reason=f"{customer.code} signs in through {provider.label} only",
        )
    return provider
