"""Writing and reading an incident's messages (R-SEV-2, R-SLA-4, R-INC-1;
docs/decisions.md D70–D72, D76).

* A provider user's **public reply** is mailed to the customer and records an
  outbound, non-automated e-mail communication through ``add_communication`` — the
  code that decides the first response (R-SEV-2): the first such reply is the first
  response, at the instant it was written and committed. "Needs the customer's
  answer" starts the customer-side clock (R-SLA-4).
* A customer user's message is always public and records an inbound communication,
  which answers the provider's pending requests (R-SLA-4). Writing on a closed
  incident reopens it.
* An **internal note** (provider roles only) records nothing the customer can see:
  no communication, no timeline event, no new version of the incident, no mail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from unisupport.access import Forbidden, Principal, Role
from unisupport.errors import InvalidInput
from unisupport.incidents.communication import Direction, Medium
from unisupport.incidents.conversation import Visibility
from unisupport.incidents.requests import CommunicationIn, MessageIn
from unisupport.incidents.settings import DEFAULT_SETTINGS, IncidentSettings
from unisupport.refusal import Refused
from unisupport.services.conversation.attachments import DEFAULT_CONVERSATION, ConversationSettings, take_uploads
from unisupport.services.conversation.copies import add_copies
from unisupport.services.conversation.mail_out import queue_reply
from unisupport.services.incidents.changes import check_version, get_incident
from unisupport.services.incidents.communications import add_communication
from unisupport.services.incidents.lifecycle import reopen
from unisupport.services.webhooks import announce_message
from unisupport.storage.tables import IncidentRow, MessageRow, UserRow

CHANNELS = ("web", "api", "mail")


def _check_who(principal: Principal, data: MessageIn) -> None:
    """Who may write what (see the module)."""
    if data.visibility is Visibility.INTERNAL:
        if principal.role.is_customer:
            raise Forbidden("customers' messages are public: internal notes are the provider's", field="visibility")
        if data.cc:
            raise InvalidInput("an internal note is mailed to nobody: it takes no cc", field="cc")
        if data.needs_answer or data.diagnostic:
            raise InvalidInput(
                "an internal note asks the customer nothing",
                field="needs_answer" if data.needs_answer else "diagnostic",
            )
        return
    if principal.role is Role.CSAM:
        raise Forbidden(
            "a CSAM follows incidents but does not answer the customer: write an internal note", field="role"
        )
    if principal.role.is_customer and (data.needs_answer or data.diagnostic):
        raise Forbidden(
            "only provider engineers ask the customer for an answer",
            field="needs_answer" if data.needs_answer else "diagnostic",
        )


def post_message(
    session: Session,
    principal: Principal,
    incident_id: int,
    data: MessageIn,
    *,
    now: datetime,
    settings: IncidentSettings = DEFAULT_SETTINGS,
    conversation: ConversationSettings = DEFAULT_CONVERSATION,
    expected_version: int | None = None,
    channel: str = "api",
) -> MessageRow:
    """Write a message (see the module); ``data.attachments`` are the principal's
    uploads to this incident, which the message then carries."""
    incident = get_incident(session, principal, incident_id, lock=True)
    check_version(incident, expected_version)
    _check_who(principal, data)
    public = data.visibility is Visibility.PUBLIC
    customer = principal.role.is_customer
    files = take_uploads(session, principal, incident, data.attachments, conversation.limits)
    if incident.status == "closed" and public:
        if not customer:
            raise Refused("the incident is closed: reopen it before answering the customer", rule="R-INC-1", field="id")
        reopen(session, incident, actor=principal.email, reason="the customer wrote on the closed incident", now=now)
    add_copies(session, principal, incident, data.cc, now=now)
    communication = None
    if public:
        communication = add_communication(
            session,
            principal,
            incident.id,
            CommunicationIn(
                direction=Direction.INBOUND if customer else Direction.OUTBOUND,
                medium=Medium.WEB if customer else Medium.EMAIL,
                body=data.body,
                requests_customer_action=data.needs_answer,
                diagnostic=data.diagnostic,
            ),
            now=now,
            settings=settings,
        )
    message = add_message(
        session,
        incident,
        visibility=data.visibility,
        from_customer=customer,
        channel=channel,
        author=principal.email,
        author_name=session.scalar(select(UserRow.name).where(UserRow.id == principal.user_id)),
        at=now,
        body=data.body,
        communication_id=communication.id if communication else None,
        now=now,
    )
    for f in files:
        f.message_id = message.id
    if public and not customer:
        message.recipients = queue_reply(session, incident, message, files, now=now, settings=settings)
    session.flush()
    return message


def add_message(
    session: Session,
    incident: IncidentRow,
    *,
    visibility: Visibility,
    from_customer: bool,
    channel: str,
    author: str,
    author_name: str | None,
    at: datetime,
    body: str,
    communication_id: int | None,
    now: datetime,
    mail_message_id: str | None = None,
    in_reply_to: str | None = None,
    references: list[str] | None = None,
) -> MessageRow:
    """A message row on ``incident``, flushed (its id for the files it carries)."""
    if channel not in CHANNELS:
        raise ValueError(f"no channel {channel!r}")
    message = MessageRow(
        customer_id=incident.customer_id,
        incident_id=incident.id,
        visibility=visibility.value,
        from_customer=from_customer,
        channel=channel,
        author=author,
        author_name=author_name,
        at=at,
        body=body,
        recipients=None,
        communication_id=communication_id,
        mail_message_id=mail_message_id,
        in_reply_to=in_reply_to,
        references=references,
        created_at=now,
    )
    session.add(message)
    session.flush()
    announce_message(session, incident, message, now=now)
    return message


def visible_messages(session: Session, principal: Principal, incident: IncidentRow) -> list[MessageRow]:
    """The incident's messages ``principal`` sees, oldest first (a customer never
    receives an internal note)."""
    query = select(MessageRow).where(
        MessageRow.incident_id == incident.id, MessageRow.customer_id == incident.customer_id
    )
    if not principal.role.is_provider:
        query = query.where(MessageRow.visibility == Visibility.PUBLIC.value)
    return list(session.scalars(query.order_by(MessageRow.at, MessageRow.id)))
