"""Webhook subscriptions, the fan-out of events into deliveries, and the sender."""

import logging
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import orjson
from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app import events, jobs
from app.auth.principal import Principal
from app.config import Settings
from app.kit import clock
from app.kit.errors import Conflict, Forbidden, NotFound
from app.kit.ids import new_id
from app.kit.pagination import PageParams, decode_cursor, encode_cursor
from app.kit.resource import invalid
from app.models import FieldHistory, User, UserKind
from app.models.webhooks import WebhookDelivery, WebhookSubscription
from app.webhooks import signing, targets
from app.webhooks.schemas import WebhookCreate, WebhookUpdate

logger = logging.getLogger("accord.webhooks")

SEND = "webhooks.send"


# --- subscriptions -----------------------------------------------------------------------


def _check_event_types(event_types: list[str]) -> list[str]:
    known = set(events.known_event_types())
    prefixes = {t.split(".", 1)[0] for t in known}
    out: list[str] = []
    for t in event_types:
        t = t.strip()
        ok = t == "*" or t in known or (t.endswith(".*") and t[:-2] in prefixes)
        if not ok:
            raise invalid(
                "event_types",
                "unknown_event_type",
                f"Unknown event type {t!r} (see GET /api/v1/webhooks/event-types)",
            )
        if t not in out:
            out.append(t)
    return out


async def _check_url(url: str, settings: Settings) -> None:
    try:
        await targets.check(url, targets.Allowlist(settings.webhook_allowed_hosts))
    except ValueError as exc:
        raise invalid("url", "invalid_url", str(exc)) from exc
    except targets.BlockedTarget as exc:
        raise invalid(
            "url",
            "forbidden_target",
            f"{exc}: webhooks may only call public addresses (an administrator can allow "
            "hosts with ACCORD_WEBHOOK_ALLOWED_HOSTS)",
        ) from exc


def _object_scopes(principal: Principal) -> list[str]:
    if principal.is_admin:
        return ["*"]
    return sorted({s.split(":", 1)[0] for s in principal.scopes if s.endswith(":read")})


async def create(
    session: AsyncSession, principal: Principal, data: WebhookCreate, settings: Settings
) -> tuple[WebhookSubscription, str]:
    if principal.partner_account_id is not None:
        raise Forbidden("Partner clients cannot subscribe to webhooks")
    event_types = _check_event_types(data.event_types)
    await _check_url(data.url, settings)
    secret = signing.new_secret()
    sub = WebhookSubscription(
        id=new_id(),
        url=data.url,
        event_types=event_types,
        description=data.description,
        secret=signing.seal(secret, settings.secret_key),
        active=True,
        owner_id=principal.user_id,
        created_by_client=principal.client_pk,
        object_scopes=_object_scopes(principal),
    )
    session.add(sub)
    await session.flush()
    return sub, secret


async def get(session: AsyncSession, sub_id: uuid.UUID, *, lock: bool = False):
    stmt = select(WebhookSubscription).where(WebhookSubscription.id == sub_id)
    if lock:
        stmt = stmt.with_for_update()
    sub = await session.scalar(stmt)
    if sub is None:
        raise NotFound("No such webhook")
    return sub


async def list_(session: AsyncSession, params: PageParams) -> tuple[list, str | None]:
    stmt = select(WebhookSubscription)
    if params.cursor:
        (after,) = decode_cursor(params.cursor)[:1]
        stmt = stmt.where(WebhookSubscription.id > uuid.UUID(str(after)))
    rows = list(
        await session.scalars(stmt.order_by(WebhookSubscription.id).limit(params.limit + 1))
    )
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        return rows, encode_cursor([str(rows[-1].id)])
    return rows, None


async def change(
    session: AsyncSession, sub_id: uuid.UUID, data: WebhookUpdate, settings: Settings
) -> WebhookSubscription:
    sub = await get(session, sub_id, lock=True)
    values = data.model_dump(exclude_unset=True)
    if "url" in values and values["url"] is None:
        raise invalid("url", "required", "url cannot be null")
    if "event_types" in values and not values["event_types"]:
        raise invalid("event_types", "required", "event_types cannot be empty")
    if "event_types" in values:
        sub.event_types = _check_event_types(values["event_types"])
    if "url" in values:
        await _check_url(values["url"], settings)
        sub.url = values["url"]
    if "description" in values:
        sub.description = values["description"]
    if "active" in values and values["active"] is not None and values["active"] != sub.active:
        sub.active = values["active"]
        if sub.active:
            sub.disabled_at = None
            sub.disabled_reason = None
            # Resume where it stopped: what is pending goes out now, in order.
            await session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.subscription_id == sub.id, WebhookDelivery.status == "pending"
                )
                .values(next_attempt_at=clock.now())
            )
            await wake(session, sub.id)
        else:
            sub.disabled_at = clock.now()
            sub.disabled_reason = "paused"
    sub.updated_at = clock.now()
    await session.flush()
    return sub


