"""Single sign-on with OpenID Connect (issue 11) against a real provider: npm's
oidc-provider on loopback (tests/oidc_provider.py), and the app over real HTTP
(uvicorn), on SQLite and PostgreSQL.

A designated contact signs in through the provider's login form and is created
just in time; a later sign-in updates the name and the language; a valid identity
that is no contact is refused (French and English) and creates nothing (R-ORD-4);
the staff's groups give provider roles, and a change of group changes the role;
the provider rotates its keys and the next sign-in fetches them once; expired,
tampered, wrong-audience, unknown-key and wrong-issuer tokens, an unknown issuer and
a replayed state are refused with a clear page and an audit event — never a 500,
never a half-created user. Password sign-in switched off for one customer; the
RP-initiated sign-out. And ``identity-providers.yaml``'s validation."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from api_server import serving
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import OctKey
from oidc_provider import OidcProvider, customer_provider, log_in, new_key, our_client, query_of
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select
from test_users import _tables_touched
from test_web import Browser, text

from unisupport.access import Role
from unisupport.errors import DataFileError, SignInRefused
from unisupport.services.users.sso import (
    PROVIDERS_FILE,
    IdentityProvider,
    IdentityProviders,
    ProviderDirectory,
    load_identity_providers,
    validated_claims,
)
from unisupport.storage.base import Base
from unisupport.storage.tables import AuditEvent, SsoAttemptRow, UserRow

PORTAL_SECRET = "portal-secret-" + "p" * 32
CONSOLE_SECRET = "console-secret-" + "c" * 32
OTHER_SECRET = "other-secret-" + "o" * 32
OTHER_CALLBACK = "http://127.0.0.1:9/callback"  # a client that is not us; nothing listens there
SCOPES = ("openid", "email", "profile")


@dataclass
class Sso:
    server: object
    op: OidcProvider
    directory: ProviderDirectory
    providers: IdentityProviders

    def provider(self, key: str) -> IdentityProvider:
        found = self.providers.get(key)
        assert found is not None
        return found


def _providers(issuer: str, port: int) -> IdentityProviders:
    return IdentityProviders(
        (
            customer_provider("contoso", issuer, PORTAL_SECRET, "contoso", "contoso.example", password_sign_in=False),
            customer_provider("fabrikam", issuer, PORTAL_SECRET, "fabrikam", "fabrikam.example"),
            IdentityProvider(
                key="staff",
                kind="staff",
                label="Provider staff",
                issuer=issuer,
                client_id="console",
                client_secret=CONSOLE_SECRET,
                scopes=SCOPES,
                email_domains=("provider.example",),
                roles=(("support-admins", Role.ADMIN), ("support-engineers", Role.ENGINEER)),
            ),
            # The same server under a name it does not answer to: an unknown issuer.
            customer_provider("stranger", f"http://localhost:{port}", PORTAL_SECRET, "fabrikam", "fabrikam.example"),
        )
    )


@pytest.fixture(scope="module")
def sso_module(backend, temp_databases, tmp_path_factory) -> Iterator[Sso]:
    op = OidcProvider(tmp_path_factory.mktemp("oidc"))
    providers = _providers(op.issuer, op.port)
    directory = ProviderDirectory()
    url = temp_databases.new_url(backend)
    with serving(url, datetime.now(UTC), identity_providers=providers, sso_directory=directory) as server:
        op.clients = [
            our_client(server.url, "portal", PORTAL_SECRET),
            our_client(server.url, "console", CONSOLE_SECRET),
            {"client_id": "other-app", "client_secret": OTHER_SECRET, "redirect_uris": [OTHER_CALLBACK]},
        ]
        op.account("jonas.becker@contoso.example", "Jonas Becker", locale="de-DE")
        op.account("marie.dupont@contoso.example", "Marie Dupont", locale="fr-FR")
        op.account("visitor@contoso.example", "Vera Visitor", locale="fr-FR")
        op.account("it-oncall@fabrikam.example", "Fabrikam on call")
        op.account("nora.ops@provider.example", "Nora Ops", groups=("support-engineers",))
        op.account("guest@provider.example", "Gus Guest", groups=("marketing",))
        op.start()
        try:
            yield Sso(server, op, directory, providers)
        finally:
            op.stop()


@pytest.fixture
def sso(sso_module) -> Sso:
    """The provider signs with the real clock: the app's is set to it for each test."""
    sso_module.server.clock.at = datetime.now(UTC)
    return sso_module


