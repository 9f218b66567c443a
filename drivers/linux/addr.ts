// Address text <-> bytes for the drivers: thin adapters over firmware/core/packet/addr.ts, the one
// implementation. They keep the drivers' contract: null on bad input, never a throw on text.
import {
  ethernetGroupOf,
  formatIpv4,
  formatIpv6,
  formatLinkAddr,
  parseIpPrefix,
  parseIpv4,
  parseIpv6,
  tryParseMac,
} from '../../firmware/core/packet/addr.ts';

/** "00:00:5e:00:01:33" (also '-' separated, any case, blanks around it ignored) -> 6 bytes, or null. */
export function parseMac(text: string): Uint8Array | null {
  return tryParseMac(text.trim()) ?? null;
}

/** The first 6 bytes as "aa:bb:cc:dd:ee:ff" (fewer groups when given fewer bytes). */
export function formatMac(bytes: Uint8Array): string {
  return formatLinkAddr(bytes.subarray(0, 6));
}

export function parseIPv4(text: string): Uint8Array | null {
  return parseIpv4(text) ?? null;
}

/** No zone ids ("fe80::1%eth0"): the interface is always passed separately. */
export function parseIPv6(text: string): Uint8Array | null {
  return parseIpv6(text) ?? null;
}

/** The first 4 bytes as a dotted quad. */
export function formatIPv4(b: Uint8Array): string {
  return formatIpv4(b.subarray(0, 4));
}

/** RFC 5952 text of the first 16 bytes; IPv4-mapped stays in hex (::ffff:c000:201), the form
 *  this driver has always reported. */
export function formatIPv6(b: Uint8Array): string {
  return formatIpv6(b.subarray(0, 16), { mappedAsDotted: false });
}

export interface Cidr {
  family: 4 | 6;
  address: Uint8Array;
  prefixLength: number;
  text: string;
}

/** "192.0.2.1/24" or "2001:db8::1/64" (a bare address gets /32 or /128; blanks around it are
 *  ignored) -> parts, or null. */
export function parseCidr(text: string): Cidr | null {
  const p = parseIpPrefix(text.trim());
  if (!p) return null;
  const addr = p.family === 4 ? formatIPv4(p.bytes) : formatIPv6(p.bytes);
  return { family: p.family, address: p.bytes, prefixLength: p.prefixLength, text: `${addr}/${p.prefixLength}` };
}

/** The Ethernet multicast MAC of an IP group (RFC 1112 6.4: 01:00:5e + low 23 bits; RFC 2464 7:
 *  33:33 + low 32 bits). A MAC given as text is returned as is when it is multicast. */
export function multicastMac(group: string): Uint8Array | null {
  return ethernetGroupOf(group) ?? null;
}
