// IPv6 Neighbor Discovery messages VRRP needs (RFC 4861 4.3, 4.4, 4.6.1): unsolicited Neighbor
// Advertisements on becoming master (RFC 5798 6.4.2) and Neighbor Solicitations for tests.
import type { DropReason, NeighborPacket } from './types.ts';
import {
  ETHERTYPE_IPV6,
  ICMPV6_NEIGHBOR_ADVERT,
  ICMPV6_NEIGHBOR_SOLICIT,
  IPPROTO_ICMPV6,
  IPV6_ADDR_LEN,
  IPV6_HEADER_LEN,
  MAC_LEN,
  ND_HOP_LIMIT,
  ND_LLA_OPTION_LEN,
  ND_MESSAGE_LEN,
  ND_NA_FLAG_OVERRIDE,
  ND_NA_FLAG_ROUTER,
  ND_NA_FLAG_SOLICITED,
  ND_OPT_SOURCE_LLA,
  ND_OPT_TARGET_LLA,
} from './constants.ts';
import { formatIp, formatMac, multicastMac, parseIp, parseMac, solicitedNodeAddress } from './addr.ts';
import { internetChecksum, pseudoHeaderSumV6 } from './checksum.ts';
import { writeEthernet, writeIpv6Header } from './ether.ts';

export const ALL_NODES_V6 = 'ff02::1';

/*
 * Neighbor Advertisement (RFC 4861 4.4) / Neighbor Solicitation (4.3) with one link-layer option:
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |     Type      |     Code      |          Checksum             |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |R|S|O|                     Reserved                            |  (NS: all Reserved)
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                       Target Address (16 bytes)               |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |     Type      |    Length     |    Link-Layer Address ...     |  (option, RFC 4861 4.6.1)
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * The checksum covers the IPv6 pseudo-header (RFC 4443 2.3).
 */

function ipv6(s: string): Uint8Array {
  const p = parseIp(s);
  if (p?.family !== 6) throw new TypeError(`not an IPv6 address: ${JSON.stringify(s)}`);
  return p.bytes;
}

function encodeNd(
  type: 135 | 136,
  flags: number,
  srcMac: string,
  ethDst: string,
  src: string,
  dst: string,
  target: string,
  option: { type: number; mac: string } | undefined,
  vlan: number | undefined,
): Uint8Array {
  const len = ND_MESSAGE_LEN + (option ? ND_LLA_OPTION_LEN : 0);
  const { frame, offset } = writeEthernet(ethDst, srcMac, vlan, ETHERTYPE_IPV6, IPV6_HEADER_LEN + len);
  const s = ipv6(src),
    d = ipv6(dst);
  writeIpv6Header(frame, offset, {
    trafficClass: 0,
    flowLabel: 0,
    nextHeader: IPPROTO_ICMPV6,
    hopLimit: ND_HOP_LIMIT,
    src: s,
    dst: d,
    payloadLen: len,
  });
  const o = offset + IPV6_HEADER_LEN;
  frame[o] = type;
  frame[o + 4] = flags;
  frame.set(ipv6(target), o + 8);
  if (option) {
    frame[o + ND_MESSAGE_LEN] = option.type;
    frame[o + ND_MESSAGE_LEN + 1] = ND_LLA_OPTION_LEN / 8;
    frame.set(parseMac(option.mac), o + ND_MESSAGE_LEN + 2);
  }
  const msg = frame.subarray(o, o + len);
  const sum = internetChecksum(msg, pseudoHeaderSumV6(s, d, IPPROTO_ICMPV6, len));
  frame[o + 2] = sum >> 8;
  frame[o + 3] = sum & 0xff;
  return frame;
}

export interface NeighborAdvertOptions {
  srcMac: string;
  /** IPv6 source: the router's link-local, never one derived from the virtual MAC (RFC 9568 7.4). */
  src: string;
  /** Default ff02::1 (unsolicited, RFC 4861 7.2.6). */
  dst?: string;
  /** Default the multicast MAC of dst; give it for a unicast dst. */
  dstMac?: string;
  target: string;
  /** Default true: VRRP routers advertise with R set (RFC 5798 6.4.2). */
  router?: boolean;
  /** Default false; must be false to a multicast destination (RFC 4861 4.4). */
  solicited?: boolean;
  /** Default true: the new master must override caches (RFC 4861 7.2.6). */
  override?: boolean;
  /** Target Link-Layer Address; default srcMac. */
  linkAddr?: string;
  vlan?: number;
}

/** An unsolicited Neighbor Advertisement frame for `target`, hop limit 255. */
export function encodeNeighborAdvert(o: NeighborAdvertOptions): Uint8Array {
  const dst = o.dst ?? ALL_NODES_V6;
  const flags =
    ((o.router ?? true) ? ND_NA_FLAG_ROUTER : 0) |
    (o.solicited ? ND_NA_FLAG_SOLICITED : 0) |
    ((o.override ?? true) ? ND_NA_FLAG_OVERRIDE : 0);
  return encodeNd(
    ICMPV6_NEIGHBOR_ADVERT,
    flags,
    o.srcMac,
    o.dstMac ?? multicastMac(dst),
    o.src,
    dst,
    o.target,
    { type: ND_OPT_TARGET_LLA, mac: o.linkAddr ?? o.srcMac },
    o.vlan,
  );
}

