"""Users, roles, tokens and tenant scope (issue 4, R-ORD-4) on SQLite and PostgreSQL.

Each storage test runs in a transaction rolled back at its end; the command-line
tests run real processes against a fresh database."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from argon2 import PasswordHasher
from sqlalchemy import Table, inspect, select

from order_documents import order
from unisupport.access import Role
from unisupport.errors import InvalidInput, NotFound
from unisupport.services import users
from unisupport.services.orders import import_order
from unisupport.storage.base import Base
from unisupport.storage.tables import ApiTokenRow, AuditEvent, UserRow

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
USER_TABLES = {"users", "teams", "team_members", "csam_assignments", "api_tokens", "ended_sessions"}


def northwind(session, **changes):
    """The test order's customer: admin@ (support-administrator), ops@ (reactive-contact)."""
    import_order(session, order(**changes), actor="ops", now=NOW)
    return users._customer(session, "northwind")


def contoso(session):
    import_order(
        session,
        order(
            number="ESO-TEST-2",
            customer={"code": "contoso", "name": "Contoso Ltd"},
            contacts=[{"email": "boss@contoso.example", "name": "Bo Boss", "roles": ["support-administrator"]}],
        ),
        actor="ops",
        now=NOW,
    )
    return users._customer(session, "contoso")


def create(session, email, role, **kwargs):
    return users.create_user(
        session, email=email, name=email.split("@")[0].title(), role=role, actor="admin@provider", now=NOW, **kwargs
    )


def audit_events(session, tag_prefix=""):
    return list(
        session.scalars(select(AuditEvent).where(AuditEvent.tag.startswith(tag_prefix)).order_by(AuditEvent.id))
    )


def raises_invalid(field, call, *args, **kwargs):
    with pytest.raises(InvalidInput) as caught:
        call(*args, **kwargs)
    assert caught.value.field == field, caught.value
    return caught.value


# --- schema ------------------------------------------------------------------------


def _tables_touched(change) -> set[str]:
    """The table names an autogenerate difference is about (its shape varies by kind)."""
    if isinstance(change, list):  # modify_* differences come grouped
        return set().union(*(_tables_touched(c) for c in change))
    names = set()
    for part in change[1:]:
        if isinstance(part, Table):
            names.add(part.name)
        elif getattr(part, "table", None) is not None:
            names.add(part.table.name)
        elif isinstance(part, str):
            names.add(part)
    return names


def test_the_migration_creates_exactly_the_tables_the_models_describe(fresh_database):
    with fresh_database.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    assert [d for d in diff if _tables_touched(d) & USER_TABLES] == []
    assert USER_TABLES <= set(inspect(fresh_database.engine).get_table_names())


# --- roles and validation ------------------------------------------------------------


def test_provider_roles_belong_to_no_customer(session):
    northwind(session)
    for role in ("admin", "engineer", "incident-manager", "csam"):
        raises_invalid("customer", create, session, f"{role}@provider.example", role, customer_code="northwind")
    user = create(session, "eve@provider.example", "engineer")
    assert user.customer_id is None and user.contact_id is None


def test_unknown_role_customer_team_and_language_name_their_field(session):
    northwind(session)
    error = raises_invalid("role", create, session, "x@provider.example", "superuser")
    assert "superuser" in str(error) and "incident-manager" in str(error)
    raises_invalid(
        "customer", create, session, "admin@northwind.example", "support-administrator", customer_code="nope"
    )
    raises_invalid("teams", create, session, "x@provider.example", "engineer", teams=["ghosts"])
    raises_invalid("language", create, session, "x@provider.example", "engineer", language="de")
    raises_invalid("email", create, session, "not-an-email", "engineer")


def test_a_customer_role_needs_a_customer(session):
    northwind(session)
    raises_invalid("customer", create, session, "admin@northwind.example", "support-administrator")


def test_emails_are_unique_whatever_their_case(session):
    create(session, "Eve@Provider.example", "engineer")
    assert session.scalar(select(UserRow.email)) == "eve@provider.example"
    error = raises_invalid("email", create, session, "EVE@provider.EXAMPLE", "admin")
    assert error.message == "already exists"


