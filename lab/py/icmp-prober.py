#!/usr/bin/env python3
import os, select, signal, socket, struct, sys, time
target, interval = sys.argv[1], float(sys.argv[2]) / 1000.0
ident = os.getpid() & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.setblocking(False)
stop = [False]
signal.signal(signal.SIGTERM, lambda *a: stop.__setitem__(0, True))
signal.signal(signal.SIGINT, lambda *a: stop.__setitem__(0, True))
def csum(b):
    if len(b) % 2: b += b'\0'
    t = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while t > 0xffff: t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff
out = sys.stdout
sent = 0
nxt = time.monotonic()
end = None
first_ms = last_ms = 0.0
last_flush = nxt
print('READY', flush=True)
while True:
    now = time.monotonic()
    if stop[0] and end is None: end = now + 0.2
    if end is not None and now >= end: break
    if end is None and now >= nxt:
        seq = sent & 0xffff
        body = struct.pack('!d', time.time()) + b'tandem-lab-probe'
        hdr = struct.pack('!BBHHH', 8, 0, 0, ident, seq)
        pkt = struct.pack('!BBHHH', 8, 0, csum(hdr + body), ident, seq) + body
        try: s.sendto(pkt, (target, 0))
        except OSError: pass
        last_ms = time.time() * 1000.0
        if sent == 0: first_ms = last_ms
        sent += 1
        nxt += interval
        if nxt < now: nxt = now + interval
    wait = max(0.0, (nxt if end is None else end) - time.monotonic())
    r, _, _ = select.select([s], [], [], wait)
    while r:
        try: data = s.recv(2048)
        except (BlockingIOError, InterruptedError): break
        ihl = (data[0] & 0x0f) * 4
        if len(data) < ihl + 8: continue
        typ, code, _, rid, rseq = struct.unpack('!BBHHH', data[ihl:ihl + 8])
        if typ != 0 or rid != ident: continue
        last = (sent - 1) & 0xffff
        n = sent - 1 - ((last - rseq) & 0xffff)
        out.write('R %d %.3f\n' % (n, time.time() * 1000.0))
    if now - last_flush >= 0.01:
        out.flush()
        last_flush = now
print('S %d %.3f' % (sent, last_ms - first_ms), flush=True)
