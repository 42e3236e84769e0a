#!/usr/bin/env python3
"""Run microsocks (a SOCKS5 server, Debian package microsocks) on a free
loopback port, the way the other scripts here start.

  microsocks.py --port-file PATH [--user=USER:PASS]

Picks a free port on 127.0.0.1, starts `microsocks -i 127.0.0.1 -p PORT
[-u USER -P PASS]`, waits until it accepts connections, then writes the
port to PATH (atomically). On SIGTERM or SIGINT it stops microsocks and
exits 0 (its output goes to /dev/null); microsocks also gets SIGTERM if this script dies
(PR_SET_PDEATHSIG). Exits 1 if microsocks is missing or does not start
within 10 s. Standard library only.
"""
import argparse
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

PR_SET_PDEATHSIG = 1


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def die_with_parent():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--user")
    args = ap.parse_args()
    exe = shutil.which("microsocks")
    if not exe:
        print("microsocks.py: microsocks is not installed", file=sys.stderr)
        return 1
    for _ in range(5):  # another process may take the port between the two binds
        port = free_port()
        cmd = [exe, "-i", "127.0.0.1", "-p", str(port)]
        if args.user:
            user, _, password = args.user.partition(":")
            cmd += ["-u", user, "-P", password]
        child = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, preexec_fn=die_with_parent)

        def stop(*_):
            # The main thread's wait() reaps it (a wait here would deadlock
            # on Popen's lock).
            child.terminate()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and child.poll() is None and not listening(port):
            time.sleep(0.05)
        if child.poll() is None and listening(port):
            tmp = args.port_file + ".tmp"
            with open(tmp, "w") as f:
                f.write("%d\n" % port)
            os.rename(tmp, args.port_file)
            child.wait()
            return 0  # stopped by a signal, or microsocks died
        if child.poll() is None:
            child.kill()
            child.wait()
    print("microsocks.py: microsocks did not start", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
