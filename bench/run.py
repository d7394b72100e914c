"""Benchmark v1: the API against raw asyncpg doing the same database work, in one run.

    .venv/bin/python -m bench.run [--leads 1000000] [--seconds 10] [--clients 16] [--rounds 3]

Seeds N leads with COPY into a database of its own (``accord_bench``; reused while it holds N
leads), starts one API worker (``accord serve --workers 1``), and at C concurrent clients
measures get-by-id, the first page of a filtered list, lead creation and lead conversion, each
on the API and then, right after, the same database work with asyncpg and no HTTP. That is
repeated for R rounds; it prints the medians of requests/s, p50 and p99, and of the API/raw
ratios (with each round's ratio: a shared machine's speed drifts from minute to minute), and
the CPU time per request of the server, the database (when local) and the client.
Uses DATABASE_URL's server if set, else the embedded one (./.accord)."""

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import asyncpg
import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.config import get_settings  # noqa: E402
from app.kit.ids import new_id  # noqa: E402
from app.kit.migrations import upgrade  # noqa: E402

SCENARIOS = ("healthz", "get", "list", "create", "convert")
STATUSES = ["Open - Not Contacted", "Working - Contacted", "Closed - Not Converted", "Nurturing"]
SOURCES = ["Web", "Phone Inquiry", "Partner Referral", "Trade Show", "Purchased List"]
LEAD_COLUMNS = [
    "id",
    "owner_id",
    "last_name",
    "first_name",
    "company",
    "email",
    "status",
    "lead_source",
    "created_by",
    "updated_by",
    "created_at",
    "updated_at",
    "version",
    "is_converted",
    "do_not_call",
    "has_opted_out_of_email",
]


def server_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    from app.kit import embedded

    return embedded.start(get_settings().data_dir, database="postgres")


def dsn(url: str, database: str | None = None) -> str:
    u = make_url(url).set(drivername="postgresql")
    if database:
        u = u.set(database=database)
    return u.render_as_string(hide_password=False)


