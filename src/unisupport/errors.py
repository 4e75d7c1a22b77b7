"""Domain errors: the one vocabulary every adapter renders (D42).

Each error can name the rule (an id of docs/rules.md) that refused and the field (a path such
as ``lines[2].site``) that was wrong, so every adapter (CLI, API, web) renders the
same facts in its own way. Each class also says, once, how the HTTP adapters answer
it: ``status`` (the code, the same on the API and the pages), ``kind`` (the API
problem's type) and ``title``. A subclass that adds nothing keeps its parent's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol


class UnisupportError(Exception):
    """Base of every error the domain raises on purpose."""

    status = 400
    kind = "bad-request"
    title = "Bad request"

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

    status = 422
    kind = "invalid-input"
    title = "Invalid input"


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

    status = 404
    kind = "not-found"
    title = "Not found"


class Forbidden(UnisupportError):
    """The caller's role may not do this within its own tenant (the adapters' 403)."""

    status = 403
    kind = "forbidden"
    title = "Forbidden"


class SignInRefused(UnisupportError):
    """Single sign-on did not lead to a user who may act (issue 11): a replayed
    state, an ID token that fails validation, an identity that is no designated
    contact (R-ORD-4) … ``reason`` is a short kind the pages explain and the audit
    event records (``services.users.sso``)."""

    status = 403
    kind = "sign-in-refused"
    title = "Sign-in refused"

    def __init__(self, reason: str, message: str, *, rule: str | None = None, email: str | None = None):
        super().__init__(message, field="sso", rule=rule)
        self.reason = reason
        self.email = email


class Refused(UnisupportError):
    """A business rule refused a well-formed request (the adapters' 409). Always
    names the rule.

    Kept apart from :class:`InvalidInput` (malformed or unknown values, 422)
    because a refusal is a conflict with the contract's rules: the request made
    sense, the rules say no, and the rule id says which one."""

    status = 409
    kind = "rule"
    title = "Refused by a rule"

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


class ChargeNotConfirmed(Refused):
    """The caller did not confirm a charge it was shown, or confirmed another one
    (409; ``ledger/charge.py`` says what to send back)."""

    kind = "charge-not-confirmed"
    title = "Confirm the amount first"


class TooLarge(InvalidInput):
    """A file or a message over its limit (413)."""

    status = 413
    kind = "too-large"
    title = "Content too large"


class StaleVersion(InvalidInput):
    """An update based on an old version of a record (412 on the API and the pages:
    someone else changed it; reload it)."""

    status = 412
    kind = "stale-version"
    title = "Precondition failed"


class RuleViolation(Protocol):
    """What :class:`OrderInvalid` reads of each violation
    (``orders.validation.Violation``)."""

    @property
    def rule(self) -> str: ...

    @property
    def path(self) -> str: ...

    @property
    def message(self) -> str: ...

    def to_dict(self) -> dict[str, str]: ...


class OrderInvalid(UnisupportError):
    """The order file breaks rules; every violation is listed."""

    status = 422
    kind = "invalid-order"
    title = "Invalid order"

    def __init__(self, violations: Sequence[RuleViolation]):
        self.violations = violations
        first = violations[0]
        more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
        super().__init__(f"{first.path}: {first.message}{more}", field=first.path, rule=first.rule)


class OrderFileUnreadable(UnisupportError):
    """The order file cannot be read or parsed as YAML (the CLI's exit 2). The
    message is one line naming the file, the problem and, when known, its line."""
