// CARP codec (OpenBSD ip_carp.h / ip_carp.c): a frame captured from ucarp 1.5.2 (Debian) decoded,
// its CARP message encoded back to the same hex and mirrored; the HMAC checked against ucarp's;
// the pure SHA-1/HMAC cross-checked against node:crypto; a table of bad vectors.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CARP_HEADER_LEN,
  carpKey,
  carpHmac,
  carpVirtualMac,
  counterBytes,
  decodeCarp,
  decodeFrame,
  encodeCarp,
  encodeCarpFrame,
  encodeVrrpFrame,
  fromHex,
  hmacSha1,
  looksLikeCarp,
  sha1,
  toHex,
  verifyCarp,
} from '../../firmware/core/packet/index.ts';
import type { Decoded } from '../../firmware/core/packet/index.ts';

const hex = (s: string) => toHex(fromHex(s));

function carpOf(d: Decoded): Extract<Decoded, { kind: 'carp' }> {
  if (!d.ok) throw new Error(`expected CARP, got ${d.reason}: ${d.detail}`);
  assert.is(d.kind, 'carp');
  return d as Extract<Decoded, { kind: 'carp' }>;
}

// `ucarp -i v0 -s 192.0.2.1 -v 7 -p secret -a 192.0.2.100 -b 1 -k 10`, captured by tcpdump.
const UCARP_FRAME = `
  01005e000012        # Ethernet dst: 224.0.0.18 mapped
  00005e000007        # Ethernet src: ucarp sends from 00:00:5e:00:00:<vhid> (not carp(4)'s ..:01:<vhid>)
  0800                # IPv4
  45 10 0038          # version 4, IHL 5, TOS IPTOS_LOWDELAY, total length 20 + 36
  feeb 4000           # random identification, DF
  ff 70 da45          # TTL 255 (CARP_DFLTTL), protocol 112, header checksum
  c0000201 e0000012   # 192.0.2.1 -> 224.0.0.18
`;
const UCARP_CARP = `
  21                  # version 2, type 1 (advertisement)
  07                  # VHID 7
  0a                  # advskew 10
  07                  # authlen 7 (counter + HMAC in 32-bit words)
  00                  # demote (ucarp: pad1, always 0)
  01                  # advbase 1 s
  54dd                # checksum over the 36-byte CARP header
  bce28cabef86ac95    # 64-bit counter (ucarp picks a random one until it hears a peer)
  4b915e23ec95186b63942d201bf7b135cb3cc294  # HMAC-SHA1("secret", 02 01 07 c0000264 counter)
`;
const ucarpAuth = { key: carpKey('secret'), addresses: ['192.0.2.100'] };

test('sha1 matches node:crypto for lengths 0..200 (FIPS 180-4)', () => {
  for (let n = 0; n <= 200; n++) {
    const m = randomBytes(n);
    assert.is(toHex(sha1(m)), createHash('sha1').update(m).digest('hex'), `length ${n}`);
  }
});

test('hmacSha1 matches node:crypto for keys of 0..100 bytes (RFC 2104)', () => {
  for (const kl of [0, 1, 19, 20, 21, 63, 64, 65, 100]) {
    const k = randomBytes(kl),
      a = randomBytes(37),
      b = randomBytes(3);
    assert.is(toHex(hmacSha1(k, a, b)), createHmac('sha1', k).update(a).update(b).digest('hex'), `key ${kl}`);
  }
});

test('ucarp capture decodes to its fields (fixed vector)', () => {
  const d = carpOf(decodeFrame(fromHex(UCARP_FRAME + UCARP_CARP)));
  assert.is(d.family, 4);
  assert.is(d.src, '192.0.2.1');
  assert.is(d.dst, '224.0.0.18');
  assert.equal(
    { vhid: d.carp.vhid, advbase: d.carp.advbase, advskew: d.carp.advskew, demote: d.carp.demote },
    { vhid: 7, advbase: 1, advskew: 10, demote: 0 },
  );
  assert.is(d.carp.counter, 0xbce28cabef86ac95n);
});

