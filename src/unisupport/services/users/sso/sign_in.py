"""Signing in through an identity provider: the authorization code flow with PKCE
(S256), state and nonce, and the RP-initiated sign-out (issue 11).

:func:`begin` keeps the state (its SHA-256), the nonce and the PKCE verifier of the
trip in ``sso_attempts``, bound to the browser's web session, and gives the
provider's authorization URL. :func:`finish` takes the callback: the state is used
once (a replayed one is refused), the code is exchanged for tokens with the
verifier, the ID token is validated (``id_tokens``), and the identity becomes a
user:

* through a **customer's** provider, the e-mail must be in its domains and belong to
  an active designated contact of that customer with a fitting role (R-ORD-4); the
  user's role follows the contact's roles (support administrator first). A valid
  identity that is no contact is refused and creates nothing;
* through the **staff's** provider, the first configured group the user is in gives
  the provider role; a change of groups changes the role at the next sign-in.

The first sign-in creates the user (just in time); later ones update the name and
the language (``locale``). Every sign-in (``sso:sign-in``), refusal (``sso:refused``)
and role change (``user:update``) is an audit event. A refusal rolls back whatever
the sign-in had begun to write, then records itself: never a half-created user."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlencode

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from unisupport.access import Principal, Role
from unisupport.errors import InvalidInput, SignInRefused
from unisupport.services.audit import record_event
from unisupport.services.users.accounts import contact_fits, create_user, update_user
from unisupport.services.users.sign_in import active_principal
from unisupport.services.users.sso.id_tokens import TIMEOUT, ProviderDirectory, validated_claims
from unisupport.services.users.sso.providers import IdentityProvider, IdentityProviders
from unisupport.storage.tables import ContactRow, CustomerRow, SsoAttemptRow, SsoIdentityRow, UserRow

CUSTOMER_ROLES_BY_PRECEDENCE = (Role.SUPPORT_ADMINISTRATOR, Role.REACTIVE_CONTACT)
ATTEMPT_LIFETIME = timedelta(minutes=15)  # from the start to the callback, login at the provider included
KEPT_FOR = timedelta(days=1)  # then an attempt is forgotten (a web session lasts 12 hours: its sign-out hint with it)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _client(provider: IdentityProvider, redirect_uri: str) -> OAuth2Session:
    return OAuth2Session(
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        scope=" ".join(provider.scopes),
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        default_timeout=TIMEOUT,
    )


def begin(
    session: Session,
    directory: ProviderDirectory,
    provider: IdentityProvider,
    *,
    browser: str,
    redirect_uri: str,
    next_path: str,
    now: datetime,
) -> str:
    """The provider's authorization URL for a new sign-in from the web session
    ``browser`` (its id); the trip is kept until its callback."""
    endpoint = directory.metadata(provider)["authorization_endpoint"]
    session.execute(delete(SsoAttemptRow).where(SsoAttemptRow.created_at < now - KEPT_FOR))
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64)
    session.add(
        SsoAttemptRow(
            state_hash=_sha256(state),
            provider=provider.key,
            nonce=nonce,
            code_verifier=verifier,
            next_path=next_path[:500],
            browser_hash=_sha256(browser),
            created_at=now,
        )
    )
    session.flush()
    with _client(provider, redirect_uri) as client:
        url, _ = client.create_authorization_url(endpoint, state=state, nonce=nonce, code_verifier=verifier)
    return url


@dataclass(frozen=True)
class SignedIn:
    principal: Principal
    next_path: str
    attempt_id: int
    created: bool


@dataclass(frozen=True)
class Refusal:
    reason: str
    message: str
    provider: IdentityProvider | None
    rule: str | None = None
    email: str | None = None


def finish(
    session: Session,
    directory: ProviderDirectory,
    providers: IdentityProviders,
    *,
    params: dict[str, str],
    browser: str,
    redirect_uri: str,
    now: datetime,
) -> SignedIn | Refusal:
    """The callback's outcome (``params``: its query). A refusal is recorded and
    returned, never raised: the caller commits it."""
    state = params.get("state") or ""
    attempt = session.scalar(select(SsoAttemptRow).where(SsoAttemptRow.state_hash == _sha256(state))) if state else None
    provider = providers.get(attempt.provider) if attempt is not None else None
    try:
        if attempt is None:
            raise SignInRefused("state", "this sign-in link is unknown or has expired: start again")
        # Used once, whoever comes first: a replayed callback changes no row here.
        claimed = cast(
            CursorResult,
            session.execute(
                update(SsoAttemptRow)
                .where(SsoAttemptRow.id == attempt.id, SsoAttemptRow.used_at.is_(None))
                .values(used_at=now)
                .execution_options(synchronize_session=False)
            ),
        ).rowcount
        session.refresh(attempt)
        if claimed != 1:
            raise SignInRefused("replayed", "this sign-in link was used already: start again")
        if now - attempt.created_at > ATTEMPT_LIFETIME:
            raise SignInRefused("state", "this sign-in link has expired: start again")
        if provider is None:
            raise SignInRefused("provider", f"the identity provider {attempt.provider!r} is no longer configured")
        if attempt.browser_hash != _sha256(browser):
            raise SignInRefused("browser", "this sign-in was started in another browser: start again")
        if params.get("error"):
            raise SignInRefused("provider-error", f"the identity provider answered {params['error']!r}")
        try:
            with session.begin_nested():  # rolled back whole on a refusal: never a half-created user
                outcome = _sign_in(session, directory, provider, attempt, params, redirect_uri=redirect_uri, now=now)
        except IntegrityError:  # the same person's first sign-in, twice at once: the other one made the account
            raise SignInRefused("account", "this account was being created at the same moment: start again") from None
        return outcome
    except SignInRefused as refused:
        return refuse(session, attempt, provider, refused, now=now)


def _exchange(
    provider: IdentityProvider, directory: ProviderDirectory, attempt: SsoAttemptRow, code: str, *, redirect_uri: str
) -> str:
    token_endpoint = directory.metadata(provider)["token_endpoint"]
    try:
        with _client(provider, redirect_uri) as client:
            tokens = client.fetch_token(token_endpoint, code=code, code_verifier=attempt.code_verifier)
    except (OAuthError, requests.RequestException, ValueError) as exc:
        raise SignInRefused("exchange", f"the code could not be exchanged at the identity provider: {exc}") from None
    id_token = tokens.get("id_token") if isinstance(tokens, dict) else None
    if not isinstance(id_token, str):
        raise SignInRefused("token", "the identity provider returned no ID token")
    return id_token


def _sign_in(
    session: Session,
    directory: ProviderDirectory,
    provider: IdentityProvider,
    attempt: SsoAttemptRow,
    params: dict[str, str],
    *,
    redirect_uri: str,
    now: datetime,
) -> SignedIn:
    code = params.get("code") or ""
    if not code:
        raise SignInRefused("provider-error", "the identity provider sent no code")
    if params.get("iss") and params["iss"] != provider.issuer:  # RFC 9207
        raise SignInRefused("issuer", f"the answer comes from {params['iss']!r}, not from {provider.issuer!r}")
    id_token = _exchange(provider, directory, attempt, code, redirect_uri=redirect_uri)
    claims = validated_claims(id_token, provider, directory, nonce=attempt.nonce, now=now)
    email = _email(claims, provider)
    user, created = (
        _staff_user(session, provider, claims, email, now=now)
        if provider.is_staff
        else _customer_user(session, provider, claims, email, now=now)
    )
    principal = active_principal(session, user.id)
    if principal is None:
        raise SignInRefused("inactive", f"the account {email} is deactivated", email=email)
    identity = session.scalar(
        select(SsoIdentityRow).where(SsoIdentityRow.issuer == provider.issuer, SsoIdentityRow.subject == claims["sub"])
    )
    if identity is None:
        session.add(
            SsoIdentityRow(
                issuer=provider.issuer, subject=claims["sub"], user_id=user.id, created_at=now, last_sign_in_at=now
            )
        )
    else:
        identity.last_sign_in_at = now
    attempt.outcome, attempt.user_id, attempt.id_token = "signed-in", user.id, id_token
    record_event(
        session,
        customer_id=user.customer_id,
        subject_type="user",
        subject_id=user.id,
        tag="sso:sign-in",
        actor=email,
        at=now,
        after={"provider": provider.key, "issuer": provider.issuer, "subject": claims["sub"], "created": created},
        rule=None if provider.is_staff else "R-ORD-4",
    )
    session.flush()
    return SignedIn(principal, attempt.next_path, attempt.id, created)


def _email(claims: dict[str, Any], provider: IdentityProvider) -> str:
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise SignInRefused("email", "the identity provider gave no e-mail address (scope email)")
    email = email.strip().lower()
    if claims.get("email_verified") is False:
        raise SignInRefused("email", f"the identity provider has not verified {email}", email=email)
    domain = email.rsplit("@", 1)[1]
    if provider.email_domains and domain not in provider.email_domains:
        raise SignInRefused("domain", f"{email} is not an address of {', '.join(provider.email_domains)}", email=email)
    return email


def _language(claims: dict[str, Any]) -> str | None:
    locale = claims.get("locale")
    if not isinstance(locale, str):
        return None
    language = locale.replace("_", "-").split("-", 1)[0].lower()
    return language if language in ("en", "fr") else None


def _name(claims: dict[str, Any], email: str) -> str:
    name = claims.get("name")
    return name.strip()[:200] if isinstance(name, str) and name.strip() else email.split("@", 1)[0]


def _known_user(session: Session, provider: IdentityProvider, claims: dict[str, Any], email: str) -> UserRow | None:
    identity = session.scalar(
        select(SsoIdentityRow).where(SsoIdentityRow.issuer == provider.issuer, SsoIdentityRow.subject == claims["sub"])
    )
    if identity is not None:
        return session.get(UserRow, identity.user_id)
    return session.scalar(select(UserRow).where(UserRow.email == email))


def _update_or_create(
    session: Session,
    provider: IdentityProvider,
    user: UserRow | None,
    claims: dict[str, Any],
    email: str,
    role: Role,
    *,
    now: datetime,
) -> tuple[UserRow, bool]:
    actor = f"sso:{provider.key}"
    language = _language(claims)
    try:
        if user is None:
            return (
                create_user(
                    session,
                    email=email,
                    name=_name(claims, email),
                    role=role,
                    customer_code=provider.customer,
                    contact_email=email if provider.customer else None,
                    language=language or "en",
                    actor=actor,
                    now=now,
                ),
                True,
            )
        # update_user audits what changed (user:update, before and after): the role too.
        return (
            update_user(
                session, email=user.email, role=role, name=_name(claims, email), language=language, actor=actor, now=now
            ),
            False,
        )
    except InvalidInput as exc:
        raise SignInRefused(
            "account", f"the account cannot be made or updated: {exc}", rule=exc.rule, email=email
        ) from None


def _customer_user(
    session: Session, provider: IdentityProvider, claims: dict[str, Any], email: str, *, now: datetime
) -> tuple[UserRow, bool]:
    customer = session.scalar(select(CustomerRow).where(CustomerRow.code == provider.customer))
    if customer is None:
        raise SignInRefused("provider", f"the identity provider's customer {provider.customer!r} does not exist")
    contact = session.scalar(select(ContactRow).where(ContactRow.customer_id == customer.id, ContactRow.email == email))
    role = next((r for r in CUSTOMER_ROLES_BY_PRECEDENCE if contact_fits(r, contact)), None)
    if contact is None or role is None:
        raise SignInRefused(
            "not-contact",
            f"{email} is not an active designated contact of {customer.name} with a support role",
            rule="R-ORD-4",
            email=email,
        )
    user = _known_user(session, provider, claims, email)
    if user is not None and (user.customer_id != customer.id or user.contact_id not in (None, contact.id)):
        raise SignInRefused("account", f"the account {user.email} belongs elsewhere", rule="R-ORD-4", email=email)
    if user is not None and contact_fits(Role(user.role), contact):
        role = Role(user.role)  # a role that still fits stays
    return _update_or_create(session, provider, user, claims, email, role, now=now)


def _staff_user(
    session: Session, provider: IdentityProvider, claims: dict[str, Any], email: str, *, now: datetime
) -> tuple[UserRow, bool]:
    groups = claims.get(provider.groups_claim)
    groups = {g for g in groups if isinstance(g, str)} if isinstance(groups, list) else set()
    role = next((r for group, r in provider.roles if group in groups), None)
    if role is None:
        raise SignInRefused(
            "no-role",
            f"{email} is in none of the groups that give a role ({', '.join(g for g, _ in provider.roles)})",
            email=email,
        )
    user = _known_user(session, provider, claims, email)
    if user is not None and not Role(user.role).is_provider:
        raise SignInRefused("account", f"the account {user.email} is a customer's", email=email)
    return _update_or_create(session, provider, user, claims, email, role, now=now)


def refuse(
    session: Session,
    attempt: SsoAttemptRow | None,
    provider: IdentityProvider | None,
    refused: SignInRefused,
    *,
    now: datetime,
) -> Refusal:
    """Record a refusal (``sso:refused``: reason, e-mail, provider, rule) and say it."""
    customer_id = None
    if provider is not None and provider.customer:
        customer_id = session.scalar(select(CustomerRow.id).where(CustomerRow.code == provider.customer))
    if attempt is not None and attempt.outcome is None:
        attempt.outcome = refused.reason
    record_event(
        session,
        customer_id=customer_id,
        subject_type="sso-attempt",
        subject_id=attempt.id if attempt is not None else 0,
        tag="sso:refused",
        actor=refused.email or "anonymous",
        at=now,
        after={"provider": provider.key if provider else None, "reason": refused.reason, "email": refused.email},
        reason=refused.message[:1000],
        rule=refused.rule,
    )
    session.flush()
    return Refusal(refused.reason, refused.message, provider, refused.rule, refused.email)


def end_session_url(
    session: Session,
    directory: ProviderDirectory,
    providers: IdentityProviders,
    *,
    browser: str,
    post_logout_redirect_uri: str,
) -> str | None:
    """Where signing out of the session ``browser`` (its id) sends the browser when
    it was opened through a provider that publishes an ``end_session_endpoint``:
    that endpoint with the ID token as hint and the page to come back to; else None."""
    attempt = session.scalar(
        select(SsoAttemptRow)
        .where(SsoAttemptRow.session_hash == _sha256(browser), SsoAttemptRow.outcome == "signed-in")
        .order_by(SsoAttemptRow.id.desc())
    )
    provider = providers.get(attempt.provider) if attempt is not None else None
    if attempt is None or provider is None or not attempt.id_token:
        return None
    try:
        endpoint = directory.metadata(provider).get("end_session_endpoint")
    except SignInRefused:
        return None  # the provider is down: sign out here at least
    if not isinstance(endpoint, str):
        return None
    query = urlencode(
        {
            "id_token_hint": attempt.id_token,
            "post_logout_redirect_uri": post_logout_redirect_uri,
            "client_id": provider.client_id,
        }
    )
    attempt.id_token = None  # one sign-out per sign-in
    session.flush()
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


def bind_session(session: Session, attempt_id: int, *, browser: str) -> None:
    """Record which web session (its id) the sign-in opened, for its sign-out."""
    attempt = session.get_one(SsoAttemptRow, attempt_id)
    attempt.session_hash = _sha256(browser)
    session.flush()
