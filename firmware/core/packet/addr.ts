// Address text <-> bytes. Pure; MACs are "aa:bb:cc:dd:ee:ff", IPs canonical (RFC 5952 for v6).
import type { Family } from './types.ts';
import { IPV4_ADDR_LEN, IPV6_ADDR_LEN, MAC_LEN } from './constants.ts';

const HEX = '0123456789abcdef';

/** "aa:bb:cc:dd:ee:ff" (also "-" separated, any case) to 6 bytes. Throws on bad input: callers
 * pass configuration that was already validated, so a bad MAC here is a programming error. */
export function parseMac(s: string): Uint8Array {
  const b = tryParseMac(s);
  if (!b) throw new TypeError(`not a MAC address: ${JSON.stringify(s)}`);
  return b;
}

/** parseMac for text that was not validated (driver arguments): undefined instead of a throw.
 * Same form: six two-digit groups, one separator throughout, no surrounding blanks. */
export function tryParseMac(s: string): Uint8Array | undefined {
  const m = /^([0-9a-f]{2})([:-])([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i.exec(s);
  return m ? Uint8Array.from([m[1], m[3], m[4], m[5], m[6], m[7]], (h) => parseInt(h, 16)) : undefined;
}

export function formatMac(b: Uint8Array): string {
  if (b.length !== MAC_LEN) throw new RangeError(`a MAC is ${MAC_LEN} bytes, got ${b.length}`);
  return formatLinkAddr(b);
}

/** Any link-layer address (a MAC, a 20-byte IPoIB address, an empty one) as lower-case
 * two-digit hex groups joined by ":". */
export function formatLinkAddr(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (i ? ':' : '') + HEX[b[i] >> 4] + HEX[b[i] & 15];
  return s;
}

/** Dotted quad to 4 bytes; undefined unless exactly four decimal parts 0..255. */
export function parseIpv4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(IPV4_ADDR_LEN);
  for (let i = 0; i < 4; i++) {
    // No leading zeros: "010" is octal to inet_aton and decimal to others (inet_pton refuses it).
    if (!/^(0|[1-9][0-9]{0,2})$/.test(parts[i])) return undefined;
    const v = Number(parts[i]);
    if (v > 255) return undefined;
    out[i] = v;
  }
  return out;
}

/** Any RFC 4291 2.2 text form to 16 bytes ("::" once, a dotted quad only as the last 32 bits);
 * undefined when malformed or carrying a zone id. */
export function parseIpv6(s: string): Uint8Array | undefined {
  if (s.length > 45 || s.length < 2) return undefined;
  const out = new Uint8Array(IPV6_ADDR_LEN);
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (text: string): number[] | undefined => {
    if (text === '') return [];
    const words: number[] = [];
    const parts = text.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIpv4(p);
        if (!v4) return undefined;
        words.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (/^[0-9a-f]{1,4}$/i.test(p)) {
        words.push(parseInt(p, 16));
      } else {
        return undefined;
      }
    }
    return words;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return undefined;
  // A dotted quad may only end the address.
  if (halves.length === 2 && halves[0].includes('.')) return undefined;
  const n = head.length + tail.length;
  if (halves.length === 1 ? n !== 8 : n > 7) return undefined;
  head.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 255;
  });
  tail.forEach((w, i) => {
    const j = 8 - tail.length + i;
    out[2 * j] = w >> 8;
    out[2 * j + 1] = w & 255;
  });
  return out;
}

/** Text to family and bytes; undefined when it is neither a dotted quad nor an IPv6 address
 * (zone ids such as "%eth0" are refused: the interface is configured separately). */
export function parseIp(s: string): { family: Family; bytes: Uint8Array } | undefined {
  if (typeof s !== 'string') return undefined;
  if (s.includes(':')) {
    const bytes = parseIpv6(s);
    return bytes && { family: 6, bytes };
  }
  const bytes = parseIpv4(s);
  return bytes && { family: 4, bytes };
}

/** 4 or 16 bytes to canonical text. IPv6 per RFC 5952 4: lower case, no leading zeros, the
 * longest run (first on a tie) of two or more zero groups as "::"; IPv4-mapped in mixed form (5). */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === IPV4_ADDR_LEN) return formatIpv4(bytes);
  if (bytes.length !== IPV6_ADDR_LEN) throw new RangeError(`an IP address is 4 or 16 bytes, got ${bytes.length}`);
  return formatIpv6(bytes);
}

