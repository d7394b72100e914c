"""Route decorators with defaults: the operations of a group that answer the same model with the
same problem responses (or need the same scope) say so once, and each decorator names only its
path, name and summary, plus what it does differently."""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter


class Routes:
    """``router.get/post/patch/delete`` with ``defaults`` filled in; a keyword given to one
    route overrides its default."""

    def __init__(self, router: APIRouter, **defaults: Any) -> None:
        self.router, self.defaults = router, defaults

    def route(self, method: str, path: str, **kw: Any) -> Callable[[Callable], Callable]:
        return getattr(self.router, method)(path, **{**self.defaults, **kw})

    def get(self, path: str, **kw: Any) -> Callable[[Callable], Callable]:
        return self.route("get", path, **kw)

    def post(self, path: str, **kw: Any) -> Callable[[Callable], Callable]:
        return self.route("post", path, **kw)

    def patch(self, path: str, **kw: Any) -> Callable[[Callable], Callable]:
        return self.route("patch", path, **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[Callable], Callable]:
        return self.route("delete", path, **kw)
