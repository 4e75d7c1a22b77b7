"""One page request: one transaction, one signed-in user (or none), one language.

Views do ``with page(request) as p:`` and build a template context from services
with ``p.db``, ``p.principal`` and ``p.now``; a form's transaction commits when the
block ends (a page that is only shown reads in a read-only one), then :func:`render`
turns the context into HTML. Domain errors raised in a view
become an HTML error page with the status the API would give (404 for another
tenant's record, 403, 409 with the rule …) through :class:`WebRoute`.

Every form goes the same way (:func:`submit`): post, then redirect to the page that
shows the form, whatever came of it, with the outcome kept for that page
(``web.outcome``): a notice at the top when it was done; when it was refused, an
error summary at the top linking to the fields, each field's problem beside it and
what was typed still in the fields."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from pydantic import ValidationError
from sqlalchemy.orm import Session

from unisupport.access import Principal, Role
from unisupport.errors import Forbidden, InvalidInput, UnisupportError
from unisupport.inputs import check_text
from unisupport.refusal import Refused
from unisupport.services.users import active_principal, viewer_zone
from unisupport.web.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    Formatter,
    formatter,
    language_from_header,
)
from unisupport.web.outcome import (
    PARAMETER,
    Ask,
    SNAPSHOT_FIELD,
    Notice,
    Outcome,
    OutcomeView,
    Problem,
    address,
    keep,
    kept,
    names,
    problems_of,
    recall,
    snapshot_matches,
)
from unisupport.web.session import (
    COOKIE,
    CSRF_FIELD,
    SessionData,
    Signer,
    cookie_arguments,
    load_secret,
)

log = logging.getLogger("unisupport.web")
T = TypeVar("T")
R = TypeVar("R", bound=Response)
TEMPLATES = Path(__file__).with_name("templates")
MAX_FORM_BYTES = 64 * 1024

CUSTOMER_ROLES = (Role.SUPPORT_ADMINISTRATOR, Role.REACTIVE_CONTACT)
PROVIDER_ROLES = (Role.ADMIN, Role.ENGINEER, Role.INCIDENT_MANAGER, Role.CSAM)

_environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


class SignInRequired(UnisupportError):
    """No session, or the user may no longer act: go to the sign-in page."""

    status = 401
    kind = "sign-in-required"
    title = "Sign-in required"


class CsrfRefused(UnisupportError):
    """A form posted without this session's token (another site, or an expired page)."""

    status = 403
    kind = "csrf"
    title = "Forbidden"


def signer_of(request: Request) -> Signer:
    """The app's signer, built on first use (so that an app that serves only the API
    never creates a secret file)."""
    state = request.app.state
    if getattr(state, "web_signer", None) is None:
        state.web_signer = Signer(load_secret())
    return state.web_signer


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


@dataclass
class Page:
    request: Request
    db: Session
    viewer: Principal | None  # who is signed in: None only on the pages open to anyone (sign-in …)
    now: datetime
    web: SessionData
    fmt: Formatter
    signer: Signer
    zone: str = "UTC"  # the one zone this page shows times in: the viewer's (services.users.viewer_zone, D60)
    new_cookie: bool = False
    outcome: Outcome | None = None  # what the form sent before this page left for it

    @property
    def principal(self) -> Principal:
        """The signed-in user. :func:`page` lets no one without a session past unless
        the page is open to anyone (``anonymous=True``, which reads ``viewer``): there,
        asking for the principal of nobody is the sign-in redirect, never a None."""
        if self.viewer is None:
            raise SignInRequired("sign in first")
        return self.viewer

    @property
    def language(self) -> str:
        return self.fmt.language

    @property
    def csrf(self) -> str:
        return self.signer.csrf_token(self.web)

    def t(self, key: str, **values: object) -> str:
        return self.fmt.t(key, **values)

    def replace_session(self, web: SessionData) -> None:
        self.web = web
        self.new_cookie = True

    def outcome_values(self, form: str) -> dict[str, str]:
        """What was typed in ``form`` when it was sent last (refused, or to preview)."""
        if self.outcome is None or self.outcome.form != form:
            return {}
        out: dict[str, str] = {}
        for key, value in self.outcome.values:
            out.setdefault(key, value)
        return out

    def outcome_list(self, form: str, name: str) -> list[str]:
        """Every value of a many-valued field (a multiple select) of ``form`` sent last."""
        if self.outcome is None or self.outcome.form != form:
            return []
        return [v for k, v in self.outcome.values if k == name]

    def at(self, moment: datetime | str | None, *, long: bool = False) -> str:
        """An instant as this page shows every instant: in the viewer's zone
        (:attr:`zone`, stated on the page), ``long`` in a sentence. ISO strings (as
        views and payloads carry them) are read first."""
        if isinstance(moment, str):
            moment = datetime.fromisoformat(moment)
        return self.fmt.datetime(moment, self.zone, long=long)

    def today(self) -> date:
        """Today's date where the viewer is."""
        return self.fmt.local(self.now, self.zone).date()


