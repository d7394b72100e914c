"""Signed, expiring links for one record: ``<id hex>.<expiry>.<HMAC>``, the HMAC over a purpose,
the id and the expiry, so a link made for one purpose (a portal verification) never passes for
another (a satisfaction survey). The key is the service's link key (app/email/tracking.py)."""

import base64
import hashlib
import hmac
import uuid
from datetime import datetime

from app.kit import clock
from app.kit.errors import AppError, BadRequest


class LinkExpired(AppError):
    status, code = 410, "link_expired"


def _mac(key: bytes, purpose: str, record_id: uuid.UUID, expires: int) -> str:
    mac = hmac.new(key, f"{purpose}\n{record_id}\n{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def make(key: bytes, purpose: str, record_id: uuid.UUID, expires_at: datetime) -> str:
    expires = int(expires_at.timestamp())
    return f"{record_id.hex}.{expires}.{_mac(key, purpose, record_id, expires)}"


def read(key: bytes, purpose: str, token: str, *, invalid: str, expired: str) -> uuid.UUID:
    """The record a link is for: 400 ``invalid_link`` (message ``invalid``) when it was not made
    here, for this purpose, or was changed; 410 ``link_expired`` (message ``expired``) once its
    time is up, checked after the signature so an expiry cannot be forged."""
    try:
        record_hex, expires_text, signature = token.split(".")
        record_id = uuid.UUID(hex=record_hex)
        expires = int(expires_text)
    except ValueError as exc:
        raise BadRequest(invalid, code="invalid_link") from exc
    if not hmac.compare_digest(_mac(key, purpose, record_id, expires).encode(), signature.encode()):
        raise BadRequest(invalid, code="invalid_link")
    if clock.now().timestamp() >= expires:
        raise LinkExpired(expired)
    return record_id
