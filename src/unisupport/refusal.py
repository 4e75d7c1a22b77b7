"""A business rule refused a well-formed request.

Kept apart from :class:`~unisupport.errors.InvalidInput` (malformed or unknown
values, HTTP 422) because a refusal is a conflict with the contract's rules (HTTP
409): the request made sense, the rules say no, and the rule id says which one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from unisupport.errors import UnisupportError


class Refused(UnisupportError):
    """A business rule refused (the adapters' 409). Always names the rule."""

    status = 409

    def __init__(
        self,
        message: str,
        *,
        rule: str,
        field: str | None = None,
        details: Mapping[str, Any] | None = None,
    ):
        if not rule:
            raise ValueError("a refusal must name the rule that refused")
        super().__init__(message, field=field, rule=rule)
        # Facts behind the refusal (dates in conflict, limits …) for problem JSON.
        self.details: dict[str, Any] = dict(details or {})
