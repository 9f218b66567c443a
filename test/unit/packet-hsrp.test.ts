// HSRPv1 codec (RFC 2281 5.1): a vector worked out by hand, decoded, encoded back, mirrored; a
// table of bad vectors. test/net/hsrp-wire.test.ts has tshark and scapy read what it encodes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fromHex, toHex } from '../../firmware/core/packet/index.ts';
import { decodeHsrpV1, encodeHsrpV1, hsrpV1VirtualMac, HSRP_V1_LEN } from '../../firmware/core/packet/hsrp.ts';

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

test.run();
