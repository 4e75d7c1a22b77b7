"""Passwords: argon2id hashes, never kept or logged in clear."""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher

from unisupport.errors import InvalidInput

MIN_PASSWORD_LENGTH = 12
# argon2id with argon2-cffi's defaults (RFC 9106's low-memory profile); when the
# defaults change, check_needs_rehash() upgrades a hash at the next sign-in.
HASHER = PasswordHasher()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD_LENGTH} characters", field="password")
    return HASHER.hash(password)


@cache
def dummy_hash() -> str:
    return HASHER.hash(secrets.token_urlsafe(16))
