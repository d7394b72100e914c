"""/api/v1/webhooks: subscriptions, their delivery log and redelivery. Administrators, or
clients holding ``webhooks:read`` / ``webhooks:write``."""

import uuid
from typing import Annotated, Literal

from fastapi import Depends, Query, Request, Response, Security

from app import events
from app.auth.principal import Principal, authenticate
from app.kit.db import Session
from app.kit.errors import InsufficientScope, problem_responses
from app.kit.pagination import Page, PageParams, page_params
from app.kit.routes import Routes
from app.kit.routing import Router
from app.webhooks import schemas, service

router = Router(prefix="/api/v1/webhooks", tags=["webhooks"])

ERRORS = problem_responses(401, 403, 422)
ITEM_ERRORS = problem_responses(401, 403, 404, 422)


def _access(scope: str):
    async def check(
        principal: Annotated[Principal, Security(authenticate, scopes=[])],
    ) -> Principal:
        if not (principal.is_admin or principal.has(scope) or principal.has("webhooks:write")):
            raise InsufficientScope(scope)
        return principal

    return Depends(check)


Reader = Annotated[Principal, _access("webhooks:read")]
Writer = Annotated[Principal, _access("webhooks:write")]
Paging = Annotated[PageParams, Depends(page_params)]

# The routes of one webhook (``/{webhook_id}...``).
item_routes = Routes(router, response_model=schemas.Webhook, responses=ITEM_ERRORS)


@router.get(
    "/event-types",
    name="list_event_types",
    summary="List the event types webhooks can subscribe to",
    response_model=list[schemas.EventType],
    responses=ERRORS,
)
async def list_event_types(principal: Reader):
    """Record events (`<object>.created|updated|deleted|restored|purged`) and workflow events
    (`lead.converted`, ...). Subscribe to `*`, an exact type or `<object>.*`."""
    out = []
    for t in events.known_event_types():
        obj, _, verb = t.partition(".")
        desc = events.WORKFLOW_EVENTS.get(t) or f"A {obj.replace('_', ' ')} was {verb}"
        out.append({"event_type": t, "description": desc})
    return out


@router.get(
    "",
    name="list",
    summary="List webhooks",
    response_model=Page[schemas.Webhook],
    responses=ERRORS,
)
async def list_webhooks(session: Session, principal: Reader, paging: Paging):
    rows, cursor = await service.list_(session, paging)
    return {"data": [schemas.Webhook.model_validate(r) for r in rows], "next_cursor": cursor}


@router.post(
    "",
    name="create",
    summary="Create a webhook",
    status_code=201,
    response_model=schemas.WebhookWithSecret,
    responses=problem_responses(401, 403, 422),
)
async def create_webhook(
    request: Request, session: Session, principal: Writer, body: schemas.WebhookCreate
):
    """Subscribe a URL to event types. Deliveries are POSTed as JSON (`type`, `timestamp`,
    `data`) and signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`,
    `webhook-signature`) with the `secret` in the response, shown only now. Failed deliveries
    are retried for about a day (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h); events of one
    record arrive in order. If nothing gets through, the webhook is disabled and its owner
    notified. URLs on private, loopback or link-local addresses are refused."""
    sub, secret = await service.create(session, principal, body, request.app.state.settings)
    return {**schemas.Webhook.model_validate(sub).model_dump(), "secret": secret}


@item_routes.get("/{webhook_id}", name="get", summary="Get a webhook")
async def get_webhook(session: Session, principal: Reader, webhook_id: uuid.UUID):
    return await service.get(session, webhook_id)


@item_routes.patch("/{webhook_id}", name="update", summary="Change, pause or re-enable a webhook")
async def update_webhook(
    request: Request,
    session: Session,
    principal: Writer,
    webhook_id: uuid.UUID,
    body: schemas.WebhookUpdate,
):
    """`active: true` re-enables a disabled webhook: pending deliveries go out at once, in
    order."""
    return await service.change(session, webhook_id, body, request.app.state.settings)


@router.delete(
    "/{webhook_id}",
    name="delete",
    summary="Delete a webhook",
    status_code=204,
    response_class=Response,
    responses=ITEM_ERRORS,
)
async def delete_webhook(session: Session, principal: Writer, webhook_id: uuid.UUID) -> None:
    """Deletes the webhook and its delivery log; nothing more is sent."""
    await service.remove(session, webhook_id)


@item_routes.post(
    "/{webhook_id}/rotate-secret",
    name="rotate_secret",
    summary="Rotate a webhook's signing secret",
    response_model=schemas.WebhookWithSecret,
)
async def rotate_secret(
    request: Request, session: Session, principal: Writer, webhook_id: uuid.UUID
):
    """A new secret signs every delivery from now on (retries included). Shown only now."""
    sub, secret = await service.rotate_secret(session, webhook_id, request.app.state.settings)
    return {**schemas.Webhook.model_validate(sub).model_dump(), "secret": secret}


@item_routes.get(
    "/{webhook_id}/deliveries",
    name="list_deliveries",
    summary="List a webhook's deliveries",
    response_model=Page[schemas.WebhookDelivery],
)
async def list_deliveries(
    session: Session,
    principal: Reader,
    webhook_id: uuid.UUID,
    paging: Paging,
    status: Annotated[
        Literal["pending", "succeeded", "failed"] | None, Query(description="Only these")
    ] = None,
):
    """The delivery log, newest first: each event sent to this webhook, with its attempts,
    the last response status or error, and when it will be tried next."""
    rows, cursor = await service.deliveries(session, webhook_id, paging, status)
    return {
        "data": [schemas.WebhookDelivery.model_validate(r) for r in rows],
        "next_cursor": cursor,
    }


@item_routes.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    name="redeliver",
    summary="Send a delivery again",
    status_code=202,
    response_model=schemas.WebhookDelivery,
    responses={**ITEM_ERRORS, **problem_responses(409)},
)
async def redeliver(
    session: Session, principal: Writer, webhook_id: uuid.UUID, delivery_id: uuid.UUID
):
    """Queue the same message (same `webhook-id`, freshly signed) as a new delivery; it goes out
    at once. 409 if the webhook is disabled."""
    return await service.redeliver(session, webhook_id, delivery_id)
