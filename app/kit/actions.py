"""Workflow actions over HTTP: ``POST <resource>/{record_id}/<action>`` runs one transition of a
record and answers with the record as a read does (body and ETag). One line per action instead
of one hand-written endpoint each; the action's service function documents it."""

import inspect
import types
import typing
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from pydantic import BaseModel

from app.kit.db import Session
from app.kit.resource import Records
from app.kit.routing import Router

# The service function of an action: (session, principal, [settings,] record id[, body]) -> the
# changed row.
Run = Callable[..., Awaitable[Any]]


class Actions:
    """The actions of one resource, all answering ``response_model`` with ``responses``."""

    def __init__(
        self,
        router: Router,
        records: Records,
        *,
        responses: dict,
        response_model: type[BaseModel],
    ) -> None:
        self.router, self.records = router, records
        self.responses, self.response_model = responses, response_model

    def add(
        self,
        name: str,
        run: Run,
        caller: Any,
        summary: str,
        body: Any = None,
        *,
        doc: str | None = None,
        settings: bool = False,
    ) -> None:
        """Route ``POST .../{record_id}/<name, dashed>`` for ``caller`` (``Annotated[Principal,
        require(scope)]``). ``body`` is the body model, or ``Model | None`` for an optional body
        (a call without one runs with the model's defaults). With ``settings``, ``run`` is given
        the app's settings after the principal. The description is ``doc`` or ``run``'s
        docstring."""
        records = self.records
        optional = isinstance(body, types.UnionType)
        Body = next(a for a in typing.get_args(body) if a is not type(None)) if optional else body
        Caller = caller

        async def respond(request, session, principal, record_id, data) -> Any:
            args = [session, principal]
            if settings:
                args.append(request.app.state.settings)
            args.append(record_id)
            if Body is not None:
                args.append(data if data is not None else Body())
            row = await run(*args)
            return await records.respond(session, principal, row)

        if Body is None:

            async def endpoint(
                request: Request, session: Session, principal: Caller, record_id: uuid.UUID
            ):
                return await respond(request, session, principal, record_id, None)

        elif optional:

            async def endpoint(
                request: Request,
                session: Session,
                principal: Caller,
                record_id: uuid.UUID,
                body: Body | None = None,  # type: ignore[valid-type]
            ):
                return await respond(request, session, principal, record_id, body)

        else:

            async def endpoint(
                request: Request,
                session: Session,
                principal: Caller,
                record_id: uuid.UUID,
                body: Body,  # type: ignore[valid-type]
            ):
                return await respond(request, session, principal, record_id, body)

        endpoint.__name__ = name
        self.router.post(
            f"/{{record_id}}/{name.replace('_', '-')}",
            name=name,
            summary=summary,
            description=inspect.cleandoc(doc or run.__doc__ or ""),
            response_model=self.response_model,
            responses=self.responses,
        )(endpoint)
