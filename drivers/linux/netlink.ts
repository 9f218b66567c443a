// rtnetlink messages as pure functions (linux/netlink.h, linux/rtnetlink.h, linux/if_link.h,
// linux/if_addr.h). Encoders return bytes; decoders return values and never read past the end.
// Host byte order is little-endian on every ABI tandem ships on; addresses are network order.
//
// nlmsghdr (16)                         rtattr (4 + payload, padded to 4)
//   0 len u32   4 type u16  6 flags u16   0 rta_len u16 (4 + payload, unpadded)
//   8 seq u32  12 pid u32                 2 rta_type u16
// ifinfomsg (16): 0 family u8, 2 type u16, 4 index s32, 8 flags u32, 12 change u32
// ifaddrmsg (8):  0 family u8, 1 prefixlen u8, 2 flags u8, 3 scope u8, 4 index u32
// nlmsgerr:       0 error s32 (0 = ACK, else -errno), 4 the request's nlmsghdr (+ payload unless
//                 NLM_F_CAPPED), then extended-ACK attributes when NLM_F_ACK_TLVS.
import type { Cidr } from './addr.ts';
import { formatIPv4, formatIPv6, formatMac } from './addr.ts';

export const NLMSG_HDRLEN = 16;
export const IFINFOMSG_LEN = 16;
export const IFADDRMSG_LEN = 8;

export const NLMSG_ERROR = 2,
  NLMSG_DONE = 3;
export const RTM_NEWLINK = 16,
  RTM_DELLINK = 17,
  RTM_GETLINK = 18;
export const RTM_NEWADDR = 20,
  RTM_DELADDR = 21,
  RTM_GETADDR = 22;

export const NLM_F_REQUEST = 0x1,
  NLM_F_ACK = 0x4;
export const NLM_F_CAPPED = 0x100,
  NLM_F_ACK_TLVS = 0x200; // on NLMSG_ERROR replies
export const NLM_F_EXCL = 0x200,
  NLM_F_CREATE = 0x400,
  NLM_F_DUMP = 0x300;
/** Create a new object, failing if it exists: REQUEST|ACK|CREATE|EXCL. */
export const FLAGS_ADD = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL; // 0x605
export const FLAGS_DEL = NLM_F_REQUEST | NLM_F_ACK; // 0x005

export const AF_UNSPEC = 0,
  AF_INET = 2,
  AF_INET6 = 10;

export const IFLA_ADDRESS = 1,
  IFLA_IFNAME = 3,
  IFLA_MTU = 4,
  IFLA_LINK = 5,
  IFLA_OPERSTATE = 16;
export const IFLA_LINKINFO = 18,
  IFLA_CARRIER = 33;
export const IFLA_INFO_KIND = 1,
  IFLA_INFO_DATA = 2;
export const IFLA_MACVLAN_MODE = 1,
  MACVLAN_MODE_BRIDGE = 4;

export const IFA_ADDRESS = 1,
  IFA_LOCAL = 2,
  IFA_LABEL = 3,
  IFA_FLAGS = 8;
export const IFA_F_NODAD = 0x02;

export const NLMSGERR_ATTR_MSG = 1; // linux/netlink.h: extended ACK error string

// Multicast groups, as bits for sockaddr_nl.nl_groups (RTMGRP_*) = 1 << (RTNLGRP_* - 1).
export const RTMGRP_LINK = 0x1,
  RTMGRP_IPV4_IFADDR = 0x10,
  RTMGRP_IPV6_IFADDR = 0x100;

const align4 = (n: number) => (n + 3) & ~3;

/** One rtattr, padded to 4 bytes. */
export function rtattr(type: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(align4(4 + payload.length));
  const dv = new DataView(out.buffer);
  dv.setUint16(0, 4 + payload.length, true);
  dv.setUint16(2, type, true);
  out.set(payload, 4);
  return out;
}

