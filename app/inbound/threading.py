"""Case thread tokens (Salesforce's ``ref:...:ref`` thread id) and signed web form tokens.

A case's token is ``[ref:<case number>:<mac>]``, the mac an HMAC of the case's id under a server
secret: it names the case for people and cannot be made up for another case. Emails sent from a
case carry it in their subject; a reply that keeps it (or that answers one of the case's
Message-IDs) goes back to the case.
"""

import base64
import hashlib
import hmac
import re
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ServerSecret

SECRET_NAME = "case_threading"
_keys: dict[str, bytes] = {}
_TOKEN = re.compile(r"\[?ref:(\d{1,30}):([a-z2-7]{12})(?::ref)?\]?", re.IGNORECASE)


async def key(session: AsyncSession) -> bytes:
    found = _keys.get(SECRET_NAME)
    if found is None:
        value = await session.scalar(
            select(ServerSecret.value).where(ServerSecret.name == SECRET_NAME)
        )
        if value is None:  # pragma: no cover - the migration seeds it
            raise RuntimeError(f"server secret '{SECRET_NAME}' is missing; run the migrations")
        found = _keys[SECRET_NAME] = value.encode()
    return found


def _mac(k: bytes, case_id: uuid.UUID) -> str:
    digest = hmac.new(k, b"case:" + case_id.bytes, hashlib.sha256).digest()
    return base64.b32encode(digest).decode()[:12].lower()


def token(k: bytes, case_number: str, case_id: uuid.UUID) -> str:
    return f"[ref:{case_number}:{_mac(k, case_id)}]"


def tag(subject: str | None, ref: str) -> str:
    """The subject with the token once (replies keep "Re: ..." and the token)."""
    subject = (subject or "").strip()
    if ref.lower() in subject.lower():
        return subject
    return f"{subject} {ref}".strip()


def found(subject: str) -> list[tuple[str, str]]:
    """(case number, mac) pairs in a subject."""
    return [(m.group(1), m.group(2).lower()) for m in _TOKEN.finditer(subject or "")]


def verify(k: bytes, case_id: uuid.UUID, mac: str) -> bool:
    return hmac.compare_digest(_mac(k, case_id), mac)


# --- web form tokens ---------------------------------------------------------------------------


def form_token(k: bytes, issued_at: float) -> str:
    stamp = str(int(issued_at * 1000))
    mac = hmac.new(k, b"web-to-case:" + stamp.encode(), hashlib.sha256).digest()
    return f"{stamp}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def form_issued_at(k: bytes, value: str) -> float | None:
    """When a form token was issued (seconds), None when it is not one of ours."""
    stamp, _, _sig = value.partition(".")
    if not stamp.isdigit() or len(stamp) > 16:
        return None
    if not hmac.compare_digest(form_token(k, int(stamp) / 1000).encode(), value.encode()):
        return None
    return int(stamp) / 1000


__all__ = ["form_issued_at", "form_token", "found", "key", "tag", "token", "verify"]
