#!/usr/bin/env python3
"""rsp_raw.py - a raw GDB remote-protocol client for the server tests: sends
packets a debugger would not (memory writes into OTP, floods of vFlashWrite,
crowds of connections) and prints what the server answered.

  rsp_raw.py packets PORT PKT...      one line per reply ("OK", "E05", ...)
  rsp_raw.py flood PORT N SIZE BASE SPAN [PID]
                                      N vFlashWrite of SIZE bytes at
                                      BASE + (i*SIZE mod SPAN), no vFlashDone;
                                      prints ok=.. err=.. and, with PID, the
                                      server's VmHWM before and after (KiB)
  rsp_raw.py crowd PORT N TIMEOUT     N connections at once, each sends
                                      qSupported and waits up to TIMEOUT s for
                                      a reply; all stay open until every one
                                      is answered or timed out; prints
                                      served=.. busy=.. other=.. hung=..
  rsp_raw.py hold PORT SECONDS        connect, handshake, stay idle
  rsp_raw.py idle PORT LIMIT          connect, send nothing; prints the
                                      seconds until the server closes (or
                                      "open" after LIMIT s)
"""
import socket
import sys
import threading
import time


def frame(payload: bytes) -> bytes:
    return b"$" + payload + b"#" + ("%02x" % (sum(payload) & 0xFF)).encode()


def escape(data: bytes) -> bytes:
    out = bytearray()
    for b in data:
        if b in (0x23, 0x24, 0x7D, 0x2A):
            out += bytes((0x7D, b ^ 0x20))
        else:
            out.append(b)
    return bytes(out)


class Conn:
    def __init__(self, port, timeout=10.0):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.noack = False

    def _byte(self):
        while not self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError("server closed the connection")
            self.buf += d
        b, self.buf = self.buf[:1], self.buf[1:]
        return b

    def recv_packet(self):
        while self._byte() != b"$":
            pass
        body = bytearray()
        while True:
            c = self._byte()
            if c == b"#":
                break
            body += c
        self._byte()
        self._byte()
        if not self.noack:
            self.s.sendall(b"+")
        return bytes(body)

    def request(self, payload: bytes):
        self.s.sendall(frame(payload))
        return self.recv_packet()

    def start(self):
        self.request(b"qSupported:swbreak+;hwbreak+")
        if self.request(b"QStartNoAckMode") == b"OK":
            self.noack = True


def cmd_packets(port, pkts):
    c = Conn(port)
    c.start()
    for p in pkts:
        raw = p.encode("latin-1").decode("unicode_escape").encode("latin-1")
        print(c.request(escape(raw) if raw[:1] == b"X" else raw).decode("latin-1"))


def hwm(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def cmd_flood(port, n, size, base, span, pid):
    c = Conn(port, timeout=30)
    c.start()
    before = hwm(pid) if pid else -1
    data = escape(bytes([0xA5]) * size)
    ok = err = 0
    for i in range(n):
        addr = base + (i * size) % span
        r = c.request(b"vFlashWrite:%x:" % addr + data)
        if r == b"OK":
            ok += 1
        else:
            err += 1
    after = hwm(pid) if pid else -1
    print("ok=%d err=%d hwm_before_kib=%d hwm_after_kib=%d" % (ok, err, before, after))


def cmd_crowd(port, n, timeout):
    results = [None] * n
    socks = []
    lock = threading.Lock()

    def one(i):
        try:
            c = Conn(port, timeout=timeout)
            with lock:
                socks.append(c.s)
            c.s.sendall(frame(b"qSupported:swbreak+"))
            r = c.recv_packet()
            if r.startswith(b"E.") and b"busy" in r:
                results[i] = "busy"
            elif b"PacketSize" in r:
                results[i] = "served"
            else:
                results[i] = "other"
        except (socket.timeout, TimeoutError):
            results[i] = "hung"
        except (OSError, EOFError):
            results[i] = "closed"

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in socks:
        s.close()
    counts = {k: results.count(k) for k in ("served", "busy", "other", "closed", "hung")}
    print(" ".join("%s=%d" % kv for kv in counts.items()))


def cmd_hold(port, seconds):
    c = Conn(port)
    c.start()
    print("holding", flush=True)
    time.sleep(seconds)


def cmd_idle(port, limit):
    s = socket.create_connection(("127.0.0.1", port), timeout=limit)
    t0 = time.monotonic()
    try:
        while s.recv(4096):
            pass
        print("%.1f" % (time.monotonic() - t0))
    except (socket.timeout, TimeoutError):
        print("open")


def main(a):
    if a[0] == "packets":
        cmd_packets(int(a[1]), a[2:])
    elif a[0] == "flood":
        cmd_flood(int(a[1]), int(a[2]), int(a[3]), int(a[4], 0), int(a[5], 0),
                  int(a[6]) if len(a) > 6 else 0)
    elif a[0] == "crowd":
        cmd_crowd(int(a[1]), int(a[2]), float(a[3]))
    elif a[0] == "hold":
        cmd_hold(int(a[1]), float(a[2]))
    elif a[0] == "idle":
        cmd_idle(int(a[1]), float(a[2]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
