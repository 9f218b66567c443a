// ARP for IPv4 over Ethernet (RFC 826) and the gratuitous form VRRP masters send (RFC 5798 6.4.2).
import type { ArpPacket, DropReason } from './types.ts';
import {
  ARP_HTYPE_ETHERNET,
  ARP_IPV4_LEN,
  ARP_OP_REPLY,
  ARP_OP_REQUEST,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  IPV4_ADDR_LEN,
  MAC_LEN,
} from './constants.ts';
import { formatIp, formatMac, parseIp, parseMac } from './addr.ts';
import { writeEthernet } from './ether.ts';

export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';
export const ZERO_MAC = '00:00:00:00:00:00';

/*
 * ARP packet, Ethernet / IPv4 (RFC 826):
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |    Hardware Type (1)          |    Protocol Type (0x0800)     |
 *    |  HLen (6)     |  PLen (4)     |     Operation (1 req, 2 rep)  |
 *    |             Sender Hardware Address (6 bytes)                 |
 *    |                               |  Sender Protocol Address (4)  |
 *    |                               |                               |
 *    |             Target Hardware Address (6 bytes)                 |
 *    |                  Target Protocol Address (4)                  |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */

export interface ArpOptions {
  op: 'request' | 'reply';
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
  /** Ethernet source; default senderMac. */
  ethSrc?: string;
  /** Ethernet destination; default broadcast for a request, targetMac for a reply. */
  ethDst?: string;
  vlan?: number;
}

function ipv4(s: string): Uint8Array {
  const p = parseIp(s);
  if (p?.family !== 4) throw new TypeError(`not an IPv4 address: ${JSON.stringify(s)}`);
  return p.bytes;
}

/** An ARP frame. Not padded to 60 bytes (drivers pad; see padFrame). */
export function encodeArp(o: ArpOptions): Uint8Array {
  const ethDst = o.ethDst ?? (o.op === 'request' ? BROADCAST_MAC : o.targetMac);
  const { frame, offset } = writeEthernet(ethDst, o.ethSrc ?? o.senderMac, o.vlan, ETHERTYPE_ARP, ARP_IPV4_LEN);
  const v = new DataView(frame.buffer, frame.byteOffset + offset, ARP_IPV4_LEN);
  v.setUint16(0, ARP_HTYPE_ETHERNET);
  v.setUint16(2, ETHERTYPE_IPV4);
  v.setUint8(4, MAC_LEN);
  v.setUint8(5, IPV4_ADDR_LEN);
  v.setUint16(6, o.op === 'request' ? ARP_OP_REQUEST : ARP_OP_REPLY);
  frame.set(parseMac(o.senderMac), offset + 8);
  frame.set(ipv4(o.senderIp), offset + 14);
  frame.set(parseMac(o.targetMac), offset + 18);
  frame.set(ipv4(o.targetIp), offset + 24);
  return frame;
}

/** Gratuitous ARP announcing `ip` at `mac`: a broadcast request with sender = target = ip
 * (RFC 5798 6.4.2; RFC 5227 3 prefers the request form). The target hardware address is zero, as
 * RFC 5227 2.3 asks; receivers ignore it. */
export function encodeGratuitousArp(o: { mac: string; ip: string; vlan?: number; targetMac?: string }): Uint8Array {
  return encodeArp({
    op: 'request',
    senderMac: o.mac,
    senderIp: o.ip,
    targetMac: o.targetMac ?? ZERO_MAC,
    targetIp: o.ip,
    ethDst: BROADCAST_MAC,
    vlan: o.vlan,
  });
}

export type ArpResult = { ok: true; arp: ArpPacket } | { ok: false; reason: DropReason; detail: string };

/** Parses the ARP payload at `offset`; trailing Ethernet padding is ignored. */
export function decodeArp(b: Uint8Array, offset: number): ArpResult {
  if (b.length - offset < ARP_IPV4_LEN)
    return { ok: false, reason: 'too-short', detail: `ARP needs ${ARP_IPV4_LEN} bytes, got ${b.length - offset}` };
  const u16 = (i: number) => (b[offset + i] << 8) | b[offset + i + 1];
  if (
    u16(0) !== ARP_HTYPE_ETHERNET ||
    u16(2) !== ETHERTYPE_IPV4 ||
    b[offset + 4] !== MAC_LEN ||
    b[offset + 5] !== IPV4_ADDR_LEN
  ) {
    return {
      ok: false,
      reason: 'bad-arp',
      detail: `htype ${u16(0)} ptype 0x${u16(2).toString(16)} hlen ${b[offset + 4]} plen ${b[offset + 5]}`,
    };
  }
  const op = u16(6);
  if (op !== ARP_OP_REQUEST && op !== ARP_OP_REPLY) return { ok: false, reason: 'bad-arp', detail: `operation ${op}` };
  return {
    ok: true,
    arp: {
      op,
      senderMac: formatMac(b.subarray(offset + 8, offset + 14)),
      senderIp: formatIp(b.subarray(offset + 14, offset + 18)),
      targetMac: formatMac(b.subarray(offset + 18, offset + 24)),
      targetIp: formatIp(b.subarray(offset + 24, offset + 28)),
    },
  };
}
