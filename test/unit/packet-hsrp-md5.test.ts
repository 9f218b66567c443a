// HSRP's MD5 Authentication TLV: the pure MD5 against node:crypto, and the keyed MD5 (RFC 1828)
// against third-party vectors: John the Ripper's `hsrp` format (src/hsrp_fmt_plug.c) carries
// three HSRPv1 Hellos captured from Cisco IOS with their keys; the digest tandem computes over
// each payload (digest zeroed) must be the captured one.
import { createHash } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fromHex, toHex } from '../../firmware/core/packet/index.ts';
import { md5 } from '../../firmware/core/packet/md5.ts';
import {
  decodeHsrpV1,
  decodeHsrpV2,
  encodeHsrpV1,
  encodeHsrpV2,
  hsrpMd5Digest,
  verifyHsrpMd5,
} from '../../firmware/core/packet/hsrp.ts';

test('md5 equals node:crypto at every padding boundary', () => {
  for (const n of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 200, 1000]) {
    const b = new Uint8Array(n).map((_, i) => (i * 31 + n) & 0xff);
    assert.is(toHex(md5(b)), createHash('md5').update(b).digest('hex'), `length ${n}`);
  }
  assert.is(toHex(md5(new TextEncoder().encode('abc'))), '900150983cd24fb0d6963f7d28e17f72'); // RFC 1321 A.5
});

// [payload with the digest zeroed, key, digest Cisco sent] (John the Ripper's hsrp tests).
const CISCO = [
  [
    '000004030a64010000000000000000000a000064041c010000000a0000140000000000000000000000000000000000000000',
    'password12345',
    '52e1db09d18d695b8fefb3730ff8d9d6',
  ],
  [
    '000004030a5a01000000000000000000ac102801041c01000000ac1028140000000000000000000000000000000000000000',
    'openwall',
    'f15dfa631a0679e0801f8e6b0c0c17ac',
  ],
  [
    '000010030a64010000000000000000000a000064041c010000000a0000140000000000000000000000000000000000000000',
    'openwall12345',
    'f02fc41b1b516e2d1261d8800d39ccea',
  ],
] as const;

test('the keyed MD5 of Cisco IOS captures matches their digest (RFC 1828 over the payload)', () => {
  for (const [hex, key, want] of CISCO) assert.is(toHex(hsrpMd5Digest(fromHex(hex), key)!), want);
});

test('a Cisco capture with its digest in place verifies with its key and not with another', () => {
  for (const [hex, key, digest] of CISCO) {
    const b = fromHex(hex);
    b.set(fromHex(digest), b.length - 16);
    assert.ok(verifyHsrpMd5(b, key));
    assert.not.ok(verifyHsrpMd5(b, `${key}x`));
    const d = decodeHsrpV1(b);
    assert.ok(d.ok && d.message.md5 !== undefined);
    if (d.ok) assert.is(toHex(d.message.md5!.digest), digest);
  }
});

test('encodeHsrpV1 with a key rebuilds the first Cisco capture byte for byte', () => {
  const [hex, key, digest] = CISCO[0];
  const out = encodeHsrpV1(
    {
      op: 'hello',
      state: 'speak',
      hellotimeS: 3,
      holdtimeS: 10,
      priority: 100,
      group: 1,
      auth: 'cisco', // not sent: Authentication Data is zeros with MD5
      virtualIp: '10.0.0.100',
    },
    { key, keyId: 0, ip: '10.0.0.20' },
  );
  const want = fromHex(hex);
  want.set(fromHex(digest), want.length - 16);
  assert.is(toHex(out), toHex(want));
});

test('HSRPv2 with MD5: Group State then the MD5 TLV, verified; a changed byte fails', () => {
  const b = encodeHsrpV2(
    {
      op: 'hello',
      state: 'active',
      family: 4,
      group: 300,
      identifier: '02:00:00:00:00:01',
      priority: 150,
      hellotimeMs: 1000,
      holdtimeMs: 3000,
      virtualIp: '192.0.2.254',
    },
    { key: 'k3y', keyId: 7, ip: '192.0.2.2' },
  );
  assert.is(b.length, 42 + 30);
  assert.is(b[42], 4);
  assert.ok(verifyHsrpMd5(b, 'k3y'));
  const d = decodeHsrpV2(b);
  assert.ok(d.ok);
  if (d.ok) {
    assert.is(d.message.md5?.keyId, 7);
    assert.is(d.message.md5?.ip, '192.0.2.2');
    assert.is(d.message.auth, undefined);
  }
  b[20] ^= 1; // the priority
  assert.not.ok(verifyHsrpMd5(b, 'k3y'));
});

test('a payload without an MD5 TLV never verifies', () => {
  const b = encodeHsrpV1({
    op: 'hello',
    state: 'active',
    hellotimeS: 3,
    holdtimeS: 10,
    priority: 100,
    group: 1,
    auth: 'cisco',
    virtualIp: '192.0.2.254',
  });
  assert.not.ok(verifyHsrpMd5(b, 'cisco'));
  assert.is(hsrpMd5Digest(b, 'cisco'), undefined);
});

test.run();
