#!/usr/bin/env python3
# One ICMP / ICMPv6 echo request from each given source to its destination (argv: SRC,DST ...),
# sent on raw sockets bound to the source. Replies are not read here: the caller captures them
# (the cluster data-path test counts them per replying MAC). iputils-ping is not installed.
import os
import socket
import struct
import sys


def checksum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff


ident = os.getpid() & 0xffff
for seq, pair in enumerate(sys.argv[1:]):
    src, dst = pair.split(',')
    v6 = ':' in dst
    if v6:
        # The kernel fills in the ICMPv6 checksum on raw IPPROTO_ICMPV6 sockets (RFC 3542 3.1).
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        msg = struct.pack('!BBHHH', 128, 0, 0, ident, seq) + b'cluster'
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        body = struct.pack('!BBHHH', 8, 0, 0, ident, seq) + b'cluster'
        msg = body[:2] + struct.pack('!H', checksum(body)) + body[4:]
    s.bind((src, 0))
    s.sendto(msg, (dst, 0))
    s.close()
