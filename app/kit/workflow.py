"""Workflow transitions of a record with a state machine (deal registrations, fund requests and
claims): lock the record, change it, emit the event, notify the people concerned, in that order
and in the request's transaction, so an event or a notice never tells of a change that did not
commit."""

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import events
from app.auth.principal import Principal
from app.kit.resource import Records
from app.notifications.service import notify


@dataclass(frozen=True)
class Notice:
    """A notification of a step, linking to the record; nobody is told when ``user_id`` is None
    (a partner without a channel manager)."""

    user_id: uuid.UUID | None
    kind: str
    title: str
    body: str = ""


@dataclass(frozen=True)
class Workflow:
    records: Records
    # Event names are ``<event>.<verb>`` ("deal_registration.approved").
    event: str
    # Refuses an action the principal may not take at all (403).
    may: Callable[[Principal, str], None]
    # The status an action leads to from the current one; raises 409 when it may not be taken.
    target: Callable[[str, Any], Any]
    # The event's data from the row and the step's own details.
    payload: Callable[[Any, dict[str, Any]], dict[str, Any]]

    async def lock(
        self, session: AsyncSession, principal: Principal, record_id: uuid.UUID, action: str
    ) -> tuple[Any, Any]:
        """The record locked until the transaction ends (404 invisible, 403 read-only) and the
        status ``action`` leads to."""
        self.may(principal, action)
        row = await self.records.lock_for_write(session, principal, record_id)
        return row, self.target(action, row.status)

    async def step(
        self,
        session: AsyncSession,
        principal: Principal,
        row: Any,
        values: dict[str, Any],
        verb: str,
        data: dict[str, Any] | None = None,
        notices: Iterable[Notice] = (),
    ) -> Any:
        """Apply ``values`` to the locked row (version, field history, change feed), then emit
        ``<event>.<verb>`` and send the notices."""
        await self.records.change(session, principal, row, values)
        await self.emit(session, principal, verb, row, data or {})
        await self.tell(session, row, notices)
        return row

    async def emit(
        self,
        session: AsyncSession,
        principal: Principal,
        verb: str,
        row: Any,
        data: dict[str, Any] | None = None,
    ) -> None:
        await events.emit(
            session,
            f"{self.event}.{verb}",
            self.records.r.object_type,
            row.id,
            self.payload(row, data or {}),
            actor_id=principal.user_id,
        )

    async def tell(self, session: AsyncSession, row: Any, notices: Iterable[Notice]) -> None:
        for n in notices:
            if n.user_id is None:
                continue
            await notify(
                session,
                n.user_id,
                kind=n.kind,
                title=n.title,
                body=n.body,
                link=f"{self.records.r.url}/{row.id}",
                object_type=self.records.r.object_type,
                record_id=row.id,
            )
