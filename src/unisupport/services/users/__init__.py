"""Users, teams, CSAM assignments, API tokens, and who a request is (issue 4).

Provider users (admin, engineer, incident manager, CSAM) belong to no customer;
customer users (support administrator, reactive contact) belong to one and are one
of its designated contacts with a fitting role (R-ORD-4). Every change is an audit
event with who, when, before and after; no event ever holds a password, a password
hash or a token.

Authentication ends in a :class:`~unisupport.access.Principal`, whose
``customer_scope`` is the tenant filter of every later query. A token or password
that does not lead to a usable user yields ``None`` — never a reason, so that a
caller learns nothing about which part was wrong.

One module per concept: :mod:`.accounts` (users, teams, CSAM assignments),
:mod:`.passwords`, :mod:`.tokens` and :mod:`.sign_in` (who is asking)."""

from unisupport.services.users.accounts import (
    FITTING_CONTACT_ROLES,
    LANGUAGES,
    add_to_team,
    assign_csam,
    contact_fits,
    create_team,
    create_user,
    describe_user,
    list_teams,
    list_users,
    update_user,
    user_by_email,
)
from unisupport.services.users.accounts import (
    _customer as _customer,  # tests build fixtures with it
)
from unisupport.services.users.passwords import MIN_PASSWORD_LENGTH
from unisupport.services.users.sign_in import (
    active_principal,
    end_session,
    end_sessions,
    home_site,
    principal_for_password,
    principal_for_user,
)
from unisupport.services.users.tokens import (
    LAST_USED_RESOLUTION,
    TOKEN_PREFIX_LENGTH,
    TOKEN_SCHEME,
    TokenUse,
    authenticate_token,
    create_token,
    hash_token,
    list_tokens,
    principal_for_token,
    record_token_use,
    revoke_token,
)

__all__ = [
    "FITTING_CONTACT_ROLES",
    "LANGUAGES",
    "LAST_USED_RESOLUTION",
    "MIN_PASSWORD_LENGTH",
    "TOKEN_PREFIX_LENGTH",
    "TOKEN_SCHEME",
    "TokenUse",
    "active_principal",
    "add_to_team",
    "assign_csam",
    "authenticate_token",
    "contact_fits",
    "create_team",
    "create_token",
    "create_user",
    "describe_user",
    "end_session",
    "end_sessions",
    "hash_token",
    "home_site",
    "list_tokens",
    "list_teams",
    "list_users",
    "principal_for_password",
    "principal_for_token",
    "principal_for_user",
    "record_token_use",
    "revoke_token",
    "update_user",
    "user_by_email",
]