def test_a_customer_user_is_a_designated_contact_of_its_customer(session):
    """R-ORD-4: only designated contacts act for the customer."""
    northwind(session)
    error = raises_invalid(
        "contact", create, session, "stranger@northwind.example", "reactive-contact", customer_code="northwind"
    )
    assert error.rule == "R-ORD-4"
    user = create(session, "ops@northwind.example", "reactive-contact", customer_code="northwind")
    assert user.contact_id is not None and user.customer_id is not None
    # Another customer's contact is no contact of this one.
    contoso(session)
    raises_invalid(
        "contact", create, session, "boss@contoso.example", "support-administrator", customer_code="northwind"
    )


def test_a_contact_given_explicitly_must_be_of_that_customer_and_fit_the_role(session):
    northwind(session)
    user = create(
        session,
        "ada@northwind.example",
        "support-administrator",
        customer_code="northwind",
        contact_email="Admin@Northwind.example",
    )
    assert user.email == "ada@northwind.example" and user.contact_id is not None
    raises_invalid(
        "contact",
        create,
        session,
        "ada2@northwind.example",
        "reactive-contact",
        customer_code="northwind",
        contact_email="admin@northwind.example",
    )  # one user per contact


def test_support_administrators_must_be_support_administrator_contacts(session):
    northwind(session)
    error = raises_invalid(
        "contact", create, session, "ops@northwind.example", "support-administrator", customer_code="northwind"
    )
    assert "reactive-contact" in error.message and error.rule == "R-ORD-4"
    assert (
        create(session, "admin@northwind.example", "support-administrator", customer_code="northwind").role
        == "support-administrator"
    )


@pytest.mark.parametrize("contact_roles", [["reactive-contact"], ["support-administrator"], ["cloud-administrator"]])
def test_reactive_contacts_may_be_any_designated_contact(session, contact_roles):
    northwind(
        session,
        contacts=[
            {"email": "admin@northwind.example", "name": "Ada Admin", "roles": ["support-administrator"]},
            {"email": "c@northwind.example", "name": "Cy", "roles": contact_roles},
        ],
    )
    assert (
        create(session, "c@northwind.example", "reactive-contact", customer_code="northwind").role == "reactive-contact"
    )


def test_a_cloud_administrator_contact_cannot_be_a_support_administrator_user(session):
    northwind(
        session,
        contacts=[
            {"email": "admin@northwind.example", "name": "Ada Admin", "roles": ["support-administrator"]},
            {"email": "cloud@northwind.example", "name": "Cl Oud", "roles": ["cloud-administrator"]},
        ],
    )
    raises_invalid(
        "contact", create, session, "cloud@northwind.example", "support-administrator", customer_code="northwind"
    )


def test_a_withdrawn_contact_cannot_become_a_user(session):
    northwind(session)
    import_order(
        session,
        order(contacts=[{"email": "admin@northwind.example", "name": "Ada Admin", "roles": ["support-administrator"]}]),
        actor="ops",
        now=NOW,
    )  # ops@ withdrawn
    raises_invalid("contact", create, session, "ops@northwind.example", "reactive-contact", customer_code="northwind")


def test_teams_are_for_provider_users(session):
    northwind(session)
    users.create_team(session, code="azure-core", name="Azure core", actor="admin", now=NOW)
    raises_invalid(
        "teams",
        create,
        session,
        "ops@northwind.example",
        "reactive-contact",
        customer_code="northwind",
        teams=["azure-core"],
    )
    raises_invalid("code", users.create_team, session, code="azure-core", name="again", actor="admin", now=NOW)


def test_passwords_have_at_least_12_characters(session):
    raises_invalid("password", create, session, "eve@provider.example", "engineer", password="short-pass1")
    user = create(session, "eve@provider.example", "engineer", password="twelve-chars")
    assert user.password_hash.startswith("$argon2id$") and "twelve-chars" not in user.password_hash


