"""What an identity provider publishes (its discovery document and its keys) and the
validation of the ID tokens it signs (OpenID Connect Core, 3.1.3.7).

An ID token is believed only when it is a JWS signed with an asymmetric algorithm
by a key of the provider's JWKS, its ``iss`` is the configured issuer exactly, its
``aud`` holds our client id (and ``azp`` is ours when there are several), it has
not expired, it was not issued in the future, and it carries the nonce of this
sign-in. Keys are kept in memory per issuer; a token signed with a key id we do not
know makes us fetch the JWKS again, once (the provider rotated its keys); still
unknown, the token is refused."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from unisupport.errors import SignInRefused
from unisupport.services.users.sso.providers import IdentityProvider

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
LEEWAY = 60  # seconds of clock difference tolerated on exp and iat
TIMEOUT = 5.0  # seconds for each request to a provider


@dataclass
class _Known:
    metadata: dict[str, Any] | None = None
    keys: KeySet | None = None


@dataclass
class ProviderDirectory:
    """The discovery documents and JWKS of the providers, fetched on first use and
    kept for the process (one per app)."""

    http: requests.Session = field(default_factory=requests.Session)
    _known: dict[str, _Known] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    jwks_fetches: int = 0  # how many times a JWKS was fetched (the tests read it)

    def _get(self, url: str, what: str) -> dict[str, Any]:
        try:
            response = self.http.get(url, headers={"accept": "application/json"}, timeout=TIMEOUT)
            response.raise_for_status()
            body = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise SignInRefused(
                "provider-unreachable", f"the identity provider's {what} could not be read: {exc}"
            ) from None
        if not isinstance(body, dict):
            raise SignInRefused("provider-unreachable", f"the identity provider's {what} is not a JSON object")
        return body

    def metadata(self, provider: IdentityProvider) -> dict[str, Any]:
        with self._lock:
            known = self._known.setdefault(provider.issuer, _Known())
            if known.metadata is None:
                document = self._get(provider.issuer.rstrip("/") + "/.well-known/openid-configuration", "discovery")
                if document.get("issuer") != provider.issuer:
                    raise SignInRefused(
                        "issuer",
                        f"the discovery document names issuer {document.get('issuer')!r}, "
                        f"not the configured {provider.issuer!r}",
                    )
                for needed in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                    if not isinstance(document.get(needed), str):
                        raise SignInRefused("provider-unreachable", f"the discovery document has no {needed}")
                known.metadata = document
            return known.metadata

    def keys(self, provider: IdentityProvider, *, refresh: bool = False) -> KeySet:
        uri = self.metadata(provider)["jwks_uri"]
        with self._lock:
            known = self._known[provider.issuer]
            if known.keys is None or refresh:
                document = self._get(uri, "keys (JWKS)")
                self.jwks_fetches += 1
                try:
                    known.keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
                except (JoseError, ValueError, TypeError, KeyError) as exc:
                    raise SignInRefused(
                        "provider-unreachable", f"the identity provider's JWKS is unusable: {exc}"
                    ) from None
            return known.keys


def _key_ids(keys: KeySet) -> set[str]:
    return {k.kid for k in keys.keys if k.kid}


def _signed_claims(token: str, provider: IdentityProvider, directory: ProviderDirectory) -> dict[str, Any]:
    try:
        header = jws.extract_compact(token.encode()).protected
    except (JoseError, ValueError, TypeError, UnicodeError):
        raise SignInRefused("token", "the ID token is not a signed JWT") from None
    algorithm, kid = header.get("alg"), header.get("kid")
    if algorithm not in ALGORITHMS:
        raise SignInRefused("signature", f"the ID token is signed with {algorithm!r}, which is not accepted")
    keys = directory.keys(provider)
    if kid is not None and kid not in _key_ids(keys):
        keys = directory.keys(provider, refresh=True)  # rotated keys: fetched again, once
        if kid not in _key_ids(keys):
            raise SignInRefused(
                "signature", f"the ID token is signed with key {kid!r}, which the provider does not publish"
            )
    try:
        return dict(jwt.decode(token, keys, algorithms=list(ALGORITHMS)).claims)
    except (JoseError, ValueError, TypeError):
        raise SignInRefused("signature", "the ID token's signature does not verify with the provider's keys") from None


def validated_claims(
    token: str, provider: IdentityProvider, directory: ProviderDirectory, *, nonce: str, now: datetime
) -> dict[str, Any]:
    """The claims of ``token`` once every check of the module passed; SignInRefused
    naming the check otherwise."""
    claims = _signed_claims(token, provider, directory)
    if claims.get("iss") != provider.issuer:
        raise SignInRefused("issuer", f"the ID token's issuer {claims.get('iss')!r} is not {provider.issuer!r}")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
    if provider.client_id not in audiences:
        raise SignInRefused("audience", f"the ID token is meant for {audience!r}, not for {provider.client_id!r}")
    if len(audiences) > 1 and claims.get("azp") != provider.client_id:
        raise SignInRefused("audience", "the ID token has several audiences and is not authorized for us (azp)")
    moment = now.timestamp()
    expires, issued = claims.get("exp"), claims.get("iat")
    if not isinstance(expires, int | float) or expires + LEEWAY <= moment:
        raise SignInRefused("expired", "the ID token has expired")
    if not isinstance(issued, int | float) or issued - LEEWAY > moment:
        raise SignInRefused("token", "the ID token was issued in the future")
    if claims.get("nonce") != nonce:
        raise SignInRefused("nonce", "the ID token does not carry this sign-in's nonce (a replayed token)")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise SignInRefused("token", "the ID token names no subject")
    return claims
