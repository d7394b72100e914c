"""Open and click tracking.

Each message has a random ``tracking_token`` (128 bits). At send time its HTML gets a 1x1 pixel
``/t/o/<token>.gif`` and every http(s) link becomes ``/t/c/<token>?u=<url>&s=<signature>``, the
signature an HMAC-SHA256 over token and URL with the server's key. The click endpoint redirects
only when the signature matches: a link whose URL or token was changed, or one with no
signature, is a 400 and redirects nowhere, so the service is never an open redirect. Both
endpoints are public (mail clients follow them without credentials) and answer the same
whatever the token, so they tell nothing about which tokens exist.
"""

import base64
import hashlib
import hmac
import html
import re
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.kit import clock
from app.kit.db import Session
from app.kit.errors import BadRequest, problem_responses
from app.kit.ids import new_id
from app.kit.routing import Router
from app.models import EmailClick, EmailMessage, ServerSecret

SECRET_NAME = "email_tracking"
MAX_URL = 2000
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")

_keys: dict[str, bytes] = {}


async def signing_key(session: AsyncSession, settings: Settings) -> bytes:
    """The key signing tracked links: the setting, or the random key the migration stored (the
    same in every process). Cached per process."""
    if settings.email_tracking_secret:
        return settings.email_tracking_secret.encode()
    key = _keys.get(SECRET_NAME)
    if key is None:
        value = await session.scalar(
            select(ServerSecret.value).where(ServerSecret.name == SECRET_NAME)
        )
        if value is None:  # pragma: no cover - the migration seeds it
            raise RuntimeError("server secret 'email_tracking' is missing; run the migrations")
        key = _keys[SECRET_NAME] = value.encode()
    return key


def sign(key: bytes, token: str, url: str) -> str:
    mac = hmac.new(key, f"{token}\n{url}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def verify(key: bytes, token: str, url: str, signature: str) -> bool:
    return hmac.compare_digest(sign(key, token, url).encode(), signature.encode())


def _trackable(url: str) -> bool:
    return len(url) <= MAX_URL and urlsplit(url).scheme.lower() in ("http", "https")


def click_url(base: str, key: bytes, token: str, url: str) -> str:
    return f"{base}/t/c/{token}?u={quote(url, safe='')}&s={sign(key, token, url)}"


def open_url(base: str, token: str) -> str:
    return f"{base}/t/o/{token}.gif"


_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


def rewrite(body: str, base: str, key: bytes, token: str) -> str:
    """The HTML as sent: http(s) links through the click redirect, and the open pixel."""
    base = base.rstrip("/")

    def link(m: re.Match) -> str:
        url = html.unescape(m.group(3)).strip()
        if not _trackable(url):
            return m.group(0)
        tracked = html.escape(click_url(base, key, token, url), quote=True)
        return f"{m.group(1)}{m.group(2)}{tracked}{m.group(2)}"

    body = _HREF.sub(link, body)
    pixel = (
        f'<img src="{html.escape(open_url(base, token))}" width="1" height="1" alt="" '
        'style="display:none;border:0">'
    )
    ends = list(_BODY_END.finditer(body))
    if ends:
        at = ends[-1].start()
        return body[:at] + pixel + body[at:]
    return body + pixel


# --- the public endpoints --------------------------------------------------------------------

router = Router(prefix="/t", tags=["tracking"])
Token = Annotated[str, Path(max_length=64)]


@router.get(
    "/o/{token}.gif",
    name="open",
    summary="Email open pixel",
    response_class=Response,
    responses={200: {"content": {"image/gif": {}}, "description": "A 1x1 transparent GIF"}},
)
async def track_open(session: Session, token: Token) -> Response:
    """Public, no authentication: the image in every tracked email. Records an open of the
    message (first and last time, count) and answers a transparent pixel."""
    now = clock.now()
    await session.execute(
        update(EmailMessage)
        .where(EmailMessage.tracking_token == token)
        .values(
            open_count=EmailMessage.open_count + 1,
            first_opened_at=func.coalesce(EmailMessage.first_opened_at, now),
            last_opened_at=now,
        )
    )
    return Response(
        PIXEL,
        media_type="image/gif",
        headers={"Cache-Control": "no-store, no-cache, must-revalidate, private"},
    )


@router.get(
    "/c/{token}",
    name="click",
    summary="Tracked link redirect",
    response_class=RedirectResponse,
    status_code=302,
    responses={302: {"description": "To the link's URL"}, **problem_responses(400)},
)
async def track_click(
    request: Request,
    session: Session,
    token: Token,
    u: Annotated[str | None, Query(description="The link's URL")] = None,
    s: Annotated[str | None, Query(description="Its signature")] = None,
) -> RedirectResponse:
    """Public, no authentication: every link of a tracked email points here. Records the click
    and redirects to the URL, only if the signature matches the token and the URL; otherwise
    400 `invalid_link`."""
    key = await signing_key(session, request.app.state.settings)
    if not u or not s or not _trackable(u) or not verify(key, token, u, s):
        raise BadRequest("This link is not valid", code="invalid_link")
    now = clock.now()
    message_id = await session.scalar(
        update(EmailMessage)
        .where(EmailMessage.tracking_token == token)
        .values(
            click_count=EmailMessage.click_count + 1,
            first_clicked_at=func.coalesce(EmailMessage.first_clicked_at, now),
        )
        .returning(EmailMessage.id)
    )
    if message_id is not None:
        stmt = insert(EmailClick).values(
            id=new_id(),
            message_id=message_id,
            url=u,
            count=1,
            first_clicked_at=now,
            last_clicked_at=now,
        )
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["message_id", "url"],
                set_={"count": EmailClick.count + 1, "last_clicked_at": now},
            )
        )
    return RedirectResponse(u, status_code=302, headers={"Cache-Control": "no-store"})


__all__ = ["click_url", "open_url", "rewrite", "router", "sign", "signing_key", "verify"]
