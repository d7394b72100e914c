"""The public survey link: ``/s/csat/{token}``. No authentication (the customer follows it from
an email); the signed token is the credential. ``GET`` shows the survey (a minimal HTML form, or
JSON when asked for), ``POST`` records the answer once."""

import html
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy import select

from app import events
from app.cases import policies
from app.cases.repository import cases
from app.email.tracking import signing_key
from app.kit import clock
from app.kit.db import Session
from app.kit.errors import Conflict, NotFound, ValidationFailed, problem_responses
from app.kit.routing import Router
from app.models import Case
from app.satisfaction import service

router = Router(prefix="/s/csat", tags=["satisfaction"])
Token = Annotated[str, Path(max_length=200)]


class SurveyAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: int = Field(ge=1, le=5, description="1 (very dissatisfied) to 5 (very satisfied)")
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)] | None = None


class Survey(BaseModel):
    case_number: str
    subject: str | None
    answered: bool
    satisfaction_score: int | None = None
    satisfaction_at: datetime | None = None


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept


def _page(title: str, body: str, status: int = 200) -> Response:
    doc = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f"{body}</body></html>"
    )
    return Response(
        doc,
        status_code=status,
        media_type="text/html",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


async def _case(session, request: Request, token: str, *, lock: bool) -> Case:
    key = await signing_key(session, request.app.state.settings)
    case_id = service.read_token(key, token)
    stmt = select(Case).where(Case.id == case_id, Case.deleted_at.is_(None))
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    case = await session.scalar(stmt)
    if case is None:
        raise NotFound("This case no longer exists")
    return case


@router.get(
    "/{token}",
    name="show",
    summary="Show a satisfaction survey",
    response_model=Survey,
    responses={
        200: {"content": {"text/html": {}}},
        **problem_responses(400, 404, 409, 410),
    },
)
async def show(request: Request, session: Session, token: Token):
    """Public: the survey of the case the signed link is for. HTML (a one-question form) for
    browsers, JSON otherwise. 400 `invalid_link` for a link that was changed, 410 `link_expired`
    after 14 days, 409 `already_answered` once answered."""
    case = await _case(session, request, token, lock=False)
    if case.satisfaction_at is not None:
        if _wants_html(request):
            return _page("Thank you", "<p>You have already answered this survey.</p>", 409)
        raise Conflict("This survey has already been answered", code="already_answered")
    if not _wants_html(request):
        return Survey(case_number=case.case_number, subject=case.subject, answered=False)
    options = "".join(
        f"<label><input type='radio' name='score' value='{n}' required> {n}</label> "
        for n in range(1, 6)
    )
    form = (
        f"<p>Case {html.escape(case.case_number)}: {html.escape(case.subject or '')}</p>"
        "<form method='post'><p>How satisfied are you with how we handled it? "
        f"(1 = very dissatisfied, 5 = very satisfied)</p><p>{options}</p>"
        "<p><textarea name='comment' maxlength='4000' rows='4' cols='50'"
        " placeholder='Anything to add? (optional)'></textarea></p>"
        "<p><button type='submit'>Send</button></p></form>"
    )
    return _page("How did we do?", form)


async def _answer_of(request: Request) -> SurveyAnswer:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if kind == "application/x-www-form-urlencoded":
            form = await request.form()
            data: Any = {k: v for k, v in form.items() if v != ""}
        else:
            data = json.loads(await request.body() or b"null")
        return SurveyAnswer.model_validate(data)
    except ValidationError as exc:
        errors = [
            {
                "field": ".".join(str(x) for x in e["loc"]) or "body",
                "code": e["type"],
                "message": e["msg"],
            }
            for e in exc.errors()
        ]
        raise ValidationFailed("The answer is not valid", errors=errors) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed(
            "The body must be JSON or a form",
            errors=[{"field": "body", "code": "invalid", "message": "Not JSON or a form"}],
        ) from exc


@router.post(
    "/{token}",
    name="answer",
    summary="Answer a satisfaction survey",
    response_model=Survey,
    responses=problem_responses(400, 404, 409, 410, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": SurveyAnswer.model_json_schema()},
                "application/x-www-form-urlencoded": {"schema": SurveyAnswer.model_json_schema()},
            },
        }
    },
)
async def answer(request: Request, session: Session, token: Token):
    """Public: records the score (1 to 5) and an optional comment on the case, once (409
    `already_answered` after that), in the case's field history, with a
    `case.satisfaction_recorded` event. JSON or a form (the HTML survey posts one)."""
    answer = await _answer_of(request)
    case = await _case(session, request, token, lock=True)
    if case.satisfaction_at is not None:
        raise Conflict("This survey has already been answered", code="already_answered")
    now = clock.now()
    await cases.change(
        session,
        policies.SYSTEM,
        case,
        {
            "satisfaction_score": answer.score,
            "satisfaction_comment": answer.comment or None,
            "satisfaction_at": now,
        },
    )
    await events.emit(
        session,
        service.RECORDED,
        "cases",
        case.id,
        {"score": answer.score, "case_number": case.case_number},
    )
    out = Survey(
        case_number=case.case_number,
        subject=case.subject,
        answered=True,
        satisfaction_score=answer.score,
        satisfaction_at=now,
    )
    if _wants_html(request):
        return _page("Thank you", "<p>Thank you for your answer.</p>")
    return out
