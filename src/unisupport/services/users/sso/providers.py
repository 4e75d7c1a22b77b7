"""The identity providers the operator configured (``identity-providers.yaml``).

The file is ``$UNISUPPORT_IDENTITY_PROVIDERS``, else ``identity-providers.yaml`` in
the data folder (``UNISUPPORT_DATA_DIR``); without one, single sign-on is off and
only passwords and tokens sign in. It is read once, at start, and a mistake stops
the start with a message naming the file, the provider and the field::

    providers:
      staff:                        # the key, in /sso/staff/start
        kind: staff                 # the provider's own people: groups → roles
        label: Provider staff
        issuer: https://login.provider.example
        client_id: unisupport
        client_secret_env: UNISUPPORT_SSO_STAFF_SECRET   # the secret stays in the environment
        roles:                      # the first group the user is in gives the role
          support-admins: admin
          support-engineers: engineer
      contoso:
        kind: customer              # one customer's contacts (R-ORD-4)
        customer: contoso
        label: Contoso
        issuer: https://idp.contoso.example
        client_id: unisupport-portal
        client_secret_env: UNISUPPORT_SSO_CONTOSO_SECRET
        email_domains: [contoso.example]
        password_sign_in: false     # Contoso's users may no longer use a password

A customer provider is bound to its customer by its issuer and its e-mail domains:
an ID token from another issuer, or for an address outside the domains, signs no
one in."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from unisupport.access import Role
from unisupport.datafile import read_yaml, validate
from unisupport.errors import DataFileError
from unisupport.settings import DATA_DIR

PROVIDERS_FILE = "UNISUPPORT_IDENTITY_PROVIDERS"
DEFAULT_NAME = "identity-providers.yaml"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
_DOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["staff", "customer"]
    label: str = Field(min_length=1, max_length=100)
    issuer: str
    client_id: str = Field(min_length=1, max_length=200)
    client_secret_env: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    scopes: list[str] = ["openid", "email", "profile"]
    email_domains: list[str] = []
    customer: str | None = None
    password_sign_in: bool = True
    groups_claim: str = "groups"
    roles: dict[str, str] = {}

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme == "http" and parts.hostname in LOOPBACK:
            return value  # the local test provider (tests/oidc, the demo)
        if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(f"{value!r} is not an issuer: an https:// URL (http:// only on this machine)")
        return value

    @field_validator("email_domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        domains = [d.strip().lower() for d in value]
        for domain in domains:
            if not _DOMAIN.match(domain):
                raise ValueError(f"{domain!r} is not an e-mail domain (such as contoso.example)")
        return domains

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str]) -> list[str]:
        if "openid" not in value:
            raise ValueError("the scopes must include openid")
        return value

    @field_validator("roles")
    @classmethod
    def _roles(cls, value: dict[str, str]) -> dict[str, str]:
        provider_roles = [r.value for r in Role if r.is_provider]
        for group, role in value.items():
            if role not in provider_roles:
                raise ValueError(f"group {group!r}: {role!r} is not a provider role ({', '.join(provider_roles)})")
        return value

    @model_validator(mode="after")
    def _kind(self) -> _Entry:
        if self.kind == "customer":
            if not self.customer:
                raise ValueError("a customer provider names its customer (customer: CODE)")
            if not self.email_domains:
                raise ValueError("a customer provider lists its e-mail domains (email_domains: [DOMAIN])")
            if self.roles:
                raise ValueError("roles map a staff provider's groups; a customer user's role comes from its contact")
        else:
            if self.customer:
                raise ValueError("a staff provider belongs to no customer")
            if not self.roles:
                raise ValueError("a staff provider maps groups to roles (roles: {GROUP: ROLE})")
            if not self.password_sign_in:
                raise ValueError("password_sign_in is a customer provider's setting")
        return self


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    providers: dict[str, _Entry]

    @field_validator("providers")
    @classmethod
    def _keys(cls, value: dict[str, _Entry]) -> dict[str, _Entry]:
        for key in value:
            if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,63}", key):
                raise ValueError(f"{key!r} is not a provider key (lower-case letters, digits, hyphens)")
        if sum(1 for e in value.values() if e.kind == "staff") > 1:
            raise ValueError("at most one provider is the staff's (kind: staff)")
        return value


@dataclass(frozen=True)
class IdentityProvider:
    key: str
    kind: str  # staff or customer
    label: str
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...]
    email_domains: tuple[str, ...]
    customer: str | None = None
    password_sign_in: bool = True
    groups_claim: str = "groups"
    roles: tuple[tuple[str, Role], ...] = ()  # (group, role), the first match wins

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"


@dataclass(frozen=True)
class IdentityProviders:
    providers: tuple[IdentityProvider, ...] = ()
    path: str | None = None

    def __bool__(self) -> bool:
        return bool(self.providers)

    def get(self, key: str) -> IdentityProvider | None:
        return next((p for p in self.providers if p.key == key), None)

    def password_off(self, customer_code: str | None) -> IdentityProvider | None:
        """The provider through which ``customer_code``'s users must sign in, when
        the operator switched their password sign-in off; else None."""
        if customer_code is None:
            return None
        return next(
            (p for p in self.providers if p.customer == customer_code and not p.password_sign_in),
            None,
        )


def providers_path(env: dict[str, str] | None = None) -> Path | None:
    env = dict(os.environ if env is None else env)
    given = (env.get(PROVIDERS_FILE) or "").strip()
    if given:
        return Path(given).expanduser()
    default = Path(env.get(DATA_DIR) or "data").expanduser() / DEFAULT_NAME
    return default if default.exists() else None


def load_identity_providers(env: dict[str, str] | None = None) -> IdentityProviders:
    """The configured providers (none without a file); DataFileError naming the
    file, the provider and the field — or the missing secret's variable."""
    env = dict(os.environ if env is None else env)
    path = providers_path(env)
    if path is None:
        return IdentityProviders()
    document = validate(path, _File, read_yaml(path))
    out = []
    for key, entry in document.providers.items():
        secret = (env.get(entry.client_secret_env) or "").strip()
        if not secret:
            raise DataFileError(
                str(path),
                f"the client secret is read from ${entry.client_secret_env}, which is not set",
                entry=key,
                field="client_secret_env",
            )
        out.append(
            IdentityProvider(
                key=key,
                kind=entry.kind,
                label=entry.label,
                issuer=entry.issuer,
                client_id=entry.client_id,
                client_secret=secret,
                scopes=tuple(entry.scopes),
                email_domains=tuple(entry.email_domains),
                customer=entry.customer,
                password_sign_in=entry.password_sign_in,
                groups_claim=entry.groups_claim,
                roles=tuple((group, Role(role)) for group, role in entry.roles.items()),
            )
        )
    return IdentityProviders(tuple(out), str(path))
