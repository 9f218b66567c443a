// HSRPv1 codec (RFC 2281 5.1) and HSRPv2 (TLVs, as Wireshark's packet-hsrp.c reads them): vectors worked out by hand, decoded, encoded back, mirrored; a
// table of bad vectors. test/net/hsrp-wire.test.ts has tshark and scapy read what it encodes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fromHex, toHex } from '../../firmware/core/packet/index.ts';
import {
  decodeHsrpV1,
  decodeHsrpV2,
  encodeHsrpV1,
  encodeHsrpV2,
  hsrpV1VirtualMac,
  hsrpV2VirtualMac,
  HSRP_V1_LEN,
} from '../../firmware/core/packet/hsrp.ts';

const HELLO = `
  00                  # Version 0 (RFC 2281 5.1)
  00                  # Op Code 0: Hello
  10                  # State 16: Active
  03                  # Hellotime 3 s (the default)
  0a                  # Holdtime 10 s (the default)
  64                  # Priority 100 (the default)
  01                  # Group 1
  00                  # Reserved
  636973636f000000    # Authentication Data "cisco", zero padded
  c00002fe            # Virtual IP Address 192.0.2.254
`;
const message = {
  op: 'hello',
  state: 'active',
  hellotimeS: 3,
  holdtimeS: 10,
  priority: 100,
  group: 1,
  auth: 'cisco',
  virtualIp: '192.0.2.254',
} as const;

test('an RFC 2281 Hello decodes to its fields, encodes back to the same hex, and mirrors', () => {
  const r = decodeHsrpV1(fromHex(HELLO));
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.equal(r.message, message);
  assert.is(toHex(encodeHsrpV1(r.message)), toHex(fromHex(HELLO)));
  assert.equal(decodeHsrpV1(encodeHsrpV1(r.message)), r);
});

test('Coup and Resign from Speak and Active (RFC 2281 5.1 op codes)', () => {
  for (const [op, code] of [
    ['coup', 1],
    ['resign', 2],
  ] as const) {
    const b = encodeHsrpV1({ ...message, op, state: 'speak' });
    assert.is(b[1], code);
    assert.is(b[2], 4);
  }
});

test('virtual MAC 00:00:0c:07:ac:<group> (RFC 2281 5.3)', () => {
  assert.is(hsrpV1VirtualMac(1), '00:00:0c:07:ac:01');
  assert.is(hsrpV1VirtualMac(255), '00:00:0c:07:ac:ff');
});

test('HSRPv1 is 20 bytes (RFC 2281 5.1)', () => assert.is(HSRP_V1_LEN, 20));

const bad = (f: (b: Uint8Array) => void) => {
  const b = fromHex(HELLO);
  f(b);
  return b;
};
const BAD: [string, Uint8Array, string][] = [
  ['too-short', fromHex(HELLO).subarray(0, 19), '19 bytes'],
  ['bad-version', bad((b) => (b[0] = 1)), 'version 1'],
  ['bad-type', bad((b) => (b[1] = 3)), 'op code 3'],
  ['bad-type', bad((b) => (b[2] = 3)), 'state 3 (not one bit)'],
];
for (const [reason, bytes, what] of BAD) {
  test(`decodeHsrpV1 drops ${what} as ${reason}`, () => {
    const r = decodeHsrpV1(bytes);
    assert.ok(!r.ok && r.reason === reason);
  });
}

test('encodeHsrpV1 refuses out-of-range fields', () => {
  assert.throws(() => encodeHsrpV1({ ...message, priority: 256 }), /priority/);
  assert.throws(() => encodeHsrpV1({ ...message, auth: 'ninebytes' }), /8 bytes/);
  assert.throws(() => encodeHsrpV1({ ...message, virtualIp: '2001:db8::1' }), /IPv4/);
});

