"""French and English for the web pages: the message catalog, which language a
request gets, and dates, numbers and money in that language's format (Babel).

The catalog is one YAML file per language (``web/messages/en.yaml``, ``fr.yaml``),
flat ``key: text`` pairs with ``{name}`` placeholders — simpler to review and to
hand to a translator than gettext's .po tooling, and checked at startup: both files
hold exactly the same keys with the same placeholders, or the application refuses
to start.

A request's language is the signed-in user's saved preference (``users.language``);
for a visitor, the choice made with the switch, else the first of French or English
in the browser's ``Accept-Language``, else English. Formats follow the browser's
region when it asks for one of the same language (``en-US``, ``fr-CA``), else
``en_GB`` and ``fr_FR``."""

from __future__ import annotations

import datetime as dt
import re
import string
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal, format_percent

from unisupport.errors import DataFileError

LANGUAGES = ("en", "fr")
DEFAULT_LANGUAGE = "en"
DEFAULT_LOCALES = {"en": "en_GB", "fr": "fr_FR"}
MESSAGES = Path(__file__).with_name("messages")
_TAG = re.compile(r"^[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*$")


class Catalog:
    """Every message in every language, checked complete and consistent."""

    def __init__(self, messages: dict[str, dict[str, str]]):
        self.messages = messages

    @classmethod
    def load(cls, folder: Path = MESSAGES) -> Catalog:
        messages = {}
        for language in LANGUAGES:
            path = folder / f"{language}.yaml"
            try:
                raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError) as exc:
                raise DataFileError(str(path), f"cannot read: {exc}") from None
            if not isinstance(raw, dict):
                raise DataFileError(str(path), "expected key: text pairs")
            for key, text in raw.items():
                if not isinstance(key, str) or not isinstance(text, str) or not text.strip():
                    raise DataFileError(str(path), "every message is a non-empty text", entry=str(key))
            messages[language] = raw
        catalog = cls(messages)
        problems = catalog.problems()
        if problems:
            raise DataFileError(str(folder), "; ".join(problems[:10]))
        return catalog

    def problems(self) -> list[str]:
        """Keys missing from a language, and placeholders that differ."""
        out = []
        keys = {lang: set(msgs) for lang, msgs in self.messages.items()}
        every = set().union(*keys.values())
        for lang in LANGUAGES:
            for key in sorted(every - keys[lang]):
                out.append(f"{lang}.yaml lacks {key!r}")
        for key in sorted(set.intersection(*keys.values())):
            fields = {lang: placeholders(self.messages[lang][key]) for lang in LANGUAGES}
            if len({frozenset(f) for f in fields.values()}) > 1:
                out.append(f"{key!r} has placeholders {', '.join(f'{k}: {sorted(v)}' for k, v in fields.items())}")
        return out

    def text(self, language: str, key: str, **values: object) -> str:
        template = self.messages[language][key]  # a missing key is a bug: KeyError
        return template.format(**values) if values else template

    def has(self, key: str) -> bool:
        return key in self.messages[DEFAULT_LANGUAGE]


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    return Catalog.load()


def accept_language(header: str | None) -> list[str]:
    """Language tags of an ``Accept-Language`` header, most wanted first."""
    ranked = []
    for i, part in enumerate((header or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag or tag == "*" or not _TAG.match(tag):
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, i, tag))
    return [tag for _, _, tag in sorted(ranked)]


def language_from_header(header: str | None) -> str | None:
    for tag in accept_language(header):
        primary = tag.replace("_", "-").split("-")[0].lower()
        if primary in LANGUAGES:
            return primary
    return None


def locale_for(language: str, header: str | None) -> Locale:
    """The formatting locale: the browser's region for ``language`` if Babel knows
    it, else the default region of the language."""
    for tag in accept_language(header):
        parts = tag.replace("_", "-").split("-")
        if parts[0].lower() == language and len(parts) > 1:
            try:
                return Locale.parse(f"{parts[0].lower()}_{parts[1].upper()}")
            except (UnknownLocaleError, ValueError):
                continue
    return Locale.parse(DEFAULT_LOCALES[language])