def _start(b: Browser, key: str, next_path: str | None = None) -> str:
    r = b.get(f"/sso/{key}/start" + (f"?next={next_path}" if next_path else ""))
    assert r.status_code == 303, (r.status_code, text(r)[:400])
    return r.headers["location"]


def sign_in(sso: Sso, b: Browser, key: str, email: str) -> httpx.Response:
    """Start at the app, log in at the provider's form, come back: the callback's answer."""
    return b.get(log_in(sso.op, _start(b, key), email))


def _db(sso: Sso):
    return sso.server.database.transaction()


def _user(sso: Sso, email: str) -> UserRow | None:
    with _db(sso) as session:
        user = session.scalar(select(UserRow).where(UserRow.email == email))
        if user is not None:
            session.expunge(user)
        return user


def _events(sso: Sso, tag: str) -> list[AuditEvent]:
    with _db(sso) as session:
        rows = list(session.scalars(select(AuditEvent).where(AuditEvent.tag == tag).order_by(AuditEvent.id)))
        for row in rows:
            session.expunge(row)
        return rows


def refused(r: httpx.Response, reason: str) -> None:
    assert r.status_code == 403, (r.status_code, text(r)[:600])
    assert f'data-reason="{reason}"' in r.text, text(r)[:600]


# ------------------------------------------------------------------ the flow
def test_the_sign_in_page_offers_each_provider_and_the_trip_uses_pkce_state_and_nonce(sso):
    b = Browser(sso.server)
    page = b.get("/sign-in")
    assert 'id="sso-contoso"' in page.text and "Sign in with Contoso" in text(page)
    location = _start(b, "contoso")
    assert location.startswith(sso.op.issuer + "/auth?")
    query = query_of(location)
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["response_type"] == "code" and query["client_id"] == "portal"
    assert query["redirect_uri"] == sso.server.url + "/sso/callback"
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32
    assert set(query["scope"].split()) == set(SCOPES)
    with _db(sso) as session:  # only the state's hash is kept
        assert session.scalar(select(SsoAttemptRow.id).where(SsoAttemptRow.state_hash == query["state"])) is None


def test_a_contact_signs_in_and_is_created_just_in_time_then_a_later_sign_in_updates_name_and_language(sso):
    assert _user(sso, "jonas.becker@contoso.example") is None
    b = Browser(sso.server)
    r = sign_in(sso, b, "contoso", "jonas.becker@contoso.example")
    assert r.status_code == 303 and r.headers["location"] == "/dashboard", text(r)[:400]
    dashboard = b.get("/dashboard")
    assert dashboard.status_code == 200
    user = _user(sso, "jonas.becker@contoso.example")
    assert user is not None
    assert (user.role, user.name, user.language) == (Role.SUPPORT_ADMINISTRATOR.value, "Jonas Becker", "en")
    assert user.password_hash is None and user.contact_id is not None
    created = [e for e in _events(sso, "user:create") if e.subject_id == user.id]
    assert created and created[0].actor == "sso:contoso" and created[0].rule == "R-ORD-4"
    signed = [e for e in _events(sso, "sso:sign-in") if e.subject_id == user.id]
    assert len(signed) == 1 and signed[0].after["created"] is True

    # The provider renames Jonas and he now reads French: the next sign-in says so.
    sso.op.account("jonas.becker@contoso.example", "Jonas Becker-Sato", locale="fr-FR")
    sso.op.restart()
    b2 = Browser(sso.server)
    r = sign_in(sso, b2, "contoso", "jonas.becker@contoso.example")
    assert r.status_code == 303, text(r)[:400]
    again = _user(sso, "jonas.becker@contoso.example")
    assert again is not None and again.id == user.id
    assert (again.name, again.language) == ("Jonas Becker-Sato", "fr")
    updated = [e for e in _events(sso, "user:update") if e.subject_id == user.id]
    assert updated[-1].before == {"name": "Jonas Becker", "language": "en"}
    assert updated[-1].after == {"name": "Jonas Becker-Sato", "language": "fr"}
    assert [e.after["created"] for e in _events(sso, "sso:sign-in") if e.subject_id == user.id] == [True, False]
    assert "Tableau de bord" in text(b2.get("/dashboard"))


