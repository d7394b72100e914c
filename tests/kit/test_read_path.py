"""The read path as production runs it: GETs on autocommit sessions, statements prepared once and
shared by every caller of the same kind (ids as parameters), rows served without ORM objects."""

import asyncio
from contextlib import asynccontextmanager

from sqlalchemy import event, text

from app.kit import db
from tests.conftest import _client, _make_app
from tests.factories import (
    bearer,
    committed_user_token,
    make_client,
    make_user,
    post_ok,
    token,
    user_token,
)

ROLE_REP = "0190f000-0000-7000-8000-000000000003"


async def test_get_and_list_on_autocommit_sessions_keep_callers_apart(committed_app, engine):
    app, client = committed_app
    async with app.state.session_factory() as s:
        alice = await make_user(s, role_id=ROLE_REP)
        bob = await make_user(s, role_id=ROLE_REP)
        ca, sa = await make_client(s, "leads:read leads:write", user=alice)
        cb, sb = await make_client(s, "leads:read leads:write", user=bob)
        await s.commit()
    ha = bearer(await token(client, ca, sa))
    hb = bearer(await token(client, cb, sb))

    r = await client.post(
        "/api/v1/leads", json={"last_name": "Reader", "company": "Autocommit Co"}, headers=ha
    )
    assert r.status_code == 201, r.text
    lead = r.json()

    # Alice reads it, then Bob asks for it through the very same prepared statement: 404.
    got = await client.get(f"/api/v1/leads/{lead['id']}", headers=ha)
    assert got.status_code == 200
    assert got.json() == lead
    assert got.headers["etag"] == '"1"'
    assert got.headers["content-type"] == "application/json"
    assert (await client.get(f"/api/v1/leads/{lead['id']}", headers=hb)).status_code == 404
    # And Alice again after Bob: the parameters are per call, not left over from the last one.
    assert (await client.get(f"/api/v1/leads/{lead['id']}", headers=ha)).status_code == 200

    mine = await client.get("/api/v1/leads", params={"company": "Autocommit Co"}, headers=ha)
    assert [x["id"] for x in mine.json()["data"]] == [lead["id"]]
    theirs = await client.get("/api/v1/leads", params={"company": "Autocommit Co"}, headers=hb)
    assert theirs.json() == {"data": [], "next_cursor": None}

    # No read left a transaction open behind it.
    async with engine.connect() as conn:
        idle = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND state = 'idle in transaction' AND pid <> pg_backend_pid()"
            )
        )
    assert idle == 0


async def test_pages_through_nulls_and_filter_values_with_shared_statements(client, session):
    """Lists share one prepared statement per shape: the cursor's null values and the filter
    values must still decide each page (nulls last, every record exactly once)."""
    rep = await make_user(session, role_id=ROLE_REP)
    h = await user_token(client, session, rep, "opportunities:read opportunities:write")
    amounts = ["100.00", None, "50.00", None, "200.00"]
    ids = {}
    for i, amount in enumerate(amounts):
        body = {"name": f"Paged {i}", "close_date": "2027-03-31", "amount": amount}
        ids[(await post_ok(client, h, "opportunities", body))["id"]] = amount

    seen, cursor = [], None
    while True:
        params = {"sort": "-amount", "limit": 2, "name[contains]": "Paged"}
        if cursor:
            params["cursor"] = cursor
        r = await client.get("/api/v1/opportunities", params=params, headers=h)
        assert r.status_code == 200, r.text
        seen += [x["id"] for x in r.json()["data"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)  # each once
    assert [ids[i] for i in seen][:3] == ["200.00", "100.00", "50.00"]
    assert [ids[i] for i in seen][3:] == [None, None]

    # Same shape, other values: the statement is shared, the answer is not.
    for amount, expected in (("150", {"200.00"}), ("75", {"200.00", "100.00"})):
        r = await client.get(
            "/api/v1/opportunities",
            params={"amount[gt]": amount, "name[contains]": "Paged"},
            headers=h,
        )
        assert {x["amount"] for x in r.json()["data"]} == expected


@asynccontextmanager
async def _on_own_engine(settings, last_name: str, **engine_kw):
    """An app on an engine of its own, as production builds it; yields the engine, the server
    pids of the connections it opened, a client with a rep's token, and one lead."""
    engine = db.create_engine(settings, settings.database_url, **engine_kw)
    pids: set[int] = set()
    event.listen(
        engine.sync_engine,
        "connect",
        lambda conn, _record: pids.add(conn.driver_connection.get_server_pid()),
    )
    try:
        app = await _make_app(settings, engine, db.write_factory(engine))
        app.state.read_session_factory = db.read_factory(engine)
        async with app.state.session_factory() as s:
            rep = await make_user(s, role_id=ROLE_REP)
            client_row, secret = await make_client(s, "leads:read leads:write", user=rep)
            await s.commit()
        async with _client(app) as client:
            h = bearer(await token(client, client_row, secret))
            body = {"last_name": last_name, "company": f"{last_name} Co"}
            lead = await post_ok(client, h, "leads", body)
            yield engine, pids, client, h, lead
    finally:
        await engine.dispose()


async def test_reads_survive_connections_cut_by_the_database(settings, engine):
    """Reads run on connections lent by the pool (app.kit.db.Prepared). When the database cuts
    them (a restart, a terminated backend), the next reads still answer: the lost connection
    and the pool's older ones are replaced, and the read is run again on a new one."""
    # An engine of its own, and only its connections are cut (the pids it opened).
    shared_engine = engine
    async with _on_own_engine(settings, "Cut") as (_engine, pids, client, h, lead):
        # Warm the pool: several connections, all idle afterwards.
        got = await asyncio.gather(
            *[client.get(f"/api/v1/leads/{lead['id']}", headers=h) for _ in range(8)]
        )
        assert {r.status_code for r in got} == {200}
        async with shared_engine.connect() as conn:
            cut = await conn.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid))"
                    " FROM unnest(CAST(:pids AS int[])) AS pid"
                ),
                {"pids": sorted(pids)},
            )
        assert cut >= 2
        await asyncio.sleep(0.2)
        for _ in range(3):
            r = await client.get(f"/api/v1/leads/{lead['id']}", headers=h)
            assert r.status_code == 200, r.text
            assert r.json()["id"] == lead["id"]
        r = await client.get("/api/v1/leads", params={"company": "Cut Co"}, headers=h)
        assert r.status_code == 200 and [x["id"] for x in r.json()["data"]] == [lead["id"]]


