"""kit/routes.py: a group's defaults reach each route; a route's own keyword wins."""

from fastapi import APIRouter
from pydantic import BaseModel

from app.kit.routes import Routes


class Out(BaseModel):
    x: int


def test_defaults_and_overrides() -> None:
    router = APIRouter()
    group = Routes(router, response_model=Out, responses={404: {"description": "Not Found"}})

    @group.get("/a", name="a", summary="A")
    async def a():
        return {"x": 1}

    @group.post("/b", name="b", summary="B", status_code=201, responses={409: {}})
    async def b():
        return {"x": 2}

    ra, rb = router.routes
    assert (ra.methods, ra.response_model, set(ra.responses)) == ({"GET"}, Out, {404})
    assert (rb.methods, rb.status_code, set(rb.responses)) == ({"POST"}, 201, {409})
    assert rb.response_model is Out
