// Ethernet II framing with an optional IEEE 802.1Q tag, and the IPv4/IPv6 headers tandem sends.
import type { DropReason, EthernetHeader } from './types.ts';
import {
  ETH_HEADER_LEN,
  ETH_MIN_FRAME_LEN,
  ETHERTYPE_VLAN,
  IPV4_HEADER_LEN,
  IPV6_HEADER_LEN,
  MAC_LEN,
  VLAN_TAG_LEN,
} from './constants.ts';
import { formatMac, parseMac } from './addr.ts';
import { internetChecksum } from './checksum.ts';

/*
 * Ethernet II, optionally tagged (IEEE 802.3 3.1.1, IEEE 802.1Q 9.6):
 *    +--------------+--------------+[------+---------------]+-----------+---------
 *    | Destination 6| Source 6     |[TPID 2| PCP,DEI,VID 2 ]| EtherType | payload
 *    +--------------+--------------+[0x8100+---------------]+-----------+---------
 */

/** Allocates a frame of header + `payloadLen` bytes and writes the Ethernet header.
 * Returns the frame and the payload offset. */
export function writeEthernet(
  dst: string,
  src: string,
  vlan: number | undefined,
  etherType: number,
  payloadLen: number,
): { frame: Uint8Array; offset: number } {
  const tagged = vlan !== undefined;
  if (tagged && (!Number.isInteger(vlan) || vlan < 0 || vlan > 4094))
    throw new RangeError(`VLAN id must be 0..4094, got ${vlan}`);
  const offset = ETH_HEADER_LEN + (tagged ? VLAN_TAG_LEN : 0);
  const frame = new Uint8Array(offset + payloadLen);
  frame.set(parseMac(dst), 0);
  frame.set(parseMac(src), MAC_LEN);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (tagged) {
    view.setUint16(12, ETHERTYPE_VLAN);
    view.setUint16(14, vlan & 0x0fff); // PCP 0, DEI 0
  }
  view.setUint16(offset - 2, etherType);
  return { frame, offset };
}

export type EthernetResult =
  | { ok: true; eth: EthernetHeader; offset: number }
  | { ok: false; reason: DropReason; detail: string };

/** Reads the Ethernet header and one optional 802.1Q tag. `eth.etherType` is the inner type. */
export function readEthernet(b: Uint8Array): EthernetResult {
  if (b.length < ETH_HEADER_LEN) return { ok: false, reason: 'too-short', detail: `${b.length}-byte frame` };
  const dst = formatMac(b.subarray(0, 6)),
    src = formatMac(b.subarray(6, 12));
  let etherType = (b[12] << 8) | b[13];
  let offset = ETH_HEADER_LEN;
  if (etherType === ETHERTYPE_VLAN) {
    if (b.length < ETH_HEADER_LEN + VLAN_TAG_LEN)
      return { ok: false, reason: 'too-short', detail: 'truncated 802.1Q tag' };
    const vlan = ((b[14] << 8) | b[15]) & 0x0fff;
    etherType = (b[16] << 8) | b[17];
    offset += VLAN_TAG_LEN;
    return { ok: true, eth: { dst, src, vlan, etherType }, offset };
  }
  return { ok: true, eth: { dst, src, etherType }, offset };
}

/** Pads a frame with zeros to the Ethernet minimum (60 bytes without FCS). Most NIC drivers pad
 * for us; this is for transports that do not. */
export function padFrame(frame: Uint8Array, minLen = ETH_MIN_FRAME_LEN): Uint8Array {
  if (frame.length >= minLen) return frame;
  const out = new Uint8Array(minLen);
  out.set(frame);
  return out;
}

/*
 * IPv4 header (RFC 791 3.1), written without options:
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |Version|  IHL  |Type of Service|          Total Length         |
 *    |         Identification        |Flags|      Fragment Offset    |
 *    |  Time to Live |    Protocol   |         Header Checksum       |
 *    |                       Source Address                          |
 *    |                    Destination Address                        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
export interface Ipv4HeaderFields {
  tos: number;
  id: number;
  dontFragment: boolean;
  ttl: number;
  protocol: number;
  src: Uint8Array;
  dst: Uint8Array;
  payloadLen: number;
}

export function writeIpv4Header(frame: Uint8Array, offset: number, h: Ipv4HeaderFields): void {
  const v = new DataView(frame.buffer, frame.byteOffset + offset, IPV4_HEADER_LEN);
  v.setUint8(0, 0x45);
  v.setUint8(1, h.tos & 0xff);
  v.setUint16(2, IPV4_HEADER_LEN + h.payloadLen);
  v.setUint16(4, h.id & 0xffff);
  v.setUint16(6, h.dontFragment ? 0x4000 : 0);
  v.setUint8(8, h.ttl & 0xff);
  v.setUint8(9, h.protocol);
  v.setUint16(10, 0);
  frame.set(h.src, offset + 12);
  frame.set(h.dst, offset + 16);
  v.setUint16(10, internetChecksum(frame.subarray(offset, offset + IPV4_HEADER_LEN)));
}

/*
 * IPv6 header (RFC 8200 3):
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |Version| Traffic Class |           Flow Label                  |
 *    |         Payload Length        |  Next Header  |   Hop Limit   |
 *    |                   Source Address (128 bits)                   |
 *    |                Destination Address (128 bits)                 |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
export interface Ipv6HeaderFields {
  trafficClass: number;
  flowLabel: number;
  nextHeader: number;
  hopLimit: number;
  src: Uint8Array;
  dst: Uint8Array;
  payloadLen: number;
}

export function writeIpv6Header(frame: Uint8Array, offset: number, h: Ipv6HeaderFields): void {
  const v = new DataView(frame.buffer, frame.byteOffset + offset, IPV6_HEADER_LEN);
  v.setUint32(0, ((6 << 28) | ((h.trafficClass & 0xff) << 20) | (h.flowLabel & 0xfffff)) >>> 0);
  v.setUint16(4, h.payloadLen);
  v.setUint8(6, h.nextHeader);
  v.setUint8(7, h.hopLimit & 0xff);
  frame.set(h.src, offset + 8);
  frame.set(h.dst, offset + 24);
}
