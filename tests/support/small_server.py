#!/usr/bin/env python3
"""python3's own http.server, as a small strict HTTP/1.0 peer: a threading
server with the standard library's listen backlog (5), serving a directory.
It answers a POST with 501 at once, without reading the body.

    small_server.py --port-file PATH --dir DIR
"""
import argparse
import functools
import http.server
import os


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--dir", required=True)
    a = ap.parse_args()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=a.dir)
    http.server.SimpleHTTPRequestHandler.log_message = lambda *args: None
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)  # request_queue_size 5
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
