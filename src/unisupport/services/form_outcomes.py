"""What a web form leaves for the page it redirects to (``web.outcome``): kept as a
document under a random id for an hour, readable only by the browser session that
sent the form (``owner``). Only storage here: what an outcome says is the pages'."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from unisupport.storage.tables import FormOutcomeRow

LIFETIME = timedelta(hours=1)


def keep(session: Session, owner: str, body: dict[str, Any], *, now: datetime) -> str:
    """Store ``body`` for ``owner``; its id. Outcomes older than :data:`LIFETIME`
    are deleted at the same time."""
    session.execute(delete(FormOutcomeRow).where(FormOutcomeRow.created_at < now - LIFETIME))
    ident = secrets.token_urlsafe(16)
    session.add(FormOutcomeRow(id=ident, owner=owner, created_at=now, body=body))
    session.flush()
    return ident


def recall(session: Session, owner: str, ident: str | None, *, now: datetime) -> dict[str, Any] | None:
    """The body ``ident`` names, if ``owner`` kept it in the last hour."""
    if not ident or len(ident) > 32:
        return None
    row = session.get(FormOutcomeRow, ident)
    if row is None or not hmac.compare_digest(row.owner, owner) or abs(now - row.created_at) > LIFETIME:
        return None
    return row.body
