// An AF_NETLINK/NETLINK_ROUTE socket over koffi. Requests are synchronous: the kernel handles a
// rtnetlink request inside sendto(), so its ACK is already queued when recv() runs; dumps are
// filled in as we read them. SO_RCVTIMEO bounds every wait anyway.
import { E, linuxError } from './errno.ts';
import * as c from './libc.ts';
import type { NlMessage } from './netlink.ts';
import { decodeError, NLMSG_DONE, NLMSG_ERROR, splitMessages } from './netlink.ts';

const RECV_BUF = 64 * 1024;
const REQUEST_TIMEOUT_MS = 2000;

export class RtnlSocket {
  readonly fd: number;
  private seq = Math.floor(Math.random() * 0x7fffffff);
  private readonly buf = new Uint8Array(RECV_BUF);
  private closed = false;

  /** `groups`: RTMGRP_* bits to listen to (0 for a request socket). `nonblock` for a watcher. */
  constructor(groups = 0, nonblock = false, lp64 = true) {
    const s = c.socket(c.AF_NETLINK, c.SOCK_RAW | c.SOCK_CLOEXEC | (nonblock ? c.SOCK_NONBLOCK : 0), c.NETLINK_ROUTE);
    if (s.ret < 0) throw linuxError('netlink-socket', '', s.errno);
    this.fd = s.ret;
    const b = c.bind(this.fd, c.sockaddrNl(0, groups));
    if (b.ret < 0) {
      c.close(this.fd);
      throw linuxError('netlink-bind', '', b.errno);
    }
    // Extended ACKs give the kernel's own words for a refusal; CAP_ACK keeps errors short.
    // Both are best effort (kernels before 4.12 lack EXT_ACK).
    c.setsockopt(this.fd, c.SOL_NETLINK, c.NETLINK_EXT_ACK, c.u32le(1));
    c.setsockopt(this.fd, c.SOL_NETLINK, c.NETLINK_CAP_ACK, c.u32le(1));
    if (nonblock) c.setsockopt(this.fd, c.SOL_SOCKET, c.SO_RCVBUF, c.u32le(1 << 20));
    else c.setsockopt(this.fd, c.SOL_SOCKET, c.SO_RCVTIMEO, c.timeval(REQUEST_TIMEOUT_MS, lp64));
  }

  nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0 || 1;
    return this.seq;
  }

  private send(op: string, ifname: string, msg: Uint8Array): void {
    for (;;) {
      const r = c.sendto(this.fd, msg, 0, c.sockaddrNl(0, 0));
      if (r.ret >= 0) return;
      if (r.errno !== E.EINTR) throw linuxError(op, ifname, r.errno);
    }
  }

  /** One datagram's messages; null when nothing is waiting (non-blocking socket). Throws on
   *  errors other than EAGAIN/EINTR; ENOBUFS (events lost) is thrown for the caller to resync. */
  receive(op: string, ifname: string, flags = 0): NlMessage[] | null {
    for (;;) {
      const r = c.recv(this.fd, this.buf, flags);
      if (r.ret >= 0) return splitMessages(this.buf.slice(0, r.ret)).messages;
      if (r.errno === E.EINTR) continue;
      if (r.errno === E.EAGAIN) {
        if (flags & c.MSG_DONTWAIT) return null;
        throw linuxError(op, ifname, E.ETIMEDOUT);
      }
      throw linuxError(op, ifname, r.errno);
    }
  }

  /** Sends a request carrying NLM_F_ACK (whose seq is `seq`) and waits for its ACK. */
  request(op: string, ifname: string, msg: Uint8Array, seq: number): void {
    this.send(op, ifname, msg);
    for (;;) {
      for (const m of this.receive(op, ifname) ?? []) {
        if (m.seq !== seq || m.type !== NLMSG_ERROR) continue;
        const err = decodeError(m);
        if (!err) throw linuxError(op, ifname, E.EINVAL, 'short netlink error message');
        if (err.errno !== 0) throw linuxError(op, ifname, err.errno, err.message);
        return;
      }
    }
  }

  /** Sends a request expecting data back (a GET or a DUMP) and returns the data messages. */
  query(op: string, ifname: string, msg: Uint8Array, seq: number, dump: boolean): NlMessage[] {
    this.send(op, ifname, msg);
    const out: NlMessage[] = [];
    for (;;) {
      for (const m of this.receive(op, ifname) ?? []) {
        if (m.seq !== seq) continue;
        if (m.type === NLMSG_DONE) return out;
        if (m.type === NLMSG_ERROR) {
          const err = decodeError(m);
          if (err && err.errno === 0) return out;
          throw linuxError(op, ifname, err ? err.errno : E.EINVAL, err?.message ?? '');
        }
        out.push(m);
        if (!dump) return out;
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    c.close(this.fd);
  }
}
