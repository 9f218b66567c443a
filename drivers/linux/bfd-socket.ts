// Single-hop BFD over UDP on Linux (RFC 5881). Two kinds of socket:
//  - one receiving socket per address family, bound to port 3784, shared by every session
//    (reference counted). RFC 5881 section 5 requires the received TTL / Hop Limit to be 255
//    (GTSM, RFC 5082). Node's dgram cannot report it, so the socket is opened through libc with
//    IP_RECVTTL / IPV6_RECVHOPLIMIT, and read with recvmsg(2), whose control messages carry it.
//  - one sending socket per session, bound to a source port in 49152-65535 (the same for all of
//    the session's packets, RFC 5881 section 4), with IP_TTL / IPV6_UNICAST_HOPS 255.
// The msghdr, iovec and cmsghdr layouts are those of <sys/socket.h> and <bits/uio.h>: pointers and
// size_t are 8 bytes on LP64 (x86_64, aarch64) and 4 on ILP32 (i386, armhf).
import koffi from 'koffi';
import { BFD_CONTROL_PORT, BFD_SOURCE_PORT_MAX, BFD_SOURCE_PORT_MIN, BFD_TTL } from '../../firmware/core/packet/bfd.ts';
import { formatIp } from '../../firmware/core/packet/addr.ts';
import type { BfdDatagram, BfdSocket, BfdSocketOptions } from '../types.ts';
import { DriverError } from '../types.ts';
import { parseIPv4, parseIPv6 } from './addr.ts';
import { E, linuxError } from './errno.ts';
import * as c from './libc.ts';
import {
  AF_INET6,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IP_TOS,
  IP_TTL,
  IPV6_TCLASS,
  IPV6_UNICAST_HOPS,
  ifnameValue,
} from './raw-vrrp.ts';

// linux/in.h, linux/in6.h, asm-generic/socket.h
export const IP_RECVTTL = 12;
export const IPV6_RECVHOPLIMIT = 51;
export const IPV6_HOPLIMIT = 52;
export const IPV6_V6ONLY = 26;
export const SO_BINDTODEVICE = 25;
/** RFC 5881 is silent on the DSCP; routers send BFD as network control (CS6), as FRR does. */
export const BFD_TOS = 0xc0;

/** sockaddr_in / sockaddr_in6 with a port (network order) and an address, or null for bad text. */
export function encodeSockaddr(family: 4 | 6, text: string, port: number, scopeId = 0): Uint8Array | null {
  if (family === 4) {
    const a = text === '' ? new Uint8Array(4) : parseIPv4(text);
    if (!a) return null;
    const b = new Uint8Array(16);
    const dv = new DataView(b.buffer);
    dv.setUint16(0, c.AF_INET, true);
    dv.setUint16(2, port);
    b.set(a, 4);
    return b;
  }
  const a = text === '' ? new Uint8Array(16) : parseIPv6(text);
  if (!a) return null;
  const b = new Uint8Array(28);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, AF_INET6, true);
  dv.setUint16(2, port);
  b.set(a, 8);
  dv.setUint32(24, scopeId >>> 0, true);
  return b;
}

/** Source address and port of a sockaddr_in / sockaddr_in6 that recvmsg filled in. */
export function decodeSockaddr(b: Uint8Array): { address: string; port: number } | null {
  if (b.length < 16) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const family = dv.getUint16(0, true);
  const port = dv.getUint16(2);
  if (family === c.AF_INET) return { address: formatIp(b.subarray(4, 8)), port };
  if (family === AF_INET6 && b.length >= 24) {
    const a = b.subarray(8, 24);
    // An IPv4-mapped address (::ffff:a.b.c.d) cannot reach a V6ONLY socket; decode it as IPv6.
    return { address: formatIp(a), port };
  }
  return null;
}

/** Walks the control messages and returns the received TTL / Hop Limit, or -1 when absent. */
export function ttlFromControl(ctrl: Uint8Array, family: 4 | 6, ptrSize: 4 | 8): number {
  const dv = new DataView(ctrl.buffer, ctrl.byteOffset, ctrl.byteLength);
  const hdr = ptrSize === 8 ? 16 : 12; // cmsg_len (size_t), cmsg_level, cmsg_type, then data aligned
  const align = (n: number) => (n + ptrSize - 1) & ~(ptrSize - 1);
  let off = 0;
  while (off + hdr <= ctrl.length) {
    const len = ptrSize === 8 ? Number(dv.getBigUint64(off, true)) : dv.getUint32(off, true);
    if (len < hdr || off + len > ctrl.length) break;
    const level = dv.getInt32(off + ptrSize, true);
    const type = dv.getInt32(off + ptrSize + 4, true);
    if (len >= hdr + 4) {
      if (family === 4 && level === IPPROTO_IP && type === IP_TTL) return dv.getInt32(off + hdr, true);
      if (family === 6 && level === IPPROTO_IPV6 && type === IPV6_HOPLIMIT) return dv.getInt32(off + hdr, true);
    }
    off += align(len);
  }
  return -1;
}

