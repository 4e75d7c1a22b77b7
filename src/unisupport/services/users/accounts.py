"""Users, teams and CSAM assignments (issue 4). Provider users belong to no customer; customer
users belong to one and are one of its designated contacts with a fitting role (R-ORD-4). Every
change is an audit event with who, when, before and after; no event ever holds a password or its
hash."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import available_timezones
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from unisupport.access import Role
from unisupport.errors import InvalidInput, NotFound
from unisupport.services.audit import record_event
from unisupport.services.users.passwords import hash_password
from unisupport.storage.tables import ContactRow, CsamAssignmentRow, CustomerRow, TeamMemberRow, TeamRow, UserRow

LANGUAGES = ("en", "fr")

# The contact roles (R-ORD-4) a customer user's contact must hold, one of them.
FITTING_CONTACT_ROLES: dict[Role, frozenset[str]] = {
    Role.SUPPORT_ADMINISTRATOR: frozenset({"support-administrator"}),
    Role.REACTIVE_CONTACT: frozenset({"reactive-contact", "support-administrator", "cloud-administrator"}),
}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


# --- validation -----------------------------------------------------------------


def _a(role: str | Role) -> str:
    value = Role(role).value
    return ("an " if value[0] in "aeiou" else "a ") + value


def _email(value: str, field: str = "email") -> str:
    email = (value or "").strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise InvalidInput(f"{value!r} is not an email address", field=field)
    return email


def _name(value: str) -> str:
    name = (value or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput("a name of 1 to 200 characters is required", field="name")
    return name


def _role(value: str | Role) -> Role:
    try:
        return Role(value)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise InvalidInput(f"unknown role {value!r} (known: {known})", field="role") from None


def _language(value: str) -> str:
    if value not in LANGUAGES:
        raise InvalidInput(f"unknown language {value!r} (known: {', '.join(LANGUAGES)})", field="language")
    return value


def _timezone(value: str | None) -> str | None:
    """An IANA zone (``Europe/Paris``), or None for "the default"."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value not in available_timezones():
        raise InvalidInput(f"unknown time zone {value!r} (an IANA name such as Europe/Paris)", field="timezone")
    return value


def _customer(session: Session, code: str | None) -> CustomerRow:
    row = session.scalar(select(CustomerRow).where(CustomerRow.code == code)) if code else None
    if row is None:
        raise InvalidInput(f"unknown customer {code!r}", field="customer")
    return row


def contact_fits(role: Role, contact: ContactRow | None) -> bool:
    """Whether ``contact`` is an active designated contact whose roles allow a user
    of ``role`` (R-ORD-4)."""
    return (
        contact is not None
        and contact.active
        and bool(FITTING_CONTACT_ROLES.get(role, frozenset()) & set(contact.roles or ()))
    )


def _designated_contact(
    session: Session, customer: CustomerRow, email: str, role: Role, *, user_id: int | None = None
) -> ContactRow:
    contact = session.scalar(select(ContactRow).where(ContactRow.customer_id == customer.id, ContactRow.email == email))
    if contact is None or not contact.active:
        raise InvalidInput(
            f"{email} is not a designated contact of customer {customer.code}; a customer user must be one",
            field="contact",
            rule="R-ORD-4",
        )
    if not contact_fits(role, contact):
        needed = " or ".join(sorted(FITTING_CONTACT_ROLES[role]))
        raise InvalidInput(
            f"contact {email} has roles {', '.join(contact.roles) or 'none'}; {_a(role)} user needs {needed}",
            field="contact",
            rule="R-ORD-4",
        )
    taken = session.scalar(select(UserRow.email).where(UserRow.contact_id == contact.id, UserRow.id != user_id))
    if taken is not None:
        raise InvalidInput(f"contact {email} is already user {taken}", field="contact")
    return contact


def _teams(session: Session, codes: Iterable[str]) -> list[TeamRow]:
    codes = list(dict.fromkeys(codes))
    if not codes:
        return []
    found = {t.code: t for t in session.scalars(select(TeamRow).where(TeamRow.code.in_(codes)))}
    for code in codes:
        if code not in found:
            raise InvalidInput(f"unknown team {code!r}", field="teams")
    return [found[c] for c in codes]


# --- reading --------------------------------------------------------------------


def user_by_email(
    session: Session, email: str, *, customer_scope: frozenset[int] | None = None, field: str = "email"
) -> UserRow:
    """The user with this email, if the scope sees it; another tenant's user is
    reported exactly like a missing one."""
    row = session.scalar(select(UserRow).where(UserRow.email == (email or "").strip().lower()))
    if row is None or (customer_scope is not None and row.customer_id not in customer_scope):
        raise NotFound(f"no user {email!r}", field=field)
    return row


