// Whole frames: VRRP advertisements inside Ethernet + IPv4/IPv6, and the receive-side classifier.
import type { ChecksumForm, Decoded, Family, VrrpAdvert } from './types.ts';
import { IPPROTO_VRRP, VRRP_GROUP_V4, VRRP_GROUP_V6 } from './types.ts';
import {
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  IPPROTO_ICMPV6,
  IPV4_HEADER_LEN,
  IPV6_HEADER_LEN,
  ND_HOP_LIMIT,
  VRRP_IPV4_TOS,
  VRRP_TTL,
} from './constants.ts';
import { formatIp, multicastMac, parseIp } from './addr.ts';
import { internetChecksum } from './checksum.ts';
import { readEthernet, writeEthernet, writeIpv4Header, writeIpv6Header } from './ether.ts';
import { decodeAdvert, encodeAdvert } from './vrrp.ts';
import { decodeArp } from './arp.ts';
import { decodeCarp, looksLikeCarp } from './carp.ts';
import { decodeNd } from './nd.ts';
import { decodeHsrpUdp, IPPROTO_UDP } from './hsrp-frame.ts';

export interface VrrpFrameOptions {
  /** Ethernet source: the virtual MAC (RFC 5798 7.3) or the NIC's own. */
  srcMac: string;
  /** Default the group's multicast MAC (01:00:5e:00:00:12 / 33:33:00:00:00:12). */
  dstMac?: string;
  vlan?: number;
  family: Family;
  /** The sender's primary address on the interface (RFC 5798 5.1.1.1 / 5.1.2.1: v6 link-local). */
  src: string;
  /** Default 224.0.0.18 / ff02::12; a unicast peer otherwise. */
  dst?: string;
  advert: VrrpAdvert;
  checksumForm?: ChecksumForm;
  /** Default 255 (RFC 5798 5.1.1.3); other values only to build bad frames in tests. */
  ttl?: number;
  /** IPv4 Type of Service, default 0xc0 (precedence Internetwork Control, as keepalived). */
  tos?: number;
  /** IPv4 Identification, default 0: the datagram is atomic (DF set, RFC 6864 4.1). */
  ipId?: number;
  /** IPv4 Don't Fragment, default true. */
  dontFragment?: boolean;
  /** IPv6 Traffic Class (default 0xc0, CS6 as for IPv4) and Flow Label (default 0). */
  trafficClass?: number;
  flowLabel?: number;
}

function ipOf(s: string, family: Family, what: string): Uint8Array {
  const p = parseIp(s);
  if (!p || p.family !== family) throw new TypeError(`${what} ${JSON.stringify(s)} is not IPv${family}`);
  return p.bytes;
}

/** A complete advertisement frame, ready for a raw (pcap/BPF) send. */
export function encodeVrrpFrame(o: VrrpFrameOptions): Uint8Array {
  const dst = o.dst ?? (o.family === 4 ? VRRP_GROUP_V4 : VRRP_GROUP_V6);
  const src = ipOf(o.src, o.family, 'src'),
    dstBytes = ipOf(dst, o.family, 'dst');
  const vrrp = encodeAdvert(o.advert, { family: o.family, src, dst: dstBytes, checksumForm: o.checksumForm });
  const ipLen = o.family === 4 ? IPV4_HEADER_LEN : IPV6_HEADER_LEN;
  const { frame, offset } = writeEthernet(
    o.dstMac ?? multicastMac(dst),
    o.srcMac,
    o.vlan,
    o.family === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6,
    ipLen + vrrp.length,
  );
  if (o.family === 4) {
    writeIpv4Header(frame, offset, {
      tos: o.tos ?? VRRP_IPV4_TOS,
      id: o.ipId ?? 0,
      dontFragment: o.dontFragment ?? true,
      ttl: o.ttl ?? VRRP_TTL,
      protocol: IPPROTO_VRRP,
      src,
      dst: dstBytes,
      payloadLen: vrrp.length,
    });
  } else {
    writeIpv6Header(frame, offset, {
      trafficClass: o.trafficClass ?? VRRP_IPV4_TOS,
      flowLabel: o.flowLabel ?? 0,
      nextHeader: IPPROTO_VRRP,
      hopLimit: o.ttl ?? VRRP_TTL,
      src,
      dst: dstBytes,
      payloadLen: vrrp.length,
    });
  }
  frame.set(vrrp, offset + ipLen);
  return frame;
}

/**
 * Classifies a received Ethernet frame: ARP, ND (NS/NA), or VRRP over IPv4/IPv6, each validated;
 * anything else is { ok: false, reason: 'not-vrrp' | 'bad-ethertype' }. Trailing Ethernet padding
 * is ignored (IP lengths rule). IPv6 extension headers are not walked: VRRP and ND packets carry
 * none, so a frame with one counts as 'not-vrrp'. Never throws, never reads past `bytes.length`.
 */
export function decodeFrame(bytes: Uint8Array): Decoded {
  const e = readEthernet(bytes);
  if (!e.ok) return e;
  const { eth, offset } = e;
  switch (eth.etherType) {
    case ETHERTYPE_ARP: {
      const r = decodeArp(bytes, offset);
      return r.ok ? { ok: true, kind: 'arp', eth, arp: r.arp } : r;
    }
    case ETHERTYPE_IPV4:
      return decodeIpv4(bytes, offset, eth);
    case ETHERTYPE_IPV6:
      return decodeIpv6(bytes, offset, eth);
    default:
      return {
        ok: false,
        reason: 'bad-ethertype',
        detail: `EtherType 0x${eth.etherType.toString(16).padStart(4, '0')}`,
      };
  }
}

type Eth = Extract<Decoded, { ok: true }>['eth'];

