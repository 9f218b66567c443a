// IP address text for the configuration: strict parsing (no octal-looking IPv4, no zone ids) and
// the canonical text form of RFC 5952 (lower-case, no leading zeros, longest zero run as "::").

export type ParsedIp =
  | { ok: true; family: 4 | 6; address: string; bytes: Uint8Array }
  | { ok: false; reason: string };

function parseV4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    // "010" means 8 to inet_aton and 10 to people: refuse it rather than guess.
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseV6(text: string): Uint8Array | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const words = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    const groups = s.split(':');
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i];
      if (i === groups.length - 1 && g.includes('.')) {
        const v4 = parseV4(g);
        if (!v4) return undefined;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return undefined;
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const head = words(halves[0]);
  const tail = halves.length === 2 ? words(halves[1]) : [];
  if (!head || !tail) return undefined;
  let all: number[];
  if (halves.length === 2) {
    const fill = 8 - head.length - tail.length;
    if (fill < 1) return undefined;
    all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  } else {
    all = head;
  }
  if (all.length !== 8) return undefined;
  const out = new Uint8Array(16);
  all.forEach((w, i) => { out[2 * i] = w >> 8; out[2 * i + 1] = w & 0xff; });
  return out;
}

/** RFC 5952 section 4: the one text form for an IPv6 address. */
export function formatIPv6(bytes: Uint8Array): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((bytes[2 * i] << 8) | bytes[2 * i + 1]);
  // Longest run of two or more zero words (the first on a tie) becomes "::" (RFC 5952 4.2).
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(w);
  return `${hex(w.slice(0, best))}::${hex(w.slice(best + bestLen))}`;
}

/** Parses one IPv4 or IPv6 address (no prefix, no zone) into its canonical form. */
export function parseIp(text: string): ParsedIp {
  if (text.includes('%')) return { ok: false, reason: `"${text}": no %zone here, the instance's interface is the zone` };
  const v4 = parseV4(text);
  if (v4) return { ok: true, family: 4, address: Array.from(v4).join('.'), bytes: v4 };
  const v6 = text.includes(':') ? parseV6(text) : undefined;
  if (v6) return { ok: true, family: 6, address: formatIPv6(v6), bytes: v6 };
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
  if (b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return 'is IPv4-mapped: write the IPv4 address';
  return undefined;
}

/** fe80::/10 (RFC 4291 2.5.6). */
export function isLinkLocalV6(b: Uint8Array): boolean {
  return b[0] === 0xfe && (b[1] & 0xc0) === 0x80;
}
