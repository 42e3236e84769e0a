#!/usr/bin/env python3
"""WebSocket test server on python3-websockets (Debian 12: 10.4). FL_WS_DEBUG=1 logs every frame.

  ws_server.py --port-file PATH [--tls-dir=DIR] [--node | --node-tls=DIR]

Binds 127.0.0.1:0, writes the port to PATH (PATH.tmp + rename) once it
listens, serves until SIGTERM. --tls-dir DIR: wss:// with DIR/good.pem and
DIR/good.key (the nginx_tls fixture's directory). --node: the same paths
served by node-ws instead (tests/support/ws_node_server.js; /usr/share/
nodejs/ws), so the client meets two implementations.

permessage-deflate is accepted when the client offers it (websockets'
default); subprotocols "chat" and "superchat" are chosen when offered.
Messages may be any size. Paths:

  /echo                every message back, same type
  /frag                each message M back as a text message in 5 fragments
                       (compressed as one message when deflate was agreed)
  /noping              echo, but pings are never answered
  /close?code=C&reason=R   close with C and R right after the handshake
  /big?n=N             one binary message of N bytes ("a".."z" repeated), then echo
  /headers             one text message: the upgrade request's headers as JSON
                       (name -> value, last one wins), then echo
  /ext                 one text message: the Sec-WebSocket-Extensions agreed
"""
import argparse
import asyncio
import json
import os
import signal
import ssl
import sys
import urllib.parse


def write_port(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--tls-dir")
    ap.add_argument("--node", action="store_true")
    ap.add_argument("--node-tls", metavar="DIR", help="--node --tls-dir DIR in one argument")
    args = ap.parse_args()
    if args.node_tls:
        args.node, args.tls_dir = True, args.node_tls
    if args.node:
        js = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ws_node_server.js")
        os.execvp("node", ["node", js, args.port_file] + ([args.tls_dir] if args.tls_dir else []))

    import websockets
    if os.environ.get("FL_WS_DEBUG"):
        import logging
        logging.basicConfig(level=logging.DEBUG)
    from websockets.legacy.server import WebSocketServerProtocol

    class Protocol(WebSocketServerProtocol):
        async def pong(self, data=b""):
            if urllib.parse.urlsplit(self.path).path == "/noping":
                return  # never answer
            await super().pong(data)

    async def handler(ws, path=None):
        u = urllib.parse.urlsplit(ws.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        try:
            if u.path == "/close":
                await ws.close(int(q.get("code", "1000")), q.get("reason", ""))
                return
            if u.path == "/big":
                n = int(q.get("n", "0"))
                await ws.send((b"abcdefghijklmnopqrstuvwxyz" * (n // 26 + 1))[:n])
            elif u.path == "/headers":
                await ws.send(json.dumps({k: v for k, v in ws.request_headers.raw_items()}))
            elif u.path == "/ext":
                await ws.send(ws.response_headers.get("Sec-WebSocket-Extensions", ""))
            async for msg in ws:
                if u.path == "/frag":
                    text = msg if isinstance(msg, str) else msg.decode("utf-8", "replace")
                    k = max(1, len(text) // 5 + 1)
                    await ws.send([text[i:i + k] for i in range(0, len(text), k)] or [""])
                else:
                    await ws.send(msg)
        except websockets.ConnectionClosed:
            pass

    async def serve():
        ctx = None
        if args.tls_dir:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(os.path.join(args.tls_dir, "good.pem"),
                                os.path.join(args.tls_dir, "good.key"))
        stop = asyncio.get_running_loop().create_future()
        for s in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(s, stop.set_result, None)
        async with websockets.serve(handler, "127.0.0.1", 0, ssl=ctx, max_size=None,
                                    subprotocols=["chat", "superchat"],
                                    create_protocol=Protocol, ping_interval=None) as server:
            port = server.sockets[0].getsockname()[1]
            write_port(args.port_file, port)
            await stop

    asyncio.run(serve())


if __name__ == "__main__":
    sys.exit(main())
