// BFD Control packet codec (RFC 5880 4.1, checks of 6.8.6): fixed vectors three ways (decode,
// encode to the same hex, mirror), a table of bad vectors with their reasons, and a fast-check
// property run: random packets round-trip, random mutations never throw.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  BFD_HEADER_LEN,
  type BfdControl,
  bfdDiagName,
  decodeBfd,
  encodeBfd,
  fromHex,
  toHex,
} from '../../firmware/core/packet/index.ts';

const SEED = Number(process.env.TANDEM_FUZZ_SEED ?? Date.now() % 1_000_000);
console.log(`fast-check seed ${SEED} (TANDEM_FUZZ_SEED to replay)`);

// A first packet as bfdd sends it: Down, no remote discriminator yet, slow 1 s TX (6.8.3).
const DOWN_HEX = [
  '20', // Vers 1, Diag 0
  '40', // Sta Down (1), P F C A D M = 0
  '03', // Detect Mult 3
  '18', // Length 24
  '00000001', // My Discriminator 1
  '00000000', // Your Discriminator 0
  '000f4240', // Desired Min TX 1000000 us
  '000493e0', // Required Min RX 300000 us
  '0000c350', // Required Min Echo RX 50000 us
].join('');
const DOWN: BfdControl = {
  diag: 0,
  state: 'Down',
  poll: false,
  final: false,
  cpi: false,
  demand: false,
  detectMult: 3,
  myDiscr: 1,
  yourDiscr: 0,
  desiredMinTxUs: 1_000_000,
  requiredMinRxUs: 300_000,
  requiredMinEchoRxUs: 50_000,
};

// Up with a poll for faster timers (6.5): diag 1 left from an earlier timeout.
const UP_POLL_HEX = [
  '21', // Vers 1, Diag 1 (Control Detection Time Expired)
  'e0', // Sta Up (3), P
  '05', // Detect Mult 5
  '18', // Length 24
  'deadbeef', // My Discriminator
  '80000001', // Your Discriminator
  '00000bb8', // Desired Min TX 3000 us
  '00000bb8', // Required Min RX 3000 us
  '00000000', // no echo
].join('');
const UP_POLL: BfdControl = {
  diag: 1,
  state: 'Up',
  poll: true,
  final: false,
  cpi: false,
  demand: false,
  detectMult: 5,
  myDiscr: 0xdeadbeef,
  yourDiscr: 0x80000001,
  desiredMinTxUs: 3000,
  requiredMinRxUs: 3000,
  requiredMinEchoRxUs: 0,
};

for (const [name, hex, pkt] of [
  ['Down', DOWN_HEX, DOWN],
  ['Up with Poll', UP_POLL_HEX, UP_POLL],
] as const) {
  test(`decodes the ${name} vector field by field`, () => {
    const d = decodeBfd(fromHex(hex));
    assert.ok(d.ok, JSON.stringify(d));
    if (d.ok) assert.equal(d.packet, pkt);
  });
  test(`encodes the ${name} vector to the same bytes`, () => {
    assert.is(toHex(encodeBfd(pkt)), hex);
  });
  test(`mirrors the ${name} vector`, () => {
    const d = decodeBfd(encodeBfd(pkt));
    assert.ok(d.ok);
    if (d.ok) assert.is(toHex(encodeBfd(d.packet)), hex);
  });
}

test('wire size of a packet without authentication is 24 bytes (RFC 5880 4.1)', () => {
  assert.is(BFD_HEADER_LEN, 24);
  assert.is(encodeBfd(DOWN).length, 24);
});

test('bytes past Length (UDP padding) are ignored', () => {
  const d = decodeBfd(fromHex(`${DOWN_HEX}0000`));
  assert.ok(d.ok);
});

test('the authentication section is parsed for its type and length', () => {
  // A set, Length 24 + 2 + 5 (simple password "tandm": type 1, len 7, key id 1, 4 bytes).
  const hex = `2044031f${DOWN_HEX.slice(8)}` + '0107' + '01' + '74616e64';
  const d = decodeBfd(fromHex(hex));
  assert.ok(d.ok, JSON.stringify(d));
  if (d.ok) assert.equal(d.packet.auth, { type: 1, len: 7 });
});

test('diagnostic names follow RFC 5880 4.1, reserved codes by number', () => {
  assert.is(bfdDiagName(1), 'control-detection-time-expired');
  assert.is(bfdDiagName(3), 'neighbor-signaled-session-down');
  assert.is(bfdDiagName(8), 'reverse-concatenated-path-down');
  assert.is(bfdDiagName(20), 'reserved-20');
});