type RecvMsg = (fd: number, msg: unknown, flags: number) => number | bigint;
let recvmsgFn: RecvMsg | null = null;
function recvmsg(): RecvMsg {
  if (!recvmsgFn) {
    const lib = koffi.load('libc.so.6');
    recvmsgFn = lib.func('intptr_t recvmsg(int fd, void *msg, int flags)') as RecvMsg;
  }
  return recvmsgFn;
}

/** One native buffer holding msghdr, iovec, the peer's sockaddr, the control messages and the
 *  datagram; recvmsg writes into it and we read it through an ArrayBuffer view. */
class RecvBuffer {
  static readonly DATA = 2048;
  static readonly CTRL = 128;
  readonly ptrSize: 4 | 8 = koffi.sizeof('void *') === 8 ? 8 : 4;
  readonly mem: unknown;
  readonly bytes: Uint8Array;
  private readonly dv: DataView;
  private readonly base: bigint;
  // Offsets of the parts inside the block.
  private readonly oIov = 64;
  private readonly oName = 96;
  private readonly oCtrl = 128;
  private readonly oData = 128 + RecvBuffer.CTRL;
  readonly size = 128 + RecvBuffer.CTRL + RecvBuffer.DATA;

  constructor() {
    this.mem = koffi.alloc('uint8_t', this.size);
    this.bytes = new Uint8Array(koffi.view(this.mem, this.size) as ArrayBuffer);
    this.dv = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.size);
    this.base = BigInt(koffi.address(this.mem) as bigint | number);
  }

  private putPtr(at: number, v: bigint): void {
    if (this.ptrSize === 8) this.dv.setBigUint64(at, v, true);
    else this.dv.setUint32(at, Number(v & 0xffffffffn), true);
  }
  private putSize(at: number, v: number): void {
    if (this.ptrSize === 8) this.dv.setBigUint64(at, BigInt(v), true);
    else this.dv.setUint32(at, v, true);
  }
  private getSize(at: number): number {
    return this.ptrSize === 8 ? Number(this.dv.getBigUint64(at, true)) : this.dv.getUint32(at, true);
  }

  /** Resets msghdr before each call (the kernel rewrites msg_namelen and msg_controllen). */
  prepare(): void {
    const p = this.ptrSize;
    this.bytes.fill(0, 0, this.oData);
    // struct msghdr: name, namelen (u32), iov, iovlen, control, controllen, flags
    this.putPtr(0, this.base + BigInt(this.oName));
    this.dv.setUint32(p, 28, true);
    this.putPtr(2 * p, this.base + BigInt(this.oIov));
    this.putSize(3 * p, 1);
    this.putPtr(4 * p, this.base + BigInt(this.oCtrl));
    this.putSize(5 * p, RecvBuffer.CTRL);
    // struct iovec: base, len
    this.putPtr(this.oIov, this.base + BigInt(this.oData));
    this.putSize(this.oIov + p, RecvBuffer.DATA);
  }

  name(): Uint8Array {
    return this.bytes.subarray(this.oName, this.oName + Math.min(28, this.dv.getUint32(this.ptrSize, true)));
  }
  control(): Uint8Array {
    return this.bytes.subarray(this.oCtrl, this.oCtrl + Math.min(RecvBuffer.CTRL, this.getSize(5 * this.ptrSize)));
  }
  data(n: number): Uint8Array {
    return this.bytes.slice(this.oData, this.oData + Math.min(n, RecvBuffer.DATA));
  }
  free(): void {
    koffi.free(this.mem);
  }
}

function setInt(fd: number, level: number, name: number, v: number, op: string, what: string): void {
  const r = c.setsockopt(fd, level, name, c.u32le(v));
  if (r.ret < 0) throw linuxError(op, what, r.errno);
}

/** The shared port-3784 receiver of one family. */
class Receiver {
  private readonly listeners = new Set<(d: BfdDatagram) => void>();
  private readonly poll: { close(): void };
  private readonly buf = new RecvBuffer();
  refs = 0;

  constructor(
    readonly family: 4 | 6,
    private readonly fd: number,
  ) {
    this.poll = c.pollReadable(fd, () => this.drain());
  }