@dataclass(frozen=True)
class Formatter:
    """Words, dates, numbers and money for one request."""

    language: str
    locale: Locale
    catalog: Catalog

    def t(self, key: str, **values: object) -> str:
        return self.catalog.text(self.language, key, **values)

    def t_or(self, key: str, fallback: str, **values: object) -> str:
        """A message that may not exist (an event kind added later): the code otherwise."""
        return self.t(key, **values) if self.catalog.has(key) else fallback

    # --- dates and times: always with the zone they are shown in
    def local(self, moment: datetime, zone: str) -> datetime:
        return moment.astimezone(ZoneInfo(zone))

    def datetime(self, moment: datetime | None, zone: str, *, long: bool = False) -> str:
        """``30/11/2026 10:15 (Europe/Paris)``, or with ``long``:
        ``Monday, 30 November 2026 at 10:15 (Europe/Paris)``."""
        if moment is None:
            return "—"
        local = self.local(moment, zone)
        day = self._date(local.date(), "full" if long else "short")
        time = format_time(local, "short", locale=self.locale)
        return self.t("format.datetime_long" if long else "format.datetime_short", date=day, time=time, zone=zone)

    def date(self, day: dt.date | None, *, long: bool = False) -> str:
        if day is None:
            return "—"
        return self._date(day, "full" if long else "medium")

    def _date(self, day: dt.date, length: str) -> str:
        """Babel's date of that length; in French the first of the month is
        ``1er`` (« mardi 1er décembre 2026 », « 1er déc. 2026 »), as French writes it."""
        pattern = self.locale.date_formats[length].pattern
        if self.language == "fr" and day.day == 1:
            pattern = re.sub(r"(?<![d'])d(?!d)", "'1er'", pattern)
        return format_date(day, pattern, locale=self.locale)

    def month(self, day: dt.date, *, short: bool = False, year: bool = True) -> str:
        """``November 2026``; on a chart's axis ``Nov 2026`` (``nov. 2026``), or just
        ``Nov`` when the year is already shown by an earlier tick."""
        if short:
            return format_date(day, "LLL yyyy" if year else "LLL", locale=self.locale)
        return format_date(day, "LLLL yyyy" if year else "LLLL", locale=self.locale)

    def time(self, moment: dt.datetime, zone: str) -> str:
        return format_time(self.local(moment, zone), "short", locale=self.locale)

    def weekday(self, day: dt.date) -> str:
        return format_date(day, "EEEE", locale=self.locale)

    # --- numbers
    def number(self, value: Decimal | float | str | None) -> str:
        if value is None:
            return "—"
        return format_decimal(Decimal(str(value)), locale=self.locale)

    def money(self, value: Decimal | str, currency: str) -> str:
        return format_currency(Decimal(str(value)), currency, locale=self.locale)

    def percent(self, percent: int | Decimal) -> str:
        return format_percent(Decimal(percent) / 100, locale=self.locale)

    def amount(self, value: Decimal | str, unit: str) -> str:
        """A ledger amount in its unit: money for a currency code, else the number
        and the unit's name (``48 credits``, ``400 heures``)."""
        if re.fullmatch(r"[A-Z]{3}", unit or ""):
            return self.money(value, unit)
        return self.t("format.quantity", number=self.number(value), unit=self.unit(unit, Decimal(str(value))))

    def unit(self, unit: str, quantity: Decimal | int = 2) -> str:
        """The unit's name, singular or plural as the language counts ``quantity``
        (French: 0 and 1.5 are singular; English: only 1)."""
        form = "one" if self.locale.plural_form(abs(Decimal(quantity))) == "one" else "other"
        return self.t_or(f"unit.{unit}.{form}", unit)

    def minutes(self, minutes: float) -> str:
        hours, rest = divmod(round(minutes), 60)
        if hours and rest:
            return self.t("format.hours_minutes", hours=self.number(hours), minutes=rest)
        if hours:
            return self.t("format.hours", hours=self.number(hours))
        return self.t("format.minutes", minutes=rest)


def formatter(language: str, accept: str | None = None, catalog: Catalog | None = None) -> Formatter:
    return Formatter(language, locale_for(language, accept), catalog or default_catalog())
