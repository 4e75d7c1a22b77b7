"""What came of a form, kept for the page the browser is sent to next (post,
redirect, get: ``page.submit``).

An :class:`Outcome` is either a notice that the action was done, or a refusal: its
problems (each naming the field it is about, when it is about one, and the rule that
refused, when one did) and what was typed, so that nothing is lost; or the values a
preview shows before they are confirmed. It is kept as a row of
``web_form_outcomes`` for an hour, under a random id that the next page's address
carries (``?form=…``), readable only by the browser session that sent the form.
Passwords and tokens are never kept.

:class:`OutcomeView` is what the templates see: the notice and the problems in the
viewer's language, the values kept for each field of the form that was sent, and
the error summary that links to the fields (``templates/outcome.html``)."""

from __future__ import annotations

import dataclasses
import hmac
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import ValidationError
from sqlalchemy import delete
from sqlalchemy.orm import Session

from unisupport.errors import UnisupportError
from unisupport.storage.tables import FormOutcomeRow
from unisupport.web.i18n import Formatter
from unisupport.web.session import CSRF_FIELD, SessionData, Signer

PARAMETER = "form"  # /admin/teams?form=…
LIFETIME = timedelta(hours=1)
SNAPSHOT_FIELD = "snapshot"
NEVER_KEPT = frozenset({CSRF_FIELD, SNAPSHOT_FIELD, "password"})
# Pydantic's error types that have words of their own in the catalog
# (``validation.<type>``); others are said with ``validation.invalid``, except a
# validator's own sentence (``value_error``), which is kept.
VALIDATION_TYPES = frozenset(
    {
        "missing",
        "string_too_short",
        "string_too_long",
        "string_pattern_mismatch",
        "enum",
        "literal_error",
        "int_parsing",
        "float_parsing",
        "decimal_parsing",
        "date_parsing",
        "date_from_datetime_parsing",
        "datetime_parsing",
        "datetime_from_date_parsing",
        "time_parsing",
        "timezone_aware",
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "decimal_max_places",
        "bool_parsing",
        "extra_forbidden",
    }
)


@dataclass(frozen=True)
class Notice:
    """A sentence of the catalog (``key``) with its placeholders."""

    key: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)


def notice(key: str, **params: Any) -> Notice:
    return Notice(key, {k: v if isinstance(v, int | float) else str(v) for k, v in params.items()})


@dataclass(frozen=True)
class Problem:
    """Why a form was refused: ``text`` in English (a service's or a validator's
    words), said in the viewer's language with ``key`` when the catalog has it, or
    ``text_fr`` when the service gave its own French."""

    text: str
    field: str | None = None  # the form field it is about; None: the form as a whole
    rule: str | None = None
    key: str | None = None
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    text_fr: str | None = None


@dataclass(frozen=True)
class Ask:
    """An action that cannot be undone, asked again on a page of its own before it
    is carried out (``/confirm``): what it does, and what follows from it."""

    question: Notice
    consequences: list[Notice]
    action: str  # where the confirmation posts the same values again
    back: str  # where "keep things as they are" goes


@dataclass
class Outcome:
    form: str  # the id of the form on its page
    done: Notice | None = None
    problems: list[Problem] = dataclasses.field(default_factory=list)
    values: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    fields: list[str] = dataclasses.field(default_factory=list)  # the names the form sent
    preview: bool = False  # the values are to be previewed, then confirmed
    ask: Ask | None = None  # the values are to be confirmed on /confirm

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Outcome:
        done, ask = data.get("done"), data.get("ask")
        return cls(
            form=str(data["form"]),
            done=_notice(done) if done else None,
            problems=[Problem(**p) for p in data.get("problems") or []],
            values=[(str(k), str(v)) for k, v in data.get("values") or []],
            fields=[str(f) for f in data.get("fields") or []],
            preview=bool(data.get("preview")),
            ask=Ask(
                _notice(ask["question"]),
                [_notice(c) for c in ask["consequences"]],
                str(ask["action"]),
                str(ask["back"]),
            )
            if ask
            else None,
        )


def _notice(data: dict[str, Any]) -> Notice:
    return Notice(str(data["key"]), dict(data.get("params") or {}))


