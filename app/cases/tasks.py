"""Case jobs: escalation timers and auto-response emails."""

import logging
import uuid
from datetime import datetime

from app import jobs
from app.cases import escalation, policies, routing
from app.email import schemas as email_schemas
from app.email import service as email_service
from app.inbound import service as inbound
from app.kit.errors import AppError
from app.models import Case

logger = logging.getLogger("accord.cases")


@jobs.task(escalation.TASK, max_attempts=5)
async def escalate(payload: dict) -> None:
    """A case's first-response or resolution timer: escalates only if it still stands."""
    async with jobs.session() as s:
        await escalation.fire(
            s,
            uuid.UUID(payload["case_id"]),
            payload["kind"],
            datetime.fromisoformat(payload["due"]),
        )


@jobs.task(routing.AUTO_RESPONSE_TASK, max_attempts=3)
async def auto_response(payload: dict) -> None:
    """Render the auto-response template and queue it through app/email (logged like any sent
    email). A template that cannot be used (deleted, inactive, failing) is logged and dropped:
    retrying would not fix it."""
    async with jobs.session() as s:
        body = email_schemas.EmailSendFromRecord(
            template_id=uuid.UUID(payload["template_id"]), to=payload["to"]
        )
        try:
            async with s.begin_nested():
                contact = payload.get("contact_id")
                message = await email_service.send(
                    s,
                    policies.SYSTEM,
                    jobs.settings(),
                    body,
                    "contact" if contact else None,
                    uuid.UUID(contact) if contact else None,
                )
                # The case's thread token in the subject, its Message-ID in the case's thread:
                # the customer's reply comes back to the case (app/inbound).
                case = await s.get(Case, uuid.UUID(payload["case_id"]))
                if case is not None:
                    await inbound.link_outbound(s, jobs.settings(), case, message)
        except AppError as exc:
            logger.warning(
                "case auto-response not sent",
                extra={"case_id": payload["case_id"], "reason": exc.detail},
            )
