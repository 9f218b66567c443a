// Small pure IP helpers for the election tie-break (RFC 5798 6.4.3: "the primary IPvX address of
// the sender greater than the local primary IPvX address") and the address-list check (7.1).
// The parsing is firmware/core/packet/addr.ts (pure, no I/O), so every part of tandem agrees on what
// an address is.
import { parseIpv4, parseIpv6 } from '../packet/addr.ts';

/** Dotted-quad IPv4 or any RFC 4291 IPv6 text form to bytes; undefined if malformed. An IPv6
 * zone ("fe80::1%eth0") is dropped: it names the link, it is not part of the address. */
export function parseIp(text: string): Uint8Array | undefined {
  if (!text.includes(':')) return parseIpv4(text);
  const zone = text.indexOf('%');
  return parseIpv6(zone >= 0 ? text.slice(0, zone) : text);
}

/**
 * Compares two addresses as unsigned big-endian numbers: -1, 0 or 1. IPv4 sorts before IPv6 and
 * a malformed address before any valid one, so a bad string can never win a tie-break.
 */
export function compareIp(a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0; // the same text is the same address (fast path)
  const x = parseIp(a),
    y = parseIp(b);
  if (!x || !y) return x ? 1 : y ? -1 : 0;
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
}

/** Same addresses, whatever the order or the text form (RFC 5798 7.1 address check). */
export function sameAddressSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  // Fast path: the codecs and the config both produce canonical text, usually in the same order.
  if (a.every((x, i) => x === b[i])) return true;
  const key = (s: string) => {
    const v = parseIp(s);
    return v ? Array.from(v).join('.') : `?${s}`;
  };
  const ka = a.map(key).sort(),
    kb = b.map(key).sort();
  return ka.every((k, i) => k === kb[i]);
}
