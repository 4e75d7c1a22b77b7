"""A real OpenID provider for tests: npm's ``oidc-provider`` run by Debian's
``nodejs`` (``tests/oidc/provider.mjs``, installed by ``npm ci --prefix tests/oidc``,
which ``.ci/run`` does), on a free loopback port, with the clients, accounts and
signing keys a test gives. :meth:`OidcProvider.rotate` restarts it with a new
signing key, as a provider that rotates its keys.

Without node or the npm packages the tests that need it are skipped with the
command to run — and fail under CI (``CI`` set), like PostgreSQL and IMAP."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from joserfc.jwk import RSAKey

from unisupport.services.users.sso import IdentityProvider

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "oidc" / "provider.mjs"
MODULES = ROOT / "tests" / "oidc" / "node_modules" / "oidc-provider"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PASSWORD = "op-password-2026"


def need_provider() -> str:
    """The path of ``node``, or a skip (a failure under CI) saying what to install."""
    node = shutil.which("node") or shutil.which("nodejs")
    problem = None
    if node is None:
        problem = "node is missing: apt-get install nodejs npm"
    elif not MODULES.exists():
        problem = "the OpenID provider's packages are missing: npm ci --prefix tests/oidc"
    if problem is None:
        return node  # type: ignore[return-value]
    if IN_CI:
        pytest.fail(f"CI must run the single sign-on tests against the real provider: {problem}")
    pytest.skip(problem)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


@dataclass
class OidcProvider:
    workdir: Path
    clients: list[dict[str, Any]] = field(default_factory=list)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    keys: list[RSAKey] = field(default_factory=lambda: [new_key("key-1")])
    process: subprocess.Popen | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def account(self, email: str, name: str, *, locale: str = "en-GB", groups: tuple[str, ...] = ()) -> None:
        """Add or replace the account of ``email`` (its password: :data:`PASSWORD`);
        taken at the next :meth:`start`."""
        self.accounts = [a for a in self.accounts if a["email"] != email]
        self.accounts.append(
            {
                "sub": "sub-" + email,
                "email": email,
                "password": PASSWORD,
                "name": name,
                "locale": locale,
                "groups": list(groups),
            }
        )

    def start(self) -> None:
        node = need_provider()
        config = self.workdir / "oidc-provider.json"
        config.write_text(
            json.dumps(
                {
                    "port": self.port,
                    "issuer": self.issuer,
                    "jwks": {"keys": [k.as_dict(private=True) for k in self.keys]},
                    "clients": self.clients,
                    "accounts": self.accounts,
                }
            ),
            encoding="utf-8",
        )
        log = (self.workdir / "oidc-provider.log").open("ab")
        self.process = subprocess.Popen([node, str(SCRIPT), str(config)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:  # the discovery document answers once it listens
            try:
                if httpx.get(f"{self.issuer}/.well-known/openid-configuration", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass  # not listening yet: ask again until the deadline below
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the OpenID provider did not start: {(self.workdir / 'oidc-provider.log').read_text()}"
                )
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def rotate(self, kid: str) -> None:
        """Sign with a new key from now on; the old one is no longer published."""
        self.keys = [new_key(kid)]
        self.restart()


def log_in(provider: OidcProvider, authorization_url: str, email: str, password: str = PASSWORD) -> str:
    """Go through the provider's real login form as a browser without JavaScript
    would, and give the URL it sends the browser back to (the client's callback)."""
    with httpx.Client(timeout=10) as browser:
        url = authorization_url
        posted = False
        for _ in range(20):
            if not url.startswith(provider.issuer):
                return url
            r = browser.get(url)
            if r.is_redirect:
                url = urljoin(url, r.headers["location"])
                continue
            form = re.search(r'<form method="post" action="([^"]+)"', r.text)
            assert r.status_code == 200 and form and not posted, (r.status_code, r.text[:500])
            r = browser.post(urljoin(url, html.unescape(form.group(1))), data={"email": email, "password": password})
            assert r.is_redirect, (r.status_code, r.text[:500])
            posted = True
            url = urljoin(url, r.headers["location"])
    raise AssertionError("the provider never sent the browser back")


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def our_client(app_url: str, client_id: str, secret: str) -> dict[str, Any]:
    """The provider's registration of the app at ``app_url`` as ``client_id``."""
    return {
        "client_id": client_id,
        "client_secret": secret,
        "redirect_uris": [app_url + "/sso/callback"],
        "post_logout_redirect_uris": [app_url + "/sign-in"],
    }


def customer_provider(key: str, issuer: str, secret: str, customer: str, domain: str, **more: Any) -> IdentityProvider:
    """How the app knows a customer's provider (as ``identity-providers.yaml`` would say)."""
    return IdentityProvider(
        key=key,
        kind="customer",
        label=more.pop("label", key.capitalize()),
        issuer=issuer,
        client_id=more.pop("client_id", "portal"),
        client_secret=secret,
        scopes=("openid", "email", "profile"),
        email_domains=(domain,),
        customer=customer,
        **more,
    )
