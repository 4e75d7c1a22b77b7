"""Who refused which optional kind of mail (R-COM-1), as the outbox reads it: when it
queues a mail (``outbox.enqueue`` does not queue a refused one) and when it sends it
(``delivery`` withholds one refused in between). Changing a preference is a use case
(``services.mail_preferences``)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from unisupport.notifications.kinds import address_key, category_of, is_optional
from unisupport.storage.tables import MailPreferenceRow


def is_refused(session: Session, address: str, kind: str) -> bool:
    """Whether ``address`` refused mail of ``kind``; service mail is never refused."""
    if not is_optional(kind):
        return False
    return bool(
        session.scalar(
            select(MailPreferenceRow.refused).where(
                MailPreferenceRow.address == address_key(address), MailPreferenceRow.category == category_of(kind)
            )
        )
    )


def refusing(session: Session, addresses: Iterable[str], kind: str) -> set[str]:
    """The addresses among ``addresses`` (as keys: lower case) that refused ``kind``."""
    keys = {address_key(a) for a in addresses}
    if not is_optional(kind) or not keys:
        return set()
    rows = session.scalars(
        select(MailPreferenceRow.address).where(
            MailPreferenceRow.address.in_(sorted(keys)),
            MailPreferenceRow.category == category_of(kind),
            MailPreferenceRow.refused.is_(True),
        )
    )
    return set(rows)
