"""Email-to-case (`POST /api/v1/inbound/email`, for the mail gateway), web-to-case (public),
and on cases: attachments, emails to the customer and the solutions used."""

import json
import uuid
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import Request, Response
from pydantic import ValidationError

from app.auth.principal import Principal, require
from app.email import schemas as email_schemas
from app.email import service as email_service
from app.inbound import mime, schemas, service, threading
from app.kit.db import Session
from app.kit.errors import (
    Forbidden,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    problem_responses,
)
from app.kit.routing import Router

inbound_router = Router(prefix="/api/v1/inbound", tags=["inbound"])
web_router = Router(prefix="/api/v1/web-to-case", tags=["web_to_case"])
case_router = Router(prefix="/api/v1/cases", tags=["cases"])

_MIME_TYPES = ("message/rfc822", "application/octet-stream", "text/plain")


def _inline(model) -> dict:
    """A model's JSON schema with its nested models written in place (for a request body the
    route reads itself)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def walk(node):
        if isinstance(node, dict):
            ref = node.get("$ref")
            if ref and ref.startswith("#/$defs/"):
                return walk(defs[ref.rsplit("/", 1)[1]])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)


def _malformed(exc: Exception, field: str = "body") -> ValidationFailed:
    msg = str(exc) or "The message cannot be read"
    return ValidationFailed(
        msg,
        code="malformed_message",
        errors=[{"field": field, "code": "malformed", "message": msg}],
    )


def _pydantic(exc: ValidationError) -> ValidationFailed:
    errors = [
        {
            "field": ".".join(str(p) for p in e["loc"]) or "body",
            "code": e["type"],
            "message": e["msg"],
        }
        for e in exc.errors()
    ]
    return ValidationFailed("The request body is not valid", errors=errors)


@inbound_router.post(
    "/email",
    name="receive_email",
    summary="Receive an email into a case",
    response_model=schemas.InboundResult,
    responses={201: {"model": schemas.InboundResult}, **problem_responses(401, 403, 415, 422)},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "message/rfc822": {"schema": {"type": "string", "format": "binary"}},
                "application/json": {"schema": _inline(schemas.InboundJson)},
            },
        }
    },
)
async def receive_email(
    request: Request,
    session: Session,
    principal: Annotated[Principal, require("cases:inbound")],
):
    """For the mail gateway (a client with the `cases:inbound` scope): post each message as
    it arrived (`message/rfc822`, the raw MIME bytes) or as parsed fields (`application/json`).

    A reply to a case (the case's `[ref:...]` token in the subject, or `In-Reply-To` /
    `References` naming one of the case's messages) becomes a public comment on it; a closed
    case is reopened and a case waiting on the customer goes back to the open status (200,
    `threaded`). Any other message creates a case (201, `created`) with origin Email, the sender
    as supplied email and name, and the contact with that address when exactly one has it; the
    assignment rule and auto-response apply. Attachments are kept with the case (over the size
    limits: skipped and listed). The same `Message-ID` delivered again changes nothing (200,
    `duplicate`); auto-replies, bulk mail, bounces and our own mail are dropped (200, `ignored`)
    so that two auto-responders never loop. A message that cannot be read is a 422."""
    ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    raw = await request.body()
    try:
        if ctype == "application/json":
            try:
                data = schemas.InboundJson.model_validate(json.loads(raw))
            except (ValueError, UnicodeDecodeError) as exc:
                if isinstance(exc, ValidationError):
                    raise _pydantic(exc) from exc
                raise _malformed(ValueError("The body is not JSON")) from exc
            mail = mime.parse_json(data)
        elif ctype in _MIME_TYPES:
            mail = mime.parse_mime(raw)
        else:
            raise UnsupportedMediaType("Send message/rfc822 or application/json")
    except mime.Malformed as exc:
        raise _malformed(exc) from exc
    status, result = await service.receive(session, request.app.state.settings, mail)
    return Response(result.model_dump_json(), status_code=status, media_type="application/json")


# --- web-to-case -----------------------------------------------------------------------------


@web_router.get(
    "/form-token",
    name="get_form_token",
    summary="Get a web-to-case form token",
    response_model=schemas.FormToken,
)
async def get_form_token(request: Request, session: Session):
    """Put the token in the form when it is shown. A submission is refused when it comes
    sooner than `not_before` (a bot fills a form at once) or after `expires_at`. Public."""
    k = await threading.key(session)
    return service.issue_form_token(k, request.app.state.settings)


def _check_origin(request: Request, allowed: list[str]) -> None:
    if not allowed:
        return
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer") or ""
        parts = referer.split("/")
        origin = "/".join(parts[:3]) if len(parts) >= 3 else None
    if origin is None or origin.rstrip("/").lower() not in {a.rstrip("/").lower() for a in allowed}:
        raise Forbidden("Forms from this site are not accepted", code="origin_not_allowed")


@web_router.post(
    "",
    name="submit",
    summary="Submit the web-to-case form",
    status_code=201,
    response_model=schemas.WebToCaseResult,
    responses=problem_responses(403, 413, 415, 422, 429),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _inline(schemas.WebToCase)},
                "application/x-www-form-urlencoded": {"schema": _inline(schemas.WebToCase)},
            },
        }
    },
)
async def submit(request: Request, session: Session):
    """Public: a customer's request from the web site becomes a case with origin Web (routing
    and the auto-response apply), with the solutions that may already answer it. JSON or an
    HTML form post. Defences: a form token from `GET /api/v1/web-to-case/form-token` that is
    neither too fresh nor too old (422 `too_fast`, `expired`), a honeypot field `website` that
    people leave empty (filled: answered as if received, nothing is created), submissions per
    IP address and per email address per hour (429 with `Retry-After`), a size limit (413) and,
    when configured, the sites allowed to post it (403)."""
    settings = request.app.state.settings
    _check_origin(request, settings.web_to_case_allowed_origins)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > settings.web_to_case_max_bytes:
        raise PayloadTooLarge("The form is too large")
    raw = await request.body()
    if len(raw) > settings.web_to_case_max_bytes:
        raise PayloadTooLarge("The form is too large")
    ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    try:
        if ctype == "application/json":
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("not an object")
        elif ctype == "application/x-www-form-urlencoded":
            data = {k: v for k, v in parse_qsl(raw.decode("utf-8"), keep_blank_values=True)}
            data = {k: (v if v != "" else None) for k, v in data.items()}
        else:
            raise UnsupportedMediaType("Send application/json or an HTML form")
    except (ValueError, UnicodeDecodeError) as exc:
        raise _malformed(ValueError("The body cannot be read")) from exc
    if data.get("website"):  # the honeypot: bots fill every field
        return schemas.WebToCaseResult()
    try:
        form = schemas.WebToCase.model_validate(data)
    except ValidationError as exc:
        raise _pydantic(exc) from exc
    k = await threading.key(session)
    service.check_form_token(k, settings, form.form_token)
    ip = request.client.host if request.client else "unknown"
    await service.rate_limit(session, settings, ip, str(form.email))
    row, suggested = await service.web_to_case(session, settings, form)
    return schemas.WebToCaseResult(case_number=row.case_number, suggested_solutions=suggested)


# --- on cases ----------------------------------------------------------------------------------


@case_router.get(
    "/{record_id}/attachments",
    name="list_attachments",
    summary="List a case's attachments",
    response_model=schemas.AttachmentPage,
    responses=problem_responses(401, 403, 404, 422),
)
async def list_attachments(
    session: Session,
    principal: Annotated[Principal, require("cases:read")],
    record_id: uuid.UUID,
):
    """Files received with the case's email, oldest first (without their content)."""
    rows = await service.list_attachments(session, principal, record_id)
    return {"data": [schemas.Attachment.model_validate(dict(r)) for r in rows]}


