"""Remote-access authorisations on incidents and the sessions engineers log under them (R-RA-1)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from unisupport.storage.base import Base, Document, UTCDateTime


class RemoteAccessRow(Base):
    """The customer's authorisation of a remote connection: who, which systems, which tool
    (approved, or not and then the customer's acknowledgement of responsibility), from when until when."""

    __tablename__ = "remote_access_authorisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    authorised_by: Mapped[str] = mapped_column(String(254))
    authorised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    systems: Mapped[list] = mapped_column(Document)  # names, as the customer wrote them
    tool: Mapped[str] = mapped_column(String(120))  # an approved tool's code, or the other tool's name
    tool_approved: Mapped[bool] = mapped_column(Boolean)
    data_responsibility_acknowledged: Mapped[bool] = mapped_column(Boolean)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_by: Mapped[str | None] = mapped_column(String(254))


class RemoteSessionRow(Base):
    """One remote session an engineer logged under an authorisation."""

    __tablename__ = "remote_access_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    authorisation_id: Mapped[int] = mapped_column(ForeignKey("remote_access_authorisations.id"), index=True)
    system: Mapped[str] = mapped_column(String(200))
    engineer: Mapped[str] = mapped_column(String(254))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_by: Mapped[str | None] = mapped_column(String(254))
    end_reason: Mapped[str | None] = mapped_column(String(32))  # ended, withdrawn
