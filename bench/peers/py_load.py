#!/usr/bin/python3
"""py_load: the Python peers of the comparison harness, as keep-alive load
tools bounded by time (and optionally by a request count).

  py_load.py aiohttp|aiohttp-uvloop|httpx|requests|requests-threads
             [-c CONNECTIONS] [-d SECONDS] [-n MAX_REQUESTS] URL

aiohttp / aiohttp-uvloop: C tasks on one ClientSession (connector limit C),
  each sending GET URL in a loop until the deadline (uvloop's event loop with
  aiohttp-uvloop).
httpx: the same with one httpx.AsyncClient (max_connections C).
requests: one requests.Session, serial (C is ignored: one connection).
requests-threads: concurrent.futures.ThreadPoolExecutor(8) (at most C
  threads), each thread with its own requests.Session, looping until the
  deadline.

Every response is checked: status 200 and the body length of the first one.
Prints wrk-style lines the harness parses:
  N requests in X.XXXs over C connections
  Requests/sec: X
  errors: E
Exit status 1 when there were errors.
"""
import argparse
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("mode", choices=["aiohttp", "aiohttp-uvloop", "httpx", "requests", "requests-threads"])
    p.add_argument("-c", type=int, default=64, help="connections (concurrent tasks)")
    p.add_argument("-d", type=float, default=3.0, help="duration in seconds (bound)")
    p.add_argument("-n", type=int, default=10**9, help="stop after this many requests")
    p.add_argument("url")
    return p.parse_args()


class Counter:
    def __init__(self, limit):
        self.done = 0
        self.errors = 0
        self.started = 0
        self.limit = limit
        self.expect_len = None
        self.last_error = ""

    def take(self):
        if self.started >= self.limit:
            return False
        self.started += 1
        return True

    def check(self, status, body_len):
        self.done += 1
        if self.expect_len is None:
            self.expect_len = body_len
        if status != 200 or body_len != self.expect_len:
            self.errors += 1
            self.last_error = "status %d, %d body bytes" % (status, body_len)

    def fail(self, exc):
        self.done += 1
        self.errors += 1
        self.last_error = repr(exc)


async def run_aiohttp(args, cnt, deadline):
    import aiohttp

    conn = aiohttp.TCPConnector(limit=args.c, limit_per_host=args.c)
    async with aiohttp.ClientSession(connector=conn) as session:

        async def worker():
            while time.monotonic() < deadline and cnt.take():
                try:
                    async with session.get(args.url) as resp:
                        body = await resp.read()
                        cnt.check(resp.status, len(body))
                except Exception as e:  # counted, as the other tools do
                    cnt.fail(e)

        import asyncio

        await asyncio.gather(*(worker() for _ in range(args.c)))


async def run_httpx(args, cnt, deadline):
    import asyncio

    import httpx

    limits = httpx.Limits(max_connections=args.c, max_keepalive_connections=args.c)
    async with httpx.AsyncClient(limits=limits) as client:

        async def worker():
            while time.monotonic() < deadline and cnt.take():
                try:
                    resp = await client.get(args.url)
                    cnt.check(resp.status_code, len(resp.content))
                except Exception as e:
                    cnt.fail(e)

        await asyncio.gather(*(worker() for _ in range(args.c)))


def run_requests(args, cnt, deadline):
    import requests

    with requests.Session() as s:
        while time.monotonic() < deadline and cnt.take():
            try:
                r = s.get(args.url)
                cnt.check(r.status_code, len(r.content))
            except Exception as e:
                cnt.fail(e)


def run_requests_threads(args, cnt, deadline):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import requests

    lock = threading.Lock()
    threads = max(1, min(8, args.c))

    def worker():
        with requests.Session() as s:
            while time.monotonic() < deadline:
                with lock:
                    if not cnt.take():
                        return
                try:
                    r = s.get(args.url)
                    with lock:
                        cnt.check(r.status_code, len(r.content))
                except Exception as e:
                    with lock:
                        cnt.fail(e)

    with ThreadPoolExecutor(threads) as pool:
        for f in [pool.submit(worker) for _ in range(threads)]:
            f.result()
    return threads


def main():
    args = parse_args()
    cnt = Counter(args.n)
    conns = args.c
    t0 = time.monotonic()
    deadline = t0 + args.d
    if args.mode in ("aiohttp", "aiohttp-uvloop", "httpx"):
        import asyncio

        coro = run_httpx if args.mode == "httpx" else run_aiohttp
        if args.mode == "aiohttp-uvloop":
            import uvloop

            uvloop.install()
        asyncio.run(coro(args, cnt, deadline))
    elif args.mode == "requests":
        conns = 1
        run_requests(args, cnt, deadline)
    else:
        conns = run_requests_threads(args, cnt, deadline)
    el = time.monotonic() - t0
    print("%d requests in %.3fs over %d connections (%s)" % (cnt.done, el, conns, args.mode))
    print("Requests/sec: %.2f" % (cnt.done / el if el > 0 else 0))
    print("errors: %d" % cnt.errors)
    if cnt.errors:
        print("last error: %s" % cnt.last_error)
    return 1 if cnt.errors else 0


if __name__ == "__main__":
    sys.exit(main())
