"""Dates, days and durations in words, in French and in English, for the mail
templates. Deliberately tiny (no Babel): two languages, day and month names, one
sentence pattern each.

    >>> format_datetime("2026-11-30T09:15:00+00:00", "Europe/Paris", "fr")
    'lundi 30 novembre 2026 à 10:15 (Europe/Paris)'
    >>> format_datetime("2026-11-30T09:15:00+00:00", "Europe/Paris", "en")
    'Monday 30 November 2026 at 10:15 (Europe/Paris)'
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from unisupport.errors import InvalidInput

LANGUAGES = ("en", "fr")
DEFAULT_LANGUAGE = "en"

DAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
}
MONTHS = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
}


def mail_language(code: str | None) -> str:
    """The language a recipient is written to: French for ``fr`` (``fr-CA``,
    ``FR``…), English for anything else, English being the fallback of every plan
    (R-SLA-3)."""
    return "fr" if code and code.strip().lower()[:2] == "fr" else DEFAULT_LANGUAGE


def _check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise InvalidInput(f"no wording in {language!r} (expected one of {', '.join(LANGUAGES)})", field="language")
    return language


def format_day(value: str | date, language: str) -> str:
    """``lundi 30 novembre 2026`` / ``Monday 30 November 2026``; ``1er`` in French."""
    _check_language(language)
    day = value if isinstance(value, date) else _parse_date(value)
    number = "1er" if language == "fr" and day.day == 1 else str(day.day)
    return f"{DAYS[language][day.weekday()]} {number} {MONTHS[language][day.month - 1]} {day.year}"


def format_datetime(value: str | datetime, timezone: str, language: str) -> str:
    """An instant in the recipient site's zone, with the zone shown:
    ``lundi 30 novembre 2026 à 10:15 (Europe/Paris)`` /
    ``Monday 30 November 2026 at 10:15 (Europe/Paris)``. ``value`` is an ISO 8601
    string with a UTC offset (as payloads carry them) or an aware datetime."""
    _check_language(language)
    moment = value if isinstance(value, datetime) else _parse_instant(value)
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput(f"{moment.isoformat()} has no UTC offset", field="datetime")
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidInput(f"unknown time zone {timezone!r}", field="timezone") from None
    local = moment.astimezone(zone)
    at = "à" if language == "fr" else "at"
    return f"{format_day(local.date(), language)} {at} {local:%H:%M} ({timezone})"


def format_duration(minutes: float, language: str) -> str:
    """``2 hours 30 minutes`` / ``2 heures 30 minutes``; ``45 minutes``; ``1 hour``."""
    _check_language(language)
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or minutes < 0:
        raise InvalidInput(f"{minutes!r} is not a number of minutes", field="minutes")
    hours, rest = divmod(round(minutes), 60)
    hour = "hour" if language == "en" else "heure"
    parts = []
    if hours:
        parts.append(f"{hours} {hour}{_plural(hours, language)}")
    if rest or not hours:
        parts.append(f"{rest} minute{_plural(rest, language)}")
    return " ".join(parts)


def format_amount(value: str | float | Decimal, language: str) -> str:
    """``1,234.50`` / ``1 234,50`` (a narrow no-break space groups French
    thousands); whole amounts without decimals (``120``)."""
    _check_language(language)
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput(f"{value!r} is not an amount", field="amount") from None
    if not amount.is_finite():
        raise InvalidInput(f"{value!r} is not an amount", field="amount")
    exponent = amount.normalize().as_tuple().exponent
    places = 0 if isinstance(exponent, int) and exponent >= 0 else max(2, -int(exponent))
    text = f"{amount:,.{places}f}"
    if language == "fr":
        text = text.replace(",", "\u202f").replace(".", ",")
    return text


def _plural(count: int, language: str) -> str:
    # French keeps 0 and 1 singular ("0 minute"); English only 1.
    return "" if count == 1 or (count == 0 and language == "fr") else "s"


def _parse_instant(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{value!r} is not an ISO 8601 date and time", field="datetime") from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{value!r} has no UTC offset (such as 2026-11-30T10:15:00+01:00)", field="datetime")
    return moment


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{value!r} is not an ISO 8601 date", field="date") from None
