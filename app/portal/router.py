"""The customer portal API: ``/api/v1/portal/...`` and the public email-verification link
``/s/portal/verify/{token}``."""

import html
import uuid
from typing import Annotated

from fastapi import Path, Query, Request, Response
from sqlalchemy import delete, select

from app.auth.principal import CurrentPrincipal, Principal, require
from app.cases import service as case_service
from app.cases.repository import cases
from app.kit.db import Session
from app.kit.errors import NotFound, problem_responses
from app.kit.pagination import MAX_LIMIT, Page, decode_cursor, encode_cursor
from app.kit.resource import invalid
from app.kit.routes import Routes
from app.kit.routing import Router
from app.models import Account, PortalDomain, PortalRegistration
from app.portal import schemas, service
from app.solutions.service import suggest

router = Router(prefix="/api/v1/portal", tags=["portal"])
links = Router(prefix="/s/portal", tags=["portal"])

CasesRead = Annotated[Principal, require("cases:read")]
CasesWrite = Annotated[Principal, require("cases:write")]

# Decisions on a registration and steps of a case: each may be refused by the record's state.
STEP_ERRORS = problem_responses(401, 403, 404, 409, 422)
decisions = Routes(router, response_model=schemas.Registration, responses=STEP_ERRORS)
case_steps = Routes(router, response_model=schemas.PortalCase, responses=STEP_ERRORS)


# --- self-registration (public) ------------------------------------------------------------------


@router.post(
    "/registrations",
    name="register",
    summary="Register for the customer portal",
    status_code=202,
    response_model=schemas.RegistrationReceived,
    responses=problem_responses(422, 429),
)
async def register(request: Request, session: Session, body: schemas.RegistrationCreate):
    """Public, no authentication. Sends a confirmation link to the address; once it is
    followed, the registration is approved at once when a rule finds the customer's account
    (an allowed domain, or the one account whose website is the email's domain), otherwise an
    administrator decides. The answer is the same whether or not the address is already known.
    Rate limited per IP address and per email (429 with `Retry-After`)."""
    ip = request.client.host if request.client else None
    await service.register(session, request.app.state.settings, body, ip)
    return schemas.RegistrationReceived()


@links.get(
    "/verify/{token}",
    name="verify_email",
    summary="Confirm a registration's email address",
    response_model=schemas.VerifyResult,
    responses={200: {"content": {"text/html": {}}}, **problem_responses(400, 410)},
)
async def verify_email(
    request: Request, session: Session, token: Annotated[str, Path(max_length=200)]
):
    """Public: the link in the confirmation email. 400 `invalid_link` when changed, 410
    `link_expired` after 24 hours or once the registration is closed."""
    result = await service.verify(session, request.app.state.settings, token)
    if "text/html" in request.headers.get("accept", ""):
        return Response(
            f"<!doctype html><html><body><p>{html.escape(result.detail)}</p></body></html>",
            media_type="text/html",
            headers={"Cache-Control": "no-store"},
        )
    return result


# --- registrations (administrators) --------------------------------------------------------------


@router.get(
    "/registrations",
    name="list_registrations",
    summary="List portal registrations",
    response_model=Page[schemas.Registration],
    responses=problem_responses(401, 403, 422),
)
async def list_registrations(
    session: Session,
    principal: CurrentPrincipal,
    status: Annotated[schemas.Status | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query()] = None,
):
    """Oldest first; `?status=pending` for those waiting for a decision. Scope `admin` or
    `users:write`."""
    service.registrations_admin(principal)
    stmt = select(PortalRegistration)
    if status is not None:
        stmt = stmt.where(PortalRegistration.status == status)
    if cursor:
        try:
            after = uuid.UUID(str(decode_cursor(cursor)[0]))
        except (ValueError, IndexError, TypeError) as exc:
            raise invalid("cursor", "invalid_cursor", "The cursor is not valid") from exc
        stmt = stmt.where(PortalRegistration.id > after)
    rows = list(
        (await session.scalars(stmt.order_by(PortalRegistration.id).limit(limit + 1))).all()
    )
    nxt = None
    if len(rows) > limit:
        rows = rows[:limit]
        nxt = encode_cursor([str(rows[-1].id)])
    return {"data": [schemas.Registration.model_validate(r) for r in rows], "next_cursor": nxt}


