"""Domain errors. Each one can name the rule (docs/rules.md id) that refused and the
field (a path such as ``lines[2].site``) that was wrong, so every adapter (CLI,
API, web) renders the same facts in its own way."""

from __future__ import annotations


class UnisupportError(Exception):
    """Base of every error the domain raises on purpose."""

    def __init__(self, message: str, *, field: str | None = None, rule: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.rule = rule

    def __str__(self) -> str:
        parts = []
        if self.field:
            parts.append(f"{self.field}: ")
        parts.append(self.message)
        if self.rule:
            parts.append(f" [{self.rule}]")
        return "".join(parts)


class InvalidInput(UnisupportError):
    """A value given by a caller is malformed or unknown (the adapters' 422 / exit 2)."""


class DataFileError(UnisupportError):
    """An operator-edited data file (catalog, products, matrices, calendars, rates)
    is unreadable or invalid. The message names the file, the entry and the field."""

    def __init__(self, path: str, message: str, *, entry: str | None = None, field: str | None = None):
        self.path = path
        self.entry = entry
        where = path
        if entry is not None:
            where += f": entry {entry!r}"
        if field:
            where += f": field {field!r}"
        super().__init__(f"{where}: {message}", field=field)

    def __str__(self) -> str:
        return self.message


class NotFound(UnisupportError):
    """No such record for this caller (the adapters' 404 — also for another
    tenant's records, which must look exactly like missing ones)."""