export const u32 = (v: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
};
export const cstr = (s: string) => {
  const t = Buffer.from(s, 'utf8');
  const b = new Uint8Array(t.length + 1);
  b.set(t);
  return b;
};

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A nested attribute: its payload is other attributes (plain type, as iproute2 sends). */
export function nest(type: number, attrs: Uint8Array[]): Uint8Array {
  return rtattr(type, concat(attrs));
}

export function nlmsg(type: number, flags: number, seq: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(NLMSG_HDRLEN + payload.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, out.length, true);
  dv.setUint16(4, type, true);
  dv.setUint16(6, flags, true);
  dv.setUint32(8, seq >>> 0, true);
  dv.setUint32(12, 0, true); // pid 0: the kernel fills in ours
  out.set(payload, NLMSG_HDRLEN);
  return out;
}

export function ifinfomsg(m: {
  family?: number;
  type?: number;
  index?: number;
  flags?: number;
  change?: number;
}): Uint8Array {
  const out = new Uint8Array(IFINFOMSG_LEN);
  const dv = new DataView(out.buffer);
  out[0] = m.family ?? AF_UNSPEC;
  dv.setUint16(2, m.type ?? 0, true);
  dv.setInt32(4, m.index ?? 0, true);
  dv.setUint32(8, m.flags ?? 0, true);
  dv.setUint32(12, m.change ?? 0, true);
  return out;
}

export function ifaddrmsg(m: {
  family: number;
  prefixLength?: number;
  flags?: number;
  scope?: number;
  index?: number;
}): Uint8Array {
  const out = new Uint8Array(IFADDRMSG_LEN);
  out[0] = m.family;
  out[1] = m.prefixLength ?? 0;
  out[2] = m.flags ?? 0;
  out[3] = m.scope ?? 0;
  new DataView(out.buffer).setUint32(4, m.index ?? 0, true);
  return out;
}

// ---- requests ----

/** RTM_GETLINK for one link, by name (the kernel answers ENODEV when there is none). */
export function encodeGetLink(seq: number, ifname: string): Uint8Array {
  return nlmsg(RTM_GETLINK, NLM_F_REQUEST, seq, concat([ifinfomsg({}), rtattr(IFLA_IFNAME, cstr(ifname))]));
}

export function encodeGetLinkDump(seq: number): Uint8Array {
  return nlmsg(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq, ifinfomsg({}));
}

/** RTM_DELLINK by name. */
export function encodeDelLink(seq: number, ifname: string): Uint8Array {
  return nlmsg(RTM_DELLINK, FLAGS_DEL, seq, concat([ifinfomsg({}), rtattr(IFLA_IFNAME, cstr(ifname))]));
}

/** RTM_NEWLINK creating a bridge-mode macvlan `name` on `parentIndex` with `mac` (RFC 5798 7.3). */
export function encodeNewMacvlan(seq: number, name: string, parentIndex: number, mac: Uint8Array): Uint8Array {
  return nlmsg(
    RTM_NEWLINK,
    FLAGS_ADD,
    seq,
    concat([
      ifinfomsg({}),
      rtattr(IFLA_IFNAME, cstr(name)),
      rtattr(IFLA_LINK, u32(parentIndex)), // mandatory: EINVAL without it
      rtattr(IFLA_ADDRESS, mac.subarray(0, 6)),
      nest(IFLA_LINKINFO, [
        rtattr(IFLA_INFO_KIND, cstr('macvlan')),
        nest(IFLA_INFO_DATA, [rtattr(IFLA_MACVLAN_MODE, u32(MACVLAN_MODE_BRIDGE))]),
      ]),
    ]),
  );
}

/** RTM_NEWADDR / RTM_DELADDR. IPv4 carries IFA_LOCAL and IFA_ADDRESS (equal: no peer);
 *  IPv6 carries IFA_ADDRESS and, when adding, IFA_F_NODAD so the VIP is usable at once
 *  instead of tentative for the DAD period (RFC 4862 5.4; RFC 5798 8.2 expects it at once). */