def test_an_identity_that_is_no_contact_is_refused_in_french_and_english_and_creates_no_user(sso):
    for language, words in (
        ("fr", "n'est pas un contact désigné actif"),
        ("en", "is not an active designated contact"),
    ):
        b = Browser(sso.server, language=language)
        r = sign_in(sso, b, "contoso", "visitor@contoso.example")
        refused(r, "not-contact")
        assert words in text(r) and "visitor@contoso.example" in text(r)
        assert b.get("/dashboard").status_code in (303, 401)  # not signed in
    assert _user(sso, "visitor@contoso.example") is None
    events = [e for e in _events(sso, "sso:refused") if e.actor == "visitor@contoso.example"]
    assert len(events) == 2 and all(e.rule == "R-ORD-4" and e.after["reason"] == "not-contact" for e in events)
    assert events[0].customer_id is not None  # Contoso's audit trail shows it


def test_the_role_follows_the_contacts_roles_and_the_domain_binds_the_provider_to_its_customer(sso):
    # Fabrikam's on-call desk is a reactive contact only: a reactive-contact user (R-ORD-4).
    r = sign_in(sso, Browser(sso.server), "fabrikam", "it-oncall@fabrikam.example")
    assert r.status_code == 303, text(r)[:400]
    user = _user(sso, "it-oncall@fabrikam.example")
    assert user is not None and user.role == Role.REACTIVE_CONTACT.value
    # A Contoso address through Fabrikam's provider signs no one in.
    refused(sign_in(sso, Browser(sso.server), "fabrikam", "visitor@contoso.example"), "domain")


def test_an_existing_password_user_signs_in_through_the_provider_and_keeps_their_account(sso):
    before = _user(sso, "marie.dupont@contoso.example")
    assert before is not None and before.language == "en"
    r = sign_in(sso, Browser(sso.server), "contoso", "marie.dupont@contoso.example")
    assert r.status_code == 303, text(r)[:400]
    after = _user(sso, "marie.dupont@contoso.example")
    assert after is not None and after.id == before.id and after.role == before.role
    assert (after.name, after.language) == ("Marie Dupont", "fr")


def test_staff_groups_give_the_role_and_a_change_of_group_changes_it_audited(sso):
    b = Browser(sso.server)
    r = sign_in(sso, b, "staff", "nora.ops@provider.example")
    assert r.status_code == 303 and r.headers["location"] == "/queue", text(r)[:400]
    user = _user(sso, "nora.ops@provider.example")
    assert user is not None and user.role == Role.ENGINEER.value and user.customer_id is None

    sso.op.account("nora.ops@provider.example", "Nora Ops", groups=("support-engineers", "support-admins"))
    sso.op.restart()
    r = sign_in(sso, Browser(sso.server), "staff", "nora.ops@provider.example")
    assert r.status_code == 303, text(r)[:400]
    promoted = _user(sso, "nora.ops@provider.example")
    assert promoted is not None and promoted.role == Role.ADMIN.value
    change = [e for e in _events(sso, "user:update") if e.subject_id == user.id][-1]
    assert change.before == {"role": "engineer"} and change.after == {"role": "admin"}
    assert change.actor == "sso:staff"

    refused(sign_in(sso, Browser(sso.server), "staff", "guest@provider.example"), "no-role")
    assert _user(sso, "guest@provider.example") is None


def test_a_replayed_or_forged_state_is_refused(sso):
    b = Browser(sso.server)
    callback = log_in(sso.op, _start(b, "contoso"), "jonas.becker@contoso.example")
    assert b.get(callback).status_code == 303
    refused(b.get(callback), "replayed")  # the same browser again
    refused(Browser(sso.server).get(callback), "replayed")  # or another one
    refused(Browser(sso.server).get("/sso/callback?state=forged&code=whatever"), "state")
    refused(Browser(sso.server).get("/sso/callback"), "state")
    reasons = [e.after["reason"] for e in _events(sso, "sso:refused")]
    assert reasons[-4:] == ["replayed", "replayed", "state", "state"]


def test_a_trip_started_in_another_browser_signs_no_one_in(sso):
    attacker, victim = Browser(sso.server), Browser(sso.server)
    callback = log_in(sso.op, _start(attacker, "contoso"), "jonas.becker@contoso.example")
    refused(victim.get(callback), "browser")
    refused(attacker.get(callback), "replayed")  # used once, even by a refusal


