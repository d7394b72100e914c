"""Standard Webhooks signatures (https://www.standardwebhooks.com/): ``webhook-id``,
``webhook-timestamp`` and ``webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{ts}.{body}">``
with the secret ``whsec_<base64 key>``. Secrets are kept encrypted when ACCORD_SECRET_KEY is
set."""

import base64
import hashlib
import hmac
import os
import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "whsec_"
_ENC = "enc:"


def new_secret() -> str:
    """24 random bytes (192 bits; the spec asks for 24 to 64), base64 with the whsec_ prefix."""
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for one attempt."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
        "user-agent": "Accord-Webhooks/1",
    }


def _aead(server_key: str) -> AESGCM:
    return AESGCM(hashlib.sha256(b"accord-webhook-secret:" + server_key.encode()).digest())


def seal(secret: str, server_key: str | None) -> str:
    """What is stored: the secret itself, or encrypted with the server's secret key."""
    if not server_key:
        return secret
    nonce = os.urandom(12)
    sealed = nonce + _aead(server_key).encrypt(nonce, secret.encode(), None)
    return _ENC + base64.b64encode(sealed).decode()


def unseal(stored: str, server_key: str | None) -> str:
    if not stored.startswith(_ENC):
        return stored
    if not server_key:
        raise RuntimeError("webhook secrets are encrypted: ACCORD_SECRET_KEY is needed")
    raw = base64.b64decode(stored[len(_ENC) :])
    return _aead(server_key).decrypt(raw[:12], raw[12:], None).decode()
