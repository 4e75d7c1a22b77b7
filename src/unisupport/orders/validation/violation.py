"""One broken rule of an order file, and whether a list of them leaves the order valid."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Violation:
    """One broken rule: which (``rule``, an id of docs/rules.md), where (``path``, in the
    document's own keys and indexes) and what, in one sentence naming the values.
    A ``warning`` is reported but does not make the order invalid (R-FLEX-6)."""

    rule: str
    path: str
    message: str
    severity: Severity = "error"

    def to_dict(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "path": self.path,
            "message": self.message,
            "severity": self.severity,
        }

    def __str__(self) -> str:
        return f"{self.path or '(document)'}: {self.message} [{self.rule}]"


def is_valid(violations: Iterable[Violation]) -> bool:
    """Warnings never make an order invalid; any error does."""
    return not any(v.severity == "error" for v in violations)
