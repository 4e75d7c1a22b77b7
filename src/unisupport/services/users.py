"""Users, teams, CSAM assignments, API tokens, and who a request is (issue 4).

Provider users (admin, engineer, incident manager, CSAM) belong to no customer;
customer users (support administrator, reactive contact) belong to one and are one
of its designated contacts with a fitting role (R-ORD-4). Every change is an audit
event with who, when, before and after; no event ever holds a password, a password
hash or a token.

Authentication ends in a :class:`~unisupport.access.Principal`, whose
``customer_scope`` is the tenant filter of every later query. A token or password
that does not lead to a usable user yields ``None`` — never a reason, so that a
caller learns nothing about which part was wrong."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.orm import Session

from unisupport.access import Principal, Role
from unisupport.errors import InvalidInput, NotFound
from unisupport.services.audit import record_event
from unisupport.storage.tables import (
    ApiTokenRow,
    ContactRow,
    CsamAssignmentRow,
    CustomerRow,
    EndedSessionRow,
    SiteRow,
    TeamMemberRow,
    TeamRow,
    UserRow,
)

LANGUAGES = ("en", "fr")
MIN_PASSWORD_LENGTH = 12
TOKEN_SCHEME = "us_"
TOKEN_PREFIX_LENGTH = 8
# Writing last_used_at on every request would turn each API read into a write (see
# api.unit: reads write it after the read, in a short transaction of their own).
LAST_USED_RESOLUTION = timedelta(minutes=1)

# The contact roles (R-ORD-4) a customer user's contact must hold, one of them.
FITTING_CONTACT_ROLES: dict[Role, frozenset[str]] = {
    Role.SUPPORT_ADMINISTRATOR: frozenset({"support-administrator"}),
    Role.REACTIVE_CONTACT: frozenset({"reactive-contact", "support-administrator", "cloud-administrator"}),
}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
# argon2id with argon2-cffi's defaults (RFC 9106's low-memory profile); when the
# defaults change, check_needs_rehash() upgrades a hash at the next sign-in.
_hasher = PasswordHasher()


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


def _password_hash(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD_LENGTH} characters", field="password")
    return _hasher.hash(password)


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
        "active": user.active,
        "password_set": user.password_hash is not None,
        "teams": list(teams),
        "assigned_customers": list(assigned),
    }


def list_tokens(session: Session, *, user_email: str | None = None) -> list[tuple[ApiTokenRow, str]]:
    """Tokens (newest first) with their user's email; never the token itself."""
    query = select(ApiTokenRow, UserRow.email).join(UserRow, UserRow.id == ApiTokenRow.user_id)
    if user_email is not None:
        query = query.where(UserRow.id == user_by_email(session, user_email, field="user").id)
    return [(token, email) for token, email in session.execute(query.order_by(ApiTokenRow.id.desc()))]


# --- changing -------------------------------------------------------------------


def _audit(
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
    actor: str,
    now: datetime,
) -> UserRow:
    """Create a user. A customer user needs ``customer_code`` and is the designated
    contact ``contact_email`` (by default the user's own email) of that customer,
    with a role that fits (R-ORD-4); a provider user has no customer."""
    email = _email(email)
    name = _name(name)
    role = _role(role)
    language = _language(language)
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
    password_hash = _password_hash(password) if password is not None else None
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
    )
    session.add(user)
    session.flush()
    for team in team_rows:
        session.add(TeamMemberRow(team_id=team.id, user_id=user.id))
    session.flush()
    _audit(
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
    actor: str,
    now: datetime,
) -> UserRow:
    """Change a user's role, activity, language, password or name (``None``: keep).

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
                f"{_a(old_role)} cannot become {_a(new_role)}: provider and customer users are distinct; create another user",
                field="role",
            )
        if new_role.is_customer and new_role is not old_role:
            contact = session.get(ContactRow, user.contact_id) if user.contact_id else None
            if not contact_fits(new_role, contact):
                customer = session.get(CustomerRow, user.customer_id)
                contact = _designated_contact(
                    session, customer, contact.email if contact else user.email, new_role, user_id=user.id
                )
                change("contact_id", contact.id)
        change("role", new_role.value)
    if active is not None:
        change("active", bool(active))
    if language is not None:
        change("language", _language(language))
    if name is not None:
        change("name", _name(name))
    if password is not None:
        before["password"] = "set" if user.password_hash else "unset"
        after["password"] = "changed"
        user.password_hash = _password_hash(password)
        user.sessions_valid_from = now  # whoever knew the old password is signed out
    if after:
        session.flush()
        _audit(session, user, "user:update", actor=actor, now=now, before=before, after=after)
    return user


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
        _audit(session, user, "team:add", actor=actor, now=now, after={"team": team.code})
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
        _audit(
            session,
            user,
            "csam:assign",
            actor=actor,
            now=now,
            customer_id=customer.id,
            after={"customer": customer.code},
        )
    return row


# --- tokens ---------------------------------------------------------------------


def hash_token(token: str) -> str:
    """SHA-256 hex of the whole token (why a fast hash: see ``ApiTokenRow``)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    session: Session, *, user_email: str, label: str | None = None, actor: str, now: datetime
) -> tuple[str, ApiTokenRow]:
    """A new API token for a user: ``(plain token, row)``. The plain token exists
    only in the return value; the row keeps its hash and its first 8 characters."""
    user = user_by_email(session, user_email, field="user")
    if not user.active:
        raise InvalidInput(f"{user.email} is inactive", field="user")
    label = (label or "").strip() or None
    if label is not None and len(label) > 200:
        raise InvalidInput("a label has at most 200 characters", field="label")
    token = TOKEN_SCHEME + secrets.token_urlsafe(32)  # 32 random bytes, url-safe base64, no padding
    row = ApiTokenRow(
        user_id=user.id, prefix=token[:TOKEN_PREFIX_LENGTH], token_hash=hash_token(token), label=label, created_at=now
    )
    session.add(row)
    session.flush()
    record_event(
        session,
        customer_id=user.customer_id,
        subject_type="api_token",
        subject_id=row.id,
        tag="token:create",
        actor=actor,
        at=now,
        after={"user": user.email, "prefix": row.prefix, "label": label},
    )
    return token, row


