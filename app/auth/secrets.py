"""Passwords (argon2id through pwdlib) and random high-entropy secrets kept as digests."""

import hashlib
import hmac
import secrets

import anyio
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

_password_hash = PasswordHash((Argon2Hasher(),))
# Verified against when the account does not exist, so timing does not reveal which emails exist.
_DUMMY_HASH = _password_hash.hash("not-a-real-password-" + secrets.token_hex(8))


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_password_hash.hash, password)


async def verify_password(password: str, hashed: str | None) -> bool:
    return (
        await anyio.to_thread.run_sync(_password_hash.verify, password, hashed or _DUMMY_HASH)
        and hashed is not None
    )


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def same_digest(value: str, expected: bytes | None) -> bool:
    return expected is not None and hmac.compare_digest(digest(value), expected)
