"""HTTP endpoints of the OAuth 2 authorization server.

Errors keep RFC 9457's shape and add RFC 6749's ``error`` / ``error_description`` members, so both
problem-aware clients and standard OAuth libraries read them.
"""

import html
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Form, Header, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select

from app.auth import scopes as scope_catalog
from app.auth import service
from app.auth.principal import resolve
from app.auth.schemas import (
    IntrospectionResponse,
    LoginForm,
    TokenActionRequest,
    TokenRequest,
    TokenResponse,
)
from app.auth.service import OAuthContext, OAuthError
from app.kit.db import Session
from app.kit.errors import AppError, UnsupportedMediaType, problem_responses
from app.models import ApiClient, User

router = APIRouter(tags=["oauth"])
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
SESSION_COOKIE = "accord_session"


def _ctx(request: Request, session) -> OAuthContext:
    return OAuthContext(session, request.app.state.settings, request.app.state.keyring)


def _require_form(request: Request) -> None:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise UnsupportedMediaType("Send the request as application/x-www-form-urlencoded")


@router.post(
    "/oauth/token",
    name="token",
    summary="Get an access token",
    response_model=TokenResponse,
    response_model_exclude_none=True,
    responses=problem_responses(400, 401, 415, 429),
)
async def token(
    request: Request,
    session: Session,
    form: Annotated[TokenRequest, Form()],
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """The token endpoint (RFC 6749).

    Grants: `client_credentials` (scripts and partner systems), `authorization_code` with PKCE
    S256 (frontends), `refresh_token` (rotated on every use; presenting a used one revokes every
    token of that sign-in), and `password` (first-party development; can be disabled).
    Clients authenticate with HTTP Basic or `client_id`/`client_secret` in the form; public
    clients send only `client_id` and must use PKCE.
    """
    _require_form(request)
    ctx = _ctx(request, session)
    grant = form.grant_type
    try:
        if grant not in service.GRANT_TYPES:
            raise OAuthError(
                "unsupported_grant_type" if grant else "invalid_request",
                f"Unsupported grant_type: {grant}" if grant else "grant_type is required",
            )
        client = await service.authenticate_client(
            session,
            authorization,
            form.client_id,
            form.client_secret,
            allow_public=grant in ("authorization_code", "refresh_token"),
        )
        if grant == "client_credentials":
            result = await service.client_credentials(ctx, client, form.scope)
        elif grant == "password":
            if not form.username or form.password is None:
                raise OAuthError("invalid_request", "username and password are required")
            result = await service.password(ctx, client, form.username, form.password, form.scope)
        elif grant == "refresh_token":
            if not form.refresh_token:
                raise OAuthError("invalid_request", "refresh_token is required")
            result = await service.refresh(ctx, client, form.refresh_token, form.scope)
        else:
            if not form.code:
                raise OAuthError("invalid_request", "code is required")
            result = await service.authorization_code(
                ctx, client, form.code, form.redirect_uri, form.code_verifier
            )
    except AppError as exc:
        exc.headers = {**NO_STORE, **exc.headers}
        raise
    body = TokenResponse(
        access_token=result.access_token,
        expires_in=result.expires_in,
        scope=result.scope,
        refresh_token=result.refresh_token,
    ).model_dump(exclude_none=True)
    return JSONResponse(body, headers=NO_STORE)


@router.post(
    "/oauth/revoke",
    name="revoke",
    summary="Revoke a token",
    status_code=200,
    responses=problem_responses(400, 401, 415),
)
async def revoke(
    request: Request,
    session: Session,
    form: Annotated[TokenActionRequest, Form()],
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """Token revocation (RFC 7009). Revoking a refresh token revokes every token of its sign-in.
    Answers 200 for unknown tokens too, so it reveals nothing."""
    _require_form(request)
    client = await service.authenticate_client(
        session, authorization, form.client_id, form.client_secret, allow_public=True
    )
    if not form.token:
        raise OAuthError("invalid_request", "token is required")
    await service.revoke(_ctx(request, session), client, form.token)
    return Response(status_code=200, headers=NO_STORE)


@router.post(
    "/oauth/introspect",
    name="introspect",
    summary="Introspect a token",
    response_model=IntrospectionResponse,
    responses=problem_responses(400, 401, 415),
)
async def introspect(
    request: Request,
    session: Session,
    form: Annotated[TokenActionRequest, Form()],
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """Token introspection (RFC 7662). A client may introspect its own tokens; a client allowed
    the `admin` scope may introspect any. Anything inactive, unknown or not yours answers exactly
    `{"active": false}`."""
    _require_form(request)
    client = await service.authenticate_client(
        session, authorization, form.client_id, form.client_secret, allow_public=False
    )
    if not form.token:
        raise OAuthError("invalid_request", "token is required")
    body = await service.introspect(_ctx(request, session), client, form.token)
    return JSONResponse(body, headers=NO_STORE)


_LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to Accord</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>Sign in to Accord</h1>{error}
<form method="post" action="/oauth/login">
<input type="hidden" name="next" value="{next}">
<label>Email <input name="email" type="email" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required>
</label><button type="submit">Sign in</button></form></main></body></html>"""


def _login_page(next_url: str, error: str | None = None, status: int = 200) -> HTMLResponse:
    err = f'<p role="alert">{html.escape(error)}</p>' if error else ""
    return HTMLResponse(
        _LOGIN_PAGE.format(next=html.escape(next_url, quote=True), error=err),
        status_code=status,
        headers={**NO_STORE, "X-Frame-Options": "DENY"},
    )


def _back_to_client(
    redirect_uri: str, params: dict[str, Any], state: str | None, issuer: str
) -> RedirectResponse:
    """Redirect to the client with ``params``, ``state`` and ``iss`` (RFC 9207)."""
    params = {**params, "iss": issuer}
    if state is not None:
        params["state"] = state
    sep = "&" if urlsplit(redirect_uri).query else "?"
    return RedirectResponse(redirect_uri + sep + urlencode(params), status_code=302)


@router.get(
    "/oauth/authorize",
    name="authorize",
    summary="Authorization endpoint (authorization code with PKCE)",
    response_class=HTMLResponse,
    responses={302: {"description": "Redirect back to the client"}, **problem_responses(400)},
)
async def authorize(
    request: Request,
    session: Session,
    client_id: Annotated[str, Query()],
    response_type: Annotated[str | None, Query()] = None,
    redirect_uri: Annotated[str | None, Query()] = None,
    scope: Annotated[str | None, Query()] = None,
    state: Annotated[str | None, Query()] = None,
    code_challenge: Annotated[str | None, Query()] = None,
    code_challenge_method: Annotated[str | None, Query()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """Starts the authorization-code flow for a signed-in user.

    The user is signed in either by a browser session (the `accord_session` cookie set by
    `POST /oauth/login`) or by presenting their own bearer token. A user who is not signed in gets
    a sign-in page that comes back here. PKCE is required, with `code_challenge_method=S256` only.
    Registered clients are trusted by the administrator who registered them, so there is no
    consent screen. On success the browser is redirected to `redirect_uri` with `code`, `state`
    and `iss` (RFC 9207); the code is valid once, for 60 seconds.
    """
    ctx = _ctx(request, session)
    issuer = ctx.settings.issuer
    client = await session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    if client is None or client.revoked_at is not None:
        raise OAuthError("invalid_request", "Unknown client_id")
    redirect_uri_sent = redirect_uri is not None
    if redirect_uri is None:
        if len(client.redirect_uris) != 1:
            raise OAuthError("invalid_request", "redirect_uri is required")
        redirect_uri = client.redirect_uris[0]
    elif redirect_uri not in client.redirect_uris:
        raise OAuthError("invalid_request", "redirect_uri is not registered for this client")

    def fail(error: str, description: str) -> RedirectResponse:
        return _back_to_client(
            redirect_uri, {"error": error, "error_description": description}, state, issuer
        )

    if response_type != "code":
        return fail("unsupported_response_type", "response_type must be 'code'")
    if "authorization_code" not in client.grant_types:
        return fail("unauthorized_client", "This client may not use the authorization code grant")
    if not code_challenge:
        return fail("invalid_request", "PKCE is required: send code_challenge")
    if code_challenge_method != "S256":
        return fail("invalid_request", "code_challenge_method must be S256")
    if not (43 <= len(code_challenge) <= 128):
        return fail("invalid_request", "code_challenge is malformed")
    if scope and scope_catalog.unknown(scope.split()):
        return fail("invalid_scope", "Unknown scope requested")

    user = None
    if authorization and authorization.lower().startswith("bearer "):
        principal = await resolve(request, session, authorization[7:].strip())
        if principal.user_id is not None:
            user = await session.get(User, principal.user_id)
    if user is None:
        user = await service.browser_session_user(ctx, request.cookies.get(SESSION_COOKIE))
    if user is None:
        return _login_page(str(request.url.path) + "?" + request.url.query)
    try:
        code = await service.create_code(
            ctx,
            client,
            user,
            redirect_uri,
            scope,
            code_challenge,
            redirect_uri_sent=redirect_uri_sent,
        )
    except OAuthError as exc:
        return fail(exc.code, exc.detail or "")
    return _back_to_client(redirect_uri, {"code": code}, state, issuer)


@router.post(
    "/oauth/login",
    name="login",
    summary="Sign in a browser for the authorization endpoint",
    response_class=HTMLResponse,
    responses={303: {"description": "Signed in; back to the authorization request"}},
)
async def login(request: Request, session: Session, form: Annotated[LoginForm, Form()]) -> Response:
    """The sign-in form posts here. On success a session cookie (`accord_session`, HttpOnly,
    SameSite=Lax) is set and the browser returns to the authorization request it came from.
    Failed attempts are throttled per account like the password grant."""
    _require_form(request)
    ctx = _ctx(request, session)
    next_url = form.next if form.next.startswith("/oauth/authorize?") else "/"
    try:
        user = await service.check_password(ctx, form.email, form.password)
    except OAuthError:
        return _login_page(next_url, "Invalid email or password", status=401)
    except AppError as exc:  # locked out
        return _login_page(next_url, exc.detail, status=exc.status)
    value = await service.start_browser_session(ctx, user)
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=ctx.settings.session_ttl_seconds,
        httponly=True,
        samesite="lax",
        secure=ctx.settings.issuer.startswith("https://"),
        path="/oauth",
    )
    return response


@router.get(
    "/.well-known/oauth-authorization-server",
    name="metadata",
    summary="Authorization server metadata (RFC 8414)",
)
async def metadata(request: Request) -> dict[str, Any]:
    """Where the endpoints are and what they support."""
    issuer = request.app.state.settings.issuer
    grants = ["client_credentials", "authorization_code", "refresh_token"]
    if request.app.state.settings.password_grant_enabled:
        grants.append("password")
    auth_methods = ["client_secret_basic", "client_secret_post"]
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "scopes_supported": sorted(scope_catalog.SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": grants,
        "token_endpoint_auth_methods_supported": [*auth_methods, "none"],
        "revocation_endpoint_auth_methods_supported": [*auth_methods, "none"],
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
    }


@router.get("/.well-known/jwks.json", name="jwks", summary="Public keys that sign access tokens")
async def jwks(request: Request) -> Response:
    """The JSON Web Key Set. Retired keys stay here until every token they signed has expired."""
    state = request.app.state
    await state.keyring.maybe_reload(state.engine)
    return JSONResponse(state.keyring.jwks(), headers={"Cache-Control": "public, max-age=300"})
