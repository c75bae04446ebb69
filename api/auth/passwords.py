"""Password hashing (argon2id, OWASP parameters) and the password policy (NIST 800-63B:
length limits and a common-password list, no composition rules)."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from api.core.errors import Unprocessable

MIN_LENGTH = 8
MAX_LENGTH = 128

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships the 30,000 most common leaked passwords; loaded on first use only.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def check_policy(password: str, *, email: str | None = None) -> None:
    if len(password) < MIN_LENGTH:
        raise Unprocessable(f"password must be at least {MIN_LENGTH} characters",
                            code="weak_password")
    if len(password) > MAX_LENGTH:
        raise Unprocessable(f"password must be at most {MAX_LENGTH} characters",
                            code="weak_password")
    lowered = password.lower()
    if lowered in _common_passwords():
        raise Unprocessable("password is too common; choose another", code="weak_password")
    if email and lowered == email.lower():
        raise Unprocessable("password must not be the email address", code="weak_password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


# A valid hash to verify against when the account does not exist, so timing does not tell.
DUMMY_HASH = _hasher.hash("not-a-real-password-only-for-timing")