def test_a_role_change_stays_on_its_side_and_fits_the_contact(session):
    northwind(session)
    create(session, "eve@provider.example", "engineer")
    raises_invalid(
        "role", users.update_user, session, email="eve@provider.example", role="reactive-contact", actor="a", now=NOW
    )
    assert users.update_user(session, email="eve@provider.example", role="csam", actor="a", now=NOW).role == "csam"
    create(session, "ops@northwind.example", "reactive-contact", customer_code="northwind")
    raises_invalid(
        "contact",
        users.update_user,
        session,
        email="ops@northwind.example",
        role="support-administrator",
        actor="a",
        now=NOW,
    )
    raises_invalid("role", users.update_user, session, email="ops@northwind.example", role="admin", actor="a", now=NOW)


def test_only_a_csam_is_assigned_customers(session):
    northwind(session)
    create(session, "eve@provider.example", "engineer")
    raises_invalid(
        "email", users.assign_csam, session, email="eve@provider.example", customer_code="northwind", actor="a", now=NOW
    )
    create(session, "cass@provider.example", "csam")
    raises_invalid(
        "customer", users.assign_csam, session, email="cass@provider.example", customer_code="nope", actor="a", now=NOW
    )


# --- tokens --------------------------------------------------------------------------


def test_a_token_is_returned_once_and_only_its_hash_is_stored(session):
    create(session, "eve@provider.example", "engineer")
    token, row = users.create_token(session, user_email="eve@provider.example", label="ci", actor="admin", now=NOW)
    assert re.fullmatch(r"us_[A-Za-z0-9_-]{43}", token)  # 32 random bytes, url-safe base64
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and row.prefix == token[:8]
    stored = session.scalars(select(ApiTokenRow)).one()
    assert all(token not in str(getattr(stored, c.key)) for c in ApiTokenRow.__table__.columns)
    events = audit_events(session)
    assert events and all(token not in json.dumps([e.before, e.after, e.reason]) for e in events)
    token_events = audit_events(session, "token:")
    assert [(e.tag, e.subject_type, e.after["prefix"]) for e in token_events] == [
        ("token:create", "api_token", token[:8])
    ]
    again, _ = users.create_token(session, user_email="eve@provider.example", label="ci", actor="admin", now=NOW)
    assert again != token


def test_a_token_resolves_to_the_principal_with_its_teams(session):
    users.create_team(session, code="azure-core", name="Azure core", actor="admin", now=NOW)
    users.create_team(session, code="m365", name="Microsoft 365", actor="admin", now=NOW)
    user = create(session, "eve@provider.example", "engineer", teams=["azure-core"], language="fr")
    users.add_to_team(session, email="eve@provider.example", team_code="m365", actor="admin", now=NOW)
    token, _ = users.create_token(session, user_email="eve@provider.example", actor="admin", now=NOW)
    principal = users.principal_for_token(session, token, now=NOW)
    assert (principal.user_id, principal.email, principal.role, principal.language) == (
        user.id,
        "eve@provider.example",
        Role.ENGINEER,
        "fr",
    )
    assert (
        principal.teams == {"azure-core", "m365"} and principal.customer_id is None and principal.customer_scope is None
    )


def test_a_customer_token_resolves_to_its_customer_and_a_csam_token_to_its_assignments(session):
    north, cont = northwind(session), contoso(session)
    create(session, "ops@northwind.example", "reactive-contact", customer_code="northwind")
    create(session, "cass@provider.example", "csam")
    users.assign_csam(session, email="cass@provider.example", customer_code="northwind", actor="admin", now=NOW)
    users.assign_csam(session, email="cass@provider.example", customer_code="contoso", actor="admin", now=NOW)
    customer_token, _ = users.create_token(session, user_email="ops@northwind.example", actor="admin", now=NOW)
    csam_token, _ = users.create_token(session, user_email="cass@provider.example", actor="admin", now=NOW)
    customer = users.principal_for_token(session, customer_token, now=NOW)
    assert customer.role is Role.REACTIVE_CONTACT and customer.customer_id == north.id
    assert customer.customer_scope == {north.id} and customer.sees(north.id) and not customer.sees(cont.id)
    csam = users.principal_for_token(session, csam_token, now=NOW)
    assert csam.assigned_customers == {north.id, cont.id} == csam.customer_scope


