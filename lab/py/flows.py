#!/usr/bin/env python3
"""Long-lived flows through a firewall pair, for the state-sync lab and test.

server --port P: TCP echo on P; UDP on P: a datagram from a client subscribes it to a stream of
  numbered datagrams every 20 ms (the server speaks, the client only asked once: on a firewall
  without the flow's state the stream is new traffic from outside and is dropped).
client --server IP --port P --tcp N [--interval S] [--sources A,B,..]: N TCP connections (from the
  sources in turn), each sending a line every
  interval and reading its echo, plus one UDP subscription. Prints "ready" once every connection
  echoed and the stream arrived; on "stop" (or EOF) on stdin prints one JSON line: per connection
  the error (reset, closed, ...) or null, the longest gap between echoes and the time since the last.
"""
import argparse, json, os, selectors, socket, sys, time


def server(port):
    sel = selectors.DefaultSelector()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(128)
    ls.setblocking(False)
    sel.register(ls, selectors.EVENT_READ, "listen")
    us = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    us.bind(("0.0.0.0", port))
    us.setblocking(False)
    sel.register(us, selectors.EVENT_READ, "udp")
    subs, seq, next_tx = set(), 0, time.monotonic()
    print("listening", flush=True)
    while True:
        for key, _ in sel.select(timeout=0.005):
            if key.data == "listen":
                c, _ = ls.accept()
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ, "tcp")
            elif key.data == "udp":
                try:
                    _, addr = us.recvfrom(2048)
                    subs.add(addr)
                except OSError:
                    pass
            else:
                c = key.fileobj
                try:
                    d = c.recv(65536)
                except OSError:
                    d = b""
                if not d:
                    sel.unregister(c)
                    c.close()
                else:
                    try:
                        c.sendall(d)
                    except OSError:
                        pass
        now = time.monotonic()
        if now >= next_tx:
            next_tx = now + 0.02
            seq += 1
            for a in list(subs):
                try:
                    us.sendto(str(seq).encode(), a)
                except OSError:
                    pass


class Conn:
    def __init__(self, sock):
        self.sock, self.error, self.buf = sock, None, b""
        self.last_rx = None
        self.max_gap = 0.0
        self.echoes = 0


def client(ip, port, n, interval, sources):
    sel = selectors.DefaultSelector()
    conns = []
    for i in range(n):
        src = (sources[i % len(sources)], 0) if sources else None
        s = socket.create_connection((ip, port), timeout=5, source_address=src)
        s.setblocking(False)
        c = Conn(s)
        c.src = s.getsockname()[0]
        conns.append(c)
        sel.register(s, selectors.EVENT_READ, c)
    us = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    us.setblocking(False)
    us.sendto(b"sub", (ip, port))
    sel.register(us, selectors.EVENT_READ, "udp")
    sel.register(sys.stdin, selectors.EVENT_READ, "stdin")
    udp = {"received": 0, "last": None, "max_gap": 0.0}
    ready = False
    next_tx = time.monotonic()
    while True:
        now = time.monotonic()
        if now >= next_tx:
            next_tx = now + interval
            for c in conns:
                if c.error is None:
                    try:
                        c.sock.send(b"0123456789abcdef\n")
                    except BlockingIOError:
                        pass
                    except OSError as e:
                        c.error = os.strerror(e.errno) if e.errno else str(e)
        for key, _ in sel.select(timeout=0.01):
            now = time.monotonic()
            if key.data == "stdin":
                line = sys.stdin.readline()
                if not line or line.strip() == "stop":
                    report(conns, udp, now)
                    return
            elif key.data == "udp":
                try:
                    while True:
                        us.recvfrom(2048)
                        if udp["last"] is not None and ready:
                            udp["max_gap"] = max(udp["max_gap"], now - udp["last"])
                        udp["last"] = now
                        udp["received"] += 1
                except OSError:
                    pass
            else:
                c = key.data
                try:
                    d = c.sock.recv(65536)
                    if not d:
                        c.error = "closed"
                        sel.unregister(c.sock)
                        continue
                except BlockingIOError:
                    continue
                except OSError as e:
                    c.error = "reset" if e.errno == 104 else (os.strerror(e.errno) if e.errno else str(e))
                    sel.unregister(c.sock)
                    continue
                if c.last_rx is not None and ready:
                    c.max_gap = max(c.max_gap, now - c.last_rx)
                c.last_rx = now
                c.echoes += d.count(b"\n")
        if not ready and all(c.echoes > 0 for c in conns) and udp["received"] > 0:
            ready = True
            print("ready", flush=True)


def report(conns, udp, now):
    ms = lambda v: None if v is None else round(v * 1000)
    out = {
        "tcp": [
            {"src": c.src, "error": c.error, "maxGapMs": ms(c.max_gap), "sinceLastMs": ms(None if c.last_rx is None else now - c.last_rx), "echoes": c.echoes}
            for c in conns
        ],
        "udp": {"received": udp["received"], "maxGapMs": ms(udp["max_gap"]), "sinceLastMs": ms(None if udp["last"] is None else now - udp["last"])},
    }
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["server", "client"])
    p.add_argument("--server")
    p.add_argument("--port", type=int, default=5001)
    p.add_argument("--tcp", type=int, default=20)
    p.add_argument("--interval", type=float, default=0.1)
    p.add_argument("--sources", default="", help="comma-separated source addresses, used in turn")
    a = p.parse_args()
    if a.mode == "server":
        server(a.port)
    else:
        client(a.server, a.port, a.tcp, a.interval, [x for x in a.sources.split(",") if x])