@case_router.get(
    "/{record_id}/attachments/{attachment_id}",
    name="download_attachment",
    summary="Download an attachment",
    response_class=Response,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "The file"},
        **problem_responses(401, 403, 404, 422),
    },
)
async def download_attachment(
    session: Session,
    principal: Annotated[Principal, require("cases:read")],
    record_id: uuid.UUID,
    attachment_id: uuid.UUID,
):
    """The file as received, always as a download (never shown inline by a browser)."""
    row = await service.get_attachment(session, principal, record_id, attachment_id)
    from urllib.parse import quote

    ascii_name = row.filename.encode("ascii", "replace").decode().replace('"', "_")
    return Response(
        row.content,
        media_type=row.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{ascii_name}"; '
            f"filename*=UTF-8''{quote(row.filename)}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
        },
    )


@case_router.post(
    "/{record_id}/emails",
    name="send_email",
    summary="Email the customer from a case",
    status_code=202,
    response_model=email_schemas.Email,
    responses=problem_responses(401, 403, 404, 422),
)
async def send_email(
    request: Request,
    session: Session,
    principal: Annotated[Principal, require("emails:send")],
    record_id: uuid.UUID,
    body: email_schemas.EmailSendFromRecord,
):
    """To the case's contact (merged from it), else to the address the customer gave, unless
    `to` says otherwise. The subject carries the case's `[ref:...]` token so the reply comes
    back to the case; the first email from an agent is the case's first response. 202: sent
    by a background job after this request commits."""
    msg = await service.send_from_case(
        session, principal, request.app.state.settings, record_id, body
    )
    (sent,) = await email_service.present_messages(session, [msg])
    return Response(
        sent.model_dump_json(),
        status_code=202,
        media_type="application/json",
        headers={"Location": f"/api/v1/emails/{sent.id}"},
    )


@case_router.get(
    "/{record_id}/solutions",
    name="list_solutions",
    summary="List the solutions used on a case",
    response_model=schemas.CaseSolutionPage,
    responses=problem_responses(401, 403, 404, 422),
)
async def list_solutions(
    session: Session,
    principal: Annotated[Principal, require("cases:read")],
    record_id: uuid.UUID,
):
    return {"data": await service.list_solutions(session, principal, record_id)}


@case_router.post(
    "/{record_id}/solutions",
    name="link_solution",
    summary="Link a solution used on a case",
    status_code=201,
    response_model=schemas.CaseSolution,
    responses={200: {"model": schemas.CaseSolution}, **problem_responses(401, 403, 404, 422)},
)
async def link_solution(
    session: Session,
    principal: Annotated[Principal, require("cases:write")],
    record_id: uuid.UUID,
    body: schemas.CaseSolutionLink,
):
    """The solution answered the case: it counts once per case in the solution's `times_used`
    (`GET /api/v1/solutions?sort=-times_used` lists the most used). Linking it again changes
    nothing (200)."""
    created, row = await service.link_solution(session, principal, record_id, body.solution_id)
    return Response(
        row.model_dump_json(), status_code=201 if created else 200, media_type="application/json"
    )


@case_router.delete(
    "/{record_id}/solutions/{solution_id}",
    name="unlink_solution",
    summary="Unlink a solution from a case",
    status_code=204,
    response_class=Response,
    responses=problem_responses(401, 403, 404, 422),
)
async def unlink_solution(
    session: Session,
    principal: Annotated[Principal, require("cases:write")],
    record_id: uuid.UUID,
    solution_id: uuid.UUID,
):
    """Its use count goes down by one."""
    await service.unlink_solution(session, principal, record_id, solution_id)
    return Response(status_code=204)


routers = (inbound_router, web_router, case_router)
