"""Python calls per request, in process: a cost measure that other load on the machine does not
distort (unlike requests/s). Drives the ASGI app directly (no HTTP client, no sockets).

    .venv/bin/python -m bench.profile [--requests 300] [--top 25] [--scenario get]

Uses the benchmark's database (``bench.run`` seeds it) and DATABASE_URL's server.
"""

import argparse
import asyncio
import cProfile
import logging
import os
import pstats
import time

import orjson

from bench.run import STATUSES, prepare, server_url


async def call(app, method: str, path: str, headers: dict, body: bytes = b"", query=b""):
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + [(b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    sent = False
    out: dict = {"body": b""}

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)

    async def send(message):
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return out


async def main(args) -> None:
    bench_url, ctx = await prepare(server_url(), args.leads)
    os.environ["DATABASE_URL"] = bench_url
    os.environ["ACCORD_WORKER_IN_PROCESS"] = "false"
    from app.config import get_settings
    from app.kit import logging as accord_logging
    from app.main import create_app

    # Logged as bench.run's server is (an access line per request at INFO, in JSON), to
    # /dev/null rather than over this report.
    accord_logging.configure(args.server_log_level, json_output=True)
    devnull = open(os.devnull, "w")  # noqa: ASYNC230, SIM115 - opens at once, kept for the run
    logging.getLogger().handlers[0].setStream(devnull)

    # server_url() read the settings to start the embedded server: read them again, now with
    # the benchmark's database.
    get_settings.cache_clear()
    settings = get_settings()
    app = create_app(settings.model_copy(update={"worker_in_process": False}))
    async with app.router.lifespan_context(app):
        import base64

        creds = ctx["creds"]
        basic = base64.b64encode(f"{creds['client_id']}:{creds['client_secret']}".encode())
        tok = await call(
            app,
            "POST",
            "/oauth/token",
            {
                "authorization": "Basic " + basic.decode(),
                "content-type": "application/x-www-form-urlencoded",
            },
            b"grant_type=client_credentials",
        )
        token = orjson.loads(tok["body"])["access_token"]
        auth = {"authorization": "Bearer " + token}
        ids = ctx["ids"]
        convert_ids = ctx["to_convert"]

        def op(i):
            if args.scenario == "get":
                return call(app, "GET", f"/api/v1/leads/{ids[i % len(ids)]}", auth)
            if args.scenario == "list":
                q = f"status={STATUSES[i % 4]}&limit=50".replace(" ", "%20").encode()
                return call(app, "GET", "/api/v1/leads", auth, query=q)
            if args.scenario == "create":
                body = orjson.dumps({"last_name": f"P{i}", "company": "P Co", "email": "p@x.io"})
                return call(
                    app, "POST", "/api/v1/leads", {**auth, "content-type": "application/json"}, body
                )
            if args.scenario == "convert":
                return call(
                    app,
                    "POST",
                    f"/api/v1/leads/{convert_ids[-1 - i]}/convert",
                    {**auth, "content-type": "application/json"},
                    b"{}",
                )
            return call(app, "GET", "/healthz", {})

        for i in range(50):  # warm up
            r = await op(i + 10_000)
            assert r["status"] < 300, r
        # CPU time of this process per request, 16 at a time as in the benchmark.
        counter = iter(range(args.requests * 4))

        async def worker():
            for i in counter:
                await op(20_000 + i)

        cpu = time.process_time()
        await asyncio.gather(*[worker() for _ in range(16)])
        cpu = (time.process_time() - cpu) * 1000 / (args.requests * 4)
        print(f"{args.scenario}: {cpu:.3f} CPU ms/request at 16 concurrent (no HTTP server)")
        prof = cProfile.Profile()
        started = time.perf_counter()
        prof.enable()
        for i in range(args.requests):
            await op(i)
        prof.disable()
        elapsed = time.perf_counter() - started
        stats = pstats.Stats(prof)
        calls = stats.total_calls  # type: ignore[attr-defined]
        print(
            f"{args.scenario}: {calls / args.requests:.0f} calls/request, "
            f"{elapsed * 1000 / args.requests:.2f} ms/request under the profiler"
        )
        if args.top:
            stats.sort_stats(args.sort).print_stats(args.top)
            if os.environ.get("CALLERS"):
                stats.print_callers(os.environ["CALLERS"])


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--leads", type=int, default=1_000_000)
    p.add_argument("--requests", type=int, default=300)
    p.add_argument("--scenario", default="get")
    p.add_argument("--top", type=int, default=0)
    p.add_argument("--sort", default="tottime")
    p.add_argument("--server-log-level", default="INFO", help="as bench.run's option")
    asyncio.run(main(p.parse_args()))