// HSRPv2 Hello from an active router, group 10, IPv4, with the text authentication TLV.
const V2_HELLO = `
  01 28               # Group State TLV, 40 bytes
  02                  # version 2
  00                  # op code Hello
  06                  # state Active (v2 numbering)
  04                  # IP version 4
  000a                # group 10
  02000000000b        # identifier: the sender's MAC
  00000064            # priority 100
  00000bb8            # hellotime 3000 ms
  00002710            # holdtime 10000 ms
  c00002fe 000000000000000000000000  # virtual IP 192.0.2.254 in a 16-byte field
  03 08 636973636f000000             # Text Authentication TLV: "cisco"
`;
const v2 = {
  op: 'hello',
  state: 'active',
  family: 4,
  group: 10,
  identifier: '02:00:00:00:00:0b',
  priority: 100,
  hellotimeMs: 3000,
  holdtimeMs: 10000,
  virtualIp: '192.0.2.254',
  auth: 'cisco',
} as const;

test('an HSRPv2 Hello decodes to its fields, encodes back to the same hex, and mirrors', () => {
  const r = decodeHsrpV2(fromHex(V2_HELLO));
  assert.ok(r.ok, r.ok ? '' : r.detail);
  if (!r.ok) return;
  assert.equal(r.message, v2);
  assert.is(toHex(encodeHsrpV2(r.message)), toHex(fromHex(V2_HELLO)));
  assert.equal(decodeHsrpV2(encodeHsrpV2(r.message)), r);
});

test('HSRPv2 over IPv6 carries the 16-byte address; groups up to 4095', () => {
  const m = { ...v2, family: 6, group: 4095, virtualIp: 'fe80::1' } as const;
  const r = decodeHsrpV2(encodeHsrpV2(m));
  assert.ok(r.ok && r.message.virtualIp === 'fe80::1' && r.message.group === 4095);
  assert.throws(() => encodeHsrpV2({ ...v2, group: 4096 }), /group/);
});

test('HSRPv2 virtual MACs: 00:00:0c:9f:f<group> (IPv4), 00:05:73:a0:0<group> (IPv6)', () => {
  assert.is(hsrpV2VirtualMac(10, 4), '00:00:0c:9f:f0:0a');
  assert.is(hsrpV2VirtualMac(4095, 4), '00:00:0c:9f:ff:ff');
  assert.is(hsrpV2VirtualMac(1, 6), '00:05:73:a0:00:01');
});

test('an MD5 Authentication TLV is decoded as a structure (its digest is not verified)', () => {
  const md5 = fromHex('04 1c 01 00 0000 c000020b 00000001 00112233445566778899aabbccddeeff');
  const b = new Uint8Array([...fromHex(V2_HELLO).subarray(0, 42), ...md5]);
  const r = decodeHsrpV2(b);
  assert.ok(r.ok && r.message.md5?.keyId === 1 && r.message.md5.ip === '192.0.2.11');
});

const v2bad = (f: (b: Uint8Array) => void) => {
  const b = fromHex(V2_HELLO);
  f(b);
  return b;
};
const BAD_V2: [string, Uint8Array, string][] = [
  ['too-short', new Uint8Array(0), 'no TLV at all'],
  ['bad-length', fromHex(V2_HELLO).subarray(0, 30), 'a Group State TLV cut off'],
  ['bad-length', v2bad((b) => (b[1] = 39)), 'a Group State TLV of 39 bytes'],
  ['bad-version', v2bad((b) => (b[2] = 1)), 'version 1 in a v2 TLV'],
  ['bad-type', v2bad((b) => (b[4] = 0)), 'state 0'],
  ['bad-ip-header', v2bad((b) => (b[5] = 5)), 'IP version 5'],
  ['too-short', fromHex('03 08 636973636f000000'), 'only an authentication TLV'],
];
for (const [reason, bytes, what] of BAD_V2) {
  test(`decodeHsrpV2 drops ${what} as ${reason}`, () => {
    const r = decodeHsrpV2(bytes);
    assert.ok(!r.ok && r.reason === reason, JSON.stringify(r));
  });
}

test.run();