export function encodeAddr(seq: number, add: boolean, index: number, cidr: Cidr): Uint8Array {
  const v6 = cidr.family === 6;
  const flags = add && v6 ? IFA_F_NODAD : 0;
  const attrs = v6
    ? [rtattr(IFA_ADDRESS, cidr.address), ...(add ? [rtattr(IFA_FLAGS, u32(flags))] : [])]
    : [rtattr(IFA_LOCAL, cidr.address), rtattr(IFA_ADDRESS, cidr.address)];
  const hdr = ifaddrmsg({ family: v6 ? AF_INET6 : AF_INET, prefixLength: cidr.prefixLength, flags, index });
  return nlmsg(add ? RTM_NEWADDR : RTM_DELADDR, add ? FLAGS_ADD : FLAGS_DEL, seq, concat([hdr, ...attrs]));
}

/** RTM_NEWNEIGH / RTM_DELNEIGH for the NIC's own unicast filter: family AF_BRIDGE with NTF_SELF
 *  on a non-bridge device reaches ndo_fdb_add, whose default (ndo_dflt_fdb_add) adds the MAC with
 *  dev_uc_add_excl; a device without a unicast filter is put in promiscuous mode by the core
 *  instead (__dev_set_rx_mode). ndmsg (12): family u8, pad, pad u16, ifindex s32, state u16,
 *  flags u8, type u8 (linux/neighbour.h). */
export const RTM_NEWNEIGH = 28,
  RTM_DELNEIGH = 29;
const AF_BRIDGE = 7,
  NUD_PERMANENT = 0x80,
  NTF_SELF = 0x02,
  NDA_LLADDR = 2;
export function encodeUnicastFilter(seq: number, add: boolean, index: number, mac: Uint8Array): Uint8Array {
  const ndm = new Uint8Array(12);
  const dv = new DataView(ndm.buffer);
  ndm[0] = AF_BRIDGE;
  dv.setInt32(4, index, true);
  dv.setUint16(8, NUD_PERMANENT, true);
  ndm[10] = NTF_SELF;
  const body = concat([ndm, rtattr(NDA_LLADDR, mac)]);
  return nlmsg(add ? RTM_NEWNEIGH : RTM_DELNEIGH, add ? FLAGS_ADD : FLAGS_DEL, seq, body);
}

export function encodeGetAddrDump(seq: number, family = AF_UNSPEC): Uint8Array {
  return nlmsg(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq, ifaddrmsg({ family }));
}

// ---- decoding ----

export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  payload: Uint8Array;
}

export type SplitResult =
  | { ok: true; messages: NlMessage[] }
  | { ok: false; reason: 'truncated'; messages: NlMessage[] };

/** Splits one datagram into messages. A bad length stops the walk and is reported. */
export function splitMessages(buf: Uint8Array): SplitResult {
  const messages: NlMessage[] = [];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = 0;
  while (at + NLMSG_HDRLEN <= buf.length) {
    const len = dv.getUint32(at, true);
    if (len < NLMSG_HDRLEN || at + len > buf.length) return { ok: false, reason: 'truncated', messages };
    messages.push({
      type: dv.getUint16(at + 4, true),
      flags: dv.getUint16(at + 6, true),
      seq: dv.getUint32(at + 8, true),
      pid: dv.getUint32(at + 12, true),
      payload: buf.subarray(at + NLMSG_HDRLEN, at + len),
    });
    at += align4(len);
  }
  return at >= buf.length ? { ok: true, messages } : { ok: false, reason: 'truncated', messages };
}

/** Attributes from `offset`; a later duplicate wins. Stops quietly at a malformed attribute. */
export function parseAttrs(buf: Uint8Array, offset: number): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = offset;
  while (at + 4 <= buf.length) {
    const len = dv.getUint16(at, true);
    if (len < 4 || at + len > buf.length) break;
    out.set(dv.getUint16(at + 2, true) & 0x3fff, buf.subarray(at + 4, at + len)); // strip NESTED/BYTEORDER
    at += align4(len);
  }
  return out;
}

