"""Single sign-on with OpenID Connect (issue 11): the operator's identity providers
(:mod:`.providers`), what they publish and the ID tokens they sign
(:mod:`.id_tokens`), and signing in and out through them (:mod:`.sign_in`)."""

from unisupport.services.users.sso.id_tokens import ProviderDirectory, validated_claims
from unisupport.services.users.sso.password import refuse_password
from unisupport.services.users.sso.providers import (
    PROVIDERS_FILE,
    IdentityProvider,
    IdentityProviders,
    load_identity_providers,
)
from unisupport.services.users.sso.sign_in import (
    Refusal,
    SignedIn,
    begin,
    bind_session,
    end_session_url,
    finish,
    refuse,
)

__all__ = [
    "PROVIDERS_FILE",
    "IdentityProvider",
    "IdentityProviders",
    "ProviderDirectory",
    "Refusal",
    "SignedIn",
    "begin",
    "bind_session",
    "end_session_url",
    "finish",
    "load_identity_providers",
    "refuse",
    "refuse_password",
    "validated_claims",
]