def test_an_unknown_issuer_and_a_wrong_iss_parameter_are_refused(sso):
    refused(Browser(sso.server).get("/sso/stranger/start"), "issuer")
    recorded = _events(sso, "sso:refused")[-1]
    assert recorded.after["provider"] == "stranger" and "not the configured" in recorded.reason
    b = Browser(sso.server)
    callback = log_in(sso.op, _start(b, "contoso"), "jonas.becker@contoso.example")
    assert query_of(callback)["iss"] == sso.op.issuer  # RFC 9207: the provider names itself
    refused(b.get(callback.replace("iss=", "iss=https%3A%2F%2Fevil.example&was=")), "issuer")
    assert Browser(sso.server).get("/sso/nobody/start").status_code == 404


def test_an_expired_id_token_is_refused(sso):
    b = Browser(sso.server)
    callback = log_in(sso.op, _start(b, "contoso"), "visitor@contoso.example")
    # Past the token's 10 minutes (and the minute of leeway), within the trip's 15.
    sso.server.clock.at = datetime.now(UTC) + timedelta(minutes=13)
    refused(b.get(callback), "expired")
    assert _events(sso, "sso:refused")[-1].after["reason"] == "expired"


def test_a_trip_not_finished_within_15_minutes_is_refused(sso):
    b = Browser(sso.server)
    callback = log_in(sso.op, _start(b, "contoso"), "jonas.becker@contoso.example")
    sso.server.clock.at = datetime.now(UTC) + timedelta(minutes=16)
    refused(b.get(callback), "state")
    assert "expired" in _events(sso, "sso:refused")[-1].reason


def test_a_provider_that_went_down_before_the_callback_is_a_refusal_not_a_500(sso):
    b = Browser(sso.server)
    callback = log_in(sso.op, _start(b, "contoso"), "jonas.becker@contoso.example")
    sso.op.stop()
    try:
        refused(b.get(callback), "exchange")
    finally:
        sso.op.start()
    assert "could not be exchanged" in _events(sso, "sso:refused")[-1].reason


def test_key_rotation_fetches_the_new_keys_once(sso):
    assert sign_in(sso, Browser(sso.server), "contoso", "jonas.becker@contoso.example").status_code == 303
    fetched = sso.directory.jwks_fetches
    sso.op.rotate(f"key-{time.monotonic_ns()}")
    assert sign_in(sso, Browser(sso.server), "contoso", "jonas.becker@contoso.example").status_code == 303
    assert sso.directory.jwks_fetches == fetched + 1
    assert sign_in(sso, Browser(sso.server), "contoso", "jonas.becker@contoso.example").status_code == 303
    assert sso.directory.jwks_fetches == fetched + 1  # kept


# ------------------------------------------------------------------ ID tokens one by one
def real_id_token(sso: Sso, client_id: str, secret: str, redirect_uri: str, email: str) -> tuple[str, str]:
    """An ID token the provider really issued to ``client_id``, and its nonce."""
    metadata = httpx.get(sso.op.issuer + "/.well-known/openid-configuration").json()
    client = OAuth2Session(
        client_id, secret, scope=" ".join(SCOPES), redirect_uri=redirect_uri, code_challenge_method="S256"
    )
    verifier, nonce = "v" * 64, f"nonce-{time.monotonic_ns()}"
    url, _state = client.create_authorization_url(
        metadata["authorization_endpoint"], nonce=nonce, code_verifier=verifier
    )
    code = query_of(log_in(sso.op, url, email))["code"]
    tokens = client.fetch_token(metadata["token_endpoint"], code=code, code_verifier=verifier)
    return tokens["id_token"], nonce


def forged(sso: Sso, key, **claims) -> str:
    now = int(time.time())
    body = {"iss": sso.op.issuer, "aud": "portal", "sub": "sub-x", "iat": now, "exp": now + 300, "nonce": "n"}
    return jwt.encode({"alg": "RS256", "kid": key.kid}, body | claims, key)


def _refusal(call) -> str:
    with pytest.raises(SignInRefused) as caught:
        call()
    return caught.value.reason


