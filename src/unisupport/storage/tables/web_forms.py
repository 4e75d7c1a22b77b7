"""What a form of the web pages left for the page it redirects to (post, redirect,
get: ``unisupport.web.forms``): the notice of a done action, or a refusal with the
fields it names and what was typed. Kept an hour, readable only by the browser
session that sent the form (``owner``, an HMAC of the session's nonce)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from unisupport.storage.base import Base, Document, UTCDateTime


class FormOutcomeRow(Base):
    __tablename__ = "web_form_outcomes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random, in the page's URL (?form=…)
    owner: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    body: Mapped[dict] = mapped_column(Document)
