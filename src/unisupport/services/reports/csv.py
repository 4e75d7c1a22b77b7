"""CSV a spreadsheet opens correctly (docs/decisions.md D103): UTF-8 with a byte
order mark (so Excel reads the accents), one header row, dates in ISO 8601 and
decimal numbers written as the chosen locale writes them — ``en``: a dot and
fields separated by commas; ``fr``: a decimal comma and fields separated by
semicolons (what a French spreadsheet expects). Empty cells for values that do
not exist (a median of no incident)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from unisupport.errors import InvalidInput

LOCALES = {"en": (",", "."), "fr": (";", ",")}  # separator, decimal mark
BOM = "\ufeff"


def check_locale(locale: str) -> str:
    if locale not in LOCALES:
        raise InvalidInput(f"locale {locale!r}: choose en or fr", field="locale")
    return locale


def cell(value: Any, decimal_mark: str) -> str:
    """One value as the locale writes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f"{value:f}".replace(".", decimal_mark)
    if isinstance(value, float):
        return repr(value).replace(".", decimal_mark)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Any]], locale: str) -> bytes:
    """The file's bytes."""
    separator, mark = LOCALES[check_locale(locale)]
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, delimiter=separator, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(v, mark) for v in row])
    return out.getvalue().encode("utf-8")