def revoke_token(
    session: Session, *, prefix: str, user_email: str | None = None, actor: str, now: datetime
) -> ApiTokenRow:
    """Revoke the token shown as ``prefix`` (with ``user_email`` when two users'
    tokens share a prefix). Revoking a revoked token changes nothing."""
    query = select(ApiTokenRow).where(ApiTokenRow.prefix == prefix).order_by(ApiTokenRow.id.desc())
    if user_email is not None:
        query = query.where(ApiTokenRow.user_id == user_by_email(session, user_email, field="user").id)
    candidates = list(session.scalars(query))
    if not candidates:
        raise NotFound(f"no token {prefix!r}", field="prefix")
    live = [t for t in candidates if t.revoked_at is None]
    if len(live) > 1:
        raise InvalidInput(f"{len(live)} tokens start with {prefix!r}; name the user too", field="prefix")
    if not live:
        return candidates[0]
    token = live[0]
    token.revoked_at = now
    session.flush()
    user = session.get(UserRow, token.user_id)
    record_event(
        session,
        customer_id=user.customer_id,
        subject_type="api_token",
        subject_id=token.id,
        tag="token:revoke",
        actor=actor,
        at=now,
        before={"revoked_at": None},
        after={"user": user.email, "prefix": token.prefix, "revoked_at": now.isoformat()},
    )
    return token


# --- who is asking --------------------------------------------------------------


def _usable(session: Session, user: UserRow | None) -> bool:
    """Active, and for a customer user still a designated contact whose roles fit
    (a contact withdrawn from the order loses access with it, R-ORD-4)."""
    if user is None or not user.active:
        return False
    role = Role(user.role)
    if role.is_customer:
        contact = session.get(ContactRow, user.contact_id) if user.contact_id else None
        return contact is not None and contact.customer_id == user.customer_id and contact_fits(role, contact)
    return True


def principal_for_user(session: Session, user_id: int) -> Principal:
    """The principal of a user, with its teams and assigned customers loaded. It does
    not check that the user may sign in: see :func:`active_principal`."""
    user = session.get(UserRow, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}", field="user")
    teams: Iterable[str] = ()
    assigned: Iterable[int] = ()
    if Role(user.role).is_provider:  # customer users join no team and are assigned no customer
        teams = session.scalars(
            select(TeamRow.code)
            .join(TeamMemberRow, TeamMemberRow.team_id == TeamRow.id)
            .where(TeamMemberRow.user_id == user.id)
        )
        assigned = session.scalars(select(CsamAssignmentRow.customer_id).where(CsamAssignmentRow.user_id == user.id))
    return Principal(
        user_id=user.id,
        email=user.email,
        role=Role(user.role),
        customer_id=user.customer_id,
        teams=frozenset(teams),
        assigned_customers=frozenset(assigned),
        language=user.language,
    )


def active_principal(
    session: Session, user_id: int, *, signed_in_at: datetime | None = None, session_id: str | None = None
) -> Principal | None:
    """The principal of a user who may still act (for a signed-in web session), else
    None — also when the session, signed in at ``signed_in_at``, was ended since
    (:func:`end_sessions`, a password change), or when the session ``session_id``
    was signed out (:func:`end_session`)."""
    user = session.get(UserRow, user_id)
    if not _usable(session, user):
        return None
    ended = user.sessions_valid_from  # type: ignore[union-attr]
    if ended is not None and signed_in_at is not None and int(signed_in_at.timestamp()) < int(ended.timestamp()):
        return None
    if session_id is not None and session.get(EndedSessionRow, _session_hash(session_id)) is not None:
        return None
    return principal_for_user(session, user.id)  # type: ignore[union-attr]


