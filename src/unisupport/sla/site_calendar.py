"""The business calendar of a support site (R-SEV-4), built from what the site
record holds: its country, time zone and calendar overrides."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any, Protocol

from unisupport.sla.calendar import Calendar
from unisupport.sla.calendar_file import calendar_from_spec


class Site(Protocol):
    """What a site record gives (``storage.tables.SiteRow``)."""

    @property
    def country(self) -> str: ...

    @property
    def timezone(self) -> str: ...

    @property
    def calendar(self) -> Mapping[str, Any] | None: ...


# Calendars cache their expansion lazily and are not shared between threads: each
# thread keeps its own, keyed by the site's calendar definition (so an edited site
# gets a new one). Building one costs a holiday table; reusing it costs nothing.
_calendars = threading.local()
_CACHED_CALENDARS = 256


def site_calendar(site: Site) -> Calendar:
    """The business calendar of a support site: its country's default week, with the
    site's overrides (R-SEV-4)."""
    overrides = {k: v for k, v in (site.calendar or {}).items() if v not in (None, [], {})}
    key = (site.country, site.timezone, json.dumps(overrides, sort_keys=True, default=str))
    cache: dict = _calendars.__dict__.setdefault("by_key", {})
    calendar = cache.get(key)
    if calendar is None:
        calendar = calendar_from_spec(
            {"country": site.country, "timezone": site.timezone, **overrides}, field="site.calendar"
        )
        if len(cache) >= _CACHED_CALENDARS:
            cache.clear()
        cache[key] = calendar
    return calendar