  add(cb: (d: BfdDatagram) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  private drain(): void {
    const fn = recvmsg();
    // Bounded: a flood cannot keep the engine in this loop for more than 256 datagrams per wake.
    for (let i = 0; i < 256; i++) {
      this.buf.prepare();
      const n = Number(fn(this.fd, this.buf.mem, c.MSG_DONTWAIT));
      if (n < 0) return; // EAGAIN: drained (other errors on a UDP socket are transient)
      const from = decodeSockaddr(this.buf.name());
      if (!from) continue;
      const d: BfdDatagram = {
        src: from.address,
        srcPort: from.port,
        ttl: ttlFromControl(this.buf.control(), this.family, this.buf.ptrSize),
        data: this.buf.data(n),
      };
      for (const cb of this.listeners) cb(d);
    }
  }

  close(): void {
    this.poll.close();
    c.close(this.fd);
    this.buf.free();
  }
}

const receivers = new Map<4 | 6, Receiver>();

function openReceiver(family: 4 | 6): Receiver {
  const have = receivers.get(family);
  if (have) return have;
  const op = 'open-bfd';
  const s = c.socket(family === 4 ? c.AF_INET : AF_INET6, c.SOCK_DGRAM | c.SOCK_NONBLOCK | c.SOCK_CLOEXEC, 0);
  if (s.ret < 0) throw linuxError(op, `udp${family}:${BFD_CONTROL_PORT}`, s.errno);
  const fd = s.ret;
  try {
    const what = `udp${family}:${BFD_CONTROL_PORT}`;
    if (family === 4) setInt(fd, IPPROTO_IP, IP_RECVTTL, 1, op, what);
    else {
      setInt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1, op, what);
      setInt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1, op, what);
    }
    const sa = encodeSockaddr(family, '', BFD_CONTROL_PORT)!;
    const r = c.bind(fd, sa);
    if (r.ret < 0) throw linuxError(op, what, r.errno, `binding port ${BFD_CONTROL_PORT}`);
  } catch (e) {
    c.close(fd);
    throw e;
  }
  const rx = new Receiver(family, fd);
  receivers.set(family, rx);
  return rx;
}

/** A session's socket: its own sender, and a listener on the shared receiver. */
export function openLinuxBfd(
  family: 4 | 6,
  opts: BfdSocketOptions = {},
  random: () => number = Math.random,
): BfdSocket {
  const op = 'open-bfd';
  const where = opts.ifname ?? `udp${family}`;
  if (family !== 4 && family !== 6) throw new DriverError(op, where, E.EINVAL, 'EINVAL', 'family must be 4 or 6');
  if (opts.src !== undefined && !encodeSockaddr(family, opts.src, 0))
    throw new DriverError(op, where, E.EINVAL, 'EINVAL', `source '${opts.src}' is not an IPv${family} address`);
  const rx = openReceiver(family);
  rx.refs++;
  let fd = -1;
  let srcPort = 0;
  try {
    const s = c.socket(family === 4 ? c.AF_INET : AF_INET6, c.SOCK_DGRAM | c.SOCK_NONBLOCK | c.SOCK_CLOEXEC, 0);
    if (s.ret < 0) throw linuxError(op, where, s.errno);
    fd = s.ret;
    if (opts.ifname) {
      const r = c.setsockopt(fd, c.SOL_SOCKET, SO_BINDTODEVICE, ifnameValue(opts.ifname));
      if (r.ret < 0) throw linuxError(op, where, r.errno);
    }
    if (family === 4) {
      setInt(fd, IPPROTO_IP, IP_TTL, BFD_TTL, op, where);
      setInt(fd, IPPROTO_IP, IP_TOS, BFD_TOS, op, where);
    } else {
      setInt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1, op, where);
      setInt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, BFD_TTL, op, where);
      setInt(fd, IPPROTO_IPV6, IPV6_TCLASS, BFD_TOS, op, where);
    }
    // RFC 5881 4: a source port in 49152-65535, unique among our sessions: try random ones.
    const span = BFD_SOURCE_PORT_MAX - BFD_SOURCE_PORT_MIN + 1;
    let lastErr = 0;
    for (let i = 0; i < 64 && srcPort === 0; i++) {
      const port = BFD_SOURCE_PORT_MIN + Math.floor(random() * span);
      const r = c.bind(fd, encodeSockaddr(family, opts.src ?? '', port)!);
      if (r.ret === 0) srcPort = port;
      else if (r.errno !== E.EADDRINUSE) throw linuxError(op, where, r.errno, `binding ${opts.src ?? 'any'}:${port}`);
      else lastErr = r.errno;
    }
    if (srcPort === 0) throw linuxError(op, where, lastErr, 'no free source port in 49152-65535');
  } catch (e) {
    if (fd >= 0) c.close(fd);
    if (--rx.refs === 0) {
      rx.close();
      receivers.delete(family);
    }
    throw e;
  }
  const dsts = new Map<string, Uint8Array>();
  const removers: Array<() => void> = [];
  let closed = false;
  return {
    family,
    srcPort,
    send(dst: string, payload: Uint8Array): void {
      if (closed) throw new DriverError('send-bfd', where, 9, 'EBADF', 'BFD socket closed');
      let sa = dsts.get(dst);
      if (!sa) {
        const enc = encodeSockaddr(family, dst, BFD_CONTROL_PORT);
        if (!enc)
          throw new DriverError('send-bfd', where, E.EINVAL, 'EINVAL', `'${dst}' is not an IPv${family} address`);
        sa = enc;
        dsts.set(dst, sa);
      }
      const r = c.sendto(fd, payload, 0, sa);
      if (r.ret < 0) throw linuxError('send-bfd', where, r.errno, `to ${dst}`);
    },
    onDatagram(cb: (d: BfdDatagram) => void): void {
      removers.push(rx.add(cb));
    },
    close(): void {
      if (closed) return;
      closed = true;
      for (const r of removers) r();
      c.close(fd);
      if (--rx.refs === 0) {
        rx.close();
        receivers.delete(family);
      }
    },
  };
}
