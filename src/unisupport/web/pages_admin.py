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
from unisupport.errors import InvalidInput, NotFound
from unisupport.services import users
from unisupport.services.customers import customers_in_scope
from unisupport.storage.tables import TeamRow
from unisupport.web.outcome import notice
from unisupport.web.page import Form, Page, WebRoute, asked, csrf_form, page, refuse, render, run, submit

router = APIRouter(route_class=WebRoute, include_in_schema=False)
FormData = Annotated[Form, Depends(csrf_form)]
ADMINS = (Role.ADMIN,)


def _teams(p: Page) -> list[TeamRow]:
    return users.list_teams(p.db)


# --------------------------------------------------------------------------- users
def users_context(p: Page) -> dict[str, Any]:
    rows = [users.describe_user(p.db, u) for u in users.list_users(p.db)]
    customers = customers_in_scope(p.db, None)
    return {
        "users": rows,
        "roles": [(r.value, p.t(f"role.{r.value}")) for r in Role],
        "customers": [(c.code, c.name) for c in customers],
        "teams": [(t.code, t.name) for t in _teams(p)],
        "csams": [u["email"] for u in rows if u["role"] == Role.CSAM.value and u["active"]],
        "values": {"language": p.language, "role": Role.ENGINEER.value} | p.outcome_values("user-form"),
        "chosen_teams": p.outcome_list("user-form", "teams"),
        "min_password": users.MIN_PASSWORD_LENGTH,
    }


@router.get("/admin/users")
def users_page(request: Request) -> Response:
    with page(request, roles=ADMINS) as p:
        context = users_context(p)
    return render(p, "admin_users.html", context)


@router.post("/admin/users")
def create_user(request: Request, form: FormData) -> Response:
    teams = [t for t in form.getlist("teams") if t]
    with page(request, roles=ADMINS) as p:
        return submit(
            p,
            form,
            "user-form",
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
            back="/admin/users",
            done=lambda user: notice("admin.done.created", email=user.email),
            also=(NotFound,),
        )


def _not_oneself(p: Page, email: str) -> None:
    if email == p.principal.email:
        raise InvalidInput("you cannot deactivate yourself", field="email")


@router.post("/admin/users/active")
def set_active(request: Request, form: FormData) -> Response:
    """Deactivate (asked first: the user is signed out at their next click) or reactivate."""
    email, active = form.get("email") or "", form.get("active") == "1"
    with page(request, roles=ADMINS) as p:
        consequences = [notice(f"admin.ask.deactivate_{x}") for x in ("sessions", "tokens", "undo")]
        ask = (
            None
            if active
            else asked(
                p,
                form,
                "users",
                notice("admin.ask.deactivate", email=email),
                consequences,
                action="/admin/users/active",
                back="/admin/users",
            )
        )
        if ask is not None:
            return ask

        def change() -> None:
            _not_oneself(p, email)
            users.update_user(p.db, email=email, active=active, actor=p.principal.email, now=p.now)

        done = notice("admin.done.reactivated" if active else "admin.done.deactivated", email=email)
        return submit(p, form, "users", change, back="/admin/users", done=done, also=(NotFound,))


@router.post("/admin/users/sessions")
def end_sessions(request: Request, form: FormData) -> Response:
    """Sign a user out of every browser now, without deactivating them (asked first)."""
    email = form.get("email") or ""
    with page(request, roles=ADMINS) as p:
        ask = asked(
            p,
            form,
            "users",
            notice("admin.ask.sessions", email=email),
            [notice("admin.ask.sessions_what"), notice("admin.ask.sessions_tokens")],
            action="/admin/users/sessions",
            back="/admin/users",
        )
        return ask or submit(
            p,
            form,
            "users",
            lambda: users.end_sessions(p.db, email=email, actor=p.principal.email, now=p.now),
            back="/admin/users",
            done=notice("admin.done.sessions"),
            also=(NotFound,),
        )


@router.post("/admin/users/csam")
def assign_csam(request: Request, form: FormData) -> Response:
    email, customer = form.get("email") or "", form.get("customer") or ""
    with page(request, roles=ADMINS) as p:
        return submit(
            p,
            form,
            "csam-form",
            lambda: users.assign_csam(p.db, email=email, customer_code=customer, actor=p.principal.email, now=p.now),
            back="/admin/users",
            done=notice("admin.done.assigned_named", email=email, customer=customer),
            also=(NotFound,),
        )


# --------------------------------------------------------------------------- teams
def teams_context(p: Page) -> dict[str, Any]:
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
    }


@router.get("/admin/teams")
def teams_page(request: Request) -> Response:
    with page(request, roles=ADMINS) as p:
        context = teams_context(p)
    return render(p, "admin_teams.html", context)


@router.post("/admin/teams")
def create_team(request: Request, form: FormData) -> Response:
    with page(request, roles=ADMINS) as p:
        return submit(
            p,
            form,
            "team-form",
            lambda: users.create_team(
                p.db, code=form.get("code") or "", name=form.get("name") or "", actor=p.principal.email, now=p.now
            ),
            back="/admin/teams",
            done=lambda team: notice("admin.done.team_created", code=team.code),
        )


@router.post("/admin/teams/members")
def add_member(request: Request, form: FormData) -> Response:
    email, team = form.get("email") or "", form.get("team") or ""
    with page(request, roles=ADMINS) as p:
        return submit(
            p,
            form,
            "member-form",
            lambda: users.add_to_team(p.db, email=email, team_code=team, actor=p.principal.email, now=p.now),
            back="/admin/teams",
            done=notice("admin.done.member_added", email=email, team=team),
            also=(NotFound,),
        )


# --------------------------------------------------------------------------- tokens
def tokens_context(p: Page, *, new_token: str | None = None, new_for: str | None = None) -> dict[str, Any]:
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
    return {"tokens": rows, "people": active, "new_token": new_token, "new_for": new_for}


@router.get("/admin/tokens")
def tokens_page(request: Request) -> Response:
    with page(request, roles=ADMINS) as p:
        context = tokens_context(p)
    return render(p, "admin_tokens.html", context)


@router.post("/admin/tokens")
def create_token(request: Request, form: FormData) -> Response:
    """A refusal goes back to the page like any form's; a new token is answered with
    the page itself, not a redirect: the plain token exists only in this response
    (stored hashed; ``Cache-Control: no-store``), never in a kept outcome."""
    with page(request, roles=ADMINS) as p:
        made, problems = run(
            p,
            lambda: users.create_token(
                p.db, user_email=form.get("user") or "", label=form.get("label"), actor=p.principal.email, now=p.now
            ),
            also=(NotFound,),
        )
        if problems or made is None:
            return refuse(p, form, "token-form", problems, back="/admin/tokens")
        context = tokens_context(p, new_token=made[0], new_for=form.get("user"))
        return render(p, "admin_tokens.html", context | {"path": "/admin/tokens"})


@router.post("/admin/tokens/revoke")
def revoke_token(request: Request, form: FormData) -> Response:
    prefix, user = form.get("prefix") or "", form.get("user")
    with page(request, roles=ADMINS) as p:
        ask = asked(
            p,
            form,
            "tokens",
            notice("admin.ask.revoke", prefix=prefix, user=user or ""),
            [notice("admin.ask.revoke_what")],
            action="/admin/tokens/revoke",
            back="/admin/tokens",
        )
        return ask or submit(
            p,
            form,
            "tokens",
            lambda: users.revoke_token(p.db, prefix=prefix, user_email=user, actor=p.principal.email, now=p.now),
            back="/admin/tokens",
            done=notice("admin.done.revoked", prefix=prefix),
            also=(NotFound,),
        )
