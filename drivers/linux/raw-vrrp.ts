// Raw IP sockets for unicast VRRP adverts (keepalived's unicast_peer): socket(AF_INET[6],
// SOCK_RAW, 112), pinned to one interface, TTL / Hop Limit 255, one sendto per peer. The kernel
// writes the IP header and resolves the peer's MAC, so unicast follows routing and ARP/ND.
// The encoders are pure (tested byte by byte); openLinuxRawVrrp is the only code with syscalls.
import type { RawVrrpOptions, RawVrrpSocket } from '../types.ts';
import { DriverError } from '../types.ts';
import { parseIPv4, parseIPv6 } from './addr.ts';
import { E, linuxError } from './errno.ts';
import * as c from './libc.ts';

export const AF_INET6 = 10;
/** IANA protocol number of VRRP (RFC 5798 5.1.1.4). */
export const IPPROTO_VRRP = 112;
// asm-generic/socket.h, linux/in.h, linux/in6.h
export const SO_BINDTODEVICE = 25;
export const IPPROTO_IP = 0,
  IP_TOS = 1,
  IP_TTL = 2;
export const IPPROTO_IPV6 = 41,
  IPV6_UNICAST_HOPS = 16,
  IPV6_TCLASS = 67;
/** RFC 5798 5.1.1.3 / 5.1.2.3: TTL / Hop Limit 255, so a receiver can tell it was not routed. */
export const VRRP_TTL = 255;
/** Precedence "Internetwork Control", as the multicast adverts built in firmware/core/packet carry. */
export const VRRP_TOS = 0xc0;

export const SOCKADDR_IN_SIZE = 16;
export const SOCKADDR_IN6_SIZE = 28;

/**
 * struct sockaddr_in (linux/in.h), 16 bytes:
 *   0 sin_family u16 (host order) = AF_INET   2 sin_port u16 (network order) = 0 for raw
 *   4 sin_addr[4] (network order)             8 sin_zero[8]
 */
export function encodeSockaddrIn(addr: Uint8Array): Uint8Array {
  if (addr.length !== 4) throw new RangeError(`an IPv4 address is 4 bytes, got ${addr.length}`);
  const b = new Uint8Array(SOCKADDR_IN_SIZE);
  new DataView(b.buffer).setUint16(0, c.AF_INET, true);
  b.set(addr, 4);
  return b;
}

/**
 * struct sockaddr_in6 (linux/in6.h), 28 bytes:
 *   0 sin6_family u16 (host order) = AF_INET6   2 sin6_port u16 = 0   4 sin6_flowinfo u32 = 0
 *   8 sin6_addr[16]                             24 sin6_scope_id u32 (host order): the ifindex
 * The scope id is only meaningful (and only set) for link-local addresses (RFC 4007 6).
 */
export function encodeSockaddrIn6(addr: Uint8Array, scopeId = 0): Uint8Array {
  if (addr.length !== 16) throw new RangeError(`an IPv6 address is 16 bytes, got ${addr.length}`);
  const b = new Uint8Array(SOCKADDR_IN6_SIZE);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, AF_INET6, true);
  b.set(addr, 8);
  dv.setUint32(24, isLinkLocal6(addr) ? scopeId >>> 0 : 0, true);
  return b;
}

/** fe80::/10 */
export function isLinkLocal6(addr: Uint8Array): boolean {
  return addr.length === 16 && addr[0] === 0xfe && (addr[1] & 0xc0) === 0x80;
}

/** The sockaddr for `text` of `family` (scope id `ifindex` for an IPv6 link-local), or null. */
export function sockaddrFor(family: 4 | 6, text: string, ifindex: number): Uint8Array | null {
  if (family === 4) {
    const a = parseIPv4(text);
    return a ? encodeSockaddrIn(a) : null;
  }
  const a = parseIPv6(text);
  return a ? encodeSockaddrIn6(a, ifindex) : null;
}

/** SO_BINDTODEVICE's value: the interface name, NUL-terminated. */
export function ifnameValue(ifname: string): Uint8Array {
  const name = Buffer.from(ifname, 'utf8');
  const b = new Uint8Array(name.length + 1);
  b.set(name);
  return b;
}

/** Opens the socket; `ifindex` scopes IPv6 link-local addresses. Throws DriverError. */
export function openLinuxRawVrrp(
  ifname: string,
  ifindex: number,
  family: 4 | 6,
  opts: RawVrrpOptions = {},
): RawVrrpSocket {
  const op = 'open-raw-vrrp';
  const bad = (what: string) => new DriverError(op, ifname, E.EINVAL, 'EINVAL', what);
  if (family !== 4 && family !== 6) throw bad(`family must be 4 or 6, got ${String(family)}`);
  const bindTo = opts.src !== undefined ? sockaddrFor(family, opts.src, ifindex) : null;
  if (opts.src !== undefined && !bindTo) throw bad(`source '${opts.src}' is not an IPv${family} address`);
  // Non-blocking: a full send queue is an EAGAIN counted by the caller, never a stalled loop.
  const s = c.socket(family === 4 ? c.AF_INET : AF_INET6, c.SOCK_RAW | c.SOCK_NONBLOCK | c.SOCK_CLOEXEC, IPPROTO_VRRP);
  if (s.ret < 0) throw linuxError(op, ifname, s.errno);
  const fd = s.ret;
  const set = (level: number, name: number, val: Uint8Array) => {
    const r = c.setsockopt(fd, level, name, val);
    if (r.ret < 0) throw linuxError(op, ifname, r.errno);
  };
  try {
    set(c.SOL_SOCKET, SO_BINDTODEVICE, ifnameValue(ifname));
    // The kernel also queues every VRRP packet it receives to this socket; we read from pcap, so
    // keep that queue at the kernel's minimum rather than let it hold a full default buffer.
    set(c.SOL_SOCKET, c.SO_RCVBUF, c.u32le(0));
    if (family === 4) {
      set(IPPROTO_IP, IP_TTL, c.u32le(VRRP_TTL));
      set(IPPROTO_IP, IP_TOS, c.u32le(VRRP_TOS));
    } else {
      set(IPPROTO_IPV6, IPV6_UNICAST_HOPS, c.u32le(VRRP_TTL));
      set(IPPROTO_IPV6, IPV6_TCLASS, c.u32le(VRRP_TOS));
    }
    if (bindTo) {
      const r = c.bind(fd, bindTo);
      if (r.ret < 0) throw linuxError(op, ifname, r.errno, `binding ${opts.src}`);
    }
  } catch (e) {
    c.close(fd);
    throw e;
  }
  let closed = false;
  const dsts = new Map<string, Uint8Array>(); // peers are few and fixed: encode each once
  return {
    ifname,
    family,
    send(dst: string, payload: Uint8Array): void {
      if (closed) throw new DriverError('send-advert', ifname, 9, 'EBADF', 'raw VRRP socket closed');
      let sa = dsts.get(dst);
      if (!sa) {
        const enc = sockaddrFor(family, dst, ifindex);
        if (!enc)
          throw new DriverError('send-advert', ifname, E.EINVAL, 'EINVAL', `'${dst}' is not an IPv${family} address`);
        sa = enc;
        dsts.set(dst, sa);
      }
      const r = c.sendto(fd, payload, 0, sa);
      if (r.ret < 0) throw linuxError('send-advert', ifname, r.errno, `to ${dst}`);
    },
    close(): void {
      if (closed) return;
      closed = true;
      c.close(fd);
    },
  };
}
