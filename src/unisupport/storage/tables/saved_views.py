"""A user's saved views: a named set of filters and a sort of the queue or of the
list of incidents, seen by that user only. The full-text search entries
(``incident_search``) are kept by the database's triggers (migration 0019) and
read with SQL of each dialect (``services.search``): they have no model here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from unisupport.storage.base import Base, Document, UTCDateTime


class SavedViewRow(Base):
    __tablename__ = "saved_views"
    __table_args__ = (UniqueConstraint("user_id", "page", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    page: Mapped[str] = mapped_column(String(16))  # queue, incidents
    name: Mapped[str] = mapped_column(String(80))
    filters: Mapped[dict] = mapped_column(Document)  # the page's query parameters, the sort among them
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


SEARCH_TABLE = "incident_search"


def described_by_models(name: str | None, type_: str, parent_names: object = None) -> bool:
    """For Alembic's comparisons (``include_name``): False for the search table, its
    indexes and SQLite's FTS5 shadow tables (``incident_search_data`` …), which the
    migration creates per dialect and no model describes."""
    return not (name or "").startswith(SEARCH_TABLE) and not (name or "").startswith("ix_" + SEARCH_TABLE)