async def rotate_secret(
    session: AsyncSession, sub_id: uuid.UUID, settings: Settings
) -> tuple[WebhookSubscription, str]:
    sub = await get(session, sub_id, lock=True)
    secret = signing.new_secret()
    sub.secret = signing.seal(secret, settings.secret_key)
    sub.updated_at = clock.now()
    await session.flush()
    return sub, secret


async def remove(session: AsyncSession, sub_id: uuid.UUID) -> None:
    sub = await get(session, sub_id, lock=True)
    await session.delete(sub)
    await session.flush()


async def deliveries(
    session: AsyncSession, sub_id: uuid.UUID, params: PageParams, status: str | None
) -> tuple[list, str | None]:
    """Newest first."""
    await get(session, sub_id)
    stmt = select(WebhookDelivery).where(WebhookDelivery.subscription_id == sub_id)
    if status:
        stmt = stmt.where(WebhookDelivery.status == status)
    if params.cursor:
        values = decode_cursor(params.cursor)
        try:
            before = int(values[0])
        except (ValueError, IndexError, TypeError):
            before = 0
        stmt = stmt.where(WebhookDelivery.seq < before)
    rows = list(
        await session.scalars(stmt.order_by(WebhookDelivery.seq.desc()).limit(params.limit + 1))
    )
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        return rows, encode_cursor([rows[-1].seq])
    return rows, None


async def redeliver(
    session: AsyncSession, sub_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery:
    """Send a delivery's message again (same ``webhook-id``) as a new delivery."""
    sub = await get(session, sub_id)
    if not sub.active:
        raise Conflict("The webhook is disabled: enable it first", code="webhook_disabled")
    original = await session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.subscription_id == sub_id
        )
    )
    if original is None:
        raise NotFound("No such delivery")
    now = clock.now()
    copy = WebhookDelivery(
        id=new_id(),
        subscription_id=sub_id,
        message_id=original.message_id,
        event_type=original.event_type,
        object_type=original.object_type,
        record_id=original.record_id,
        payload=original.payload,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        redelivery_of=original.id,
        created_at=now,
    )
    session.add(copy)
    await session.flush()
    await wake(session, sub_id)
    await session.refresh(copy)
    return copy


async def wake(session: AsyncSession, sub_id: uuid.UUID, at: datetime | None = None) -> None:
    """Have the sender of this subscription run (at ``at``; now by default)."""
    await jobs.enqueue(
        session, SEND, {"subscription_id": str(sub_id)}, run_at=at, dedupe_key=f"{SEND}:{sub_id}"
    )


# --- fan-out: events -> deliveries ---------------------------------------------------------


def _wants(sub, event: events.Event) -> bool:
    # A new subscription gets what happens after it was made, not a backlog.
    if event.occurred_at < sub.created_at:
        return False
    if not any(events.matches(p, event.type) for p in sub.event_types):
        return False
    if "*" in sub.object_scopes:
        return True
    r = events.resource_for(event.object_type)
    return r is not None and r.scope in sub.object_scopes


async def _diffs(session: AsyncSession, updates: list[events.Event]) -> dict:
    """Field changes of update events, by (record id, time), in one query."""
    if not updates:
        return {}
    rows = await session.execute(
        select(
            FieldHistory.record_id,
            FieldHistory.changed_at,
            FieldHistory.field,
            FieldHistory.old_value,
            FieldHistory.new_value,
        ).where(
            FieldHistory.record_id.in_({e.record_id for e in updates}),
            FieldHistory.changed_at.in_({e.occurred_at for e in updates}),
        )
    )
    out: dict[tuple, dict] = {}
    for record_id, at, name, old, new in rows.all():
        out.setdefault((record_id, at), {})[name] = {"old": old, "new": new}
    return out


def body(event: events.Event, changes: dict | None) -> dict[str, Any]:
    """The Standard Webhooks payload: ``type``, ``timestamp`` and ``data``."""
    data: dict[str, Any] = {
        "id": str(event.record_id),
        "object": events.type_prefix(event.object_type),
        "actor_id": str(event.actor_id) if event.actor_id else None,
    }
    if changes is not None:
        data["changes"] = changes
    data.update(event.data)
    return {"type": event.type, "timestamp": event.occurred_at.isoformat(), "data": data}