test("ucarp's HMAC verifies with its passphrase and address, and not with others (ip_carp.c)", () => {
  const d = carpOf(decodeFrame(fromHex(UCARP_FRAME + UCARP_CARP)));
  assert.ok(verifyCarp(d.carp, ucarpAuth));
  assert.not.ok(verifyCarp(d.carp, { ...ucarpAuth, key: carpKey('Secret') }));
  assert.not.ok(verifyCarp(d.carp, { ...ucarpAuth, addresses: ['192.0.2.101'] }));
  assert.not.ok(verifyCarp({ ...d.carp, vhid: 8 }, ucarpAuth));
  assert.not.ok(verifyCarp({ ...d.carp, counter: d.carp.counter + 1n }, ucarpAuth));
});

test('ucarp CARP message encodes back to the same hex and mirrors (three ways)', () => {
  const d = carpOf(decodeFrame(fromHex(UCARP_FRAME + UCARP_CARP)));
  const { md: _md, ...fields } = d.carp;
  const bytes = encodeCarp(fields, ucarpAuth);
  assert.is(toHex(bytes), hex(UCARP_CARP));
  const again = decodeCarp(bytes);
  assert.ok(again.ok);
  if (again.ok) assert.equal(again.advert, d.carp);
});

test('encodeCarpFrame: IPv4 frame from the CARP virtual MAC, TOS 0x10, DF, TTL 255, decodes back', () => {
  const advert = { vhid: 7, advbase: 1, advskew: 10, demote: 0, counter: 0xbce28cabef86ac95n };
  const f = encodeCarpFrame({ srcMac: carpVirtualMac(7), family: 4, src: '192.0.2.1', advert, auth: ucarpAuth });
  assert.is(
    toHex(f),
    hex(`01005e000012 00005e000107 0800 45 10 0038 0000 4000 ff 70 d931 c0000201 e0000012`) + hex(UCARP_CARP),
  );
  const d = carpOf(decodeFrame(f));
  assert.ok(verifyCarp(d.carp, ucarpAuth));
});

test('encodeCarpFrame: IPv6 to ff02::12 with hop limit 255 decodes back', () => {
  const auth = { key: carpKey('pw'), addresses: ['2001:db8::100'] };
  const advert = { vhid: 200, advbase: 2, advskew: 0, demote: 3, counter: 1n };
  const f = encodeCarpFrame({ srcMac: carpVirtualMac(200), family: 6, src: 'fe80::1', advert, auth });
  assert.is(toHex(f.subarray(0, 14)), hex('333300000012 00005e0001c8 86dd'));
  assert.is(f[14 + 6], 112);
  assert.is(f[14 + 7], 255);
  const d = carpOf(decodeFrame(f));
  assert.is(d.family, 6);
  assert.is(d.src, 'fe80::1');
  assert.is(d.carp.demote, 3);
  assert.ok(verifyCarp(d.carp, auth));
});

test('HMAC covers IPv4 ascending, then IPv6 ascending, each once, whatever the configured order', () => {
  const c = counterBytes(42n);
  const a = carpHmac({ key: carpKey('k'), addresses: ['2001:db8::2', '192.0.2.9', '192.0.2.10', '2001:db8::1'] }, 1, c);
  const b = carpHmac(
    { key: carpKey('k'), addresses: ['192.0.2.9', '192.0.2.10', '192.0.2.9', '2001:db8::1', '2001:db8::2'] },
    1,
    c,
  );
  assert.is(toHex(a), toHex(b));
  // 192.0.2.9 < 192.0.2.10 numerically: c0000209 before c000020a, and the other order differs.
  const unsorted = fromHex(
    '020101 c000020a c0000209 20010db8000000000000000000000001 20010db8000000000000000000000002',
  );
  const ordered = fromHex('020101 c0000209 c000020a 20010db8000000000000000000000001 20010db8000000000000000000000002');
  assert.is(toHex(a), createHmac('sha1', carpKey('k')).update(ordered).update(c).digest('hex'));
  assert.is.not(toHex(a), createHmac('sha1', carpKey('k')).update(unsorted).update(c).digest('hex'));
});

