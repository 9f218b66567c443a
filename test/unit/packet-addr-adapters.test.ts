// One address parser: firmware/core/packet/addr.ts. The configuration, the VRRP tie-break and both
// drivers wrap it; these cross-checks hold them to the same answers, and node:net's isIP (what the
// drivers used before) serves as an independent referee for which text is an address.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isIP } from 'node:net';
import fc from 'fast-check';
import * as packet from '../../firmware/core/packet/addr.ts';
import * as config from '../../firmware/config/address.ts';
import * as vrrp from '../../firmware/core/vrrp/ip.ts';
import * as linux from '../../drivers/linux/addr.ts';
import * as bsd from '../../drivers/bsd/structs.ts';

const hex = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('hex') : String(b));

/** What each wrapper makes of `s`, as comparable hex (or "no"). */
function answers(s: string): Record<string, string> {
  const c = config.parseIp(s);
  const l = linux.parseIPv4(s) ?? linux.parseIPv6(s);
  const b = bsd.parseIPv4(s) ?? bsd.parseIPv6(s);
  return {
    packet: hex(packet.parseIp(s)?.bytes) ?? 'no',
    config: c.ok ? hex(c.bytes) : 'undefined',
    vrrp: hex(vrrp.parseIp(s)),
    linux: hex(l ?? undefined),
    bsd: hex(b ?? undefined),
  };
}

// Text near the edges: parts of IPv4 with and without leading zeros, groups of 1-5 hex digits,
// "::" anywhere, dotted quads anywhere, stray separators.
const v4part = fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.stringMatching(/^0[0-9]{1,2}$/));
const quad = fc.array(v4part, { minLength: 3, maxLength: 5 }).map((a) => a.join('.'));
const group = fc.oneof(fc.stringMatching(/^[0-9a-fA-F]{1,5}$/), quad);
const v6 = fc
  .tuple(fc.array(group, { maxLength: 9 }), fc.array(group, { maxLength: 9 }), fc.boolean())
  .map(([h, t, dbl]) => (dbl ? `${h.join(':')}::${t.join(':')}` : [...h, ...t].join(':')));
const junk = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:.'), maxLength: 46 });
// Valid IPv6 text in any of its forms: groups padded or not, any case, one run of zero groups
// (or none) as "::", the last 32 bits as a dotted quad or not.
const written6 = fc
  .tuple(
    fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 }),
    fc.boolean(),
    fc.boolean(),
    fc.boolean(),
    fc.nat(8),
    fc.nat(8),
  )
  .map(([w, pad, upper, dotted, from, len]) => {
    let g = w.map((x) => x.toString(16).padStart(pad ? 4 : 1, '0'));
    if (upper) g = g.map((x) => x.toUpperCase());
    if (dotted) g = [...g.slice(0, 6), `${w[6] >> 8}.${w[6] & 255}.${w[7] >> 8}.${w[7] & 255}`];
    const n = g.length,
      a = Math.min(from, n),
      b = Math.min(a + len, n);
    if (b - a < 1 || !w.slice(a, a + (b - a)).every((x) => x === 0) || (dotted && b > 6)) return g.join(':');
    return `${g.slice(0, a).join(':')}::${g.slice(b).join(':')}`;
  });
const written4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => b.join('.'));
// One character dropped, doubled or replaced: the near misses a parser must still judge alike.
const mutated = fc
  .tuple(
    fc.oneof(written6, written4),
    fc.nat(),
    fc.constantFrom('', ':', '.', '0', 'f', 'g', '::'),
    fc.constantFrom('drop', 'insert', 'replace'),
  )
  .map(([t, at, c, how]) => {
    const i = at % (t.length + 1);
    return how === 'drop'
      ? t.slice(0, i) + t.slice(i + 1)
      : how === 'insert'
        ? t.slice(0, i) + c + t.slice(i)
        : t.slice(0, i) + c + t.slice(i + 1);
  });
const text = fc.oneof(quad, v6, junk, written6, written4, mutated);

test('cross-check: every wrapper accepts the same text as packet.parseIp, and reads the same bytes', () => {
  fc.assert(
    fc.property(text, (s) => {
      const a = answers(s);
      const want = a.packet === 'undefined' ? 'undefined' : a.packet;
      return Object.values(a).every((v) => v === want);
    }),
    { numRuns: 20_000 },
  );
});

test('cross-check: packet.parseIp accepts exactly what node:net isIP accepts (zone ids aside)', () => {
  fc.assert(
    fc.property(text, (s) => {
      const p = packet.parseIp(s);
      return (p ? p.family : 0) === isIP(s);
    }),
    { numRuns: 20_000 },
  );
});

test('cross-check: any 16 bytes print the same in config and both drivers, and read back everywhere', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc
          .uint8Array({ minLength: 4, maxLength: 4 })
          .map((t) => Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...t)),
      ),
      (b) => {
        const t = packet.formatIpv6(b, { mappedAsDotted: false });
        if (config.formatIPv6(b) !== t || linux.formatIPv6(b) !== t || bsd.formatIPv6(b) !== t) return false;
        return [t, packet.formatIp(b)].every((s) => Object.values(answers(s)).every((v) => v === hex(b)));
      },
    ),
    { numRuns: 5000 },
  );
});

test("the BSD structs export the drivers' one set of adapters, not copies", () => {
  for (const name of ['formatIPv4', 'formatIPv6', 'formatMac', 'parseIPv4', 'parseIPv6', 'parseMac'] as const) {
    // biome-ignore lint/performance/noDynamicNamespaceImportAccess: the test compares the modules' exports by name
    assert.is(bsd[name], linux[name], name);
  }
});

test('what stays per caller: config refuses zones with a reason, VRRP drops them, drivers refuse them', () => {
  const s = 'fe80::1%eth0';
  assert.equal(config.parseIp(s), { ok: false, reason: `"${s}": no %zone here, the instance's interface is the zone` });
  assert.is(hex(vrrp.parseIp(s)), 'fe800000000000000000000000000001');
  assert.is(linux.parseIPv6(s), null);
  assert.is(packet.parseIp(s), undefined);
});

test.run();
