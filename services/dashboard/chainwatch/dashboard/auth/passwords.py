"""Password hashing with scrypt from the standard library (RFC 7914).

A stored hash reads ``scrypt$<log2 n>$<r>$<p>$<salt>$<hash>`` (salt and hash in unpadded
base64), so the cost can be raised later and old hashes still verify.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import cache

SCHEME = "scrypt"
LOG2_N = 15
"""scrypt's cost: n = 2^15, r = 8, p = 3 is one of OWASP's recommended equivalent settings;
it takes 32 MiB and about 0.4 s of CPU per hash, run off the event loop."""
BLOCK_SIZE = 8
PARALLELISM = 3
SALT_BYTES = 16
HASH_BYTES = 32
MAX_PASSWORD_BYTES = 1024
"""Longer passwords are refused before hashing, so a huge one cannot tie up a worker."""
MIN_PASSWORD_LENGTH = 12


class PasswordPolicyError(ValueError):
    """A new password that is too short or too long to accept."""


def check_policy(password: str) -> None:
    """Raise ``PasswordPolicyError`` unless ``password`` is acceptable as a new password."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise PasswordPolicyError(f"a password may have at most {MAX_PASSWORD_BYTES} bytes")


def hash_password(password: str, *, log2_n: int = LOG2_N, parallelism: int = PARALLELISM) -> str:
    """A salted scrypt hash of ``password`` in the stored format.

    The cost parameters are for tests, which may store cheaper hashes; verification reads
    the cost from the stored hash.
    """
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password.encode(), salt, log2_n, BLOCK_SIZE, parallelism)
    return "$".join(
        (SCHEME, str(log2_n), str(BLOCK_SIZE), str(parallelism), _b64(salt), _b64(digest))
    )


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored``; False for a mismatch or a malformed hash."""
    encoded = password.encode()
    if len(encoded) > MAX_PASSWORD_BYTES:
        return False
    try:
        scheme, log2_n, r, p, salt, expected = stored.split("$")
        if scheme != SCHEME or not 10 <= int(log2_n) <= 20:
            return False
        digest = _scrypt(encoded, _unb64(salt), int(log2_n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(digest, _unb64(expected))


def dummy_verify(password: str) -> None:
    """Spend the time of one verification, so an unknown user answers as slowly as a known one."""
    verify_password(password, _dummy_hash())


def _scrypt(password: bytes, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    n = 2**log2_n
    return hashlib.scrypt(
        password, salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + 1024 * 1024, dklen=HASH_BYTES
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))