def test_unknown_revoked_and_malformed_tokens_resolve_to_nobody(session):
    create(session, "eve@provider.example", "engineer")
    token, row = users.create_token(session, user_email="eve@provider.example", actor="admin", now=NOW)
    assert users.principal_for_token(session, token, now=NOW) is not None
    for other in ("", "us_", token[:-1], token + "x", "Bearer " + token, token.upper()):
        assert users.principal_for_token(session, other, now=NOW) is None
    users.revoke_token(session, prefix=row.prefix, actor="admin", now=NOW)
    assert row.revoked_at == NOW
    assert users.principal_for_token(session, token, now=NOW) is None
    assert [e.tag for e in audit_events(session, "token:")] == ["token:create", "token:revoke"]
    users.revoke_token(session, prefix=row.prefix, actor="admin", now=NOW)  # again: nothing changes
    assert len(audit_events(session, "token:revoke")) == 1
    with pytest.raises(NotFound):
        users.revoke_token(session, prefix="us_zzzzz", actor="admin", now=NOW)


def test_an_inactive_user_token_resolves_to_nobody(session):
    create(session, "eve@provider.example", "engineer")
    token, _ = users.create_token(session, user_email="eve@provider.example", actor="admin", now=NOW)
    users.update_user(session, email="eve@provider.example", active=False, actor="admin", now=NOW)
    assert users.principal_for_token(session, token, now=NOW) is None
    users.update_user(session, email="eve@provider.example", active=True, actor="admin", now=NOW)
    assert users.principal_for_token(session, token, now=NOW) is not None


def test_a_customer_user_whose_contact_is_withdrawn_is_nobody(session):
    """R-ORD-4: withdrawing a designated contact from the order withdraws its access."""
    northwind(session)
    create(session, "ops@northwind.example", "reactive-contact", customer_code="northwind")
    token, _ = users.create_token(session, user_email="ops@northwind.example", actor="admin", now=NOW)
    import_order(
        session,
        order(contacts=[{"email": "admin@northwind.example", "name": "Ada Admin", "roles": ["support-administrator"]}]),
        actor="ops",
        now=NOW,
    )
    assert users.principal_for_token(session, token, now=NOW) is None


def test_last_use_is_written_at_most_once_a_minute(session):
    create(session, "eve@provider.example", "engineer")
    token, row = users.create_token(session, user_email="eve@provider.example", actor="admin", now=NOW)
    assert row.last_used_at is None
    users.principal_for_token(session, token, now=NOW)
    session.expire(row)  # the write is one UPDATE in the database, the object is read again
    users.principal_for_token(session, token, now=NOW + timedelta(seconds=59))
    session.expire(row)
    assert row.last_used_at == NOW
    users.principal_for_token(session, token, now=NOW + timedelta(seconds=60))
    session.expire(row)
    assert row.last_used_at == NOW + timedelta(seconds=60)
    # A request whose copy of the row is stale writes nothing within the minute either (the UPDATE's own condition).
    users.record_token_use(session, token, now=NOW + timedelta(seconds=90))
    session.expire(row)
    assert row.last_used_at == NOW + timedelta(seconds=60)


def test_a_prefix_shared_by_two_live_tokens_needs_the_user(session):
    create(session, "eve@provider.example", "engineer")
    create(session, "bob@provider.example", "engineer")
    _, a = users.create_token(session, user_email="eve@provider.example", actor="admin", now=NOW)
    _, b = users.create_token(session, user_email="bob@provider.example", actor="admin", now=NOW)
    b.prefix = a.prefix  # 5 random characters: rare, yet possible
    session.flush()
    raises_invalid("prefix", users.revoke_token, session, prefix=a.prefix, actor="admin", now=NOW)
    assert users.revoke_token(session, prefix=a.prefix, user_email="bob@provider.example", actor="admin", now=NOW) is b
    assert a.revoked_at is None


# --- passwords -------------------------------------------------------------------------


def test_a_password_signs_in_and_a_wrong_one_does_not(session):
    create(session, "eve@provider.example", "engineer", password=PASSWORD)
    create(session, "bob@provider.example", "engineer")  # no password: tokens only
    assert users.principal_for_password(session, "Eve@provider.example", PASSWORD).email == "eve@provider.example"
    assert users.principal_for_password(session, "eve@provider.example", PASSWORD + "!") is None
    assert users.principal_for_password(session, "nobody@provider.example", PASSWORD) is None
    assert users.principal_for_password(session, "bob@provider.example", PASSWORD) is None
    users.update_user(session, email="eve@provider.example", active=False, actor="admin", now=NOW)
    assert users.principal_for_password(session, "eve@provider.example", PASSWORD) is None


