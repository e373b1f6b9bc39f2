#!/usr/bin/env python3
"""rawhttp.py - HTTP requests as raw bytes (no client library normalises
the path or limits the header size), for tests/web/http_security.sh.

  rawhttp.py get HOST PORT PATH [HEADER...]   -> "STATUS\\n" + body on stdout
  rawhttp.py batch HOST PORT < LINES            -> one GET per line "PATH[\tHEADER...]":
                                                 prints "STATUS PATH" (and " LEAK"
                                                 when the body holds "root:")
  rawhttp.py bigheader HOST PORT BYTES        -> status of a GET with one huge header
  rawhttp.py idle HOST PORT N SECONDS         -> hold N connections open without a
                                                 byte sent: print "open N" once they are,
                                                 then how many the server closed within
                                                 SECONDS
"""
import signal
import socket
import sys
import time

signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `| head -1` is fine


def request(host, port, raw, timeout=10.0):
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        s.sendall(raw)
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                break
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1].decode() if head.startswith(b"HTTP/") else "none"
    return status, body


def main():
    cmd, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if cmd == "get":
        path = sys.argv[4]
        headers = "".join(h + "\r\n" for h in sys.argv[5:])
        raw = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{headers}Connection: close\r\n\r\n"
        status, body = request(host, port, raw.encode("latin-1"))
        sys.stdout.write(status + "\n")
        sys.stdout.buffer.write(body)
    elif cmd == "batch":
        for line in sys.stdin.read().splitlines():
            if not line:
                continue
            path, *hdrs = line.split("\t")
            headers = "".join(h + "\r\n" for h in hdrs)
            raw = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{headers}Connection: close\r\n\r\n"
            status, body = request(host, port, raw.encode("latin-1"))
            print(status, line.replace("\t", " | ") + (" LEAK" if b"root:" in body else ""))
    elif cmd == "bigheader":
        n = int(sys.argv[4])
        raw = (f"GET / HTTP/1.1\r\nHost: {host}\r\nX-Big: " + "a" * n +
               "\r\nConnection: close\r\n\r\n").encode()
        try:
            status, _ = request(host, port, raw)
        except (ConnectionResetError, BrokenPipeError):
            status = "reset"
        print(status)
    elif cmd == "idle":
        n, secs = int(sys.argv[4]), float(sys.argv[5])
        socks = [socket.create_connection((host, port), timeout=5) for _ in range(n)]
        for s in socks:
            s.setblocking(False)
        print(f"open {n}", flush=True)
        closed = set()
        end = time.monotonic() + secs
        while time.monotonic() < end and len(closed) < n:
            for i, s in enumerate(socks):
                if i in closed:
                    continue
                try:
                    if s.recv(1) == b"":
                        closed.add(i)
                except BlockingIOError:
                    pass
                except OSError:
                    closed.add(i)
            time.sleep(0.1)
        print(len(closed))
        for s in socks:
            s.close()
    else:
        sys.exit("rawhttp.py: unknown command " + cmd)


if __name__ == "__main__":
    main()