async def test_reads_keep_a_few_connections_and_dispose_closes_them(settings, engine):
    """A read statement's connection is kept for the next read (app.kit.db._Lender), half the
    pool at most, so reads in a row skip the pool; disposing of the engine closes the
    kept ones on the server, and reads after that still answer."""
    shared_engine = engine

    async def alive(pids: set[int]) -> set[int]:
        async with shared_engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE pid = ANY(CAST(:pids AS int[]))"),
                {"pids": sorted(pids)},
            )
            return {pid for (pid,) in rows}

    async with _on_own_engine(settings, "Kept", pool_size=8) as (engine, pids, client, h, lead):
        got = await asyncio.gather(
            *[client.get(f"/api/v1/leads/{lead['id']}", headers=h) for _ in range(12)]
        )
        assert {r.status_code for r in got} == {200}
        kept = db.lent_connections(engine)
        assert 1 <= kept <= 4  # half of 8
        # Nothing but the kept ones is out of the pool.
        assert engine.pool.checkedout() == kept
        # Reads in a row take the kept connection: no new one is opened.
        opened = len(pids)
        for _ in range(5):
            r = await client.get(f"/api/v1/leads/{lead['id']}", headers=h)
            assert r.status_code == 200
        assert len(pids) == opened
        assert db.lent_connections(engine) == kept

        await engine.dispose()
        assert db.lent_connections(engine) == 0
        for _ in range(50):
            if not await alive(pids):
                break
            await asyncio.sleep(0.05)
        assert await alive(pids) == set()  # every connection closed on the server

        r = await client.get(f"/api/v1/leads/{lead['id']}", headers=h)
        assert r.status_code == 200 and r.json()["id"] == lead["id"]
        assert db.lent_connections(engine) == 1
    assert db.lent_connections(engine) == 0


async def test_reads_that_use_the_orm_too_return_every_connection(committed_app, engine):
    """A GET's session is built only when the handler uses the ORM (app.kit.db.ReadSession);
    prepared statements before and after it share its connection or borrow one, and every
    connection is back when the response is out: in the pool, or kept for the next read."""
    app, client = committed_app
    h = await committed_user_token(
        app, client, "leads:read leads:write users:read", role_id=ROLE_REP
    )
    lead = await post_ok(client, h, "leads", {"last_name": "Orm", "company": "Orm Co"})
    await client.patch(f"/api/v1/leads/{lead['id']}", json={"company": "Orm Co 2"}, headers=h)

    def in_use() -> int:
        return engine.pool.checkedout() - db.lent_connections(engine)

    baseline = in_use()
    for path in (
        f"/api/v1/leads/{lead['id']}/history",  # the ORM
        "/api/v1/me",
        f"/api/v1/leads/{lead['id']}",  # prepared statements only
        "/api/v1/leads?q=Orm&sort=-created_at&limit=3",
        "/api/v1/changes?limit=5",
    ):
        r = await client.get(path, headers=h)
        assert r.status_code == 200, (path, r.text)
        assert in_use() == baseline, path
    history = (await client.get(f"/api/v1/leads/{lead['id']}/history", headers=h)).json()
    assert any(e["field"] == "company" for e in history["data"])