def test_id_token_checks_one_by_one(sso):
    contoso, now = sso.provider("contoso"), datetime.now(UTC)
    check = lambda token, nonce="n", at=now, provider=contoso: validated_claims(  # noqa: E731
        token, provider, sso.directory, nonce=nonce, now=at
    )
    portal_token, portal_nonce = real_id_token(
        sso, "portal", PORTAL_SECRET, sso.server.url + "/sso/callback", "visitor@contoso.example"
    )
    assert check(portal_token, portal_nonce)["email"] == "visitor@contoso.example"
    assert _refusal(lambda: check(portal_token, "another nonce")) == "nonce"
    assert _refusal(lambda: check(portal_token, portal_nonce, now + timedelta(hours=1))) == "expired"
    # Signed for another client of the same provider: not for us.
    other_token, other_nonce = real_id_token(sso, "other-app", OTHER_SECRET, OTHER_CALLBACK, "visitor@contoso.example")
    assert _refusal(lambda: check(other_token, other_nonce)) == "audience"
    # Tampered: the payload changed, the signature kept.
    header, payload, signature = portal_token.split(".")
    flipped = payload[:10] + ("A" if payload[10] != "A" else "B") + payload[11:]
    assert _refusal(lambda: check(f"{header}.{flipped}.{signature}", portal_nonce)) == "signature"
    assert _refusal(lambda: check(f"{header}.{payload}.{signature[::-1]}", portal_nonce)) == "signature"
    assert _refusal(lambda: check("not a token")) == "token"
    unsigned = jwt.encode({"alg": "HS256"}, {"iss": sso.op.issuer}, OctKey.import_key("k" * 32))
    assert _refusal(lambda: check(unsigned)) == "signature"
    # Signed with the provider's own key, but claims that do not fit.
    signing = sso.op.keys[0]
    assert check(forged(sso, signing))["sub"] == "sub-x"
    assert _refusal(lambda: check(forged(sso, signing, iss="https://evil.example"))) == "issuer"
    assert _refusal(lambda: check(forged(sso, signing, aud=["portal", "other-app"]))) == "audience"
    assert _refusal(lambda: check(forged(sso, signing, exp=int(time.time()) - 3600))) == "expired"
    assert _refusal(lambda: check(forged(sso, signing, iat=int(time.time()) + 3600))) == "token"
    # A key the provider never published: the keys are fetched again once, then refused.
    fetched = sso.directory.jwks_fetches
    assert _refusal(lambda: check(forged(sso, new_key("key-unknown")))) == "signature"
    assert sso.directory.jwks_fetches == fetched + 1


# ------------------------------------------------------------------ passwords and signing out
def test_password_sign_in_is_off_for_the_customer_that_asked_and_on_for_others(sso):
    b = Browser(sso.server)
    b.get("/sign-in")
    r = b.post("/sign-in", {"email": "cloud-ops@contoso.example", "password": "correct horse battery"})
    assert r.status_code == 403 and "Sign in with Contoso" in text(r), text(r)[:400]
    assert "sign in through their organisation" in text(r)
    assert _events(sso, "sso:password-refused")[-1].actor == "cloud-ops@contoso.example"
    assert b.get("/dashboard").status_code in (303, 401)
    other = Browser(sso.server)
    other.get("/sign-in")
    assert (
        other.post("/sign-in", {"email": "alex.kim@fabrikam.example", "password": "correct horse battery"}).status_code
        == 303
    )


