"""Communications users can refuse (R-COM-1, docs/rules.md): each address's choice,
per optional kind of mail (announcements, newsletters, briefings, surveys), changed
from the preferences page or in one click from the mail itself (RFC 8058). A refusal
takes effect at once — the outbox checks it when it queues a mail and again when it
sends it (``notifications.preferences``) — and each change is an audit event
(``mail:refused``, ``mail:accepted``) saying who, when, and from where."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from unisupport.access import Principal
from unisupport.errors import InvalidInput
from unisupport.notifications.kinds import OPTIONAL, address_key
from unisupport.notifications.signed_links import MailLinks
from unisupport.notifications.wording import mail_language
from unisupport.services.audit import record_event
from unisupport.storage.tables import ContactRow, MailPreferenceRow, SiteRow, UserRow

RULE = "R-COM-1"
ONE_CLICK = "one-click"  # the actor of a refusal made from the mail's link


def preferences_of(session: Session, address: str) -> dict[str, bool]:
    """Whether ``address`` receives each optional kind (True: it does, the default)."""
    refused = dict(
        session.execute(
            select(MailPreferenceRow.category, MailPreferenceRow.refused).where(
                MailPreferenceRow.address == address_key(address)
            )
        ).all()
    )
    return {kind: not refused.get(kind, False) for kind in OPTIONAL}


def _customer_of(session: Session, address: str) -> int | None:
    key = address_key(address)
    user = session.scalar(select(UserRow).where(UserRow.email == key))
    if user is not None and user.customer_id is not None:
        return user.customer_id
    return session.scalar(select(ContactRow.customer_id).where(ContactRow.email == key).limit(1))


def set_preference(
    session: Session, *, address: str, kind: str, receives: bool, actor: str, now: datetime, how: str
) -> bool:
    """Record that ``address`` receives (or refuses) ``kind`` from ``now`` on; True when
    it changed. ``how``: where the choice was made (``preferences page``, ``one-click
    link``), written in the audit event."""
    if kind not in OPTIONAL:
        raise InvalidInput(
            f"{kind!r} is not an optional kind of mail ({', '.join(OPTIONAL)}); service mail is always sent",
            field="kind",
        )
    key = address_key(address)
    row = session.scalar(
        select(MailPreferenceRow)
        .where(MailPreferenceRow.address == key, MailPreferenceRow.category == kind)
        .with_for_update()
    )
    if row is not None and row.refused == (not receives):
        return False
    customer_id = _customer_of(session, key)
    if row is None:
        row = MailPreferenceRow(address=key, category=kind, refused=not receives, changed_at=now, changed_by=actor)
        row.customer_id = customer_id
        session.add(row)
    else:
        row.refused, row.changed_at, row.changed_by = not receives, now, actor
    session.flush()
    record_event(
        session,
        customer_id=customer_id,
        subject_type="mail-preference",
        subject_id=row.id,
        tag="mail:accepted" if receives else "mail:refused",
        actor=actor,
        at=now,
        before={"receives": not receives},
        after={"address": key, "kind": kind, "receives": receives},
        reason=f"{'accepted' if receives else 'refused'} {kind} mail from the {how}",
        rule=RULE,
    )
    return True


def set_my_preferences(session: Session, principal: Principal, receives: set[str], *, now: datetime) -> list[str]:
    """The signed-in user's choices from the preferences page: ``receives`` the kinds
    kept, every other optional kind refused. Returns the kinds that changed."""
    unknown = sorted(receives - set(OPTIONAL))
    if unknown:
        raise InvalidInput(f"no optional kind of mail {unknown[0]!r}", field="kinds")
    return [
        kind
        for kind in OPTIONAL
        if set_preference(
            session,
            address=principal.email,
            kind=kind,
            receives=kind in receives,
            actor=principal.email,
            now=now,
            how="preferences page",
        )
    ]


@dataclass(frozen=True)
class Unsubscribed:
    address: str
    kind: str
    changed: bool  # False: it was refused already


def read_unsubscribe(links: MailLinks, token: str) -> tuple[str, str]:
    """The address and kind an unsubscribe link names; InvalidInput when it is not one of ours."""
    found = links.read_unsubscribe(token)
    if found is None:
        raise InvalidInput("this unsubscribe link is not valid (it may have been cut)", field="token")
    return found


def unsubscribe(session: Session, links: MailLinks, token: str, *, now: datetime) -> Unsubscribed:
    """The one-click unsubscribe (RFC 8058): the signed link is the authority, no sign-in."""
    address, kind = read_unsubscribe(links, token)
    changed = set_preference(
        session, address=address, kind=kind, receives=False, actor=ONE_CLICK, now=now, how="one-click link"
    )
    return Unsubscribed(address, kind, changed)


def contact_language(session: Session, contact: ContactRow) -> str:
    """The language a contact is written to: its user's, else its own, else its site's."""
    user_language = session.scalar(select(UserRow.language).where(UserRow.contact_id == contact.id))
    site_language = (
        session.scalar(select(SiteRow.language).where(SiteRow.id == contact.site_id)) if contact.site_id else None
    )
    return mail_language(user_language or contact.language or site_language)
