"""Solutions on the resource machinery: `/api/v1/solutions` (list, get, create, patch, delete,
restore, history). Internal users read every solution (org-wide default public read, seeded by
the migration); partners and portal users read only published public ones (declared here to
app/access). Status changes only through the workflow endpoints (router.py)."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import Sharing, publish_externally
from app.auth.principal import Principal
from app.kit.resource import Records, Resource, invalid
from app.models.solutions import Solution, SolutionCategory, SolutionStatus
from app.solutions import schemas

publish_externally(
    Solution,
    lambda m: (m.status == SolutionStatus.published) & m.is_public.is_(True),
)


async def validate(
    session: AsyncSession, principal: Principal, values: dict[str, Any], existing: Any
) -> None:
    category_id = values.get("category_id")
    if category_id is not None and (existing is None or category_id != existing.category_id):
        found = await session.scalar(
            select(SolutionCategory.id).where(SolutionCategory.id == category_id)
        )
        if found is None:
            raise invalid("category_id", "not_found", "No such solution category")


resource = Resource(
    name="solutions",
    model=Solution,
    out=schemas.Solution,
    create=schemas.SolutionCreate,
    update=schemas.SolutionUpdate,
    sharing=Sharing.public_read,
    filterable=(
        "status",
        "is_public",
        "category_id",
        "language",
        "published_at",
        "times_used",
        "owner_id",
        "created_at",
        "updated_at",
    ),
    sortable=("published_at", "times_used", "created_at", "updated_at"),
    searchable=("title",),
    label="solution",
    required=("title", "body", "is_public", "language"),
    validate=validate,
)
solutions = Records(resource)
