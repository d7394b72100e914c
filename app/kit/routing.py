"""Routers that skip themselves cheaply. FastAPI matches a request against every included
router in turn, and each router against all of its routes; a router with a prefix answers
"no match" at once for a path outside it: no route of it could match there."""

from fastapi import APIRouter
from starlette.routing import Match, get_route_path
from starlette.types import Scope


class Router(APIRouter):
    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if self.prefix and not get_route_path(scope).startswith(self.prefix):
            return Match.NONE, {}
        return super().matches(scope)
