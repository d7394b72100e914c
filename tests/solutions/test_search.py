"""Full-text search, suggested solutions and the usage counter."""

import uuid

import pytest
from sqlalchemy import select

from app.auth.principal import Principal, PrincipalKind
from app.models import Solution
from app.solutions.service import record_use, suggest
from tests.solutions.world import World, make_world, post, solution


@pytest.fixture
async def world(client, session) -> World:
    return await make_world(client, session)


async def _search(client, h, q, **params):
    r = await client.get("/api/v1/solutions/search", params={"q": q, **params}, headers=h)
    assert r.status_code == 200, r.text
    return r.json()


def _principal(user, kind=PrincipalKind.user) -> Principal:
    return Principal(
        kind=kind,
        scopes=frozenset({"solutions:read"}),
        client_pk=uuid.uuid4(),
        client_id="test",
        user_id=user.id,
        contact_id=user.contact_id,
    )


async def test_search_ranks_title_matches_first_and_highlights_them(client, world):
    body_only = await solution(
        client, world.ah, "Network troubleshooting", "If the printer is offline, check cables."
    )
    in_title = await solution(
        client, world.ah, "Printer offline", "Restart the print spooler service."
    )
    await solution(client, world.ah, "Billing questions", "Invoices are sent monthly.")
    page = await _search(client, world.ah, "printer offline")
    assert [h["id"] for h in page["data"]] == [in_title["id"], body_only["id"]]
    first = page["data"][0]
    assert first["rank"] > page["data"][1]["rank"] > 0
    assert first["title_highlight"] == "<mark>Printer</mark> <mark>offline</mark>"
    assert "<mark>printer</mark>" in page["data"][1]["snippet"]
    assert "body" not in first and page["next_cursor"] is None


async def test_search_understands_web_search_syntax(client, world):
    a = await solution(client, world.ah, "Reset password", "Use the reset link in the email.")
    b = await solution(client, world.ah, "Password policy", "Passwords expire every 90 days.")
    ids = lambda page: {h["id"] for h in page["data"]}  # noqa: E731
    assert ids(await _search(client, world.ah, "password")) == {a["id"], b["id"]}
    assert ids(await _search(client, world.ah, "password -reset")) == {b["id"]}
    assert ids(await _search(client, world.ah, '"reset link"')) == {a["id"]}
    assert ids(await _search(client, world.ah, "expire or link")) == {a["id"], b["id"]}
    assert (await _search(client, world.ah, "the"))["data"] == []  # only a stop word


async def test_snippets_are_html_escaped(client, world):
    await solution(
        client,
        world.ah,
        "Script <tags> & widgets",
        "Never paste <script>alert(1)</script> into the widget: Tom & Jerry say 1 < 2.",
    )
    hit = (await _search(client, world.ah, "widget"))["data"][0]
    for text in (hit["snippet"], hit["title_highlight"]):
        assert "<mark>widget" in text
        bare = text.replace("<mark>", "").replace("</mark>", "")
        assert "<" not in bare and ">" not in bare
    assert "&amp;" in hit["title_highlight"] and "&lt;tags&gt;" in hit["title_highlight"]


