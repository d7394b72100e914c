"""Email templates: their resource declaration.

Templates are public read (everyone may send them, as Salesforce's public folders); the owner and
the users above them change them. Every save renders the changed parts against sample data of
every merge object, so a broken or hostile template is refused then, with the reason.
"""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.access import Sharing
from app.auth.principal import Principal
from app.email import merge, rendering, schemas
from app.kit.resource import Records, Resource, invalid
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
records = Records(resource)