@events.consumer("webhooks")
async def fan_out(session: AsyncSession, batch: list[events.Event]) -> None:
    """Deliveries for every subscription that wants the event, disabled ones included: they
    wait, in order, until the webhook is re-enabled (or the log retention drops them)."""
    subs = (
        await session.execute(
            select(
                WebhookSubscription.id,
                WebhookSubscription.event_types,
                WebhookSubscription.object_scopes,
                WebhookSubscription.created_at,
                WebhookSubscription.active,
            )
        )
    ).all()
    if not subs:
        return
    wanted = [(e, [s.id for s in subs if _wants(s, e)]) for e in batch]
    wanted = [(e, ids) for e, ids in wanted if ids]
    if not wanted:
        return
    diffs = await _diffs(session, [e for e, _ in wanted if e.op == "update"])
    now = clock.now()
    rows = []
    for e, sub_ids in wanted:
        payload = body(e, diffs.get((e.record_id, e.occurred_at), {}) if e.op == "update" else None)
        for sub_id in sub_ids:
            rows.append(
                {
                    "id": new_id(),
                    "subscription_id": sub_id,
                    "message_id": e.id,
                    "event_type": e.type,
                    "object_type": e.object_type,
                    "record_id": e.record_id,
                    "payload": payload,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
    # In event order: the deliveries' seq is the order they are sent in, per record.
    await session.execute(pg_insert(WebhookDelivery), rows)
    active = {s.id for s in subs if s.active}
    for sub_id in {r["subscription_id"] for r in rows} & active:
        await wake(session, sub_id)


# --- the sender --------------------------------------------------------------------------

BATCH = 100
_ENDPOINT_DOWN = (aiohttp.ClientConnectionError, TimeoutError)


async def _post(
    http: aiohttp.ClientSession, url: str, secret: str, delivery, allow: targets.Allowlist
) -> tuple[int | None, str | None]:
    """One attempt: (status code, error). Redirects are not followed."""
    raw = orjson.dumps(delivery.payload)
    ts = int(clock.now().timestamp())
    _, host, _ = targets.parse(url)
    ip = targets.literal_ip(host)
    if ip is not None and not allow.permits(host, ip):
        raise targets.BlockedTarget(f"{host} is a private or reserved address")
    async with http.post(
        url,
        data=raw,
        headers=signing.headers(secret, delivery.message_id, ts, raw),
        allow_redirects=False,
    ) as resp:
        await resp.content.read(4096)
        if 200 <= resp.status < 300:
            return resp.status, None
        return resp.status, f"HTTP {resp.status}"


def _retry_at(settings: Settings, attempts: int) -> datetime | None:
    schedule = settings.webhook_retry_schedule
    if attempts > len(schedule):
        return None
    return clock.now() + timedelta(seconds=schedule[attempts - 1])


async def _notify_disabled(session: AsyncSession, sub: WebhookSubscription, reason: str) -> None:
    """Tell the owner (or, for one a client created, every administrator)."""
    try:
        from app.notifications import notify
    except ImportError:  # until app/notifications provides it
        notify = None
    if sub.owner_id is not None:
        users = [sub.owner_id]
    else:
        users = list(
            await session.scalars(
                select(User.id).where(User.is_admin, User.is_active, User.kind == UserKind.internal)
            )
        )
    for user_id in users:
        if notify is None:
            logger.warning("webhook disabled", extra={"webhook": str(sub.id), "user": str(user_id)})
            continue
        await notify(
            session,
            user_id,
            kind="webhook.disabled",
            title="A webhook was disabled",
            body=f"Deliveries to {sub.url} kept failing ({reason}), so the webhook was disabled. "
            "Fix the endpoint, then re-enable it: pending events will be delivered in order.",
            link=f"/api/v1/webhooks/{sub.id}",
        )


async def _record(
    sub_id: uuid.UUID, delivery, status: int | None, error: str | None, settings: Settings
) -> bool:
    """Store one attempt's outcome; True when it succeeded."""
    now = clock.now()
    async with jobs.session() as s:
        attempts = delivery.attempts + 1
        base = {
            "attempts": attempts,
            "last_attempt_at": now,
            "last_status_code": status,
            "last_error": error,
        }
        same = and_(WebhookDelivery.id == delivery.id, WebhookDelivery.status == "pending")
        if error is None:
            await s.execute(
                update(WebhookDelivery)
                .where(same)
                .values(**base, status="succeeded", delivered_at=now)
            )
            await s.execute(
                update(WebhookSubscription)
                .where(WebhookSubscription.id == sub_id)
                .values(last_success_at=now)
            )
            return True
        gone = status == 410  # Standard Webhooks: the receiver wants no more
        retry = None if gone else _retry_at(settings, attempts)
        if retry is not None:
            await s.execute(
                update(WebhookDelivery).where(same).values(**base, next_attempt_at=retry)
            )
            return False
        await s.execute(update(WebhookDelivery).where(same).values(**base, status="failed"))
        sub = await s.scalar(
            select(WebhookSubscription).where(WebhookSubscription.id == sub_id).with_for_update()
        )
        # Disabled when nothing got through since this message was first tried: the endpoint
        # is gone, not just one message it rejects.
        if (
            sub is not None
            and sub.active
            and (gone or sub.last_success_at is None or sub.last_success_at < delivery.created_at)
        ):
            sub.active = False
            sub.disabled_at = now
            tries = len(settings.webhook_retry_schedule) + 1
            sub.disabled_reason = (
                "The endpoint answered 410 Gone"
                if gone
                else f"A delivery failed {tries} times: {error}"[:500]
            )
            await _notify_disabled(s, sub, error)
        return False


@jobs.task(SEND, max_attempts=50, base_delay=1.0, max_delay=300.0)
async def send(payload: dict) -> None:
    """Send a subscription's due deliveries, oldest first; a record whose earlier delivery is
    still pending waits behind it (order per record). Then schedule the next run."""
    settings = jobs.settings()
    sub_id = uuid.UUID(payload["subscription_id"])
    async with jobs.session() as s:
        sub = await s.scalar(select(WebhookSubscription).where(WebhookSubscription.id == sub_id))
        if sub is None or not sub.active:
            return
        url, secret = sub.url, signing.unseal(sub.secret, settings.secret_key)
        pending = list(
            await s.scalars(
                select(WebhookDelivery)
                .where(
                    WebhookDelivery.subscription_id == sub_id, WebhookDelivery.status == "pending"
                )
                .order_by(WebhookDelivery.seq)
                .limit(BATCH)
            )
        )
    allow = targets.Allowlist(settings.webhook_allowed_hosts)
    timeout = aiohttp.ClientTimeout(total=settings.webhook_timeout_seconds)
    connector = aiohttp.TCPConnector(resolver=targets.GuardedResolver(allow), limit=1)
    waiting: set[uuid.UUID] = set()
    disabled = False
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        for d in pending:
            if d.record_id in waiting:
                continue
            if d.next_attempt_at > clock.now():
                waiting.add(d.record_id)
                continue
            started = time.monotonic()
            try:
                status, error = await _post(http, url, secret, d, allow)
            except targets.BlockedTarget as exc:
                status, error = None, str(exc)
            except _ENDPOINT_DOWN as exc:
                status, error = None, f"{type(exc).__name__}: {exc}"[:1000] or "timeout"
            except aiohttp.ClientError as exc:
                status, error = None, f"{type(exc).__name__}: {exc}"[:1000]
            logger.debug(
                "webhook attempt",
                extra={"delivery": str(d.id), "status": status, "ms": time.monotonic() - started},
            )
            if not await _record(sub_id, d, status, error, settings):
                waiting.add(d.record_id)
                async with jobs.session() as s:
                    disabled = not await s.scalar(
                        select(WebhookSubscription.active).where(WebhookSubscription.id == sub_id)
                    )
                if disabled:
                    return
    async with jobs.session() as s:
        due = await s.scalar(
            select(func.min(WebhookDelivery.next_attempt_at)).where(
                WebhookDelivery.subscription_id == sub_id, WebhookDelivery.status == "pending"
            )
        )
        if due is not None:
            await wake(s, sub_id, max(due, clock.now()))


PRUNE = "webhooks.prune"


@jobs.task(PRUNE, max_attempts=3, base_delay=60.0)
async def prune(payload: dict) -> None:
    """Drop delivery-log entries older than ``webhook_log_retention_days``; pending ones that
    old (a webhook disabled for that long) are dropped too."""
    settings = jobs.settings()
    cutoff = clock.now() - timedelta(days=settings.webhook_log_retention_days)
    while True:
        async with jobs.session() as s:
            ids = select(WebhookDelivery.id).where(WebhookDelivery.created_at < cutoff).limit(1000)
            result = await s.execute(delete(WebhookDelivery).where(WebhookDelivery.id.in_(ids)))
        if result.rowcount < 1000:
            return


jobs.periodic(PRUNE, every=24 * 3600.0, first_after=3600.0)