async def test_search_pages_with_a_cursor_without_gaps_or_repeats(client, world):
    made = set()
    for i in range(7):
        rec = await solution(client, world.ah, f"Router setup {i}", "router " * (i + 1))
        made.add(rec["id"])
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = await _search(client, world.ah, "router", **params)
        seen += [h["id"] for h in page["data"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and len(seen) == 7 and set(seen) == made
    r = await client.get(
        "/api/v1/solutions/search", params={"q": "router", "cursor": "bogus"}, headers=world.ah
    )
    assert r.status_code == 400


@pytest.mark.parametrize("q", ["", "   "])
async def test_an_empty_query_is_a_422(client, world, q):
    r = await client.get("/api/v1/solutions/search", params={"q": q}, headers=world.ah)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_a_missing_or_oversized_query_is_a_422(client, world):
    assert (await client.get("/api/v1/solutions/search", headers=world.ah)).status_code == 422
    r = await client.get("/api/v1/solutions/search", params={"q": "x" * 201}, headers=world.ah)
    assert r.status_code == 422


async def test_search_respects_visibility_for_partners_and_portal_users(client, world):
    public = await solution(client, world.ah, "Modem lights", "modem", publish=True, public=True)
    await solution(client, world.ah, "Modem internal notes", "modem", publish=True)
    await solution(client, world.ah, "Modem draft", "modem", public=True)
    for h in (world.ph, world.th):
        page = await _search(client, h, "modem")
        assert [x["id"] for x in page["data"]] == [public["id"]]
        page = await _search(client, h, "modem", status="draft")
        assert page["data"] == []
    assert len((await _search(client, world.oh, "modem"))["data"]) == 3


async def test_search_filters_by_category_with_its_subcategories(client, world):
    top = await post(client, world.admin_h, "solution-categories", {"name": "Network"})
    sub = await post(
        client, world.admin_h, "solution-categories", {"name": "Wi-Fi", "parent_id": top["id"]}
    )
    other = await post(client, world.admin_h, "solution-categories", {"name": "Billing"})
    a = await solution(client, world.ah, "Slow connection", "slow", category_id=top["id"])
    b = await solution(client, world.ah, "Slow wifi", "slow", category_id=sub["id"])
    await solution(client, world.ah, "Slow payments", "slow", category_id=other["id"])
    page = await _search(client, world.ah, "slow", category_id=top["id"])
    assert {h["id"] for h in page["data"]} == {a["id"], b["id"]}
    page = await _search(client, world.ah, "slow", category_id=sub["id"])
    assert [h["id"] for h in page["data"]] == [b["id"]]


async def test_deleted_solutions_are_not_found(client, world):
    rec = await solution(client, world.ah, "Obsolete fax guide", "fax")
    await client.delete(f"/api/v1/solutions/{rec['id']}", headers=world.ah)
    assert (await _search(client, world.ah, "fax"))["data"] == []


async def test_search_sees_an_edit_at_once(client, world):
    rec = await solution(client, world.ah, "Keyboard", "Keys stick.")
    assert (await _search(client, world.ah, "spill"))["data"] == []
    await client.patch(
        f"/api/v1/solutions/{rec['id']}", json={"body": "After a coffee spill"}, headers=world.ah
    )
    assert [h["id"] for h in (await _search(client, world.ah, "spill"))["data"]] == [rec["id"]]


# --- suggestions ---------------------------------------------------------------------------


async def test_suggest_returns_published_solutions_matching_any_words(client, session, world):
    vpn = await solution(
        client,
        world.ah,
        "VPN disconnects",
        "When the VPN client disconnects, renew the certificate.",
        publish=True,
        public=True,
    )
    cert = await solution(
        client, world.ah, "Certificate renewal", "Renew certificates yearly.", publish=True
    )
    await solution(client, world.ah, "VPN draft", "vpn vpn vpn disconnects")  # not published
    await solution(client, world.ah, "Lunch menu", "Pasta on Fridays.", publish=True)
    text = (
        "My VPN keeps disconnecting every hour\n"
        "I am working from the Lisbon office and the VPN drops; colleagues are fine."
    )
    found = await suggest(session, _principal(world.author), text)
    assert [s.id for s in found] == [uuid.UUID(vpn["id"])]
    found = await suggest(session, _principal(world.author), text + " certificate")
    assert [str(s.id) for s in found] == [vpn["id"], cert["id"]]
    assert "<mark>" in found[0].snippet and found[0].rank > found[1].rank
    assert await suggest(session, _principal(world.author), "   ") == []
    assert await suggest(session, _principal(world.author), "the and of") == []
    assert len(await suggest(session, _principal(world.author), "vpn certificate", limit=1)) == 1


async def test_suggest_gives_portal_users_only_public_solutions(client, session, world):
    public = await solution(client, world.ah, "Toner empty", "toner", publish=True, public=True)
    await solution(client, world.ah, "Toner supplier contract", "toner", publish=True)
    portal = _principal(world.portal, PrincipalKind.portal_user)
    assert [str(s.id) for s in await suggest(session, portal, "toner")] == [public["id"]]
    internal = await suggest(session, _principal(world.author), "toner")
    assert len(internal) == 2


async def test_suggest_prefers_the_most_used_at_equal_relevance(client, session, world):
    a = await solution(client, world.ah, "Screen flicker", "flicker", publish=True)
    b = await solution(client, world.ah, "Screen flicker", "flicker", publish=True)
    await record_use(session, uuid.UUID(b["id"]))
    found = await suggest(session, _principal(world.author), "flicker")
    assert [str(s.id) for s in found] == [b["id"], a["id"]]


async def test_suggest_endpoint(client, world):
    rec = await solution(client, world.ah, "Battery drain", "battery", publish=True, public=True)
    r = await client.post(
        "/api/v1/solutions/suggest",
        json={"subject": "Battery", "description": "drains fast"},
        headers=world.th,
    )
    assert r.status_code == 200 and [s["id"] for s in r.json()["data"]] == [rec["id"]]
    r = await client.post("/api/v1/solutions/suggest", json={"subjct": "x"}, headers=world.th)
    assert r.status_code == 422


async def test_record_use_counts_and_never_goes_below_zero(client, session, world):
    rec = await solution(client, world.ah, "Used", "used")
    sid = uuid.UUID(rec["id"])
    assert await record_use(session, sid) == 1
    assert await record_use(session, sid) == 2
    assert await record_use(session, sid, -5) == 0
    assert await record_use(session, uuid.uuid4()) is None
    assert await session.scalar(select(Solution.times_used).where(Solution.id == sid)) == 0
    r = await client.get("/api/v1/solutions", params={"sort": "-times_used"}, headers=world.ah)
    assert r.status_code == 200