@contextmanager
def page(
    request: Request, *, roles: Iterable[Role] | None = None, anonymous: bool = False, writes: bool = False
) -> Iterator[Page]:
    """Open the request's transaction and find who is asking (see the module).
    ``writes``: a GET that writes (the single sign-on callback) gets a transaction
    that commits."""
    state = request.app.state
    now = state.clock.now()
    signer = signer_of(request)
    web = signer.loads(request.cookies.get(COOKIE), now)
    new_cookie = web is None
    if web is None:
        web = signer.new(now)
    # A page that is only shown reads in a read-only transaction: on SQLite it does
    # not take the write lock, so dashboards never queue behind bookings.
    reading = request.method in ("GET", "HEAD") and not writes
    with state.database.reading() if reading else state.database.transaction() as db:
        principal = None
        if web.user_id is not None:
            principal = active_principal(
                db, web.user_id, signed_in_at=datetime.fromtimestamp(web.issued_at, UTC), session_id=web.nonce
            )
        if web.user_id is not None and principal is None:
            web, new_cookie = signer.new(now, language=web.language), True  # deactivated: signed out at once
        accept = request.headers.get("accept-language")
        if principal is not None:
            language = principal.language
        else:
            language = web.language or language_from_header(accept) or DEFAULT_LANGUAGE
        fmt = formatter(language if language in LANGUAGES else DEFAULT_LANGUAGE, accept)
        request.state.web_language = fmt.language
        if principal is None and not anonymous:
            raise SignInRequired("sign in first")
        if principal is not None and roles is not None and principal.role not in tuple(roles):
            raise Forbidden(f"{principal.role.with_article} may not see this page", field="role")
        zone = viewer_zone(db, principal) if principal is not None else "UTC"
        outcome = recall(db, signer, web, request.query_params.get(PARAMETER), now=now) if reading else None
        yield Page(
            request,
            db,
            principal,
            now,
            web,
            fmt,
            signer,
            zone=zone,
            new_cookie=new_cookie,
            outcome=outcome,
        )


def _finish(p: Page, response: R) -> R:
    if p.new_cookie:
        response.set_cookie(
            value=p.signer.dumps(p.web), **cookie_arguments(p.web, now=p.now, secure=is_https(p.request))
        )
    response.headers["Cache-Control"] = "no-store"
    return response


def render(p: Page, template: str, context: dict[str, Any], *, status: int = 200) -> HTMLResponse:
    html = _environment.get_template(template).render(_common(p) | context)
    return _finish(p, HTMLResponse(html, status_code=status))


def redirect(p: Page, url: str) -> Response:
    """After a successful POST: 303 to the page that shows the result (POST-redirect-GET)."""
    return _finish(p, RedirectResponse(url, status_code=303))


def _common(p: Page) -> dict[str, Any]:
    principal = p.viewer
    return {
        "t": p.fmt.t,
        "fmt": p.fmt,
        "lang": p.language,
        "csrf_field": CSRF_FIELD,
        "csrf": p.csrf,
        "me": principal,
        "is_provider": bool(principal and principal.role.is_provider),
        "is_customer": bool(principal and principal.role.is_customer),
        # Where the language switch comes back to: the page itself when it is a GET
        # (views showing a form's result pass their own).
        "path": p.request.url.path + (f"?{p.request.url.query}" if p.request.url.query else "")
        if p.request.method == "GET"
        else "/",
        "languages": LANGUAGES,
        "server_now": p.now.isoformat(),
        "zone": p.zone,
        "outcome": OutcomeView(p.outcome, p.fmt),
        "words": (lambda text: text) if principal and principal.role.is_provider else without_rule_ids,
    }


RULE_IDS = re.compile(r"\s*[(\[]R-[A-Z]+-\d+(?:\s*[,;/]\s*R-[A-Z]+-\d+)*[)\]]|\bR-[A-Z]+-\d+:?\s*")


def without_rule_ids(text: str | None) -> str | None:
    """A sentence as customers read it: words, without the rule ids written into it
    (``… en anglais (R-SLA-3)`` → ``… en anglais``); the rule stays on hover, where
    a badge would be (``macros.rule``). Provider users read the ids."""
    if not text:
        return text
    return re.sub(r"\(\s*\)", "", RULE_IDS.sub(" ", text)).replace("  ", " ").replace(" .", ".").strip()


def local_path(value: str | None, default: str = "/") -> str:
    """A redirect target that stays on this site (no ``//host`` or scheme)."""
    if (
        not value
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or "\n" in value
        or "\r" in value
    ):
        return default
    return value