@decisions.post(
    "/registrations/{registration_id}/approve",
    name="approve_registration",
    summary="Approve a portal registration",
)
async def approve_registration(
    request: Request,
    session: Session,
    principal: CurrentPrincipal,
    registration_id: uuid.UUID,
    body: schemas.RegistrationApprove,
):
    """Creates the portal user, linked to the contact (found by email in the account, or
    created). 409 `invalid_state_transition` unless pending; 409 `duplicate_detected` when the
    address or the contact already has a login."""
    service.registrations_admin(principal)
    reg = await service.approve(
        session, request.app.state.settings, principal, registration_id, body
    )
    return schemas.Registration.model_validate(reg)


@decisions.post(
    "/registrations/{registration_id}/reject",
    name="reject_registration",
    summary="Reject a portal registration",
)
async def reject_registration(
    request: Request,
    session: Session,
    principal: CurrentPrincipal,
    registration_id: uuid.UUID,
    body: schemas.RegistrationReject,
):
    """The registrant is told by email (with the reason, when given). 409 unless pending."""
    service.registrations_admin(principal)
    reg = await service.reject(
        session, request.app.state.settings, principal, registration_id, body
    )
    return schemas.Registration.model_validate(reg)


@router.get(
    "/registration-domains",
    name="list_domains",
    summary="List the domains approved for self-registration",
    response_model=Page[schemas.Domain],
    responses=problem_responses(401, 403),
)
async def list_domains(session: Session, principal: CurrentPrincipal):
    """Registrations from these email domains are approved into the given account."""
    service.registrations_admin(principal)
    rows = (await session.scalars(select(PortalDomain).order_by(PortalDomain.domain))).all()
    return {"data": [schemas.Domain.model_validate(r) for r in rows], "next_cursor": None}


@router.post(
    "/registration-domains",
    name="add_domain",
    summary="Approve a domain for self-registration",
    status_code=201,
    response_model=schemas.Domain,
    responses=problem_responses(401, 403, 409, 422),
)
async def add_domain(session: Session, principal: CurrentPrincipal, body: schemas.DomainCreate):
    """409 `conflict` when the domain is already listed."""
    service.registrations_admin(principal)
    account = await session.scalar(
        select(Account.id).where(Account.id == body.account_id, Account.deleted_at.is_(None))
    )
    if account is None:
        raise invalid("account_id", "not_found", "No such account")
    row = PortalDomain(domain=body.domain, account_id=body.account_id, created_by=principal.user_id)
    session.add(row)
    await session.flush()
    return schemas.Domain.model_validate(row)


@router.delete(
    "/registration-domains/{domain_id}",
    name="remove_domain",
    summary="Stop approving a domain",
    status_code=204,
    responses=problem_responses(401, 403, 404),
)
async def remove_domain(session: Session, principal: CurrentPrincipal, domain_id: uuid.UUID):
    service.registrations_admin(principal)
    gone = await session.scalar(
        delete(PortalDomain).where(PortalDomain.id == domain_id).returning(PortalDomain.id)
    )
    if gone is None:
        raise NotFound("No such domain")


# --- my profile ----------------------------------------------------------------------------------


@router.get(
    "/me",
    name="get_profile",
    summary="My profile",
    response_model=schemas.Profile,
    responses=problem_responses(401, 403),
)
async def get_profile(session: Session, principal: Annotated[Principal, require("contacts:read")]):
    """The signed-in customer: their login and their contact record."""
    return await service.profile(session, principal)


@router.patch(
    "/me",
    name="update_profile",
    summary="Update my profile",
    response_model=schemas.Profile,
    responses=problem_responses(401, 403, 422),
)
async def update_profile(
    session: Session,
    principal: Annotated[Principal, require("contacts:write")],
    body: schemas.ProfileUpdate,
):
    """Name, locale and time zone of the login; first and last name, title and phones of the
    contact (in its field history). A new password needs the current one and signs out the
    customer's sessions."""
    return await service.update_profile(session, principal, body)