async def prepare(url: str, n: int) -> tuple[str, dict]:
    admin = await asyncpg.connect(dsn(url))
    if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = 'accord_bench'"):
        await admin.execute('CREATE DATABASE "accord_bench"')
    await admin.close()
    bench_url = dsn(url, "accord_bench")
    await asyncio.to_thread(upgrade, bench_url)
    conn = await asyncpg.connect(bench_url)
    user_id = await conn.fetchval("SELECT id FROM users WHERE email = 'bench@example.com'")
    if user_id is None:
        user_id = new_id()
        await conn.execute(
            "INSERT INTO users (id, email, name, kind, is_admin, is_active, role_id, time_zone,"
            " locale, failed_logins) VALUES ($1, 'bench@example.com', 'Bench Rep', 'internal',"
            " false, true, '0190f000-0000-7000-8000-000000000003', 'UTC', 'en_US', 0)",
            user_id,
        )
    # Seeded leads only (the create scenario adds more, and they must not force a re-seed).
    have = await conn.fetchval(
        "SELECT count(*) FROM leads WHERE owner_id = $1 AND lead_source IS NOT NULL", user_id
    )
    if have != n:
        await conn.execute("TRUNCATE leads, field_history, changes CASCADE")
        print(f"seeding {n:,} leads with COPY ...", flush=True)
        started = time.perf_counter()
        now = datetime.now(UTC)
        batch = 100_000
        for start in range(0, n, batch):
            rows = [
                (
                    new_id(),
                    user_id,
                    f"Last{i}",
                    f"First{i}",
                    f"Company {i % 50_000}",
                    f"lead{i}@example.com",
                    STATUSES[i % len(STATUSES)],
                    SOURCES[i % len(SOURCES)],
                    user_id,
                    user_id,
                    now,
                    now,
                    1,
                    False,
                    False,
                    False,
                )
                for i in range(start, min(start + batch, n))
            ]
            await conn.copy_records_to_table("leads", records=rows, columns=LEAD_COLUMNS)
        # VACUUM as well: a million fresh rows send autovacuum to the table (visibility map, hint
        # bits), and it would otherwise share the cores with the first scenarios.
        await conn.execute("VACUUM (ANALYZE) leads")
        print(f"seeded in {time.perf_counter() - started:.1f}s", flush=True)
    ids = [
        r["id"] for r in await conn.fetch("SELECT id FROM leads TABLESAMPLE SYSTEM (1) LIMIT 5000")
    ]
    if len(ids) < 100:
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM leads LIMIT 5000")]
    # Leads to convert: never the ones read above, and not yet converted.
    to_convert = [
        r["id"]
        for r in await conn.fetch(
            "SELECT id FROM leads WHERE NOT is_converted AND id <> ALL($1::uuid[])"
            " ORDER BY id DESC LIMIT 100000",
            ids,
        )
    ]
    # A client acting as the bench user, created through the service's own code path.
    env = {**os.environ, "DATABASE_URL": bench_url, "ACCORD_LOG_LEVEL": "WARNING"}
    out = subprocess.run(
        [
            str(Path(sys.executable).with_name("accord")),
            "create-client",
            "--name",
            "bench",
            "--scopes",
            "leads:read leads:write leads:convert accounts:read accounts:write contacts:read"
            " contacts:write opportunities:read opportunities:write",
            "--user",
            "bench@example.com",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    import json

    creds = json.loads(out.stdout)
    await conn.close()
    return bench_url, {
        "user_id": user_id,
        "ids": ids,
        "to_convert": to_convert,
        "creds": creds,
        "env": env,
    }


async def measure(
    name: str,
    clients: int,
    seconds: float,
    op: Callable[[int], Awaitable[None]],
    database: bool = False,
) -> dict:
    """Requests/s, p50 and p99 of ``op`` at ``clients`` at once, and the CPU time per request of
    this process (the client: aiohttp for the API, asyncpg for raw) and, with ``database``, of
    the PostgreSQL processes on this machine. On the shared cores, each side's rate depends on
    what its client and the database cost as well as on what the server does."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    # The database first: reading /proc is this process's CPU, kept out of the client's.
    database_before = database_cpu_seconds() if database else None
    client_before = time.process_time()

    async def worker(w: int) -> None:
        nonlocal errors
        i = w
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            try:
                await op(i)
            except Exception as exc:
                if not errors:
                    print(f"  {name}: first error: {exc!r}", flush=True)
                errors += 1
            latencies.append(time.perf_counter() - t)
            i += clients

    started = time.perf_counter()
    await asyncio.gather(*[worker(w) for w in range(clients)])
    elapsed = time.perf_counter() - started
    client = time.process_time() - client_before
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0] * 99
    result = {
        "name": name,
        "rate": len(latencies) / elapsed,
        "p50": q[49] * 1000,
        "p99": q[98] * 1000,
        "n": len(latencies),
        "errors": errors,
    }
    if latencies:
        result["client_ms"] = client * 1000 / len(latencies)
        if database_before is not None:
            database_after = database_cpu_seconds()
            if database_after is not None:
                spent = database_cpu_delta(database_before, database_after)
                result["database_ms"] = spent * 1000 / len(latencies)
    return result


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), or None where that is not available."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_cpu_seconds() -> dict[int, float] | None:
    """CPU time of each PostgreSQL process on this machine by pid (Linux /proc), or None where
    that is not available. Compare two readings with ``database_cpu_delta``."""
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return None
    times: dict[int, float] = {}
    for pid in pids:
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() != "postgres":
                continue
        except OSError:
            continue
        seconds = cpu_seconds(int(pid))
        if seconds is not None:
            times[int(pid)] = seconds
    return times


def database_cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """The PostgreSQL CPU seconds spent between two readings: by the processes alive at both,
    and all of a process started in between. A process that exited in between is left out (its
    time left with it; counting its earlier total against the sum would make the figure
    negative), so this is a lower bound while background workers come and go; the pools here
    keep their connections for the whole run."""
    spent = 0.0
    for pid, seconds in after.items():
        earlier = before.get(pid)
        # Started in between (or a new process under a reused pid, reading less): all its time.
        spent += seconds - earlier if earlier is not None and seconds >= earlier else seconds
    return spent


def local_database(url: str) -> bool:
    """Whether the database runs on this machine, so that its CPU time can be read here."""
    parsed = make_url(url)
    host = parsed.host or parsed.query.get("host") or ""
    return not host or str(host).startswith("/") or host in ("localhost", "127.0.0.1", "::1")


async def measure_server(
    pid: int,
    name: str,
    clients: int,
    seconds: float,
    op,
    spy: str | None = None,
    database: bool = False,
) -> dict:
    """``measure`` plus the server's CPU time per request: what the service itself costs, which
    the other processes sharing the cores distort much less than the rate. With ``spy`` (a
    folder), py-spy samples the server meanwhile into ``<spy>/<scenario>.txt`` (collapsed
    stacks; the sampling takes CPU too, so the rates of such a run are not comparable)."""
    sampler = None
    if spy:
        out = Path(spy) / (name.split(" ")[0].strip(",") + ".txt")
        sampler = subprocess.Popen(
            [
                *(
                    str(Path(sys.executable).with_name("py-spy")),
                    "record",
                    "-p",
                    str(pid),
                    "-d",
                    str(int(seconds)),
                    "-r",
                    "200",
                ),
                *("-f", "raw", "-o", str(out), "--nonblocking"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    before = cpu_seconds(pid)
    result = await measure(name, clients, seconds, op, database)
    after = cpu_seconds(pid)
    if sampler is not None:
        sampler.wait(30)
    if before is not None and after is not None and result["n"]:
        result["cpu_ms"] = (after - before) * 1000 / result["n"]
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raw_ops(pool, ctx: dict) -> dict[str, Callable[[int], Awaitable[None]]]:
    """The same database work as each API scenario, with asyncpg and no HTTP."""
    ids, user_id = ctx["ids"], ctx["user_id"]
    cols = ", ".join(LEAD_COLUMNS)

    async def raw_get(i):
        async with pool.acquire() as conn:
            await conn.fetchrow(
                "SELECT * FROM leads WHERE id = $1 AND deleted_at IS NULL", ids[i % len(ids)]
            )

    async def raw_list(i):
        async with pool.acquire() as conn:
            await conn.fetch(
                "SELECT * FROM leads WHERE status = $1 AND deleted_at IS NULL AND owner_id = $2"
                " ORDER BY id LIMIT 51",
                STATUSES[i % 4],
                user_id,
            )

    async def raw_create(i):
        # The same rows the API writes, as the API writes them: the lead, its history entry and
        # its change-feed entry in one statement, a transaction of its own, returning the lead.
        now = datetime.now(UTC)
        lead_id = new_id()
        async with pool.acquire() as conn:
            await conn.fetchrow(
                "WITH history AS (INSERT INTO field_history (id, object_type, record_id, field,"
                " old_value, new_value, changed_by, changed_at)"
                " VALUES ($17, 'leads', $1, 'created', 'null', 'null', $2, $11)),"
                " change AS (INSERT INTO changes (object_type, record_id, op, changed_by,"
                " changed_at) VALUES ('leads', $1, 'create', $2, $11))"
                f" INSERT INTO leads ({cols}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,"
                "$13,$14,$15,$16) RETURNING *",
                lead_id,
                user_id,
                f"Raw{i}",
                None,
                "Bench Co",
                f"r{i}@example.com",
                STATUSES[0],
                None,
                user_id,
                user_id,
                now,
                now,
                1,
                False,
                False,
                False,
                new_id(),
            )

    raw_convert_ids = iter(ctx["to_convert"][len(ctx["to_convert"]) // 2 :])

    async def raw_convert(i):
        # The rows a conversion writes: lock the lead, insert account, contact and opportunity
        # (with its stage history), mark the lead, and history and change-feed rows for each.
        now = datetime.now(UTC)
        lead_id = next(raw_convert_ids)
        acc, con, opp = new_id(), new_id(), new_id()
        async with pool.acquire() as conn, conn.transaction():
            lead = await conn.fetchrow("SELECT * FROM leads WHERE id = $1 FOR UPDATE", lead_id)
            await conn.execute(
                "INSERT INTO accounts (id, owner_id, name, version, currency_code, created_by,"
                " updated_by) VALUES ($1, $2, $3, 1, 'USD', $2, $2)",
                acc,
                user_id,
                lead["company"],
            )
            await conn.execute(
                "INSERT INTO contacts (id, owner_id, account_id, first_name, last_name, email,"
                " version, do_not_call, has_opted_out_of_email, created_by, updated_by)"
                " VALUES ($1, $2, $3, $4, $5, $6, 1, false, false, $2, $2)",
                con,
                user_id,
                acc,
                lead["first_name"],
                lead["last_name"],
                lead["email"],
            )
            await conn.execute(
                "INSERT INTO opportunities (id, owner_id, account_id, name, stage, probability,"
                " forecast_category, close_date, currency_code, is_closed, is_won, version,"
                " created_by, updated_by) VALUES ($1, $2, $3, $4, 'Prospecting', 10, 'pipeline',"
                " $5, 'USD', false, false, 1, $2, $2)",
                opp,
                user_id,
                acc,
                lead["company"] + "-",
                now.date(),
            )
            await conn.execute(
                "INSERT INTO opportunity_stage_history (id, opportunity_id, stage, probability,"
                " forecast_category, close_date, changed_by, changed_at)"
                " VALUES ($1, $2, 'Prospecting', 10, 'pipeline', $3, $4, $5)",
                new_id(),
                opp,
                now.date(),
                user_id,
                now,
            )
            await conn.execute(
                "UPDATE leads SET is_converted = true, converted_at = $2, status = 'Closed -"
                " Converted', converted_account_id = $3, converted_contact_id = $4,"
                " converted_opportunity_id = $5, version = version + 1 WHERE id = $1",
                lead_id,
                now,
                acc,
                con,
                opp,
            )
            await conn.executemany(
                "INSERT INTO field_history (id, object_type, record_id, field, old_value,"
                " new_value, changed_by, changed_at) VALUES ($1, $2, $3, $4, 'null', 'null',"
                " $5, $6)",
                [
                    (new_id(), t, r, f, user_id, now)
                    for t, r, f in (
                        ("accounts", acc, "created"),
                        ("contacts", con, "created"),
                        ("opportunities", opp, "created"),
                        ("leads", lead_id, "status"),
                        ("leads", lead_id, "is_converted"),
                        ("leads", lead_id, "converted_at"),
                    )
                ],
            )
            await conn.executemany(
                "INSERT INTO changes (object_type, record_id, op, changed_by, changed_at)"
                " VALUES ($1, $2, $3, $4, $5)",
                [
                    (t, r, op, user_id, now)
                    for t, r, op in (
                        ("accounts", acc, "create"),
                        ("contacts", con, "create"),
                        ("opportunities", opp, "create"),
                        ("leads", lead_id, "update"),
                    )
                ],
            )

    return {"get": raw_get, "list": raw_list, "create": raw_create, "convert": raw_convert}


async def run(args) -> None:
    only = set(args.only.split(","))
    bench_url, ctx = await prepare(server_url(), args.leads)
    ids = ctx["ids"]
    # Before the server starts: nothing below may fail outside the try that stops it.
    pool = await asyncpg.create_pool(bench_url, min_size=args.clients, max_size=args.clients)
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("accord")),
            "serve",
            "--port",
            str(port),
            "--workers",
            "1",
            "--no-migrate",
            # The API alone: background work runs in its own `accord worker` process in a
            # deployment, and here it would take CPU from the server being measured.
            "--no-worker",
        ],
        # Logged as a deployment logs by default: an access line per request, in JSON (to
        # /dev/null here). --server-log-level WARNING leaves the access lines out.
        env={**ctx["env"], "ACCORD_LOG_LEVEL": args.server_log_level, "ACCORD_LOG_JSON": "true"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    results = []
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as probe:
            for _ in range(200):
                try:
                    if (await probe.get("/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
            creds = ctx["creds"]
            tok = (
                await probe.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=(creds["client_id"], creds["client_secret"]),
                )
            ).json()
        headers = {"Authorization": f"Bearer {tok['access_token']}"}
        # aiohttp, not httpx: httpx's pure-Python client tops out near 260 req/s on this
        # machine (on /healthz), so it measured itself rather than the API.
        connector = aiohttp.TCPConnector(limit=args.clients)
        async with aiohttp.ClientSession(base_url=base, headers=headers, connector=connector) as c:

            async def api_get(i):
                async with c.get(f"/api/v1/leads/{ids[i % len(ids)]}") as r:
                    await r.read()
                    assert r.status == 200

            async def api_list(i):
                params = {"status": STATUSES[i % 4], "limit": "50"}
                async with c.get("/api/v1/leads", params=params) as r:
                    await r.read()
                    assert r.status == 200

            async def api_create(i):
                body = {
                    "last_name": f"Bench{i}",
                    "company": "Bench Co",
                    "email": f"b{i}@example.com",
                }
                async with c.post("/api/v1/leads", json=body) as r:
                    await r.read()
                    assert r.status == 201

            # Each lead is converted once: they are taken in turn, across rounds.
            api_convert_ids = iter(ctx["to_convert"][: len(ctx["to_convert"]) // 2])

            async def api_convert(i):
                lead_id = next(api_convert_ids)
                async with c.post(f"/api/v1/leads/{lead_id}/convert", json={}) as r:
                    text = await r.text()
                    assert r.status == 200, text

            async def api_healthz(i):
                async with c.get("/healthz") as r:
                    await r.read()
                    assert r.status == 200

            await measure("warm-up", args.clients, 2, api_get)
            database = local_database(bench_url)
            raw = raw_ops(pool, ctx)
            scenarios = [
                ("healthz", "healthz", args.seconds / 2, api_healthz),
                ("get", "get by id", args.seconds, api_get),
                ("list", "list, filtered", args.seconds, api_list),
                ("create", "create lead", args.seconds, api_create),
                ("convert", "convert lead", args.seconds, api_convert),
            ]
            for round_ in range(args.rounds):
                for key, label, seconds, op in scenarios:
                    if key not in only:
                        continue
                    # The API, then raw asyncpg, back to back: a machine whose speed drifts
                    # during the run moves both sides of a ratio alike. py-spy samples round 1.
                    spy = args.py_spy if round_ == 0 else None
                    api = await measure_server(
                        server.pid, f"{label} (API)", args.clients, seconds, op, spy, database
                    )
                    results.append(api)
                    if key in raw:
                        results.append(
                            await measure(
                                f"{label} (raw)", args.clients, seconds, raw[key], database
                            )
                        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
        await pool.close()
    report(args, results)


def report(args, results: list[dict]) -> None:
    print(
        f"\n{args.leads:,} leads, {args.clients} clients, {args.seconds:.0f}s per scenario,"
        f" {args.rounds} round(s); medians over the rounds\n"
    )
    print(
        f"{'':<24}{'':>10}{'':>10}{'':>10}{'':>8}{'':>9}{'CPU ms per request':^30}"
        f"\n{'scenario':<24}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}{'vs raw':>9}"
        f"{'server':>10}{'database':>10}{'client':>10}   vs raw by round"
    )
    by_name: dict[str, list[dict]] = {}
    for r in results:
        by_name.setdefault(r["name"], []).append(r)
    for name, runs in by_name.items():
        raws = by_name.get(name.replace("(API)", "(raw)"))
        ratios = []
        if raws is not None and raws is not runs:
            ratios = [a["rate"] / b["rate"] for a, b in zip(runs, raws, strict=True)]
        print(
            f"{name:<24}{statistics.median(r['rate'] for r in runs):>10.0f}"
            f"{statistics.median(r['p50'] for r in runs):>10.1f}"
            f"{statistics.median(r['p99'] for r in runs):>10.1f}"
            f"{sum(r['errors'] for r in runs):>8}"
            + (f"{statistics.median(ratios):>9.0%}" if ratios else " " * 9)
            + _cpu_column(runs, "cpu_ms")
            + _cpu_column(runs, "database_ms")
            + _cpu_column(runs, "client_ms")
            + ("   " + " ".join(f"{x:.0%}" for x in ratios) if len(ratios) > 1 else "")
        )


def _cpu_column(runs: list[dict], key: str) -> str:
    values = [r[key] for r in runs if key in r]
    return f"{statistics.median(values):>10.3f}" if values else " " * 10


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--leads", type=int, default=1_000_000)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="measure each scenario this many times (the API, then raw) and print the medians",
    )
    p.add_argument(
        "--only",
        default=",".join(SCENARIOS),
        help="comma-separated scenarios to run (default: all of " + ", ".join(SCENARIOS) + ")",
    )
    p.add_argument(
        "--py-spy",
        metavar="DIR",
        help="sample the API server with py-spy during each scenario, into DIR/<scenario>.txt",
    )
    p.add_argument(
        "--server-log-level",
        default="INFO",
        help="the API server's ACCORD_LOG_LEVEL (default INFO, as deployed: an access line per"
        " request; WARNING leaves those out, as the runs before session 13 did)",
    )
    args = p.parse_args()
    if args.py_spy:
        Path(args.py_spy).mkdir(parents=True, exist_ok=True)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