const rdU32 = (b: Uint8Array | undefined) =>
  b && b.length >= 4 ? new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true) : undefined;
const rdStr = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('utf8').replace(/\0.*$/s, '') : undefined);

export interface NlError {
  errno: number;
  message: string;
}

/** NLMSG_ERROR payload: errno 0 is an ACK. `message` is the kernel's extended-ACK text, if any. */
export function decodeError(msg: NlMessage): NlError | null {
  const p = msg.payload;
  if (p.length < 4) return null;
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const errno = -dv.getInt32(0, true);
  let message = '';
  if (msg.flags & NLM_F_ACK_TLVS && p.length >= 4 + NLMSG_HDRLEN) {
    const origLen = dv.getUint32(4, true);
    const start = 4 + (msg.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : align4(origLen));
    message = rdStr(parseAttrs(p, start).get(NLMSGERR_ATTR_MSG)) ?? '';
  }
  return { errno, message };
}

export interface NlLink {
  index: number;
  flags: number;
  ifname: string;
  mac: string;
  mtu: number;
  operstate: number | undefined;
  carrier: number | undefined;
  kind: string | undefined;
}

/** RTM_NEWLINK / RTM_DELLINK payload, or null when too short. */
export function decodeLink(msg: NlMessage): NlLink | null {
  const p = msg.payload;
  if (p.length < IFINFOMSG_LEN) return null;
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const a = parseAttrs(p, IFINFOMSG_LEN);
  const addr = a.get(IFLA_ADDRESS);
  const info = a.get(IFLA_LINKINFO);
  const oper = a.get(IFLA_OPERSTATE);
  const carrier = a.get(IFLA_CARRIER);
  return {
    index: dv.getInt32(4, true),
    flags: dv.getUint32(8, true),
    ifname: rdStr(a.get(IFLA_IFNAME)) ?? '',
    mac:
      addr && addr.length === 6
        ? formatMac(addr)
        : addr
          ? [...addr].map((b) => b.toString(16).padStart(2, '0')).join(':')
          : '',
    mtu: rdU32(a.get(IFLA_MTU)) ?? 0,
    operstate: oper && oper.length >= 1 ? oper[0] : undefined,
    carrier: carrier && carrier.length >= 1 ? carrier[0] : undefined,
    kind: info ? rdStr(parseAttrs(info, 0).get(IFLA_INFO_KIND)) : undefined,
  };
}

export interface NlAddr {
  family: number;
  prefixLength: number;
  flags: number;
  scope: number;
  index: number;
  address: string;
  label: string | undefined;
}

/** RTM_NEWADDR / RTM_DELADDR payload, or null when too short or not IPv4/IPv6. The address
 *  reported is IFA_LOCAL when present (IPv4's own address), else IFA_ADDRESS. IFA_FLAGS, when
 *  present, supersedes the 8-bit ifa_flags. */
export function decodeAddr(msg: NlMessage): NlAddr | null {
  const p = msg.payload;
  if (p.length < IFADDRMSG_LEN) return null;
  const family = p[0];
  if (family !== AF_INET && family !== AF_INET6) return null;
  const a = parseAttrs(p, IFADDRMSG_LEN);
  const raw = a.get(IFA_LOCAL) ?? a.get(IFA_ADDRESS);
  const want = family === AF_INET ? 4 : 16;
  if (!raw || raw.length !== want) return null;
  return {
    family,
    prefixLength: p[1],
    scope: p[3],
    flags: rdU32(a.get(IFA_FLAGS)) ?? p[2],
    index: new DataView(p.buffer, p.byteOffset, p.byteLength).getUint32(4, true),
    address: family === AF_INET ? formatIPv4(raw) : formatIPv6(raw),
    label: rdStr(a.get(IFA_LABEL)),
  };
}
