#!/usr/bin/python3
"""WebSocket echo clients for bench/harness/ws.sh, the peers of
flurry-bench --ws-message: python3-websockets' own client and aiohttp's
ws_connect, doing what flurry-bench does (each connection upgrades once,
then sends one message and awaits its echo, again and again).

  ws_peer.py {websockets|aiohttp} URL -c CONNS -s SIZE (-n TOTAL | -d SECONDS)
             [--no-compress] [--cacert FILE]

-n TOTAL: messages in all, split over the connections (as flurry-bench -n);
-d SECONDS: for that long. The window starts once every connection is open
(the upgrades are not in it, as in flurry-bench). Prints one JSON line:
messages, errors, seconds (the window), cpu_s (this process's user + system
CPU over the window, getrusage), and total_cpu_s (since the start,
interpreter and imports included), deflate_connections (of connections,
those that agreed on permessage-deflate).

Both clients run with their defaults except: no automatic heartbeat, no
size limit below the message, compression offered unless --no-compress
(both offer permessage-deflate by default; the server decides).
Run it with /usr/bin/python3 (Debian's packages).
"""
import argparse
import asyncio
import json
import resource
import ssl
import sys
import time


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Run:
    def __init__(self, args):
        self.args = args
        self.payload = ("abcdefghijklmnopqrstuvwxyz" * (args.size // 26 + 1))[: args.size]
        self.left = args.requests
        self.count = 0
        self.errors = 0
        self.deadline = None
        self.stop = False
        self.first_error = None
        self.deflate = 0  # connections that agreed on permessage-deflate

    def take(self):
        """May this connection send one more message?"""
        if self.stop:
            return False
        if self.args.requests:
            if self.left <= 0:
                return False
            self.left -= 1
            return True
        return time.monotonic() < self.deadline

    def error(self, e):
        self.errors += 1
        if self.first_error is None:
            self.first_error = repr(e)


async def echo_websockets(run, ws):
    p = run.payload
    while run.take():
        await ws.send(p)
        m = await ws.recv()
        if len(m) != len(p):
            run.error("echo of %d bytes" % len(m))
        run.count += 1


async def echo_aiohttp(run, ws):
    import aiohttp
    p = run.payload
    while run.take():
        await ws.send_str(p)
        m = await ws.receive()
        if m.type != aiohttp.WSMsgType.TEXT or len(m.data) != len(p):
            run.error("echo %r" % (m.type,))
            return
        run.count += 1


async def main(args):
    run = Run(args)
    ctx = None
    if args.url.startswith("wss:"):
        ctx = ssl.create_default_context(cafile=args.cacert)
    opened = asyncio.Event()
    nopen = 0
    barrier = asyncio.get_running_loop().create_future()

    async def one_websockets():
        nonlocal nopen
        import websockets
        async with websockets.connect(
            args.url, ssl=ctx, max_size=None, ping_interval=None,
            compression=None if args.no_compress else "deflate",
            open_timeout=60, close_timeout=5,
        ) as ws:
            nopen += 1
            run.deflate += any(e.name == "permessage-deflate" for e in ws.extensions)
            if nopen == args.connections:
                opened.set()
            await barrier
            try:
                await echo_websockets(run, ws)
            except Exception as e:  # noqa: BLE001 - counted and reported
                run.error(e)

    session = None

    async def one_aiohttp():
        nonlocal nopen
        async with session.ws_connect(
            args.url, ssl=ctx if ctx else None, max_msg_size=0, autoping=True,
            heartbeat=None, compress=0 if args.no_compress else 15,
        ) as ws:
            nopen += 1
            run.deflate += bool(ws.compress)
            if nopen == args.connections:
                opened.set()
            await barrier
            try:
                await echo_aiohttp(run, ws)
            except Exception as e:  # noqa: BLE001
                run.error(e)

    if args.client == "aiohttp":
        import aiohttp
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, force_close=False),
            timeout=aiohttp.ClientTimeout(total=None, connect=60))
        one = one_aiohttp
    else:
        one = one_websockets
    tasks = [asyncio.create_task(one()) for _ in range(args.connections)]
    waiter = asyncio.create_task(opened.wait())
    done, _ = await asyncio.wait([waiter] + tasks, return_when=asyncio.FIRST_COMPLETED)
    if waiter not in done:  # a connect failed
        for t in done:
            if t.exception():
                print(json.dumps({"error": repr(t.exception())}))
                for x in tasks:
                    x.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                if session:
                    await session.close()
                return 1
    c0, t0 = cpu(), time.monotonic()
    if args.duration:
        run.deadline = t0 + args.duration
    barrier.set_result(None)
    # the window ends when the last echo came (the closes are after it)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    t1, c1 = time.monotonic(), cpu()
    for r in results:
        if isinstance(r, Exception):
            run.error(r)
    if session:
        await session.close()
    print(json.dumps({
        "client": args.client, "messages": run.count, "errors": run.errors,
        "seconds": round(t1 - t0, 6), "cpu_s": round(c1 - c0, 6), "total_cpu_s": round(cpu(), 6),
        "deflate_connections": run.deflate, "connections": args.connections,
        "first_error": run.first_error,
    }))
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("client", choices=["websockets", "aiohttp"])
    ap.add_argument("url")
    ap.add_argument("-c", "--connections", type=int, default=1)
    ap.add_argument("-s", "--size", type=int, default=64)
    ap.add_argument("-n", "--requests", type=int, default=0)
    ap.add_argument("-d", "--duration", type=float, default=0)
    ap.add_argument("--no-compress", action="store_true")
    ap.add_argument("--cacert")
    a = ap.parse_args()
    if not a.requests and not a.duration:
        ap.error("-n or -d")
    sys.exit(asyncio.run(main(a)))
