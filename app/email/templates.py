"""Email templates, through the resource machinery, plus a preview against a record.

Templates are public read (everyone may send them, as Salesforce's public folders); the owner and
the users above them change them. Every save renders the changed parts against sample data of
every merge object, so a broken or hostile template is refused then, with the reason.
"""

import uuid
from typing import Annotated, Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.access import Sharing
from app.auth.principal import Principal, require
from app.email import merge, rendering, schemas
from app.kit.db import Session
from app.kit.errors import problem_responses
from app.kit.resource import Records, Resource, build_router, invalid
from app.models import EmailTemplate

PARTS = ("subject", "html_body", "text_body")


def _now(values: dict[str, Any], existing, name: str) -> Any:
    return values[name] if name in values else getattr(existing, name, None)


async def validate(
    session: AsyncSession, principal: Principal, values: dict[str, Any], existing
) -> None:
    if _now(values, existing, "html_body") is None and _now(values, existing, "text_body") is None:
        field = "text_body" if "text_body" in values else "html_body"
        raise invalid(field, "required", "A template needs an HTML body, a text body or both")
    changed = {p: values[p] for p in PARTS if p in values}
    await merge.check(session, rendering.pool(), changed)


resource = Resource(
    name="email-templates",
    model=EmailTemplate,
    out=schemas.EmailTemplate,
    create=schemas.EmailTemplateCreate,
    update=schemas.EmailTemplateUpdate,
    sharing=Sharing.public_read,
    filterable=(
        "name",
        "folder",
        "object_type",
        "is_active",
        "owner_id",
        "created_at",
        "updated_at",
    ),
    sortable=("name", "folder", "created_at", "updated_at"),
    searchable=("name", "subject", "description"),
    label="email template",
    required=("name", "subject", "is_active"),
    validate=validate,
    scope_name="email_templates",
)
router = build_router(resource)
records: Records = router.records


@router.post(
    "/{record_id}/preview",
    name="preview",
    summary="Render an email template against a record",
    response_model=schemas.RenderedEmail,
    responses=problem_responses(401, 403, 404, 422),
)
async def preview(
    session: Session,
    principal: Annotated[Principal, require("email_templates:read")],
    record_id: uuid.UUID,
    body: schemas.TemplatePreview,
):
    """What the template gives for a lead, contact, account or opportunity you can read (404
    otherwise), or for no record (its merge fields empty). Nothing is sent or stored."""
    template = await records.read(session, principal, record_id)
    parts = {p: template[p] for p in PARTS}
    row = None
    if body.related_type is not None and body.related_id is not None:
        row = await merge.RECORDS[body.related_type].read(session, principal, body.related_id)
    rendered = await merge.render_one(session, principal, parts, body.related_type, row)
    return schemas.RenderedEmail(
        subject=rendered.subject, html_body=rendered.html_body, text_body=rendered.text_body
    )