def test_signing_out_signs_out_at_the_provider_too(sso):
    b = Browser(sso.server)
    assert sign_in(sso, b, "contoso", "jonas.becker@contoso.example").status_code == 303
    assert b.get("/dashboard").status_code == 200
    b.get("/dashboard")
    r = b.post("/sign-out", {})
    assert r.status_code == 200, text(r)[:400]
    url = httpx.URL(
        r.text.split('id="sso-sign-out-continue"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    )
    assert str(url).startswith(sso.op.issuer + "/session/end")
    assert url.params["post_logout_redirect_uri"] == sso.server.url + "/sign-in"
    assert url.params["id_token_hint"].count(".") == 2
    assert f'http-equiv="refresh" content="0; url={url}' in r.text.replace("&amp;", "&")
    assert b.get("/dashboard").status_code in (303, 401)  # signed out here
    with httpx.Client(timeout=10) as op_browser:
        # The provider accepts the hint and the way back, and sends the browser back to us.
        confirm = op_browser.get(str(url))
        assert confirm.status_code == 200, confirm.text[:400]
        action = re.search(r'<form[^>]+method="post" action="([^"]+)"', confirm.text)
        assert action is not None, confirm.text[:400]
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', confirm.text))
        back = op_browser.post(action.group(1), data=fields | {"logout": "yes"})
        assert back.is_redirect and back.headers["location"].startswith(sso.server.url + "/sign-in"), back.text[:400]


# ------------------------------------------------------------------ the schema
def test_the_migration_creates_exactly_the_sso_tables_the_models_describe(fresh_database):
    with fresh_database.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    assert [d for d in diff if _tables_touched(d) & {"sso_attempts", "sso_identities"}] == []
    assert {"sso_attempts", "sso_identities"} <= set(inspect(fresh_database.engine).get_table_names())


# ------------------------------------------------------------------ the operator's file
GOOD_FILE = """
providers:
  staff:
    kind: staff
    label: Provider staff
    issuer: https://login.provider.example
    client_id: unisupport
    client_secret_env: TEST_SSO_STAFF
    roles: {support-admins: admin, support-engineers: engineer}
  contoso:
    kind: customer
    customer: contoso
    label: Contoso
    issuer: https://idp.contoso.example
    client_id: portal
    client_secret_env: TEST_SSO_CONTOSO
    email_domains: [Contoso.example]
    password_sign_in: false
"""
SECRETS = {"TEST_SSO_STAFF": "s1", "TEST_SSO_CONTOSO": "s2"}


def _load(tmp_path: Path, content: str, env: dict[str, str] | None = None) -> IdentityProviders:
    path = tmp_path / "identity-providers.yaml"
    path.write_text(content, encoding="utf-8")
    return load_identity_providers({PROVIDERS_FILE: str(path)} | (SECRETS if env is None else env))


def test_the_providers_file_loads(tmp_path):
    providers = _load(tmp_path, GOOD_FILE)
    staff, contoso = providers.get("staff"), providers.get("contoso")
    assert staff is not None and staff.roles == (("support-admins", Role.ADMIN), ("support-engineers", Role.ENGINEER))
    assert contoso is not None and contoso.email_domains == ("contoso.example",) and contoso.client_secret == "s2"
    assert providers.password_off("contoso") is contoso and providers.password_off("fabrikam") is None
    assert "s2" not in repr(contoso)
    assert not load_identity_providers({"UNISUPPORT_DATA_DIR": str(tmp_path / "none")})  # no file: SSO off


@pytest.mark.parametrize(
    ("change", "env", "words"),
    [
        (("", ""), {"TEST_SSO_STAFF": "s1"}, "$TEST_SSO_CONTOSO, which is not set"),
        (("issuer: https://idp.contoso.example", "issuer: http://idp.contoso.example"), None, "not an issuer"),
        (("    roles: {support-admins: admin, support-engineers: engineer}\n", ""), None, "maps groups to roles"),
        (("engineer}", "reactive-contact}"), None, "not a provider role"),
        (("    customer: contoso\n", ""), None, "names its customer"),
        (("    email_domains: [Contoso.example]\n", ""), None, "lists its e-mail domains"),
        (
            (
                "providers:\n",
                "providers:\n  staff-2:\n    kind: staff\n    label: More staff\n    issuer: https://b.example\n"
                "    client_id: b\n    client_secret_env: TEST_SSO_STAFF\n    roles: {x: admin}\n",
            ),
            None,
            "at most one provider",
        ),
        (("    label: Contoso\n", "    label: Contoso\n    colour: blue\n"), None, "colour"),
        (("  contoso:", "  Contoso Inc:"), None, "not a provider key"),
    ],
)
def test_a_bad_providers_file_stops_with_its_name_the_provider_and_the_field(tmp_path, change, env, words):
    content = GOOD_FILE.replace(*change) if change[0] else GOOD_FILE
    with pytest.raises(DataFileError) as caught:
        _load(tmp_path, content, env)
    assert "identity-providers.yaml" in str(caught.value) and words in str(caught.value), str(caught.value)


def test_a_provider_is_refused_as_staff_with_a_customer(tmp_path):
    content = GOOD_FILE.replace("    label: Provider staff\n", "    label: Provider staff\n    customer: contoso\n")
    with pytest.raises(DataFileError, match="belongs to no customer"):
        _load(tmp_path, content)
