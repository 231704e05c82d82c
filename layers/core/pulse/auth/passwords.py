"""Passwords: argon2id hashes with OWASP's recommended profile (19 MiB, t=2, p=1).

A password is never logged and never leaves this module except as its hash.

Why not argon2-cffi's default (RFC 9106's second profile, 64 MiB, t=3, p=4): its four lanes
assume four cores, and a Lambda function gets a fraction of one (about 0.6 vCPU at 1,024 MB).
Measured on one core here: 198 ms per verification with the default, 25 ms with this profile;
at 0.6 vCPU that is ~330 ms against ~42 ms of every login, and of every guess the limiter lets
through. OWASP's Password Storage Cheat Sheet lists this profile (and equivalents trading
memory for passes) as its minimum for argon2id; Spring Security's and Keycloak's defaults are
of the same size. Hashes made with other parameters are re-made at their next login.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from pulse.errors import ApiError

MIN_LENGTH = 12
# Far above any passphrase; bounds the work one request can ask of argon2.
MAX_LENGTH = 1024

hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)  # argon2id

# The hash of a random, forgotten password, made with the same parameters as ``hasher``: a login
# for an unknown email verifies against it, so it costs what a wrong password costs and the
# response time does not tell which emails have accounts. A test keeps the parameters in step.
DUMMY_HASH = (
    "$argon2id$v=19$m=19456,t=2,p=1$2iRx0SgPclHQECL+Ye9qNg$yqgp4R6rq9e5GNt5jd28hevq32z6qlLpt4CVrHKhYc4"
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
