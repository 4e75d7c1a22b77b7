"""Files on an incident (docs/decisions.md D73): uploaded first, then carried by one
message, whose visibility they take. Bytes go to the blob store
(``storage.blobs``), everything else to ``incident_attachments``.

Who sees a file: everyone on the incident once a public message carries it;
provider roles only when an internal note carries it; only its uploader while no
message carries it yet. Any other file answers exactly like a missing one (404),
another tenant's included."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from unisupport.access import Principal
from unisupport.errors import InvalidInput, NotFound
from unisupport.incidents.attachment import (
    MB,
    ConversationSettings,
    Limits,
    TooLarge,
    check_sizes,
    content_type,
    upload_name,
)
from unisupport.incidents.conversation import Visibility
from unisupport.services.incidents.changes import get_incident
from unisupport.settings import Settings
from unisupport.storage.blobs import BlobStore
from unisupport.storage.tables import AttachmentRow, IncidentRow, MessageRow

PENDING_KEPT = timedelta(days=1)  # an upload no message carried after this is swept


DEFAULT_CONVERSATION = ConversationSettings()


def default_blob_store() -> BlobStore:
    """The blob store the environment names (``UNISUPPORT_BLOB_DIR``, else ``blobs``
    in the data folder)."""
    return BlobStore(Settings.from_env().blobs_path)


@dataclass(frozen=True)
class UploadedFile:
    """A file as an adapter received it: the name its sender gave, and its bytes."""

    filename: str | None
    data: bytes


def store_uploads(
    session: Session,
    principal: Principal,
    incident_id: int,
    files: Sequence[UploadedFile],
    *,
    blobs: BlobStore,
    now: datetime,
    settings: ConversationSettings = DEFAULT_CONVERSATION,
) -> list[AttachmentRow]:
    """Keep ``files`` for a message ``principal`` is about to write on the incident.
    Every name and size is checked before anything is written (the error names
    ``files[i]``); the rows are the principal's until a message carries them."""
    incident = get_incident(session, principal, incident_id)
    if not files:
        raise InvalidInput("send at least one file", field="files")
    names = [upload_name(f.filename, field=f"files[{i}]") for i, f in enumerate(files)]
    check_sizes([(name, len(f.data)) for name, f in zip(names, files, strict=True)], settings.limits)
    rows = [
        AttachmentRow(
            customer_id=incident.customer_id,
            incident_id=incident.id,
            message_id=None,
            sha256=blobs.put(f.data),
            size=len(f.data),
            filename=name,
            content_type=content_type(f.data),
            inline=False,
            original=False,
            uploaded_by=principal.email,
            uploaded_at=now,
        )
        for name, f in zip(names, files, strict=True)
    ]
    session.add_all(rows)
    session.flush()
    return rows


def take_uploads(
    session: Session, principal: Principal, incident: IncidentRow, ids: Sequence[int], limits: Limits
) -> list[AttachmentRow]:
    """The uploads a new message carries: the principal's own, on this incident, that
    no message carries yet — anything else is refused naming ``attachments[i]``,
    without saying whether such a file exists elsewhere."""
    if not ids:
        return []
    rows = {
        row.id: row
        for row in session.scalars(
            select(AttachmentRow)
            .where(
                AttachmentRow.id.in_(set(ids)),
                AttachmentRow.incident_id == incident.id,
                AttachmentRow.customer_id == incident.customer_id,
                AttachmentRow.message_id.is_(None),
                AttachmentRow.uploaded_by == principal.email,
            )
            .with_for_update()
        )
    }
    seen: set[int] = set()
    for i, attachment_id in enumerate(ids):
        if attachment_id not in rows:
            raise InvalidInput(
                f"no file {attachment_id} uploaded by you to this incident and not yet sent", field=f"attachments[{i}]"
            )
        if attachment_id in seen:
            raise InvalidInput(f"file {attachment_id} is given twice", field=f"attachments[{i}]")
        seen.add(attachment_id)
    taken = [rows[i] for i in ids]
    total = sum(row.size for row in taken)
    if total > limits.message_bytes:
        raise TooLarge(
            f"these files make {total / MB:.1f} MB: a message carries at most {limits.message_bytes // MB} MB",
            field="attachments",
        )
    return taken


def may_see(principal: Principal, attachment: AttachmentRow, message: MessageRow | None) -> bool:
    """Whether ``principal`` (already within the incident's tenant) sees the file."""
    if message is None:
        return attachment.uploaded_by == principal.email
    return message.visibility == Visibility.PUBLIC.value or principal.role.is_provider


def visible_attachments(
    session: Session, principal: Principal, incident: IncidentRow
) -> list[tuple[AttachmentRow, MessageRow | None]]:
    """The incident's files ``principal`` sees, oldest first, each with its message."""
    found = session.execute(
        select(AttachmentRow, MessageRow)
        .outerjoin(MessageRow, MessageRow.id == AttachmentRow.message_id)
        .where(AttachmentRow.incident_id == incident.id, AttachmentRow.customer_id == incident.customer_id)
        .order_by(AttachmentRow.uploaded_at, AttachmentRow.id)
    ).all()
    return [(a, m) for a, m in found if may_see(principal, a, m)]


def attachment_to_download(
    session: Session, principal: Principal, incident_id: int, attachment_id: int
) -> AttachmentRow:
    """One file ``principal`` sees, or NotFound (another tenant's, an internal note's
    for a customer, someone else's upload, or none)."""
    incident = get_incident(session, principal, incident_id)
    found = session.execute(
        select(AttachmentRow, MessageRow)
        .outerjoin(MessageRow, MessageRow.id == AttachmentRow.message_id)
        .where(
            AttachmentRow.id == attachment_id,
            AttachmentRow.incident_id == incident.id,
            AttachmentRow.customer_id == incident.customer_id,
        )
    ).first()
    if found is None or not may_see(principal, found[0], found[1]):
        raise NotFound(f"no attachment {attachment_id} on incident {incident_id}", field="attachment_id")
    return found[0]


def sweep_uploads(session: Session, blobs: BlobStore, *, now: datetime, kept: timedelta = PENDING_KEPT) -> int:
    """Forget the uploads no message carried within ``kept`` (a day) and delete their
    blobs when nothing else references them; returns how many uploads were forgotten.
    Cheap when there is nothing to do (one indexed query): the worker runs it every pass."""
    stale = session.execute(
        select(AttachmentRow.id, AttachmentRow.sha256).where(
            AttachmentRow.message_id.is_(None), AttachmentRow.uploaded_at < now - kept
        )
    ).all()
    if not stale:
        return 0
    session.execute(delete(AttachmentRow).where(AttachmentRow.id.in_([row.id for row in stale])))
    digests = {row.sha256 for row in stale}
    still = set(session.scalars(select(AttachmentRow.sha256).where(AttachmentRow.sha256.in_(digests))))
    for digest in digests - still:
        blobs.path(digest).unlink(missing_ok=True)
    return len(stale)


def sweep_blobs(session: Session, blobs: BlobStore, *, kept: timedelta = PENDING_KEPT) -> int:
    """Delete the blobs no row references and nobody wrote within ``kept`` — a failed
    transaction's, a crash's temporary files; returns how many blobs went. It reads
    the whole folder: the worker runs it hourly."""
    referenced = set(session.scalars(select(AttachmentRow.sha256).distinct()))
    return blobs.remove_unreferenced(referenced, older_than_seconds=kept.total_seconds())