test('looksLikeCarp tells CARP from VRRPv2 and VRRPv3 (same protocol, same first byte)', () => {
  assert.ok(looksLikeCarp(fromHex(UCARP_CARP), 4));
  for (const count of [1, 5, 7]) {
    const addresses = Array.from({ length: count }, (_, i) => `192.0.2.${i + 1}`);
    const f = encodeVrrpFrame({
      srcMac: '00:00:5e:00:01:07',
      family: 4,
      src: '192.0.2.1',
      advert: { version: 2, vrid: 7, priority: 100, maxAdverIntervalCs: 100, addresses, authType: 0 },
    });
    const d = decodeFrame(f);
    assert.ok(d.ok && d.kind === 'vrrp', `VRRPv2 with ${count} addresses`);
  }
  const v3 = encodeVrrpFrame({
    srcMac: '00:00:5e:00:02:07',
    family: 6,
    src: 'fe80::1',
    advert: { version: 3, vrid: 7, priority: 100, maxAdverIntervalCs: 100, addresses: ['2001:db8::1'] },
  });
  const d = decodeFrame(v3);
  assert.ok(d.ok && d.kind === 'vrrp');
});

test('CARP header size is pinned (sizeof(struct carp_header))', () => {
  assert.is(CARP_HEADER_LEN, 36);
  assert.is(fromHex(UCARP_CARP).length, CARP_HEADER_LEN);
});

// [reason, CARP message or whole frame, what it is]. Each asserts the reason and that nothing threw.
const good = fromHex(UCARP_CARP);
const mutate = (f: (b: Uint8Array) => void, fixSum = true) => {
  const b = good.slice();
  f(b);
  if (fixSum) {
    b[6] = b[7] = 0;
    let s = 0;
    for (let i = 0; i < b.length; i += 2) s += (b[i] << 8) | b[i + 1];
    while (s > 0xffff) s = (s & 0xffff) + (s >> 16);
    s = ~s & 0xffff;
    b[6] = s >> 8;
    b[7] = s & 0xff;
  }
  return b;
};
const BAD_MESSAGES: [string, Uint8Array, string][] = [
  ['too-short', good.subarray(0, 35), '35 bytes'],
  ['too-short', new Uint8Array(0), 'empty'],
  ['bad-checksum', mutate((b) => (b[2] = 11), false), 'advskew changed after the checksum'],
  ['bad-version', mutate((b) => (b[0] = 0x11)), 'version 1'],
  ['bad-type', mutate((b) => (b[0] = 0x22)), 'type 2'],
];
for (const [reason, bytes, what] of BAD_MESSAGES) {
  test(`decodeCarp drops ${what} as ${reason}`, () => {
    const r = decodeCarp(bytes);
    assert.not.ok(r.ok);
    if (!r.ok) assert.is(r.reason, reason);
  });
}

test('a CARP frame with TTL 254 is dropped as bad-ttl (CARP_DFLTTL)', () => {
  const f = encodeCarpFrame({
    srcMac: carpVirtualMac(7),
    family: 4,
    src: '192.0.2.1',
    advert: { vhid: 7, advbase: 1, advskew: 0, demote: 0, counter: 0n },
    auth: ucarpAuth,
    ttl: 254,
  });
  const d = decodeFrame(f);
  assert.ok(!d.ok && d.reason === 'bad-ttl');
});

test('encodeCarp refuses out-of-range fields and long keys (programming errors)', () => {
  const a = { vhid: 1, advbase: 1, advskew: 0, demote: 0, counter: 0n };
  assert.throws(() => encodeCarp({ ...a, vhid: 0 }, ucarpAuth), /VHID/);
  assert.throws(() => encodeCarp({ ...a, advskew: 256 }, ucarpAuth), /advskew/);
  assert.throws(() => carpKey('x'.repeat(21)), /20 bytes/);
});

test.run();
