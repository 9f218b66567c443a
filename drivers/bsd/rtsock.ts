// Routing-socket (PF_ROUTE) message parser: RTM_IFINFO, RTM_NEWADDR/RTM_DELADDR, RTM_IFANNOUNCE.
// Pure: bytes in, a result out; never throws, never reads past the buffer.
//
// Layouts: NetBSD from shared/facts/ioctl.md section 5 (if_msghdr 152, link state int @20;
// ifa_msghdr 32). FreeBSD if_msghdr link state u8 @20, OpenBSD u8 @27 (facts 3.2, 3.3); the
// FreeBSD/OpenBSD ifa_msghdr and announce layouts follow golang.org/x/net/route (UNVERIFIED here).
import { CONSTANTS, RTA, RTAX_COUNT, type BsdAbi, type BsdOs } from './abi.ts';
import { decodeSockaddr, sockaddrMaskPrefix, type Sockaddr } from './structs.ts';

interface Layout {
  /** Sockaddrs after a header are padded to this (NetBSD: 8 everywhere; others sizeof(long)). */
  align: number;
  ifm: {
    size: number;
    addrs: number;
    flags: number;
    index: number;
    linkState: number;
    linkStateBytes: 1 | 4;
    hdrlen?: number;
  };
  ifam: { size: number; addrs: number; flags: number; index: number; hdrlen?: number };
  ifan: { size: number; index: number; name: number; what: number };
}

function layout(os: BsdOs, abi: BsdAbi): Layout {
  const long = abi === 'lp64' ? 8 : 4;
  switch (os) {
    case 'netbsd':
      return {
        align: 8,
        ifm: { size: 152, addrs: 4, flags: 8, index: 12, linkState: 20, linkStateBytes: 4 },
        ifam: { size: 32, index: 4, flags: 8, addrs: 12 },
        ifan: { size: 24, index: 4, name: 6, what: 22 },
      };
    case 'freebsd':
      return {
        align: long,
        ifm: { size: 168, addrs: 4, flags: 8, index: 12, linkState: 20, linkStateBytes: 1 },
        ifam: { size: 20, addrs: 4, flags: 8, index: 12 },
        ifan: { size: 24, index: 4, name: 6, what: 22 },
      };
    case 'openbsd':
      return {
        align: long,
        ifm: {
          size: abi === 'i386' ? 160 : 168,
          hdrlen: 4,
          index: 6,
          addrs: 12,
          flags: 16,
          linkState: 27,
          linkStateBytes: 1,
        },
        ifam: { size: 24, hdrlen: 4, index: 6, addrs: 12, flags: 16 },
        ifan: { size: 26, index: 6, what: 8, name: 10 },
      };
  }
}

/** The sockaddrs a message carries, by RTAX slot; a netmask may be trimmed (see decodeSockaddr). */
export interface RtAddrs {
  dst?: Uint8Array;
  netmask?: Uint8Array;
  ifp?: Uint8Array;
  ifa?: Uint8Array;
  brd?: Uint8Array;
}

export type RtMessage =
  | { kind: 'ifinfo'; index: number; flags: number; linkState: number; ifname: string | null }
  | {
      kind: 'newaddr' | 'deladdr';
      index: number;
      flags: number;
      ifname: string | null;
      address: Sockaddr | null;
      prefixLength: number;
    }
  | { kind: 'ifannounce'; index: number; ifname: string; what: 'arrival' | 'departure' | number }
  | { kind: 'other'; type: number };

export type RtParseError = 'short' | 'bad-length' | 'version';
export type RtResult =
  | { ok: true; msg: RtMessage; length: number }
  | { ok: false; reason: RtParseError; detail: string };

/** Walks the sockaddrs that follow a header, one per bit of `addrs`, each padded to `align`
 *  (a zero sa_len still takes `align` bytes). */
export function readRtAddrs(buf: Uint8Array, from: number, end: number, addrs: number, align: number): RtAddrs {
  const out: RtAddrs = {};
  const slots: (keyof RtAddrs | null)[] = ['dst', null, 'netmask', null, 'ifp', 'ifa', null, 'brd'];
  let off = from;
  for (let i = 0; i < RTAX_COUNT; i++) {
    if (!(addrs & (1 << i))) continue;
    if (off >= end) break;
    const len = buf[off];
    const take = len === 0 ? align : Math.ceil(len / align) * align;
    const slot = slots[i];
    if (slot) out[slot] = buf.subarray(off, Math.min(off + Math.max(len, 2), end));
    off += take;
  }
  return out;
}