def test_a_changed_password_replaces_the_old_one(session):
    create(session, "eve@provider.example", "engineer", password=PASSWORD)
    users.update_user(session, email="eve@provider.example", password="another long secret", actor="admin", now=NOW)
    assert users.principal_for_password(session, "eve@provider.example", PASSWORD) is None
    assert users.principal_for_password(session, "eve@provider.example", "another long secret") is not None
    event = audit_events(session, "user:update")[-1]
    assert event.after == {"password": "changed"} and event.before == {"password": "set"}


def test_a_hash_with_old_parameters_is_rehashed_at_sign_in(session):
    user = create(session, "eve@provider.example", "engineer")
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    session.flush()
    old = user.password_hash
    assert users.principal_for_password(session, "eve@provider.example", PASSWORD) is not None
    assert user.password_hash != old and not PasswordHasher().check_needs_rehash(user.password_hash)
    assert users.principal_for_password(session, "eve@provider.example", PASSWORD) is not None


# --- scope -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, scope",
    [
        ("admin", None),
        ("engineer", None),
        ("incident-manager", None),
        ("csam", "assigned"),
        ("support-administrator", "own"),
        ("reactive-contact", "own"),
    ],
)
def test_customer_scope_of_every_role(session, role, scope):
    north, cont = northwind(session), contoso(session)
    if Role(role).is_customer:
        email = "admin@northwind.example" if role == "support-administrator" else "ops@northwind.example"
        user = create(session, email, role, customer_code="northwind")
    else:
        user = create(session, f"{role}@provider.example", role)
        if role == "csam":
            users.assign_csam(session, email=user.email, customer_code="contoso", actor="a", now=NOW)
    principal = users.principal_for_user(session, user.id)
    expected = {None: None, "own": frozenset({north.id}), "assigned": frozenset({cont.id})}[scope]
    assert principal.customer_scope == expected


def test_another_tenants_user_is_not_found_exactly_like_a_missing_one(session):
    north, _ = northwind(session), contoso(session)
    create(session, "ops@northwind.example", "reactive-contact", customer_code="northwind")
    create(session, "boss@contoso.example", "support-administrator", customer_code="contoso")
    scope = frozenset({north.id})
    assert users.user_by_email(session, "ops@northwind.example", customer_scope=scope).customer_id == north.id
    with pytest.raises(NotFound) as other:
        users.user_by_email(session, "boss@contoso.example", customer_scope=scope)
    with pytest.raises(NotFound) as missing:
        users.user_by_email(session, "ghost@contoso.example", customer_scope=scope)
    assert type(other.value) is type(missing.value) and other.value.field == missing.value.field
    assert [u.email for u in users.list_users(session, customer_scope=scope)] == ["ops@northwind.example"]
    assert len(users.list_users(session)) == 2


# --- audit -------------------------------------------------------------------------------


