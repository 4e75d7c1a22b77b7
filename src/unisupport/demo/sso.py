"""The single sign-on demo (``scripts/oidc-demo.sh``): the files that make the local
OpenID provider (``tests/oidc/provider.mjs``, npm's oidc-provider) serve two demo
accounts and the demo sign in through it.

``python -m unisupport.demo.sso FOLDER PROVIDER_PORT APP_PORT`` writes, in FOLDER,
``provider.json`` (a new signing key, the demo's client, the two accounts) and
``identity-providers.yaml`` (Contoso's provider: issuer, client, e-mail domain),
then prints the client secret, which the script puts in the environment:

* ``jonas.becker@contoso.example`` is a designated contact of Contoso who has no
  account yet: the first sign-in creates it (just in time);
* ``visitor@contoso.example`` has a Contoso address but is no contact: refused
  (R-ORD-4), no account made.

Both sign in at the provider with :data:`PASSWORD`."""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

from joserfc.jwk import RSAKey

PASSWORD = "demo-password-2026"
CLIENT_ID = "unisupport-demo"
SECRET_VARIABLE = "UNISUPPORT_SSO_DEMO_SECRET"
ACCOUNTS = [
    ("jonas.becker@contoso.example", "Jonas Becker", "en-GB"),
    ("visitor@contoso.example", "Vera Visitor", "fr-FR"),
]


def write(folder: Path, *, provider_port: int, app_port: int) -> str:
    """Write the two files (see the module); the client secret."""
    folder.mkdir(parents=True, exist_ok=True)
    issuer = f"http://127.0.0.1:{provider_port}"
    secret = secrets.token_urlsafe(32)
    key = RSAKey.generate_key(2048, parameters={"kid": f"demo-{secrets.token_hex(4)}", "use": "sig", "alg": "RS256"})
    apps = [f"http://{host}:{app_port}" for host in ("127.0.0.1", "localhost")]  # as the browser may name it
    provider = {
        "port": provider_port,
        "issuer": issuer,
        "jwks": {"keys": [key.as_dict(private=True)]},
        "clients": [
            {
                "client_id": CLIENT_ID,
                "client_secret": secret,
                "redirect_uris": [f"{app}/sso/callback" for app in apps],
                "post_logout_redirect_uris": [f"{app}/sign-in" for app in apps],
            }
        ],
        "accounts": [
            {"sub": f"demo-{i}", "email": email, "password": PASSWORD, "name": name, "locale": locale, "groups": []}
            for i, (email, name, locale) in enumerate(ACCOUNTS, 1)
        ],
    }
    (folder / "provider.json").write_text(json.dumps(provider, indent=2), encoding="utf-8")
    (folder / "identity-providers.yaml").write_text(
        f"""# Written by scripts/oidc-demo.sh: Contoso signs in through the local OpenID provider.
providers:
  contoso:
    kind: customer
    customer: contoso
    label: Contoso (local demo provider)
    issuer: {issuer}
    client_id: {CLIENT_ID}
    client_secret_env: {SECRET_VARIABLE}
    email_domains: [contoso.example]
""",
        encoding="utf-8",
    )
    return secret


if __name__ == "__main__":
    print(write(Path(sys.argv[1]), provider_port=int(sys.argv[2]), app_port=int(sys.argv[3])))