function decodeIpv4(b: Uint8Array, o: number, eth: Eth): Decoded {
  const avail = b.length - o;
  if (avail < IPV4_HEADER_LEN)
    return { ok: false, reason: 'too-short', detail: `IPv4 header needs 20 bytes, got ${avail}` };
  const version = b[o] >> 4,
    ihl = (b[o] & 0x0f) * 4;
  if (version !== 4)
    return { ok: false, reason: 'bad-ip-header', detail: `IP version ${version} in an IPv4 EtherType` };
  if (ihl < IPV4_HEADER_LEN) return { ok: false, reason: 'bad-ip-header', detail: `IHL ${ihl} bytes` };
  if (avail < ihl) return { ok: false, reason: 'too-short', detail: `IPv4 header of ${ihl} bytes, ${avail} present` };
  const totalLen = (b[o + 2] << 8) | b[o + 3];
  if (totalLen < ihl) return { ok: false, reason: 'bad-ip-header', detail: `total length ${totalLen} < IHL ${ihl}` };
  if (totalLen > avail)
    return { ok: false, reason: 'too-short', detail: `total length ${totalLen}, ${avail} bytes present` };
  if (internetChecksum(b.subarray(o, o + ihl)) !== 0)
    return { ok: false, reason: 'bad-ip-checksum', detail: 'IPv4 header checksum wrong' };
  const frag = (b[o + 6] << 8) | b[o + 7];
  if (frag & 0x3fff) return { ok: false, reason: 'bad-ip-header', detail: 'fragment (MF or offset set)' };
  const protocol = b[o + 9];
  if (protocol === IPPROTO_UDP) {
    const h = decodeHsrpUdp(
      b.subarray(o + ihl, o + totalLen),
      4,
      b.slice(o + 12, o + 16),
      b.slice(o + 16, o + 20),
      b[o + 8],
    );
    return h.ok ? { ...h, kind: 'hsrp', eth } : h;
  }
  if (protocol !== IPPROTO_VRRP) return { ok: false, reason: 'not-vrrp', detail: `IP protocol ${protocol}` };
  const ttl = b[o + 8];
  // RFC 5798 7.1 / RFC 3768 7.1: a TTL below 255 means the packet was routed.
  if (ttl !== VRRP_TTL) return { ok: false, reason: 'bad-ttl', detail: `TTL ${ttl}` };
  const src = b.slice(o + 12, o + 16),
    dst = b.slice(o + 16, o + 20);
  return finishVrrp(b.subarray(o + ihl, o + totalLen), 4, src, dst, ttl, eth);
}

function decodeIpv6(b: Uint8Array, o: number, eth: Eth): Decoded {
  const avail = b.length - o;
  if (avail < IPV6_HEADER_LEN)
    return { ok: false, reason: 'too-short', detail: `IPv6 header needs 40 bytes, got ${avail}` };
  const version = b[o] >> 4;
  if (version !== 6)
    return { ok: false, reason: 'bad-ip-header', detail: `IP version ${version} in an IPv6 EtherType` };
  const payloadLen = (b[o + 4] << 8) | b[o + 5];
  if (IPV6_HEADER_LEN + payloadLen > avail) {
    return {
      ok: false,
      reason: 'too-short',
      detail: `payload length ${payloadLen}, ${avail - IPV6_HEADER_LEN} bytes present`,
    };
  }
  const nextHeader = b[o + 6],
    hopLimit = b[o + 7];
  const src = b.slice(o + 8, o + 24),
    dst = b.slice(o + 24, o + 40);
  const payload = b.subarray(o + IPV6_HEADER_LEN, o + IPV6_HEADER_LEN + payloadLen);
  if (nextHeader === IPPROTO_ICMPV6) {
    const type = payload.length > 0 ? payload[0] : -1;
    if (type !== 135 && type !== 136) return { ok: false, reason: 'not-vrrp', detail: `ICMPv6 type ${type}` };
    // RFC 4861 7.1.1 / 7.1.2: ND from off-link (hop limit below 255) is discarded.
    if (hopLimit !== ND_HOP_LIMIT) return { ok: false, reason: 'bad-ttl', detail: `ND hop limit ${hopLimit}` };
    const r = decodeNd(payload, src, dst);
    return r.ok ? { ok: true, kind: 'nd', eth, nd: r.nd } : r;
  }
  if (nextHeader === IPPROTO_UDP) {
    const h = decodeHsrpUdp(payload, 6, src, dst, hopLimit);
    return h.ok ? { ...h, kind: 'hsrp', eth } : h;
  }
  if (nextHeader !== IPPROTO_VRRP) return { ok: false, reason: 'not-vrrp', detail: `next header ${nextHeader}` };
  if (hopLimit !== VRRP_TTL) return { ok: false, reason: 'bad-ttl', detail: `hop limit ${hopLimit}` };
  return finishVrrp(payload, 6, src, dst, hopLimit, eth);
}

function finishVrrp(
  payload: Uint8Array,
  family: Family,
  src: Uint8Array,
  dst: Uint8Array,
  ttl: number,
  eth: Eth,
): Decoded {
  if (looksLikeCarp(payload, family)) {
    // CARP shares protocol 112, the group and the first byte with VRRPv2 (OpenBSD ip_carp.h).
    const c = decodeCarp(payload);
    if (!c.ok) return c;
    return { ok: true, kind: 'carp', eth, family, src: formatIp(src), dst: formatIp(dst), carp: c.advert };
  }
  const r = decodeAdvert(payload, { family, src, dst });
  if (!r.ok) return r;
  return {
    ok: true,
    kind: 'vrrp',
    eth,
    family,
    src: formatIp(src),
    dst: formatIp(dst),
    ttl,
    advert: r.advert,
    checksumForm: r.checksumForm,
  };
}