const rest = DOWN_HEX.slice(8); // everything after the first word
const BAD: [string, string][] = [
  ['bfd-short', DOWN_HEX.slice(0, 46)],
  ['bfd-version', `0040 0318${rest}`.replace(' ', '')],
  ['bfd-version', `4040 0318${rest}`.replace(' ', '')],
  ['bfd-length', `20400317${rest}`], // Length 23
  ['bfd-length', `20400319${rest}`], // Length 25 > 24 received
  ['bfd-length', `20440318${rest}`], // A set, Length 24 < 26
  ['bfd-auth-length', `2044031a${rest}0108`], // Auth Len 8 past Length 26
  ['bfd-auth-length', `2044031a${rest}0101`], // Auth Len 1 (< its own two bytes)
  ['bfd-detect-mult-zero', `20400018${rest}`],
  ['bfd-multipoint', `20410318${rest}`],
  ['bfd-my-discr-zero', `20400318${'00000000'}${DOWN_HEX.slice(16)}`],
  ['bfd-your-discr-zero', `20c00318${rest}`], // Up with Your Discriminator 0
  ['bfd-your-discr-zero', `20800318${rest}`], // Init with Your Discriminator 0
  ['bfd-poll-and-final', `21f00518${UP_POLL_HEX.slice(8)}`],
];
for (const [reason, hex] of BAD) {
  test(`rejects ${reason}: ${hex.slice(0, 8)}... (RFC 5880 6.8.6)`, () => {
    const d = decodeBfd(fromHex(hex));
    assert.not.ok(d.ok);
    if (!d.ok) {
      assert.is(d.reason, reason);
      assert.type(d.detail, 'string');
    }
  });
}

test('AdminDown with Your Discriminator 0 is valid (RFC 5880 6.8.6)', () => {
  const d = decodeBfd(fromHex(`27000318${rest}`));
  assert.ok(d.ok);
  if (d.ok) {
    assert.is(d.packet.state, 'AdminDown');
    assert.is(d.packet.diag, 7);
  }
});

const packetArb: fc.Arbitrary<BfdControl> = fc
  .record({
    diag: fc.integer({ min: 0, max: 31 }),
    state: fc.constantFrom('AdminDown' as const, 'Down' as const, 'Init' as const, 'Up' as const),
    pf: fc.constantFrom('none', 'poll', 'final'),
    cpi: fc.boolean(),
    demand: fc.boolean(),
    detectMult: fc.integer({ min: 1, max: 255 }),
    myDiscr: fc.integer({ min: 1, max: 0xffffffff }),
    yourDiscr: fc.integer({ min: 1, max: 0xffffffff }),
    desiredMinTxUs: fc.integer({ min: 0, max: 0xffffffff }),
    requiredMinRxUs: fc.integer({ min: 0, max: 0xffffffff }),
    requiredMinEchoRxUs: fc.integer({ min: 0, max: 0xffffffff }),
  })
  .map(({ pf, ...r }) => ({ ...r, poll: pf === 'poll', final: pf === 'final' }));

test('random valid packets round-trip (property)', () => {
  fc.assert(
    fc.property(packetArb, (p) => {
      const d = decodeBfd(encodeBfd(p));
      assert.ok(d.ok);
      if (d.ok) assert.equal(d.packet, p);
    }),
    { seed: SEED, numRuns: 2000 },
  );
});

test('random mutations never throw and every rejection names a reason (property)', () => {
  const seen = new Map<string, number>();
  fc.assert(
    fc.property(
      packetArb,
      fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      fc.integer({ min: 0, max: 40 }),
      (p, sets, len) => {
        const base = encodeBfd(p);
        const b = new Uint8Array(Math.min(len, 40));
        b.set(base.subarray(0, b.length));
        for (const [at, v] of sets) if (at < b.length) b[at] = v;
        let d: ReturnType<typeof decodeBfd>;
        try {
          d = decodeBfd(b);
        } catch (e) {
          throw new Error(`threw on ${toHex(b)}: ${(e as Error).message}`);
        }
        const key = d.ok ? 'ok' : d.reason;
        seen.set(key, (seen.get(key) ?? 0) + 1);
        if (d.ok) {
          assert.ok(b.length >= 24);
          assert.ok(d.packet.detectMult > 0 && d.packet.myDiscr !== 0);
        }
      },
    ),
    { seed: SEED, numRuns: 5000 },
  );
  assert.ok((seen.get('ok') ?? 0) > 0, 'some mutants still decode');
  assert.ok((seen.get('bfd-short') ?? 0) > 0, 'some mutants are short');
});

test.run();
