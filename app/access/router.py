"""Org-wide defaults as data: ``GET`` / ``PATCH /api/v1/sharing-settings`` (administrators).

The settings live in ``sharing_settings`` and every access clause reads them inside its own SQL
(``app.access.org_wide_default``), so a change applies to the next request of every process.
"""

from typing import Annotated

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import can_follow_parent, schemas
from app.auth.principal import Principal, require
from app.kit import clock
from app.kit.db import Session
from app.kit.errors import ValidationFailed, problem_responses
from app.kit.resource import REGISTRY
from app.kit.routing import Router
from app.models.sharing import Sharing, SharingSetting

router = Router(prefix="/api/v1/sharing-settings", tags=["sharing_settings"])


def _invalid(field: str, code: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[{"field": field, "code": code, "message": message}])


def _defaults() -> dict[str, str]:
    return {r.object_type: r.sharing.value for r in REGISTRY.values()}


async def _settings(session: AsyncSession) -> schemas.SharingSettings:
    stmt = select(SharingSetting).execution_options(populate_existing=True)
    rows = {s.object: s for s in (await session.scalars(stmt)).all()}
    data = []
    for obj, default in sorted(_defaults().items()):
        row = rows.get(obj)
        data.append(
            schemas.SharingSetting(
                object=obj,
                internal_access=row.internal_access if row else default,
                default_access=default,
                updated_at=row.updated_at if row else None,
                updated_by=row.updated_by if row else None,
            )
        )
    return schemas.SharingSettings(data=data)


@router.get(
    "",
    name="list",
    summary="List the org-wide defaults",
    response_model=schemas.SharingSettings,
    responses=problem_responses(401, 403),
)
async def list_sharing_settings(
    session: Session, principal: Annotated[Principal, require("admin")]
):
    """The org-wide default of every object: what internal users may do with records they
    neither own nor manage (through the role hierarchy). Administrators see everything."""
    return await _settings(session)


@router.patch(
    "",
    name="update",
    summary="Change org-wide defaults",
    response_model=schemas.SharingSettings,
    responses=problem_responses(401, 403, 422),
)
async def update_sharing_settings(
    session: Session,
    principal: Annotated[Principal, require("admin")],
    body: schemas.SharingSettingsUpdate,
):
    """Set the org-wide default of one or more objects. The change applies to the next request
    of every user, on every server process."""
    known = _defaults()
    for i, change in enumerate(body.settings):
        if change.object not in known:
            raise _invalid(f"settings[{i}].object", "not_found", f"No such object: {change.object}")
        if change.internal_access == Sharing.controlled_by_parent and not can_follow_parent(
            change.object
        ):
            raise _invalid(
                f"settings[{i}].internal_access",
                "invalid",
                f"{change.object} have no parent record to follow",
            )
    now = clock.now()
    for change in body.settings:
        stmt = insert(SharingSetting).values(
            object=change.object,
            internal_access=change.internal_access.value,
            updated_at=now,
            updated_by=principal.user_id,
        )
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[SharingSetting.object],
                set_={
                    "internal_access": stmt.excluded.internal_access,
                    "updated_at": stmt.excluded.updated_at,
                    "updated_by": stmt.excluded.updated_by,
                },
            )
        )
    return await _settings(session)


__all__ = ["router"]
