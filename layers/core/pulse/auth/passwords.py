"""Passwords: argon2id hashes (argon2-cffi defaults, RFC 9106's second recommended profile).

A password is never logged and never leaves this module except as its hash.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from pulse.errors import ApiError

MIN_LENGTH = 12
# Far above any passphrase; bounds the work one request can ask of argon2.
MAX_LENGTH = 1024

hasher = PasswordHasher()  # argon2id, t=3, m=64 MiB, p=4

# The hash of a random, forgotten password, made with the same parameters as ``hasher``: a login
# for an unknown email verifies against it, so it costs what a wrong password costs and the
# response time does not tell which emails have accounts. A test keeps the parameters in step.
DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$gSn9f3h8zLYPyWRew4glzw$4oUZxzjSbits6EPKIVufbcCZHmYRZLv3emexqm5uygc"
)


def check_policy(password: str) -> None:
    """Reject a password shorter than ``MIN_LENGTH`` (or absurdly long) with a 422."""
    if len(password) < MIN_LENGTH:
        raise ApiError(422, "weak_password", f"Passwords need at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise ApiError(422, "weak_password", f"Passwords may have at most {MAX_LENGTH} characters.")


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (after the length policy)."""
    check_policy(password)
    return hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; with no hash, burn the same time and say no."""
    try:
        matches = hasher.verify(password_hash or DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return matches and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash was made with other parameters than the current ones."""
    return hasher.check_needs_rehash(password_hash)


def rehash(password: str) -> str:
    """A hash with the current parameters of a password that just verified (no policy check)."""
    return hasher.hash(password)
