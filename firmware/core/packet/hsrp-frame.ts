// Whole HSRP frames: Ethernet / IPv4 or IPv6 / UDP around an HSRP payload, and the receive side
// that frame.ts hands UDP datagrams to. Pure.
import type { Family } from './types.ts';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, IPV4_HEADER_LEN, IPV6_HEADER_LEN } from './constants.ts';
import { formatIp, multicastMac, parseIp } from './addr.ts';
import { internetChecksum, pseudoHeaderSumV4, pseudoHeaderSumV6 } from './checksum.ts';
import { writeEthernet, writeIpv4Header, writeIpv6Header } from './ether.ts';
import {
  decodeHsrpV1,
  decodeHsrpV2,
  HSRP_PORT,
  HSRP_V1_GROUP,
  HSRP_V1_VERSION,
  HSRP_V2_GROUP_V4,
  HSRP_V2_GROUP_V6,
  HSRP_V2_PORT_V6,
  type HsrpV1Message,
  type HsrpV2Message,
} from './hsrp.ts';
import type { DropReason } from './types.ts';

export const IPPROTO_UDP = 17;
const UDP_HEADER_LEN = 8;
/** RFC 2281 5.1: "The IP TTL field MUST be set to 1" (v1; Cisco sends v2 over IPv4 the same). */
export const HSRP_TTL_V4 = 1;
/** HSRPv2 over IPv6 to ff02::66: hop limit 255, as link-local control protocols do. */
export const HSRP_HOP_LIMIT_V6 = 255;
/** IPv4 TOS: precedence Internetwork Control, as Cisco sends HSRP. */
const HSRP_TOS = 0xc0;

/** Destination group and UDP port by version and family. */
export function hsrpDestination(version: 1 | 2, family: Family): { group: string; port: number } {
  if (family === 6) return { group: HSRP_V2_GROUP_V6, port: HSRP_V2_PORT_V6 };
  return { group: version === 1 ? HSRP_V1_GROUP : HSRP_V2_GROUP_V4, port: HSRP_PORT };
}

export interface HsrpFrameOptions {
  srcMac: string;
  family: Family;
  version: 1 | 2;
  src: string;
  /** The encoded HSRP message (encodeHsrpV1 / encodeHsrpV2). */
  payload: Uint8Array;
  vlan?: number;
  /** Default 1 (IPv4) or 255 (IPv6); other values only to build bad frames in tests. */
  ttl?: number;
}

/** Ethernet + IP + UDP (port -> same port, checksum filled in) around an HSRP payload. */
export function encodeHsrpFrame(o: HsrpFrameOptions): Uint8Array {
  const { group, port } = hsrpDestination(o.version, o.family);
  const src = parseIp(o.src);
  if (!src || src.family !== o.family) throw new TypeError(`src ${JSON.stringify(o.src)} is not IPv${o.family}`);
  const dst = parseIp(group)!.bytes;
  const udpLen = UDP_HEADER_LEN + o.payload.length;
  const ipLen = o.family === 4 ? IPV4_HEADER_LEN : IPV6_HEADER_LEN;
  const { frame, offset } = writeEthernet(
    multicastMac(group),
    o.srcMac,
    o.vlan,
    o.family === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6,
    ipLen + udpLen,
  );
  if (o.family === 4) {
    writeIpv4Header(frame, offset, {
      tos: HSRP_TOS,
      id: 0,
      dontFragment: false,
      ttl: o.ttl ?? HSRP_TTL_V4,
      protocol: IPPROTO_UDP,
      src: src.bytes,
      dst,
      payloadLen: udpLen,
    });
  } else {
    writeIpv6Header(frame, offset, {
      trafficClass: HSRP_TOS,
      flowLabel: 0,
      nextHeader: IPPROTO_UDP,
      hopLimit: o.ttl ?? HSRP_HOP_LIMIT_V6,
      src: src.bytes,
      dst,
      payloadLen: udpLen,
    });
  }
  const u = offset + ipLen;
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  dv.setUint16(u, port);
  dv.setUint16(u + 2, port);
  dv.setUint16(u + 4, udpLen);
  frame.set(o.payload, u + UDP_HEADER_LEN);
  const pseudo =
    o.family === 4
      ? pseudoHeaderSumV4(src.bytes, dst, IPPROTO_UDP, udpLen)
      : pseudoHeaderSumV6(src.bytes, dst, IPPROTO_UDP, udpLen);
  // RFC 768: a computed zero is sent as all ones (zero means "no checksum").
  dv.setUint16(u + 6, internetChecksum(frame.subarray(u, u + udpLen), pseudo) || 0xffff);
  return frame;
}

export type DecodedHsrpUdp =
  | {
      ok: true;
      family: Family;
      src: string;
      dst: string;
      ttl: number;
      version: 1 | 2;
      message: HsrpV1Message | HsrpV2Message;
      /** The UDP payload, for the MD5 check. */
      payload: Uint8Array;
    }
  | { ok: false; reason: DropReason; detail: string };

/**
 * A UDP datagram (the IP payload): HSRP when its destination port is 1985 (IPv4) or 2029 (IPv6),
 * otherwise 'not-vrrp'. The UDP checksum is not checked: a captured copy of a datagram a Linux
 * host sent with checksum offload (veth, most NICs' senders) carries only the pseudo-header sum,
 * and the Ethernet FCS has already checked the frame (the kernel's UDP socket would not check it
 * either for CHECKSUM_UNNECESSARY frames). TTL is not checked: a routed HSRP packet (TTL 1 on the
 * sender) never arrives. Never throws.
 */
export function decodeHsrpUdp(
  udp: Uint8Array,
  family: Family,
  src: Uint8Array,
  dst: Uint8Array,
  ttl: number,
): DecodedHsrpUdp {
  if (udp.length < UDP_HEADER_LEN) return { ok: false, reason: 'too-short', detail: `UDP of ${udp.length} bytes` };
  const dv = new DataView(udp.buffer, udp.byteOffset, udp.byteLength);
  const port = dv.getUint16(2);
  const want = family === 4 ? HSRP_PORT : HSRP_V2_PORT_V6;
  if (port !== want) return { ok: false, reason: 'not-vrrp', detail: `UDP port ${port}` };
  const len = dv.getUint16(4);
  if (len < UDP_HEADER_LEN || len > udp.length)
    return { ok: false, reason: 'bad-length', detail: `UDP length ${len}, ${udp.length} bytes present` };
  const payload = udp.subarray(UDP_HEADER_LEN, len);
  const base = { family, src: formatIp(src), dst: formatIp(dst), ttl, payload };
  if (payload.length > 0 && payload[0] === HSRP_V1_VERSION) {
    if (family !== 4) return { ok: false, reason: 'bad-version', detail: 'HSRPv1 over IPv6' };
    const r = decodeHsrpV1(payload);
    return r.ok ? { ok: true, ...base, version: 1, message: r.message } : r;
  }
  const r = decodeHsrpV2(payload);
  return r.ok ? { ok: true, ...base, version: 2, message: r.message } : r;
}
