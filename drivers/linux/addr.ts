// Address text <-> bytes for the drivers. Decoders return null on bad input rather than throwing.
import { isIPv4, isIPv6 } from 'node:net';

/** "00:00:5e:00:01:33" (also '-' separated, any case) -> 6 bytes, or null. */
export function parseMac(text: string): Uint8Array | null {
  const parts = text.trim().split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{1,2}$/.test(p))) return null;
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

export function formatMac(bytes: Uint8Array): string {
  return [...bytes.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function parseIPv4(text: string): Uint8Array | null {
  if (!isIPv4(text)) return null;
  return Uint8Array.from(text.split('.').map(Number));
}

export function parseIPv6(text: string): Uint8Array | null {
  if (!isIPv6(text)) return null;
  let s = text;
  // An embedded dotted quad ("::ffff:192.0.2.1") becomes two hex groups.
  const dot = s.lastIndexOf('.');
  if (dot >= 0) {
    const colon = s.lastIndexOf(':');
    const v4 = parseIPv4(s.slice(colon + 1));
    if (!v4) return null;
    s = `${s.slice(0, colon + 1)}${((v4[0] << 8) | v4[1]).toString(16)}:${((v4[2] << 8) | v4[3]).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) return null;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => { const v = parseInt(g, 16); out[2 * i] = v >> 8; out[2 * i + 1] = v & 0xff; });
  return out;
}

export function formatIPv4(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/** RFC 5952 text: lower case, the longest run (>= 2) of zero groups as "::", first run on a tie. */
export function formatIPv6(b: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[2 * i] << 8) | b[2 * i + 1]);
  let bestAt = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestAt = i; bestLen = j - i; }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (bestAt < 0) return hex(g);
  return `${hex(g.slice(0, bestAt))}::${hex(g.slice(bestAt + bestLen))}`;
}

export interface Cidr { family: 4 | 6; address: Uint8Array; prefixLength: number; text: string }

/** "192.0.2.1/24" or "2001:db8::1/64" (a bare address gets /32 or /128) -> parts, or null. */
export function parseCidr(text: string): Cidr | null {
  const [addr, plen, extra] = text.trim().split('/');
  if (extra !== undefined) return null;
  const v4 = parseIPv4(addr);
  const v6 = v4 ? null : parseIPv6(addr);
  if (!v4 && !v6) return null;
  const max = v4 ? 32 : 128;
  const prefixLength = plen === undefined ? max : /^\d{1,3}$/.test(plen) ? Number(plen) : NaN;
  if (!(prefixLength >= 0 && prefixLength <= max)) return null;
  const address = (v4 ?? v6)!;
  return { family: v4 ? 4 : 6, address, prefixLength, text: `${v4 ? formatIPv4(address) : formatIPv6(address)}/${prefixLength}` };
}

/** The Ethernet multicast MAC of an IP group (RFC 1112 6.4: 01:00:5e + low 23 bits; RFC 2464 7:
 *  33:33 + low 32 bits). A MAC given as text is returned as is when it is multicast. */
export function multicastMac(group: string): Uint8Array | null {
  const v4 = parseIPv4(group);
  if (v4) return v4[0] >= 224 && v4[0] <= 239 ? Uint8Array.of(0x01, 0x00, 0x5e, v4[1] & 0x7f, v4[2], v4[3]) : null;
  const v6 = parseIPv6(group);
  if (v6) return v6[0] === 0xff ? Uint8Array.of(0x33, 0x33, v6[12], v6[13], v6[14], v6[15]) : null;
  const mac = parseMac(group);
  return mac && (mac[0] & 1) === 1 ? mac : null;
}