const u16 = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8);
const u32 = (b: Uint8Array, o: number) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;

/** One message at the start of `buf` (a routing socket read returns one). */
export function parseRtMessage(os: BsdOs, abi: BsdAbi, buf: Uint8Array): RtResult {
  if (buf.length < 4) return { ok: false, reason: 'short', detail: `${buf.length} bytes` };
  const msglen = u16(buf, 0);
  if (msglen < 4 || msglen > buf.length)
    return { ok: false, reason: 'bad-length', detail: `msglen ${msglen}, have ${buf.length}` };
  const c = CONSTANTS[os];
  const version = buf[2],
    type = buf[3];
  if (version !== c.RTM_VERSION)
    return { ok: false, reason: 'version', detail: `version ${version}, want ${c.RTM_VERSION}` };
  const L = layout(os, abi);
  const m = buf.subarray(0, msglen);
  const linkName = (raw: Uint8Array | undefined) => {
    const sa = raw ? decodeSockaddr(os, raw) : null;
    return sa && sa.family === 'link' && sa.name ? sa.name : null;
  };

  if (type === c.RTM_IFINFO) {
    const h = L.ifm;
    if (msglen < h.linkState + h.linkStateBytes)
      return { ok: false, reason: 'short', detail: `if_msghdr ${msglen} bytes` };
    const body = h.hdrlen !== undefined ? u16(m, h.hdrlen) : h.size;
    const addrs = u32(m, h.addrs);
    const ifp = addrs && body < msglen ? readRtAddrs(m, body, msglen, addrs, L.align).ifp : undefined;
    const linkState = h.linkStateBytes === 4 ? u32(m, h.linkState) | 0 : m[h.linkState];
    return {
      ok: true,
      length: msglen,
      msg: { kind: 'ifinfo', index: u16(m, h.index), flags: u32(m, h.flags), linkState, ifname: linkName(ifp) },
    };
  }

  if (type === c.RTM_NEWADDR || type === c.RTM_DELADDR) {
    const h = L.ifam;
    if (msglen < h.size) return { ok: false, reason: 'short', detail: `ifa_msghdr ${msglen} bytes` };
    const body = h.hdrlen !== undefined ? u16(m, h.hdrlen) : h.size;
    const a = readRtAddrs(m, body, msglen, u32(m, h.addrs), L.align);
    const address = a.ifa ? decodeSockaddr(os, a.ifa) : null;
    const fam = address && (address.family === 'inet' || address.family === 'inet6') ? address.family : null;
    return {
      ok: true,
      length: msglen,
      msg: {
        kind: type === c.RTM_NEWADDR ? 'newaddr' : 'deladdr',
        index: u16(m, h.index),
        flags: u32(m, h.flags),
        ifname: linkName(a.ifp),
        address,
        prefixLength: fam ? sockaddrMaskPrefix(os, a.netmask ?? null, fam) : 0,
      },
    };
  }

  if (type === c.RTM_IFANNOUNCE) {
    const h = L.ifan;
    if (msglen < h.size) return { ok: false, reason: 'short', detail: `if_announcemsghdr ${msglen} bytes` };
    const raw = m.subarray(h.name, h.name + 16);
    const nul = raw.indexOf(0);
    const what = u16(m, h.what);
    return {
      ok: true,
      length: msglen,
      msg: {
        kind: 'ifannounce',
        index: u16(m, h.index),
        ifname: new TextDecoder().decode(nul >= 0 ? raw.subarray(0, nul) : raw),
        what: what === c.IFAN_ARRIVAL ? 'arrival' : what === c.IFAN_DEPARTURE ? 'departure' : what,
      },
    };
  }
  return { ok: true, length: msglen, msg: { kind: 'other', type } };
}

/** Every message in a buffer (a sysctl dump holds many); stops at the first bad one. */
export function parseRtMessages(os: BsdOs, abi: BsdAbi, buf: Uint8Array): { messages: RtMessage[]; error?: RtResult } {
  const messages: RtMessage[] = [];
  for (let off = 0; off < buf.length; ) {
    const r = parseRtMessage(os, abi, buf.subarray(off));
    if (!r.ok) return { messages, error: r };
    messages.push(r.msg);
    off += r.length;
  }
  return { messages };
}

// RTA bits re-exported for message builders in tests.
export { RTA };