# --- my cases ------------------------------------------------------------------------------------


@router.get(
    "/cases",
    name="list_cases",
    summary="My cases",
    response_model=Page[schemas.PortalCase],
    responses=problem_responses(400, 401, 403, 422),
)
async def list_cases(
    request: Request,
    session: Session,
    principal: CasesRead,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query()] = None,
    sort: Annotated[str | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
):
    """The cases of the signed-in customer's contact, newest first unless sorted. Filters as
    on `/api/v1/cases` (`?is_closed=false`, `?status=...`)."""
    service.portal_only(principal)
    rows, nxt = await cases.find(
        session,
        principal,
        list(request.query_params.multi_items()),
        limit=limit,
        cursor=cursor,
        sort=sort or "-created_at",
        q=q,
    )
    return {"data": [schemas.PortalCase.model_validate(r) for r in rows], "next_cursor": nxt}


@router.post(
    "/cases",
    name="create_case",
    summary="Open a case",
    status_code=201,
    response_model=schemas.PortalCaseCreated,
    responses=problem_responses(401, 403, 409, 422),
)
async def create_case(session: Session, principal: CasesWrite, body: schemas.PortalCaseCreate):
    """Origin `Portal`, the customer's contact and account; routed by the assignment rule. The
    answer lists published solutions that may already solve it."""
    row = await service.create_case(session, principal, body)
    out = schemas.PortalCaseCreated.model_validate(row, from_attributes=True)
    text = "\n".join(x for x in (body.subject, body.description) if x)
    out.suggested_solutions = await suggest(session, principal, text, 5)
    return out


@router.get(
    "/cases/{case_id}",
    name="get_case",
    summary="One of my cases",
    response_model=schemas.PortalCase,
    responses=problem_responses(401, 403, 404),
)
async def get_case(session: Session, principal: CasesRead, case_id: uuid.UUID):
    service.portal_only(principal)
    return schemas.PortalCase.model_validate(await cases.read(session, principal, case_id))


@router.get(
    "/cases/{case_id}/comments",
    name="list_comments",
    summary="Comments on one of my cases",
    response_model=Page[schemas.PortalComment],
    responses=problem_responses(401, 403, 404, 422),
)
async def list_comments(
    session: Session,
    principal: CasesRead,
    case_id: uuid.UUID,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query()] = None,
):
    """Public comments only, oldest first."""
    service.portal_only(principal)
    rows, nxt = await case_service.list_comments(session, principal, case_id, limit, cursor)
    return {"data": [schemas.PortalComment.model_validate(r) for r in rows], "next_cursor": nxt}


@router.post(
    "/cases/{case_id}/comments",
    name="add_comment",
    summary="Comment on one of my cases",
    status_code=201,
    response_model=schemas.PortalComment,
    responses=problem_responses(401, 403, 404, 422),
)
async def add_comment(
    session: Session, principal: CasesWrite, case_id: uuid.UUID, body: schemas.PortalCommentCreate
):
    """Always public: the agents and the customer see it."""
    return schemas.PortalComment.model_validate(
        await service.add_comment(session, principal, case_id, body)
    )


@case_steps.post("/cases/{case_id}/close", name="close_case", summary="Close one of my cases")
async def close_case(
    session: Session, principal: CasesWrite, case_id: uuid.UUID, body: schemas.PortalClose
):
    """The problem is solved: the case closes (409 `invalid_state_transition` when it is
    closed already) and a satisfaction survey is emailed."""
    row = await service.close_case(session, principal, case_id, body)
    return schemas.PortalCase.model_validate(row)


@case_steps.post("/cases/{case_id}/reopen", name="reopen_case", summary="Reopen one of my cases")
async def reopen_case(
    session: Session, principal: CasesWrite, case_id: uuid.UUID, body: schemas.PortalReopen
):
    """409 `invalid_state_transition` when the case is open."""
    row = await service.reopen_case(session, principal, case_id, body)
    return schemas.PortalCase.model_validate(row)


routers = (router, links)
