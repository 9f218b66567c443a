// IP address text for the configuration: strict parsing (no octal-looking IPv4, no zone ids) and
// the canonical text form of RFC 5952 (lower-case, no leading zeros, longest zero run as "::").
// The parsing itself is firmware/core/packet/addr.ts; this adds the reasons a person reads.
import { formatIpv4, formatIpv6, parseIp as parseAddress } from '../core/packet/addr.ts';

export type ParsedIp = { ok: true; family: 4 | 6; address: string; bytes: Uint8Array } | { ok: false; reason: string };

/** RFC 5952 section 4: the one text form for an IPv6 address (IPv4-mapped ones in hex too). */
export function formatIPv6(bytes: Uint8Array): string {
  return formatIpv6(bytes.subarray(0, 16), { mappedAsDotted: false });
}

/** Parses one IPv4 or IPv6 address (no prefix, no zone) into its canonical form. */
export function parseIp(text: string): ParsedIp {
  if (text.includes('%'))
    return { ok: false, reason: `"${text}": no %zone here, the instance's interface is the zone` };
  const ip = parseAddress(text);
  if (ip?.family === 4) return { ok: true, family: 4, address: formatIpv4(ip.bytes), bytes: ip.bytes };
  if (ip) return { ok: true, family: 6, address: formatIPv6(ip.bytes), bytes: ip.bytes };
  if (/^\d+(\.\d+){3}$/.test(text) && /(^|\.)0\d/.test(text)) {
    return { ok: false, reason: `"${text}": a leading zero is ambiguous (octal to some tools): write it without` };
  }
  if (/^[0-9a-fA-F:.]+\/\d+$/.test(text)) return { ok: false, reason: `"${text}": no /prefix here, only an address` };
  return { ok: false, reason: `"${text}" is not an IPv4 or IPv6 address` };
}

/**
 * Why an address cannot be a router's unicast address, or undefined when it can. Unspecified,
 * loopback, multicast, reserved/broadcast and IPv4-mapped addresses are never virtual addresses.
 */
export function notUnicast(family: 4 | 6, b: Uint8Array): string | undefined {
  if (family === 4) {
    if (b[0] === 0) return 'is in 0.0.0.0/8 ("this network")';
    if (b[0] === 127) return 'is a loopback address';
    if (b[0] >= 224 && b[0] <= 239) return 'is a multicast address';
    if (b[0] >= 240) return 'is reserved or broadcast';
    return undefined;
  }
  if (b.every((x) => x === 0)) return 'is the unspecified address';
  if (b.slice(0, 15).every((x) => x === 0) && b[15] === 1) return 'is the loopback address';
  if (b[0] === 0xff) return 'is a multicast address';
  if (b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff)
    return 'is IPv4-mapped: write the IPv4 address';
  return undefined;
}

/** fe80::/10 (RFC 4291 2.5.6). */
export function isLinkLocalV6(b: Uint8Array): boolean {
  return b[0] === 0xfe && (b[1] & 0xc0) === 0x80;
}
