"""How violations word amounts, numbers and sentences."""

from __future__ import annotations

import re
from decimal import Decimal


def money(amount: Decimal, currency: str) -> str:
    return f"{currency} {amount:,.2f}"


def number(value: Decimal | int) -> str:
    return format(Decimal(value).normalize(), ",f")


def sentence(text: str) -> str:
    # Capitalise a leading plain word ("line 'x' …" -> "Line 'x' …") but never a
    # key or a code ("executed_on", "mcsap-plus"), which must stay as written.
    text = text.strip()
    if re.match(r"[a-z]+ ", text):
        text = text[0].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def plural(count: Decimal | int, noun: str) -> str:
    return f"{number(count)} {noun}{'' if count == 1 else 's'}"