# --------------------------------------------------------------------------- forms
class Form:
    """An ``application/x-www-form-urlencoded`` body (HTML forms without files).
    Parsed here because python-multipart, which Starlette needs for forms, is not a
    dependency of the project."""

    def __init__(self, pairs: list[tuple[str, str]]):
        self.pairs = pairs

    def get(self, name: str, default: str | None = None) -> str | None:
        for key, value in self.pairs:
            if key == name:
                value = value.strip()
                return value if value else default
        return default

    def getlist(self, name: str) -> list[str]:
        return [v for k, v in self.pairs if k == name]

    def whole_number(self, name: str) -> int | None:
        """The field as a whole number; None when it is empty or not one."""
        value = self.get(name) or ""
        return int(value) if value.isdigit() else None

    def flag(self, name: str) -> bool:
        return self.get(name) in ("on", "true", "1", "yes")

    def values(self, *names: str) -> dict[str, str]:
        """The named fields that were filled in (for re-displaying a form)."""
        return {n: v for n in names if (v := self.get(n)) is not None}


async def csrf_form(request: Request) -> Form:
    """The posted form, after checking its CSRF token against the session cookie
    (a dependency of every POST route of the web pages)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise InvalidInput(f"a form is at most {MAX_FORM_BYTES // 1024} KB", field="form")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    pairs: list[tuple[str, str]] = []
    if content_type == "application/x-www-form-urlencoded":  # anything else carries no token: refused below
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=200)
        except (UnicodeDecodeError, ValueError):
            raise InvalidInput("the form cannot be read", field="form") from None
    form = Form(pairs)
    require_csrf(request, form.get(CSRF_FIELD))
    for name, value in pairs:  # as every request model does (unisupport.inputs)
        check_text(value, field=name)
    return form


def require_csrf(request: Request, token: str | None) -> None:
    """Refuse a form whose CSRF token is not this session's (403)."""
    signer = signer_of(request)
    session = signer.loads(request.cookies.get(COOKIE), request.app.state.clock.now())
    if not signer.csrf_ok(session, token):
        raise CsrfRefused("this form is not from this session: reload the page and send it again", field=CSRF_FIELD)


def field_errors(exc: ValidationError) -> dict[str, str]:
    """Pydantic's errors by field name (the first one of each), for the form."""
    out: dict[str, str] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error.get("loc") else "form"
        out.setdefault(name, error.get("msg", "invalid"))
    return out


def attempt(
    p: Page, action: Callable[[], T], *, also: tuple[type[UnisupportError], ...] = ()
) -> tuple[T | None, UnisupportError | None]:
    """Run a change in a savepoint: a refusal (a rule, a malformed value, or one of
    ``also``) undoes only its own writes and comes back, with None, for the page to
    show next to the form that was sent; a form pydantic rejects is an InvalidInput."""
    refusals: tuple[type[UnisupportError], ...] = (Refused, InvalidInput, *also)
    try:
        with p.db.begin_nested():
            return action(), None
    except ValidationError as exc:
        return None, InvalidInput("; ".join(f"{k}: {v}" for k, v in field_errors(exc).items()), field="form")
    except refusals as exc:
        return None, exc


def run(
    p: Page,
    action: Callable[[], T],
    *,
    also: tuple[type[UnisupportError], ...] = (),
    aliases: dict[str, str] | None = None,
) -> tuple[T | None, list[Problem]]:
    """Run a change in a savepoint: a refusal (a rule, a malformed value, a form
    pydantic rejects, or one of ``also``) undoes only its own writes and comes back
    as its problems, each naming its form field (``aliases``: model field → form field)."""
    refusals: tuple[type[Exception], ...] = (ValidationError, Refused, InvalidInput, *also)
    try:
        with p.db.begin_nested():
            return action(), []
    except refusals as exc:
        return None, problems_of(exc, aliases)


def go(p: Page, url: str, outcome: Outcome) -> Response:
    """Keep ``outcome`` for the page at ``url`` and send the browser there (303)."""
    return redirect(p, address(url, keep(p.db, p.signer, p.web, outcome, now=p.now)))


def refuse(p: Page, form: Form, form_id: str, problems: list[Problem], *, back: str) -> Response:
    """Back to the form's page with its problems and what was typed."""
    return go(p, back, Outcome(form_id, problems=problems, values=kept(form.pairs), fields=names(form.pairs)))


