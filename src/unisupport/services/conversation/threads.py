"""Which incident a received mail belongs to, from what it carries (docs/decisions.md
D74): the reply token of the address it was sent to — the only proof, as nobody
outside the incident's mail knows it — or the Message-IDs it answers (``In-Reply-To``,
``References``): any mail of the thread, the customer's own mails recorded here, and
every mail sent about the incident (the acknowledgement and the other automatic
mails included). A Message-ID can be guessed: callers check that the sender may
write on the incident they found that way."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from unisupport.incidents.conversation import is_reply_token, parse_thread_root
from unisupport.notifications.outbox import outbox_id_in
from unisupport.storage.tables import IncidentRow, MessageRow, OutboxRow


def find_incident_by_reply_token(session: Session, token: str) -> IncidentRow | None:
    token = (token or "").strip().lower()
    if not is_reply_token(token):
        return None
    return session.scalar(select(IncidentRow).where(IncidentRow.reply_token == token))


def _normalized(ids: Iterable[str]) -> list[str]:
    out = []
    for value in ids:
        text = (value or "").strip()
        if text and not text.startswith("<"):
            text = f"<{text}>"
        if text and len(text) <= 998 and text not in out:
            out.append(text)
    return out


def _by_form(session: Session, message_id: str) -> int | None:
    """The incident a Message-ID names by its form: a thread root, or an outbox row's."""
    root = parse_thread_root(message_id)
    if root is not None:
        incident_id, opened = root
        row = session.get(IncidentRow, incident_id)
        return incident_id if row is not None and int(row.opened_at.timestamp()) == opened else None
    outbox = outbox_id_in(message_id)
    if outbox is not None:
        outbox_id, created = outbox
        found = session.execute(
            select(OutboxRow.subject_type, OutboxRow.subject_id, OutboxRow.created_at).where(OutboxRow.id == outbox_id)
        ).first()
        if found and found.subject_type == "incident" and int(found.created_at.timestamp()) == created:
            return found.subject_id
    return None


def find_incident_by_message_ids(session: Session, ids: list[str]) -> IncidentRow | None:
    """The incident of the first of ``ids`` (put ``In-Reply-To`` first, then
    ``References`` from the newest) that is a mail of an incident's thread; None when
    none is."""
    wanted = _normalized(ids)
    if not wanted:
        return None
    known: dict[str, int] = {}
    for mail_id, incident_id in session.execute(
        select(MessageRow.mail_message_id, MessageRow.incident_id)
        .where(MessageRow.mail_message_id.in_(wanted))
        .order_by(MessageRow.id)
    ):
        if mail_id is not None:
            known.setdefault(mail_id, incident_id)
    for mail_id, incident_id in session.execute(
        select(OutboxRow.message_id, OutboxRow.subject_id).where(
            OutboxRow.subject_type == "incident", OutboxRow.message_id.in_(wanted)
        )
    ):
        if mail_id is not None:
            known.setdefault(mail_id, incident_id)
    for mail_id in wanted:
        found = known.get(mail_id) or _by_form(session, mail_id)
        if found is not None:
            return session.get(IncidentRow, found)
    return None