export function formatIpv4(bytes: Uint8Array): string {
  if (bytes.length !== IPV4_ADDR_LEN) throw new RangeError(`an IPv4 address is 4 bytes, got ${bytes.length}`);
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

/** RFC 5952 4 text of 16 bytes. `mappedAsDotted: false` writes IPv4-mapped addresses in hex too
 * (::ffff:c000:201), the form the drivers and the configuration have always printed. */
export function formatIpv6(bytes: Uint8Array, opts: { mappedAsDotted?: boolean } = {}): string {
  if (bytes.length !== IPV6_ADDR_LEN) throw new RangeError(`an IPv6 address is 16 bytes, got ${bytes.length}`);
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((bytes[2 * i] << 8) | bytes[2 * i + 1]);
  if (
    (opts.mappedAsDotted ?? true) &&
    w[0] === 0 &&
    w[1] === 0 &&
    w[2] === 0 &&
    w[3] === 0 &&
    w[4] === 0 &&
    w[5] === 0xffff
  ) {
    return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  }
  let best = -1,
    bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(w);
  return `${hex(w.slice(0, best))}::${hex(w.slice(best + bestLen))}`;
}

export interface IpPrefix {
  family: Family;
  bytes: Uint8Array;
  prefixLength: number;
}

/** "192.0.2.10/24" or "2001:db8::1/64" to address and prefix length; a bare address gets the
 * host prefix (32 / 128). Undefined when the address is not one parseIp takes or the length is
 * not 1-3 decimal digits within the family's width. */
export function parseIpPrefix(s: string): IpPrefix | undefined {
  if (typeof s !== 'string') return undefined;
  const slash = s.indexOf('/');
  const ip = parseIp(slash < 0 ? s : s.slice(0, slash));
  if (!ip) return undefined;
  const max = ip.family === 4 ? 32 : 128;
  if (slash < 0) return { ...ip, prefixLength: max };
  const len = s.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(len) || Number(len) > max) return undefined;
  return { ...ip, prefixLength: Number(len) };
}

/** Virtual router MAC (RFC 5798 7.3): 00:00:5e:00:01:VRID for IPv4, 00:00:5e:00:02:VRID for IPv6. */
export function virtualMac(vrid: number, family: Family): string {
  if (!Number.isInteger(vrid) || vrid < 1 || vrid > 255) throw new RangeError(`VRID must be 1..255, got ${vrid}`);
  return formatMac(Uint8Array.of(0x00, 0x00, 0x5e, 0x00, family === 4 ? 0x01 : 0x02, vrid));
}

/** Ethernet multicast MAC of an IP multicast group: 01:00:5e + low 23 bits (RFC 1112 6.4),
 * 33:33 + low 32 bits (RFC 2464 7). Throws for text that is not an IP address. */
export function multicastMac(group: string): string {
  const ip = parseIp(group);
  if (!ip) throw new TypeError(`not an IP address: ${JSON.stringify(group)}`);
  return formatMac(mappedGroupMac(ip.family, ip.bytes));
}

function mappedGroupMac(family: Family, b: Uint8Array): Uint8Array {
  if (family === 4) return Uint8Array.of(0x01, 0x00, 0x5e, b[1] & 0x7f, b[2], b[3]);
  return Uint8Array.of(0x33, 0x33, b[12], b[13], b[14], b[15]);
}

/** The Ethernet group address to join for `group`: the mapped MAC of an IP multicast group
 * (224.0.0.0/4, ff00::/8; as multicastMac), or a multicast MAC (I/G bit set) given as text.
 * Undefined for unicast addresses and anything else, so a caller cannot join a unicast MAC. */
export function ethernetGroupOf(group: string): Uint8Array | undefined {
  const ip = parseIp(group);
  if (ip) {
    const multicast = ip.family === 4 ? (ip.bytes[0] & 0xf0) === 0xe0 : ip.bytes[0] === 0xff;
    return multicast ? mappedGroupMac(ip.family, ip.bytes) : undefined;
  }
  const mac = tryParseMac(group);
  return mac && (mac[0] & 1) === 1 ? mac : undefined;
}

/** Solicited-node multicast address of an IPv6 address: ff02::1:ffXX:XXXX (RFC 4291 2.7.1). */
export function solicitedNodeAddress(ip: string): string {
  const p = parseIp(ip);
  if (p?.family !== 6) throw new TypeError(`not an IPv6 address: ${JSON.stringify(ip)}`);
  const out = new Uint8Array(IPV6_ADDR_LEN);
  out.set([0xff, 0x02], 0);
  out.set([0x01, 0xff, p.bytes[13], p.bytes[14], p.bytes[15]], 11);
  return formatIp(out);
}

/** Lower-case hex of bytes, the form fixtures and tests compare. */
export function toHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i] >> 4] + HEX[b[i] & 15];
  return s;
}

/** Hex (whitespace and "#"/"//" comments to end of line ignored) to bytes; throws on odd digits. */
export function fromHex(text: string): Uint8Array {
  const clean = text.replace(/(#|\/\/)[^\n]*/g, '').replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(clean)) throw new TypeError('not an even number of hex digits');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}
