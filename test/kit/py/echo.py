#!/usr/bin/env python3
# A one-shot ICMP / ICMPv6 echo from a client: exits 0 after `need` replies, 1 on timeout.
# The kernel fills in the ICMPv6 checksum on raw sockets (RFC 3542 3.1); ICMPv4 we compute.
import os, select, socket, struct, sys, time
addr, need, tmo = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
v6 = ':' in addr
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
ident = os.getpid() & 0xffff
def csum(b):
    t = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while t > 0xffff: t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff
got, seq, end = 0, 0, time.monotonic() + tmo
while got < need and time.monotonic() < end:
    body = b'tandem-interop!!'
    hdr = struct.pack('!BBHHH', 128 if v6 else 8, 0, 0, ident, seq)
    if not v6: hdr = struct.pack('!BBHHH', 8, 0, csum(hdr + body), ident, seq)
    try: s.sendto(hdr + body, (addr, 0))
    except OSError: pass
    seq += 1
    stop = time.monotonic() + 0.02
    while time.monotonic() < stop:
        r, _, _ = select.select([s], [], [], max(0, stop - time.monotonic()))
        if not r: break
        d = s.recv(2048)
        if not v6: d = d[(d[0] & 15) * 4:]
        if len(d) >= 8 and d[0] == (129 if v6 else 0) and struct.unpack('!H', d[4:6])[0] == ident: got += 1
print(got, seq)
sys.exit(0 if got >= need else 1)