def submit(
    p: Page,
    form: Form,
    form_id: str,
    action: Callable[[], T],
    *,
    back: str,
    done: Notice | Callable[[T], Notice],
    then: str | Callable[[T], str] | None = None,
    also: tuple[type[UnisupportError], ...] = (),
    aliases: dict[str, str] | None = None,
) -> Response:
    """The one way a form is answered: run ``action``; refused, back to ``back``
    (the page showing the form ``form_id``) with the problems and what was typed;
    done, on to ``then`` (default ``back``) with the notice ``done``."""
    result, problems = run(p, action, also=also, aliases=aliases)
    if problems:
        return refuse(p, form, form_id, problems, back=back)
    said = done(result) if callable(done) else done  # type: ignore[arg-type]
    target = then(result) if callable(then) else (then or back)  # type: ignore[arg-type]
    return go(p, target, Outcome(form_id, done=said))


CONFIRMED_FIELD = "confirmed"


def asked(
    p: Page, form: Form, form_id: str, question: Notice, consequences: list[Notice], *, action: str, back: str
) -> Response | None:
    """The confirm step of an action that cannot be undone (deactivating a user,
    marking a milestone done …): unless the form says it was confirmed, the browser
    is sent to ``/confirm``, a page saying what the action does and what follows,
    whose button sends the same values again, confirmed; None once confirmed."""
    if form.get(CONFIRMED_FIELD) == "yes":
        return None
    ask = Ask(question, consequences, action, back)
    return go(p, "/confirm", Outcome(form_id, values=kept(form.pairs), fields=names(form.pairs), ask=ask))


def previewed(pairs: list[tuple[str, str]], fields: tuple[str, ...]) -> list[tuple[str, str]]:
    """The values a preview is about: the ``fields`` filled in, as :class:`Form` reads them."""
    return sorted((k, v.strip()) for k, v in pairs if k in fields and v.strip())


def preview(
    p: Page,
    form: Form,
    form_id: str,
    check: Callable[[], object],
    *,
    back: str,
    said: Notice | None = None,
    aliases: dict[str, str] | None = None,
) -> Response:
    """The first half of preview-then-confirm: ``check()`` the form (a refusal comes
    back as with :func:`submit`), then back to the form's page, which shows what the
    values would do (computed there, in the viewer's language, with the form still
    filled in) and a confirm button carrying their :func:`snapshot`."""
    _, problems = run(p, check, aliases=aliases)
    if problems:
        return refuse(p, form, form_id, problems, back=back)
    return go(p, back, Outcome(form_id, done=said, values=kept(form.pairs), fields=names(form.pairs), preview=True))


def snapshot(p: Page, form_id: str, fields: tuple[str, ...]) -> str | None:
    """The signature of the values this page previews (None: it previews nothing)."""
    if p.outcome is None or not p.outcome.preview or p.outcome.form != form_id or p.outcome.problems:
        return None
    return p.signer.snapshot(p.web, form_id, previewed(p.outcome.values, fields))


def confirmed(p: Page, form: Form, form_id: str, fields: tuple[str, ...]) -> bool:
    """Whether a confirmation carries exactly the values its preview showed; if not
    (the form was edited after the preview), it is previewed again, never carried out."""
    return snapshot_matches(p.signer, p.web, form_id, previewed(form.pairs, fields), form.get(SNAPSHOT_FIELD))


# --------------------------------------------------------------------------- errors
def status_of(exc: UnisupportError) -> int:
    """The status of a domain error: its class's, as on the API (``errors.py``)."""
    return exc.status


def error_page(request: Request, status: int, message: str | None = None, rule: str | None = None) -> HTMLResponse:
    """An error in the visitor's language, without touching the database (it may be
    what failed)."""
    state = request.app.state
    signer = signer_of(request)
    web = signer.loads(request.cookies.get(COOKIE), state.clock.now())
    language = getattr(request.state, "web_language", None)
    if language is None:
        language = (
            (web.language if web else None)
            or language_from_header(request.headers.get("accept-language"))
            or DEFAULT_LANGUAGE
        )
    fmt = formatter(language, request.headers.get("accept-language"))
    context = {
        "t": fmt.t,
        "fmt": fmt,
        "lang": fmt.language,
        "me": None,
        "is_provider": False,
        "is_customer": False,
        "status": status,
        "message": message,
        "rule": rule,
        "csrf_field": CSRF_FIELD,
        "csrf": signer.csrf_token(web) if web else "",
        "path": request.url.path,
        "languages": LANGUAGES,
        "server_now": state.clock.now().isoformat(),
        "zone": "UTC",
        "outcome": OutcomeView(None, fmt),
        "words": without_rule_ids,
    }
    html = _environment.get_template("error.html").render(context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


class WebRoute(APIRoute):
    """Routes of the web pages: domain errors become HTML pages, a missing session a
    redirect to the sign-in page."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                if request.method != "GET":
                    target = "/"
                return RedirectResponse(f"/sign-in?next={quote(target, safe='/')}", status_code=303)
            except UnisupportError as exc:
                status = status_of(exc)
                # Another tenant's record is reported exactly like a missing one.
                message = None if status == 404 else exc.message
                return error_page(request, status, message, exc.rule)

        return route
