#!/usr/bin/env python3
"""The seeds' Python programs, for the demo's side-by-side table: each
fetches BASE + TEMPLATE (%d -> 0..COUNT-1), prints each JSON body in order,
then "Done in X.XXXs".

  seeds.py MODE BASE COUNT [TEMPLATE]
  MODE: requests-new      requests.get per URL (a new connection each)
        requests-session  one requests.Session, serially
        requests-threads  ThreadPoolExecutor(8) over a shared Session
        aiohttp-gather    one aiohttp.ClientSession, asyncio.gather
Exit 3 when the library the mode needs is not installed.
"""
import os
import sys
import time


def urls(base, count, template):
    return [base + template.replace("%d", str(i), 1) for i in range(count)]


def show(bodies, t0):
    elapsed = time.monotonic() - t0
    for b in bodies:
        print(b if b.endswith("\n") else b + "\n", end="")
    # SEED_PRECISE=1: microseconds, for the bench harness (as the C seeds)
    digits = 6 if os.environ.get("SEED_PRECISE") == "1" else 3
    print("Done in %.*fs" % (digits, elapsed))


def run_requests(mode, todo):
    import requests
    t0 = time.monotonic()
    if mode == "requests-new":
        bodies = [requests.get(u, timeout=300).text for u in todo]
    elif mode == "requests-session":
        with requests.Session() as s:
            bodies = [s.get(u, timeout=300).text for u in todo]
    else:
        from concurrent.futures import ThreadPoolExecutor
        with requests.Session() as s:
            adapter = requests.adapters.HTTPAdapter(pool_maxsize=8)
            s.mount("http://", adapter)
            with ThreadPoolExecutor(8) as pool:
                bodies = list(pool.map(lambda u: s.get(u, timeout=300).text, todo))
    show(bodies, t0)


def run_aiohttp(todo):
    import asyncio
    import aiohttp

    async def main():
        t0 = time.monotonic()
        conn = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=conn) as s:
            async def one(u):
                async with s.get(u) as r:
                    return await r.text()
            bodies = await asyncio.gather(*(one(u) for u in todo))
        show(bodies, t0)

    asyncio.run(main())


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    mode, base, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    template = sys.argv[4] if len(sys.argv) > 4 else "/get?id=%d"
    todo = urls(base, count, template)
    try:
        if mode.startswith("requests"):
            run_requests(mode, todo)
        elif mode == "aiohttp-gather":
            run_aiohttp(todo)
        else:
            print("unknown mode " + mode, file=sys.stderr)
            return 2
    except ImportError as e:
        print("not installed: %s" % e.name, file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
