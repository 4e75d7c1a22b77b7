"""The periodic satisfaction survey per order (R-CSAT-1): every
``UNISUPPORT_SURVEY_INTERVAL_DAYS`` days of an active order's term (none until the
operator sets it), its first support administrator is asked once about the period just
ended. Run by the worker after the SLA watcher, in its own transaction; a period's
survey is made once whatever the number of runs or workers (``surveys`` is unique
on the order and the period)."""

from __future__ import annotations

import os
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from unisupport.errors import InvalidInput
from unisupport.orders.order_file import OrderStatus
from unisupport.services.surveys import periodic
from unisupport.storage.tables import OrderRow, SurveyRow

INTERVAL = "UNISUPPORT_SURVEY_INTERVAL_DAYS"
DEFAULT_INTERVAL_DAYS = 0  # off until the operator sets it (docs/decisions.md D117)


def interval_days(env: dict[str, str] | None = None) -> int:
    """The operator's interval, in days (0: no periodic survey)."""
    raw = (dict(os.environ if env is None else env).get(INTERVAL) or str(DEFAULT_INTERVAL_DAYS)).strip()
    if not raw.isdigit() or int(raw) > 3660:
        raise InvalidInput(f"{raw!r} is not a number of days between 0 and 3660", field=INTERVAL)
    return int(raw)


def sweep(session: Session, *, now: datetime, interval: int | None = None) -> int:
    """Make (and queue) the periodic surveys now due; returns how many were made."""
    days = interval_days() if interval is None else interval
    if days <= 0:
        return 0
    today = now.date()
    orders = session.scalars(
        select(OrderRow).where(
            OrderRow.status == OrderStatus.ACTIVE.value, OrderRow.term_start <= today, OrderRow.term_end >= today
        )
    ).all()
    made = 0
    for order in orders:
        period = (today - order.term_start).days // days  # periods ended so far
        if period < 1:
            continue
        done = session.scalar(
            select(SurveyRow.id).where(
                SurveyRow.occasion == "order", SurveyRow.subject_id == order.id, SurveyRow.period == str(period)
            )
        )
        if done is None and periodic(session, order, period, now=now) is not None:
            made += 1
    return made