def test_every_change_of_a_user_is_an_audit_event_without_secrets(session):
    north = northwind(session)
    users.create_team(session, code="azure-core", name="Azure core", actor="admin@provider", now=NOW)
    create(session, "eve@provider.example", "engineer", password=PASSWORD)
    users.add_to_team(session, email="eve@provider.example", team_code="azure-core", actor="admin@provider", now=NOW)
    users.add_to_team(
        session, email="eve@provider.example", team_code="azure-core", actor="admin@provider", now=NOW
    )  # no-op
    cass = create(session, "cass@provider.example", "csam")
    users.assign_csam(
        session, email="cass@provider.example", customer_code="northwind", actor="admin@provider", now=NOW
    )
    ops = create(session, "ops@northwind.example", "reactive-contact", customer_code="northwind")
    later = NOW + timedelta(hours=1)
    users.update_user(
        session, email="eve@provider.example", language="fr", active=False, actor="boss@provider", now=later
    )
    users.update_user(
        session, email="eve@provider.example", language="fr", actor="boss@provider", now=later
    )  # no change, no event

    events = [e for e in audit_events(session) if e.subject_type in {"user", "team"}]
    assert [e.tag for e in events] == [
        "team:create",
        "user:create",
        "team:add",
        "user:create",
        "csam:assign",
        "user:create",
        "user:update",
    ]
    update = events[-1]
    assert (update.actor, update.at, update.before, update.after) == (
        "boss@provider",
        later,
        {"language": "en", "active": True},
        {"language": "fr", "active": False},
    )
    created = events[1].after
    assert created["role"] == "engineer" and created["password_set"] is True and created["teams"] == []
    assert events[2].after == {"team": "azure-core"} and events[2].subject_id == events[1].subject_id
    assign = events[4]
    assert (assign.subject_id, assign.customer_id, assign.after) == (cass.id, north.id, {"customer": "northwind"})
    customer_create = events[5]
    assert (
        customer_create.customer_id == north.id
        and customer_create.subject_id == ops.id
        and customer_create.rule == "R-ORD-4"
    )
    hashes = [u.password_hash for u in session.scalars(select(UserRow)) if u.password_hash]
    everything = json.dumps([[e.before, e.after, e.reason] for e in audit_events(session)])
    assert PASSWORD not in everything and not any(h in everything for h in hashes) and "argon2" not in everything


# --- command line ------------------------------------------------------------------------


@pytest.fixture
def cli(backend, temp_databases, tmp_path):
    url = temp_databases.new_url(backend)
    env = {
        **os.environ,
        "UNISUPPORT_DATABASE_URL": url,
        "UNISUPPORT_ACTOR": "admin@provider.example",
        "UNISUPPORT_DATA_DIR": str(tmp_path),
    }

    def run(*args: str, ok: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [sys.executable, "-m", "unisupport.cli.main", *args],
            check=False,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            input=stdin if stdin is not None else "",
        )
        assert "Traceback" not in done.stderr, done.stderr
        if ok:
            assert done.returncode == 0, done.stderr + done.stdout
        return done

    run.url = url
    return run


def _database(url):
    from unisupport.storage.database import Database, make_engine

    return Database(make_engine(url))


def test_cli_creates_a_user_and_a_token_the_api_accepts(cli):
    cli("user", "team-create", "--code", "azure-core", "--name", "Azure core")
    cli(
        "user",
        "create",
        "--email",
        "eve@provider.example",
        "--name",
        "Eve",
        "--role",
        "engineer",
        "--team",
        "azure-core",
    )
    done = cli("token", "create", "--user", "eve@provider.example", "--label", "laptop")
    token = done.stdout.strip()
    assert re.fullmatch(r"us_[A-Za-z0-9_-]{43}", token) and "cannot be shown again" in done.stderr
    listed = json.loads(cli("token", "list", "--json").stdout)
    assert [(t["prefix"], t["user"], t["label"]) for t in listed] == [(token[:8], "eve@provider.example", "laptop")]
    assert token not in json.dumps(listed)
    db = _database(cli.url)
    try:
        with db.transaction() as session:
            principal = users.principal_for_token(session, token, now=datetime.now(UTC))
            assert principal.role is Role.ENGINEER and principal.teams == {"azure-core"}
        cli("token", "revoke", "--prefix", token[:8])
        with db.transaction() as session:
            assert users.principal_for_token(session, token, now=datetime.now(UTC)) is None
    finally:
        db.engine.dispose()
    rows = json.loads(cli("user", "list", "--json").stdout)
    assert [(r["email"], r["role"], r["teams"]) for r in rows] == [("eve@provider.example", "engineer", ["azure-core"])]


