"""The send job: ``email.send`` with ``{"message_ids": [...]}`` (one for a single email, up to
``email_batch_size`` for a mass email, over one SMTP connection).

Idempotent per message: each is locked (``FOR UPDATE SKIP LOCKED``) and sent only while
``queued``, and marked ``sent`` in the same transaction once the server accepted it, so a retried
or duplicated job never sends a message twice. The one gap SMTP leaves: a worker that dies after
the server accepted a message and before that commit sends it again on retry (with the same
``Message-ID``, which lets receivers drop the copy).

When the server is unreachable (or answers 4xx) the rest of the batch stays queued with the
error and the attempt counted, and the job fails so the queue retries it with backoff; on the
job's last attempt they are marked failed instead. A 5xx refusal of one recipient or message
fails that message and the batch goes on. What was sent is then logged in the records' activity
history (``activity.log_sent``), also idempotently.
"""

import logging
import uuid
from email.errors import MessageError

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import jobs
from app.config import Settings, get_settings
from app.email import activity, smtp, tracking
from app.kit import clock
from app.models import EmailMessage

logger = logging.getLogger("accord.email")


def settings() -> Settings:
    """The worker's settings (tests point them at their SMTP server)."""
    return get_settings()


async def _send_one(
    s: AsyncSession, mailer: smtp.Mailer, config: Settings, message_id: uuid.UUID
) -> None:
    msg = await s.scalar(
        select(EmailMessage)
        .where(EmailMessage.id == message_id, EmailMessage.status == "queued")
        .with_for_update(skip_locked=True)
    )
    if msg is None:  # sent, failed, or being sent by another run
        return
    body = msg.html_body
    if body is not None and msg.track:
        key = await tracking.signing_key(s, config)
        body = tracking.rewrite(body, config.public_url, key, msg.tracking_token)
    msg.attempts += 1
    try:
        mime = smtp.build(
            message_id=str(msg.id),
            from_address=msg.from_address,
            to_address=msg.to_address,
            to_name=msg.to_name,
            reply_to=msg.reply_to,
            subject=msg.subject,
            html_body=body,
            text_body=msg.text_body,
            domain=smtp.domain_of(config),
        )
    except (ValueError, TypeError, MessageError) as exc:  # an address the server would refuse
        msg.status, msg.error = "failed", f"Cannot build the message: {exc}"[:2000]
        return
    try:
        await mailer.send(mime)
    except smtp.Permanent as exc:
        msg.status, msg.error = "failed", str(exc)[:2000]
        return
    msg.status, msg.sent_at, msg.error = "sent", clock.now(), None


async def _deferred(ids: list[uuid.UUID], error: str, *, final: bool) -> None:
    async with jobs.session() as s:
        await s.execute(
            update(EmailMessage)
            .where(EmailMessage.id.in_(ids), EmailMessage.status == "queued")
            .values(
                attempts=EmailMessage.attempts + 1,
                error=error[:2000],
                status="failed" if final else "queued",
            )
        )


@jobs.task("email.send", max_attempts=10, base_delay=30.0, max_delay=3600.0)
async def send_messages(payload: dict) -> None:
    config = settings()
    ids = [uuid.UUID(i) for i in payload.get("message_ids", [])]
    info = jobs.current()
    final = info is not None and info.attempt >= info.max_attempts
    mailer = smtp.Mailer(config)
    failure: smtp.Transient | None = None
    try:
        for index, message_id in enumerate(ids):
            try:
                async with jobs.session() as s:
                    await _send_one(s, mailer, config, message_id)
            except smtp.Transient as exc:
                await _deferred(ids[index:], str(exc), final=final)
                failure = exc
                break
    finally:
        await mailer.close()
    # What was sent, in the activity history (also what an earlier, interrupted run sent).
    async with jobs.session() as s:
        await activity.log_sent(s, ids)
    if failure is not None:
        if not final:
            raise failure
        logger.error("email not delivered; giving up", extra={"error": str(failure)})