def list_users(session: Session, *, customer_scope: frozenset[int] | None = None) -> list[UserRow]:
    """Users ordered by email; with a scope, only the users of those customers."""
    query = select(UserRow).order_by(UserRow.email)
    if customer_scope is not None:
        query = query.where(UserRow.customer_id.in_(customer_scope))
    return list(session.scalars(query))


def describe_user(session: Session, user: UserRow) -> dict[str, Any]:
    """What a listing or an audit event shows of a user (never the password hash)."""
    customer = session.get(CustomerRow, user.customer_id) if user.customer_id else None
    contact = session.get(ContactRow, user.contact_id) if user.contact_id else None
    teams = session.scalars(
        select(TeamRow.code)
        .join(TeamMemberRow, TeamMemberRow.team_id == TeamRow.id)
        .where(TeamMemberRow.user_id == user.id)
        .order_by(TeamRow.code)
    )
    assigned = session.scalars(
        select(CustomerRow.code)
        .join(CsamAssignmentRow, CsamAssignmentRow.customer_id == CustomerRow.id)
        .where(CsamAssignmentRow.user_id == user.id)
        .order_by(CustomerRow.code)
    )
    return {
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "customer": customer.code if customer else None,
        "contact": contact.email if contact else None,
        "language": user.language,
        "timezone": user.timezone,
        "active": user.active,
        "password_set": user.password_hash is not None,
        "teams": list(teams),
        "assigned_customers": list(assigned),
    }


# --- changing -------------------------------------------------------------------


def audit_user(
    session: Session,
    user: UserRow,
    tag: str,
    *,
    actor: str,
    now: datetime,
    customer_id: int | None = None,
    **kwargs: Any,
) -> None:
    record_event(
        session,
        customer_id=customer_id if customer_id is not None else user.customer_id,
        subject_type="user",
        subject_id=user.id,
        tag=tag,
        actor=actor,
        at=now,
        **kwargs,
    )


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    role: str | Role,
    customer_code: str | None = None,
    contact_email: str | None = None,
    language: str = "en",
    password: str | None = None,
    teams: Iterable[str] = (),
    timezone: str | None = None,
    actor: str,
    now: datetime,
) -> UserRow:
    """Create a user. A customer user needs ``customer_code`` and is the designated
    contact ``contact_email`` (by default the user's own email) of that customer,
    with a role that fits (R-ORD-4); a provider user has no customer. ``timezone``:
    the zone the web pages show them times in (default: see ``sign_in.viewer_zone``)."""
    email = _email(email)
    name = _name(name)
    role = _role(role)
    language = _language(language)
    timezone = _timezone(timezone)
    customer = contact = None
    if role.is_customer:
        if not customer_code:
            raise InvalidInput(f"{_a(role)} user belongs to a customer: give one", field="customer")
        customer = _customer(session, customer_code)
        contact = _designated_contact(session, customer, _email(contact_email or email, "contact"), role)
    else:
        if customer_code:
            raise InvalidInput(f"{_a(role)} is a provider user and belongs to no customer", field="customer")
        if contact_email:
            raise InvalidInput(f"{_a(role)} is a provider user and is no customer's contact", field="contact")
    team_rows = _teams(session, teams)
    if team_rows and role.is_customer:
        raise InvalidInput("teams are provider teams; a customer user joins none", field="teams")
    if session.scalar(select(UserRow.id).where(UserRow.email == email)) is not None:
        raise InvalidInput("already exists", field="email")
    password_hash = hash_password(password) if password is not None else None
    user = UserRow(
        email=email,
        name=name,
        role=role.value,
        customer_id=customer.id if customer else None,
        contact_id=contact.id if contact else None,
        language=language,
        password_hash=password_hash,
        active=True,
        created_at=now,
        timezone=timezone,
    )
    session.add(user)
    session.flush()
    for team in team_rows:
        session.add(TeamMemberRow(team_id=team.id, user_id=user.id))
    session.flush()
    audit_user(
        session,
        user,
        "user:create",
        actor=actor,
        now=now,
        after=describe_user(session, user),
        rule="R-ORD-4" if contact else None,
    )
    return user