export interface NeighborSolicitOptions {
  srcMac: string;
  /** "::" for Duplicate Address Detection, which carries no Source Link-Layer option (RFC 4861 4.3). */
  src: string;
  /** Default the target's solicited-node multicast address. */
  dst?: string;
  dstMac?: string;
  target: string;
  vlan?: number;
}

/** A Neighbor Solicitation frame (tests and address resolution probes). */
export function encodeNeighborSolicit(o: NeighborSolicitOptions): Uint8Array {
  const dst = o.dst ?? solicitedNodeAddress(o.target);
  const dad = formatIp(ipv6(o.src)) === '::';
  return encodeNd(
    ICMPV6_NEIGHBOR_SOLICIT,
    0,
    o.srcMac,
    o.dstMac ?? multicastMac(dst),
    o.src,
    dst,
    o.target,
    dad ? undefined : { type: ND_OPT_SOURCE_LLA, mac: o.srcMac },
    o.vlan,
  );
}

export type NdResult = { ok: true; nd: NeighborPacket } | { ok: false; reason: DropReason; detail: string };

/**
 * Validates an NS or NA per RFC 4861 7.1.1 / 7.1.2 (the caller checked the hop limit): checksum,
 * code 0, length, target not multicast, every option of non-zero length inside the message,
 * S clear towards multicast (NA), no source link-layer option from "::" (NS).
 */
export function decodeNd(msg: Uint8Array, src: Uint8Array, dst: Uint8Array): NdResult {
  if (msg.length < ND_MESSAGE_LEN)
    return { ok: false, reason: 'too-short', detail: `ND message of ${msg.length} bytes` };
  const type = msg[0];
  if (type !== ICMPV6_NEIGHBOR_SOLICIT && type !== ICMPV6_NEIGHBOR_ADVERT)
    return { ok: false, reason: 'not-vrrp', detail: `ICMPv6 type ${type}` };
  if (internetChecksum(msg, pseudoHeaderSumV6(src, dst, IPPROTO_ICMPV6, msg.length)) !== 0) {
    return { ok: false, reason: 'bad-icmpv6', detail: 'ICMPv6 checksum wrong' };
  }
  if (msg[1] !== 0) return { ok: false, reason: 'bad-icmpv6', detail: `code ${msg[1]}` };
  const target = msg.subarray(8, 8 + IPV6_ADDR_LEN);
  if (target[0] === 0xff) return { ok: false, reason: 'bad-icmpv6', detail: 'multicast target' };
  const wanted = type === ICMPV6_NEIGHBOR_SOLICIT ? ND_OPT_SOURCE_LLA : ND_OPT_TARGET_LLA;
  let linkAddr: string | undefined;
  for (let o = ND_MESSAGE_LEN; o < msg.length; ) {
    if (msg.length - o < 2) return { ok: false, reason: 'bad-icmpv6', detail: 'truncated option' };
    const optLen = msg[o + 1] * 8;
    if (optLen === 0) return { ok: false, reason: 'bad-icmpv6', detail: 'option of length 0' };
    if (o + optLen > msg.length) return { ok: false, reason: 'bad-icmpv6', detail: 'option past the end' };
    if (msg[o] === wanted && optLen >= 2 + MAC_LEN && linkAddr === undefined)
      linkAddr = formatMac(msg.subarray(o + 2, o + 2 + MAC_LEN));
    o += optLen;
  }
  const nd: NeighborPacket = { type, src: formatIp(src), dst: formatIp(dst), target: formatIp(target) };
  if (type === ICMPV6_NEIGHBOR_ADVERT) {
    const f = msg[4];
    nd.router = (f & ND_NA_FLAG_ROUTER) !== 0;
    nd.solicited = (f & ND_NA_FLAG_SOLICITED) !== 0;
    nd.override = (f & ND_NA_FLAG_OVERRIDE) !== 0;
    if (nd.solicited && dst[0] === 0xff)
      return { ok: false, reason: 'bad-icmpv6', detail: 'solicited NA to a multicast address' };
  } else if (nd.src === '::') {
    if (linkAddr !== undefined)
      return { ok: false, reason: 'bad-icmpv6', detail: 'DAD NS with a source link-layer option' };
    if (!(dst[0] === 0xff && dst[1] === 0x02 && dst[11] === 0x01 && dst[12] === 0xff)) {
      return { ok: false, reason: 'bad-icmpv6', detail: 'DAD NS not to a solicited-node address' };
    }
  }
  if (linkAddr !== undefined) nd.linkAddr = linkAddr;
  return { ok: true, nd };
}
