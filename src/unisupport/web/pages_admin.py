"""The administrator's pages: users (create with role, customer, contact, teams and
password; deactivate and reactivate; assign a CSAM its customers), teams and API
tokens (a new token is shown once, on the answer to the form, and never again).

Every check — a customer user is a designated contact of its customer with a
fitting role (R-ORD-4), a password's length, a provider user joins no customer —
is ``services.users``'s; a refusal comes back next to the form."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from unisupport.access import Role
from unisupport.errors import InvalidInput, NotFound, UnisupportError
from unisupport.services import users
from unisupport.services.customers import customers_in_scope
from unisupport.storage.tables import TeamRow
from unisupport.web.page import Form, Page, WebRoute, attempt, csrf_form, page, redirect, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)
FormData = Annotated[Form, Depends(csrf_form)]
ADMINS = (Role.ADMIN,)
USER_FIELDS = ("email", "name", "role", "customer", "contact", "language")


def _submit(p: Page, action, *, template: str, path: str, context, done: str) -> Response:
    """Run ``action``; on a refusal show ``template`` again, the message next to the
    form that was sent (``context(error)``), else go on to ``done``."""
    _, error = attempt(p, action, also=(NotFound,))
    if error is not None:
        return render(p, template, context(error) | {"path": path}, status=422)
    return redirect(p, done)


def _error(exc: UnisupportError | None, form: str | None) -> dict[str, Any]:
    return {
        "error": exc.message if exc else None,
        "error_rule": exc.rule if exc else None,
        "error_field": exc.field if exc else None,
        "error_form": form if exc else None,
    }


def _teams(p: Page) -> list[TeamRow]:
    return users.list_teams(p.db)


# --------------------------------------------------------------------------- users
def users_context(
    p: Page,
    *,
    values: dict[str, str] | None = None,
    chosen_teams: list[str] | None = None,
    exc: UnisupportError | None = None,
    form: str | None = None,
    done: str | None = None,
) -> dict[str, Any]:
    rows = [users.describe_user(p.db, u) for u in users.list_users(p.db)]
    customers = customers_in_scope(p.db, None)
    return {
        "users": rows,
        "roles": [(r.value, p.t(f"role.{r.value}")) for r in Role],
        "customers": [(c.code, c.name) for c in customers],
        "teams": [(t.code, t.name) for t in _teams(p)],
        "csams": [u["email"] for u in rows if u["role"] == Role.CSAM.value and u["active"]],
        "values": {"language": p.language, "role": Role.ENGINEER.value} | (values or {}),
        "chosen_teams": chosen_teams or [],
        "min_password": users.MIN_PASSWORD_LENGTH,
        "done": done,
    } | _error(exc, form)


@router.get("/admin/users")
def users_page(request: Request, done: str | None = None) -> Response:
    with page(request, roles=ADMINS) as p:
        context = users_context(p, done=done if done in ("created", "updated", "assigned", "sessions") else None)
    return render(p, "admin_users.html", context)


@router.post("/admin/users")
def create_user(request: Request, form: FormData) -> Response:
    values = form.values(*USER_FIELDS)
    teams = [t for t in form.getlist("teams") if t]
    with page(request, roles=ADMINS) as p:
        return _submit(
            p,
            lambda: users.create_user(
                p.db,
                email=form.get("email") or "",
                name=form.get("name") or "",
                role=form.get("role") or "",
                customer_code=form.get("customer"),
                contact_email=form.get("contact"),
                language=form.get("language") or "en",
                password=form.get("password"),
                teams=teams,
                actor=p.principal.email,
                now=p.now,
            ),
            template="admin_users.html",
            path="/admin/users",
            done="/admin/users?done=created#users",
            context=lambda error: users_context(p, values=values, chosen_teams=teams, exc=error, form="create"),
        )


@router.post("/admin/users/active")
def set_active(request: Request, form: FormData) -> Response:
    """Deactivate (the user is signed out at their next click) or reactivate."""
    with page(request, roles=ADMINS) as p:
        email = form.get("email") or ""
        if email == p.principal.email:
            raise InvalidInput("you cannot deactivate yourself", field="email")
        users.update_user(p.db, email=email, active=form.get("active") == "1", actor=p.principal.email, now=p.now)
        return redirect(p, "/admin/users?done=updated#users")


@router.post("/admin/users/sessions")
def end_sessions(request: Request, form: FormData) -> Response:
    """Sign a user out of every browser now, without deactivating them."""
    with page(request, roles=ADMINS) as p:
        return _submit(
            p,
            lambda: users.end_sessions(p.db, email=form.get("email") or "", actor=p.principal.email, now=p.now),
            template="admin_users.html",
            path="/admin/users",
            done="/admin/users?done=sessions#users",
            context=lambda error: users_context(p, exc=error, form="sessions"),
        )


@router.post("/admin/users/csam")
def assign_csam(request: Request, form: FormData) -> Response:
    with page(request, roles=ADMINS) as p:
        return _submit(
            p,
            lambda: users.assign_csam(
                p.db,
                email=form.get("email") or "",
                customer_code=form.get("customer") or "",
                actor=p.principal.email,
                now=p.now,
            ),
            template="admin_users.html",
            path="/admin/users",
            done="/admin/users?done=assigned#users",
            context=lambda error: users_context(p, exc=error, form="csam"),
        )


# --------------------------------------------------------------------------- teams
def teams_context(
    p: Page, *, values: dict[str, str] | None = None, exc: UnisupportError | None = None, form: str | None = None
) -> dict[str, Any]:
    everyone = [users.describe_user(p.db, u) for u in users.list_users(p.db)]
    members: dict[str, list[str]] = {}
    for u in everyone:
        for code in u["teams"]:
            members.setdefault(code, []).append(u["email"])
    return {
        "teams": [{"code": t.code, "name": t.name, "members": members.get(t.code, [])} for t in _teams(p)],
        "providers": [
            u["email"]
            for u in everyone
            if u["role"] in (Role.ENGINEER.value, Role.INCIDENT_MANAGER.value, Role.ADMIN.value) and u["active"]
        ],
        "values": values or {},
    } | _error(exc, form)


@router.get("/admin/teams")
def teams_page(request: Request) -> Response:
    with page(request, roles=ADMINS) as p:
        context = teams_context(p)
    return render(p, "admin_teams.html", context)


@router.post("/admin/teams")
def create_team(request: Request, form: FormData) -> Response:
    with page(request, roles=ADMINS) as p:
        return _submit(
            p,
            lambda: users.create_team(
                p.db, code=form.get("code") or "", name=form.get("name") or "", actor=p.principal.email, now=p.now
            ),
            template="admin_teams.html",
            path="/admin/teams",
            done="/admin/teams",
            context=lambda error: teams_context(p, values=form.values("code", "name"), exc=error, form="create"),
        )


@router.post("/admin/teams/members")
def add_member(request: Request, form: FormData) -> Response:
    with page(request, roles=ADMINS) as p:
        return _submit(
            p,
            lambda: users.add_to_team(
                p.db,
                email=form.get("email") or "",
                team_code=form.get("team") or "",
                actor=p.principal.email,
                now=p.now,
            ),
            template="admin_teams.html",
            path="/admin/teams",
            done="/admin/teams",
            context=lambda error: teams_context(p, exc=error, form="member"),
        )


# --------------------------------------------------------------------------- tokens
def tokens_context(
    p: Page,
    *,
    new_token: str | None = None,
    new_for: str | None = None,
    exc: UnisupportError | None = None,
    form: str | None = None,
) -> dict[str, Any]:
    rows = [
        {
            "prefix": t.prefix,
            "user": email,
            "label": t.label,
            "created": p.fmt.datetime(t.created_at, "UTC"),
            "used": p.fmt.datetime(t.last_used_at, "UTC") if t.last_used_at else None,
            "revoked": p.fmt.datetime(t.revoked_at, "UTC") if t.revoked_at else None,
        }
        for t, email in users.list_tokens(p.db)
    ]
    active = [u.email for u in users.list_users(p.db) if u.active]
    return {"tokens": rows, "people": active, "new_token": new_token, "new_for": new_for} | _error(exc, form)


@router.get("/admin/tokens")
def tokens_page(request: Request) -> Response:
    with page(request, roles=ADMINS) as p:
        context = tokens_context(p)
    return render(p, "admin_tokens.html", context)


@router.post("/admin/tokens")
def create_token(request: Request, form: FormData) -> Response:
    """Answered with the page itself, not a redirect: the plain token exists only
    in this response (stored hashed; ``Cache-Control: no-store``)."""
    with page(request, roles=ADMINS) as p:
        created: list[str] = []

        def make() -> None:
            token, _ = users.create_token(
                p.db, user_email=form.get("user") or "", label=form.get("label"), actor=p.principal.email, now=p.now
            )
            created.append(token)

        _, error = attempt(p, make, also=(NotFound,))
        context = tokens_context(
            p, new_token=created[0] if created else None, new_for=form.get("user"), exc=error, form="create"
        )
        return render(p, "admin_tokens.html", context | {"path": "/admin/tokens"}, status=422 if error else 200)


@router.post("/admin/tokens/revoke")
def revoke_token(request: Request, form: FormData) -> Response:
    with page(request, roles=ADMINS) as p:
        return _submit(
            p,
            lambda: users.revoke_token(
                p.db, prefix=form.get("prefix") or "", user_email=form.get("user"), actor=p.principal.email, now=p.now
            ),
            template="admin_tokens.html",
            path="/admin/tokens",
            done="/admin/tokens",
            context=lambda error: tokens_context(p, exc=error, form="revoke"),
        )