def kept(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """What of a posted form is kept: everything but secrets."""
    return [(k, v) for k, v in pairs if k not in NEVER_KEPT and "password" not in k]


def names(pairs: list[tuple[str, str]]) -> list[str]:
    return list(dict.fromkeys(k for k, _ in pairs if k != CSRF_FIELD))


# --------------------------------------------------------------------------- problems
def _top(path: str | None) -> str | None:
    """``lines[2].site`` → ``lines``: the form field a path starts with."""
    if not path:
        return None
    return path.split("[", 1)[0].split(".", 1)[0] or None


def problems_of(exc: Exception, aliases: dict[str, str] | None = None) -> list[Problem]:
    """The problems of a refusal: one per field for a form pydantic rejected (its
    first error), else the service's message with its field and rule."""
    aliases = aliases or {}

    def name(path: object) -> str | None:
        top = _top(str(path)) if path is not None else None
        return aliases.get(top, top) if top else None

    if isinstance(exc, ValidationError):
        out: dict[str | None, Problem] = {}
        for error in exc.errors():
            loc = error.get("loc") or ()
            kind = str(error.get("type", ""))
            params = {k: str(v) for k, v in (error.get("ctx") or {}).items() if isinstance(v, str | int | float)}
            text = str(error.get("msg", "invalid")).removeprefix("Value error, ")
            key = f"validation.{kind}" if kind in VALIDATION_TYPES else None
            if key is None and kind != "value_error":
                key = "validation.invalid"
            out.setdefault(
                name(loc[0]) if loc else None, Problem(text, name(loc[0]) if loc else None, key=key, params=params)
            )
        return list(out.values())
    if isinstance(exc, UnisupportError):
        details = getattr(exc, "details", None) or {}
        french = details.get("reason_fr") if isinstance(details.get("reason_fr"), str) else None
        return [Problem(exc.message, name(exc.field), rule=exc.rule, text_fr=french)]
    raise TypeError(f"not a refusal: {exc!r}")


# --------------------------------------------------------------------------- keeping
def keep(db: Session, signer: Signer, web: SessionData, outcome: Outcome, *, now: datetime) -> str:
    """Store ``outcome`` for this session; its id, for the next page's address.
    Outcomes older than :data:`LIFETIME` go at the same time."""
    db.execute(delete(FormOutcomeRow).where(FormOutcomeRow.created_at < now - LIFETIME))
    ident = secrets.token_urlsafe(16)
    db.add(FormOutcomeRow(id=ident, owner=signer.form_owner(web), created_at=now, body=outcome.to_dict()))
    db.flush()
    return ident


def recall(db: Session, signer: Signer, web: SessionData, ident: str | None, *, now: datetime) -> Outcome | None:
    """The outcome ``ident`` names, if this session kept it in the last hour."""
    if not ident or len(ident) > 32:
        return None
    row = db.get(FormOutcomeRow, ident)
    if row is None or not hmac.compare_digest(row.owner, signer.form_owner(web)):
        return None
    if abs(now - row.created_at) > LIFETIME:
        return None
    try:
        return Outcome.from_dict(row.body)
    except (KeyError, TypeError, ValueError):
        return None


def address(url: str, ident: str) -> str:
    """``url`` with ``?form=ident`` (replacing an earlier one)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != PARAMETER]
    query.append((PARAMETER, ident))
    return urlunsplit(("", "", parts.path, urlencode(query), parts.fragment))


def snapshot_matches(
    signer: Signer, web: SessionData, form: str, values: list[tuple[str, str]], given: str | None
) -> bool:
    """Whether a confirmation carries exactly the values its preview showed."""
    return bool(given) and hmac.compare_digest(signer.snapshot(web, form, values), given or "")


# --------------------------------------------------------------------------- showing
class OutcomeView:
    """An outcome as a page shows it, in the viewer's language. Templates call it
    for every field (``macros.label`` records each field's input and label, so that
    the error summary, rendered once the page is, links to them)."""

    def __init__(self, outcome: Outcome | None, fmt: Formatter):
        self.outcome = outcome
        self.fmt = fmt
        self._labels: dict[str, tuple[str, str]] = {}  # field: (input id, label)

    # --- what there is to show at the top of the page
    @property
    def refused(self) -> bool:
        return self.outcome is not None and bool(self.outcome.problems)

    @property
    def notice(self) -> str | None:
        done = self.outcome.done if self.outcome is not None else None
        return self.fmt.t(done.key, **done.params) if done is not None else None

    @property
    def preview(self) -> bool:
        return self.outcome is not None and self.outcome.preview and not self.outcome.problems

    def is_for(self, form: str) -> bool:
        return self.outcome is not None and self.outcome.form == form

    # --- what was typed
    def _kept(self, form: str) -> list[tuple[str, str]] | None:
        return self.outcome.values if self.is_for(form) and self.outcome is not None else None

    def value(self, form: str, name: str, default: str = "") -> str:
        for key, value in self._kept(form) or ():
            if key == name:
                return value
        return default

    def values(self, form: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in self._kept(form) or ():
            out.setdefault(key, value)
        return out

    def chosen(self, form: str, name: str, default: list[str] | None = None) -> list[str]:
        pairs = self._kept(form)
        return [v for k, v in pairs if k == name] if pairs is not None else list(default or [])

    def checked(self, form: str, name: str, default: bool = False) -> bool:
        pairs = self._kept(form)
        return any(k == name for k, _ in pairs) if pairs is not None else default

    # --- problems
    def _say(self, problem: Problem) -> dict[str, Any]:
        if problem.key and self.fmt.catalog.has(problem.key):
            text, lang = self.fmt.t(problem.key, **problem.params), self.fmt.language
        elif self.fmt.language == "fr" and problem.text_fr:
            text, lang = problem.text_fr, "fr"
        else:
            text, lang = problem.text, "en"
        return {"text": text, "lang": lang, "rule": problem.rule, "field": problem.field}

    def _problems(self, form: str) -> list[Problem]:
        return list(self.outcome.problems) if self.is_for(form) and self.outcome is not None else []

    def error(self, form: str, name: str) -> dict[str, Any] | None:
        found = next((p for p in self._problems(form) if p.field == name), None)
        return self._say(found) if found is not None else None

    def label(self, form: str, name: str, input_id: str, text: str) -> str:
        """Record that ``name`` of ``form`` is the field ``input_id`` labelled
        ``text`` (for the summary); writes nothing."""
        if self.is_for(form):
            self._labels.setdefault(name, (input_id, text))
        return ""

    def loose(self, form: str) -> list[dict[str, Any]]:
        """The problems of ``form`` not shown beside a field of it: said next to
        the form's button."""
        return [self._say(p) for p in self._problems(form) if p.field not in self._labels]

    def summary(self) -> list[dict[str, Any]]:
        """Every problem, linking to its field (or to the form)."""
        if self.outcome is None:
            return []
        out = []
        for problem in self.outcome.problems:
            said = self._say(problem)
            input_id, label = self._labels.get(problem.field or "", (None, None))
            out.append(said | {"href": f"#{input_id or self.outcome.form}", "label": label})
        return out
