// Small pure IP helpers for the election tie-break (RFC 5798 6.4.3: "the primary IPvX address of
// the sender greater than the local primary IPvX address") and the address-list check (7.1).
// Own parser on purpose: the state machine must not depend on the codecs in firmware/packet/.

/** Parses dotted-quad IPv4 or any RFC 4291 IPv6 text form to bytes; undefined if malformed. */
export function parseIp(text: string): Uint8Array | undefined {
  return text.includes(':') ? parseV6(text) : parseV4(text);
}

function parseV4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const s = parts[i];
    if (!/^\d{1,3}$/.test(s)) return undefined;
    const n = Number(s);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseV6(text: string): Uint8Array | undefined {
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);     // fe80::1%eth0: the zone is not part of the address
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (i === parts.length - 1 && p.includes('.')) {   // embedded IPv4 tail (::ffff:192.0.2.1)
        const v4 = parseV4(p);
        if (!v4) return undefined;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => { out[2 * i] = g >> 8; out[2 * i + 1] = g & 0xff; });
  return out;
}

/**
 * Compares two addresses as unsigned big-endian numbers: -1, 0 or 1. IPv4 sorts before IPv6 and
 * a malformed address before any valid one, so a bad string can never win a tie-break.
 */
export function compareIp(a: string, b: string): -1 | 0 | 1 {
  const x = parseIp(a), y = parseIp(b);
  if (!x || !y) return x ? 1 : y ? -1 : 0;
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
}

/** Same addresses, whatever the order or the text form (RFC 5798 7.1 address check). */
export function sameAddressSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const key = (s: string) => { const v = parseIp(s); return v ? Array.from(v).join('.') : `?${s}`; };
  const ka = a.map(key).sort(), kb = b.map(key).sort();
  return ka.every((k, i) => k === kb[i]);
}