def update_user(
    session: Session,
    *,
    email: str,
    role: str | Role | None = None,
    active: bool | None = None,
    language: str | None = None,
    password: str | None = None,
    name: str | None = None,
    timezone: str | None = None,
    actor: str,
    now: datetime,
) -> UserRow:
    """Change a user's role, activity, language, password, name or time zone
    (``None``: keep; a zone of ``""``: back to the default).

    A role change stays on its side: a provider user cannot become a customer user or
    back (create another user), and a customer user's new role must fit its contact."""
    user = user_by_email(session, email)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}

    def change(key: str, value: Any) -> None:
        if getattr(user, key) != value:
            before[key], after[key] = getattr(user, key), value
            setattr(user, key, value)

    if role is not None:
        new_role, old_role = _role(role), Role(user.role)
        if new_role.is_customer != old_role.is_customer:
            raise InvalidInput(
                f"{_a(old_role)} cannot become {_a(new_role)}: "
                "provider and customer users are distinct; create another user",
                field="role",
            )
        if new_role.is_customer and new_role is not old_role:
            contact = session.get(ContactRow, user.contact_id) if user.contact_id else None
            if not contact_fits(new_role, contact):
                customer = session.get_one(CustomerRow, user.customer_id)
                contact = _designated_contact(
                    session, customer, contact.email if contact else user.email, new_role, user_id=user.id
                )
                change("contact_id", contact.id)
        change("role", new_role.value)
    if active is not None:
        change("active", bool(active))
    for key, given, check in (
        ("language", language, _language),
        ("name", name, _name),
        ("timezone", timezone, _timezone),
    ):
        if given is not None:
            change(key, check(given))
    if password is not None:
        before["password"] = "set" if user.password_hash else "unset"
        after["password"] = "changed"
        user.password_hash = hash_password(password)
        user.sessions_valid_from = now  # whoever knew the old password is signed out
    if after:
        session.flush()
        audit_user(session, user, "user:update", actor=actor, now=now, before=before, after=after)
    return user


def list_teams(session: Session) -> list[TeamRow]:
    """Teams ordered by code."""
    return list(session.scalars(select(TeamRow).order_by(TeamRow.code)))


def create_team(session: Session, *, code: str, name: str, actor: str, now: datetime) -> TeamRow:
    code = (code or "").strip()
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,63}", code):
        raise InvalidInput(f"{code!r} is not a team code (lower-case letters, digits, hyphens)", field="code")
    if session.scalar(select(TeamRow.id).where(TeamRow.code == code)) is not None:
        raise InvalidInput("already exists", field="code")
    team = TeamRow(code=code, name=_name(name))
    session.add(team)
    session.flush()
    record_event(
        session,
        customer_id=None,
        subject_type="team",
        subject_id=team.id,
        tag="team:create",
        actor=actor,
        at=now,
        after={"code": team.code, "name": team.name},
    )
    return team


def add_to_team(session: Session, *, email: str, team_code: str, actor: str, now: datetime) -> TeamMemberRow:
    """Make a provider user a member of a team (idempotent: no second event)."""
    user = user_by_email(session, email)
    (team,) = _teams(session, [team_code])
    if Role(user.role).is_customer:
        raise InvalidInput("teams are provider teams; a customer user joins none", field="teams")
    member = session.scalar(
        select(TeamMemberRow).where(TeamMemberRow.team_id == team.id, TeamMemberRow.user_id == user.id)
    )
    if member is None:
        member = TeamMemberRow(team_id=team.id, user_id=user.id)
        session.add(member)
        session.flush()
        audit_user(session, user, "team:add", actor=actor, now=now, after={"team": team.code})
    return member


def assign_csam(session: Session, *, email: str, customer_code: str, actor: str, now: datetime) -> CsamAssignmentRow:
    """Add a customer to a CSAM's scope (idempotent: no second event)."""
    user = user_by_email(session, email)
    if user.role != Role.CSAM.value:
        raise InvalidInput(f"{user.email} is {_a(user.role)}; only a csam is assigned customers", field="email")
    customer = _customer(session, customer_code)
    row = session.scalar(
        select(CsamAssignmentRow).where(
            CsamAssignmentRow.user_id == user.id, CsamAssignmentRow.customer_id == customer.id
        )
    )
    if row is None:
        row = CsamAssignmentRow(user_id=user.id, customer_id=customer.id)
        session.add(row)
        session.flush()
        # Filed under the assigned customer: it is that customer's data that opens up.
        audit_user(
            session,
            user,
            "csam:assign",
            actor=actor,
            now=now,
            customer_id=customer.id,
            after={"customer": customer.code},
        )
    return row