def test_cli_reads_the_password_from_stdin(cli):
    cli(
        "user",
        "create",
        "--email",
        "eve@provider.example",
        "--name",
        "Eve",
        "--role",
        "admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    db = _database(cli.url)
    try:
        with db.transaction() as session:
            assert users.principal_for_password(session, "eve@provider.example", PASSWORD).role is Role.ADMIN
    finally:
        db.engine.dispose()
    done = cli(
        "user",
        "create",
        "--email",
        "bob@provider.example",
        "--name",
        "Bob",
        "--role",
        "admin",
        "--password-stdin",
        stdin="short\n",
        ok=False,
    )
    assert done.returncode == 2 and "password" in done.stderr


def test_cli_customer_users_and_csam_assignments(cli, tmp_path):
    path = tmp_path / "order.json"
    path.write_text(json.dumps(order()))  # JSON is YAML
    cli("order", "import", str(path))
    cli(
        "user",
        "create",
        "--email",
        "admin@northwind.example",
        "--name",
        "Ada",
        "--role",
        "support-administrator",
        "--customer",
        "northwind",
        "--language",
        "fr",
    )
    cli("user", "create", "--email", "cass@provider.example", "--name", "Cass", "--role", "csam")
    cli("user", "assign", "--email", "cass@provider.example", "--customer", "northwind")
    rows = {r["email"]: r for r in json.loads(cli("user", "list", "--json").stdout)}
    assert (
        rows["admin@northwind.example"]["customer"] == "northwind"
        and rows["admin@northwind.example"]["language"] == "fr"
    )
    assert rows["cass@provider.example"]["assigned_customers"] == ["northwind"]
    done = cli(
        "user",
        "create",
        "--email",
        "x@northwind.example",
        "--name",
        "X",
        "--role",
        "reactive-contact",
        "--customer",
        "northwind",
        ok=False,
    )
    assert done.returncode == 2 and "R-ORD-4" in done.stderr


def test_cli_bad_role_exits_2_with_one_line(cli):
    done = cli("user", "create", "--email", "eve@provider.example", "--name", "Eve", "--role", "wizard", ok=False)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "role" in done.stderr and "wizard" in done.stderr
    done = cli("token", "create", "--user", "ghost@provider.example", ok=False)
    assert (
        done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and "ghost@provider.example" in done.stderr
    )


def test_a_password_change_or_an_admin_ends_the_users_web_sessions(session):
    from unisupport.services.users import active_principal, end_sessions, update_user

    user = create(session, "eve@provider.example", "engineer")
    signed_in = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert active_principal(session, user.id, signed_in_at=signed_in) is not None
    update_user(
        session,
        email=user.email,
        password="another long password",
        actor="admin",
        now=datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
    )
    assert active_principal(session, user.id, signed_in_at=signed_in) is None
    # Signed in again afterwards (the same second included), the session holds.
    assert (
        active_principal(session, user.id, signed_in_at=datetime(2026, 3, 1, 10, 0, 0, 900_000, tzinfo=UTC)) is not None
    )
    end_sessions(session, email=user.email, actor="admin", now=datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    assert active_principal(session, user.id, signed_in_at=datetime(2026, 3, 1, 10, 0, tzinfo=UTC)) is None
    assert user.active  # not deactivated


def test_a_last_use_being_written_by_another_request_is_skipped_not_waited_for(fresh_database):
    """PostgreSQL: while one request's transaction holds the token's row (it is writing
    last_used_at), another request's write skips it at once instead of queueing on the
    row lock (FOR UPDATE SKIP LOCKED); a lock_timeout makes a wait fail this test."""
    from sqlalchemy import text

    with fresh_database.transaction() as session:
        create(session, "eve@provider.example", "engineer")
        token, row = users.create_token(session, user_email="eve@provider.example", actor="admin", now=NOW)
        token_id = row.id
    if fresh_database.engine.dialect.name != "postgresql":
        with fresh_database.transaction() as session:
            users.record_token_use(session, token, now=NOW)
            assert session.get_one(ApiTokenRow, token_id).last_used_at == NOW
        return
    with fresh_database.transaction() as holder:
        holder.execute(text("SELECT id FROM api_tokens WHERE id = :id FOR UPDATE"), {"id": token_id})
        with fresh_database.transaction() as other:
            other.execute(text("SET LOCAL lock_timeout = '2s'"))
            users.record_token_use(other, token, now=NOW)  # skipped: no wait, no error
        users.record_token_use(holder, token, now=NOW + timedelta(seconds=1))
    with fresh_database.reading() as session:
        assert session.get_one(ApiTokenRow, token_id).last_used_at == NOW + timedelta(seconds=1)
