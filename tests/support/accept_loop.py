"""The accept loop shared by the scripted test servers (fault_server.py,
h2_server.py): a listener on a free port of HOST, the port written to a
file once listening, each accepted socket handed on, SIGTERM/SIGINT ending
it promptly (signals may land on any thread: a wakeup fd makes the loop
notice), then a hard exit so blocked daemon threads are not waited for."""

import itertools
import os
import selectors
import signal
import socket
import sys
import time


def write_port_file(path, port):
    """Write PORT to PATH atomically (a reader never sees half a number)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


def serve(host, port_file, on_accept, name):
    """Accept on HOST:0 until a signal, calling on_accept(sock, conn_id);
    never returns."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    lsock = socket.socket(family, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((host, 0))
    lsock.listen(1024)
    lsock.setblocking(False)

    stop = []
    wake_r, wake_w = socket.socketpair()
    wake_r.setblocking(False)
    wake_w.setblocking(False)
    signal.set_wakeup_fd(wake_w.fileno())
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.append(signum))

    sel = selectors.DefaultSelector()
    sel.register(lsock, selectors.EVENT_READ)
    sel.register(wake_r, selectors.EVENT_READ)
    write_port_file(port_file, lsock.getsockname()[1])

    ids = itertools.count(1)
    while not stop:
        for key, _ in sel.select(timeout=1.0):
            if key.fileobj is wake_r:
                try:
                    wake_r.recv(4096)
                except OSError:
                    pass
                continue
            while not stop:
                try:
                    sock, _ = lsock.accept()
                except (BlockingIOError, InterruptedError):
                    break
                except OSError as e:  # e.g. EMFILE: back off a little
                    print("%s: accept: %s" % (name, e), file=sys.stderr)
                    time.sleep(0.05)
                    break
                on_accept(sock, next(ids))
    lsock.close()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