def _session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def end_session(session: Session, *, session_id: str, user_id: int, expires_at: datetime, now: datetime) -> None:
    """Sign one web session out: from now on its cookie, though signed and not yet
    expired, opens nothing (the user's other browsers stay signed in). Sessions
    whose cookies have expired anyway are forgotten here."""
    session.execute(delete(EndedSessionRow).where(EndedSessionRow.expires_at <= now))
    key = _session_hash(session_id)
    if session.get(EndedSessionRow, key) is None:
        session.add(EndedSessionRow(session_hash=key, user_id=user_id, ended_at=now, expires_at=expires_at))
        session.flush()


def end_sessions(session: Session, *, email: str, actor: str, now: datetime) -> UserRow:
    """Sign a user out of every web session now (a lost laptop, a shared password),
    without deactivating them; their API tokens are revoked apart (``revoke_token``).
    Sessions are compared to the second: one signed in later in the same second
    stays."""
    user = user_by_email(session, email)
    before = user.sessions_valid_from
    user.sessions_valid_from = now
    session.flush()
    _audit(
        session,
        user,
        "user:sessions-ended",
        actor=actor,
        now=now,
        before={"sessions_valid_from": before.isoformat() if before else None},
        after={"sessions_valid_from": now.isoformat()},
    )
    return user


# Every API request runs this query: built once, with a bound parameter (building a
# statement and its cache key costs about as much as running it).
_TOKEN_HOLDER = (
    select(ApiTokenRow, UserRow, ContactRow)
    .join(UserRow, UserRow.id == ApiTokenRow.user_id)
    .outerjoin(ContactRow, ContactRow.id == UserRow.contact_id)
    .where(ApiTokenRow.token_hash == bindparam("token_hash"))
)


@dataclass(frozen=True)
class TokenUse:
    """Who presents a token, and the token."""

    principal: Principal
    token: ApiTokenRow

    def record_due(self, now: datetime) -> bool:
        """Whether ``last_used_at`` is due to be written: never written, or at least
        :data:`LAST_USED_RESOLUTION` ago."""
        last = self.token.last_used_at
        return last is None or now - last >= LAST_USED_RESOLUTION


def authenticate_token(session: Session, token: str) -> TokenUse | None:
    """Who presents ``Authorization: Bearer <token>``, or None (unknown, revoked,
    inactive user), reading only: the token, its user and the user's contact in one
    query. The lookup is by hash, so no constant-time compare is needed."""
    if not token or not token.startswith(TOKEN_SCHEME) or len(token) > 128:
        return None
    found = session.execute(_TOKEN_HOLDER, {"token_hash": hash_token(token)}).first()
    if found is None or found.ApiTokenRow.revoked_at is not None:
        return None
    user, _contact = found.UserRow, found.ContactRow  # the contact stays in the session for _usable
    if not _usable(session, user):
        return None
    return TokenUse(principal_for_user(session, user.id), found.ApiTokenRow)


def record_token_use(session: Session, token: str, *, now: datetime) -> None:
    """Write a token's ``last_used_at`` in a transaction of its own (after a read),
    unless another request did within the last :data:`LAST_USED_RESOLUTION`: one
    conditional UPDATE."""
    session.execute(
        update(ApiTokenRow)
        .where(
            ApiTokenRow.token_hash == hash_token(token),
            or_(ApiTokenRow.last_used_at.is_(None), ApiTokenRow.last_used_at <= now - LAST_USED_RESOLUTION),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )


def principal_for_token(session: Session, token: str, *, now: datetime) -> Principal | None:
    """:func:`authenticate_token`, writing ``last_used_at`` in ``session`` when due
    (at most once a minute, so that reading is not writing)."""
    use = authenticate_token(session, token)
    if use is None:
        return None
    if use.record_due(now):
        use.token.last_used_at = now
        session.flush()
    return use.principal


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def principal_for_password(session: Session, email: str, password: str) -> Principal | None:
    """Who signs in with this email and password, or None. An unknown email costs
    the same argon2 verification as a wrong password, so timing does not tell
    which emails exist. A hash made with older parameters is replaced."""
    user = session.scalar(select(UserRow).where(UserRow.email == (email or "").strip().lower()))
    stored = user.password_hash if user is not None and user.password_hash else None
    try:
        _hasher.verify(stored or _dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if stored is None or not _usable(session, user):
        return None
    if _hasher.check_needs_rehash(stored):
        # Same secret, stronger parameters: not a change anyone asks about, so no audit event.
        user.password_hash = _hasher.hash(password)
        session.flush()
    return principal_for_user(session, user.id)


def home_site(session: Session, principal: Principal) -> SiteRow | None:
    """The support site of a customer user's designated contact (R-ORD-4), whose
    zone the portal shows times in; None for provider users (they see each
    incident in its own site's zone) and for a contact without a site."""
    if principal.role.is_provider:
        return None
    user = session.get(UserRow, principal.user_id)
    contact = session.get(ContactRow, user.contact_id) if user is not None and user.contact_id else None
    if contact is None or contact.site_id is None:
        return None
    return session.get(SiteRow, contact.site_id)
