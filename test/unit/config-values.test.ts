// firmware/config: the value parsers under the file format, durations and IP addresses.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkDuration, formatDuration, parseDuration } from '../../firmware/config/index.ts';
import { formatIPv6, isLinkLocalV6, notUnicast, parseIp } from '../../firmware/config/address.ts';
import fc from 'fast-check';

test('parseDuration reads every documented form as milliseconds', () => {
  const rows: [string | number, number][] = [
    ['100ms', 100],
    ['1s', 1000],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['0s', 0],
    [1, 1000],
    [0.1, 100],
    [2.55, 2550],
    ['40.95s', 40_950],
    [' 10ms ', 10],
    ['3', 3000],
    ['.5s', 500],
  ];
  for (const [input, ms] of rows) assert.is(parseDuration(input), ms, String(input));
});

test('parseDuration throws a RangeError that says what is wrong; checkDuration returns it', () => {
  const rows: [unknown, string][] = [
    ['fast', '"fast" is not a duration (use e.g. 100ms, 1s, 1.5s, 2m or a number of seconds)'],
    ['1.5ms', '"1.5ms" is not a whole number of milliseconds'],
    ['-1s', '"-1s" is negative'],
    [-2, '-2 is negative'],
    [Infinity, 'Infinity is not a duration (use e.g. 100ms, 1s, 1.5s, 2m or a number of seconds)'],
    ['1 s 2', '"1 s 2" is not a duration (use e.g. 100ms, 1s, 1.5s, 2m or a number of seconds)'],
    [true, 'expected a duration (use e.g. 100ms, 1s, 1.5s, 2m or a number of seconds)'],
  ];
  for (const [input, reason] of rows) {
    assert.equal(checkDuration(input), { ok: false, reason }, String(input));
    if (typeof input === 'string' || typeof input === 'number')
      assert.throws(
        () => parseDuration(input),
        (e: unknown) => e instanceof RangeError && e.message === reason,
      );
  }
});

test('formatDuration writes milliseconds back the way the file spells them', () => {
  assert.equal([10, 100, 1000, 1500, 40_950, 60_000, 90_000, 120_000].map(formatDuration), [
    '10ms',
    '100ms',
    '1s',
    '1.5s',
    '40.95s',
    '1m',
    '90s',
    '2m',
  ]);
});

test('parseIp gives the RFC 5952 canonical IPv6 text', () => {
  const rows: [string, string][] = [
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // RFC 5952 4.2.3: the first of equal runs
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // RFC 5952 4.2.2: one zero word stays
    ['2001:db8::0:1', '2001:db8::1'],
    ['fe80::0001', 'fe80::1'],
    ['FE80:0:0:0:0:0:0:0A', 'fe80::a'],
    ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'],
    ['2001:db8::192.0.2.1', '2001:db8::c000:201'],
    ['1::', '1::'],
  ];
  for (const [input, canonical] of rows) {
    const r = parseIp(input);
    assert.ok(r.ok, input);
    assert.equal(r.ok && [r.family, r.address], [6, canonical], input);
  }
});

test('parseIp is strict about IPv4 and refuses near-misses', () => {
  assert.equal(parseIp('192.0.2.1'), {
    ok: true,
    family: 4,
    address: '192.0.2.1',
    bytes: new Uint8Array([192, 0, 2, 1]),
  });
  for (const bad of [
    '192.0.2',
    '192.0.2.1.5',
    '192.0.2.256',
    '192.0.2.-1',
    '0x7f.0.0.1',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '12345::',
    'fe80::1%eth0',
    '',
    'g::1',
    '1:2:3:4:5:6:7::8:9',
  ]) {
    assert.is(parseIp(bad).ok, false, bad);
  }
});

test('notUnicast names addresses that can never be a virtual address', () => {
  const why = (s: string) => {
    const r = parseIp(s);
    return r.ok ? notUnicast(r.family, r.bytes) : 'parse';
  };
  assert.equal(
    [
      '0.0.0.0',
      '127.0.0.1',
      '224.0.0.18',
      '255.255.255.255',
      '192.0.2.1',
      '::',
      '::1',
      'ff02::12',
      '::ffff:192.0.2.1',
      '2001:db8::1',
    ].map(why),
    [
      'is in 0.0.0.0/8 ("this network")',
      'is a loopback address',
      'is a multicast address',
      'is reserved or broadcast',
      undefined,
      'is the unspecified address',
      'is the loopback address',
      'is a multicast address',
      'is IPv4-mapped: write the IPv4 address',
      undefined,
    ],
  );
});

test('isLinkLocalV6 is fe80::/10 exactly', () => {
  const ll = (s: string) => {
    const r = parseIp(s);
    return r.ok && isLinkLocalV6(r.bytes);
  };
  assert.equal(['fe80::1', 'febf::1', 'fec0::1', '2001:db8::1'].map(ll), [true, true, false, false]);
});

test('cross-check: any 16 bytes format to text that parses back to the same bytes and the same text', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
      const text = formatIPv6(bytes);
      const r = parseIp(text);
      return r.ok && r.family === 6 && r.address === text && Buffer.from(r.bytes).equals(Buffer.from(bytes));
    }),
    { numRuns: 2000 },
  );
});

test('cross-check: any whole-millisecond duration survives formatDuration -> parseDuration', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 86_400_000 }), (ms) => parseDuration(formatDuration(ms)) === ms),
    { numRuns: 2000 },
  );
});

test('parseIp: a dotted quad only ends an IPv6 address (RFC 4291 2.2); IPv4-mapped text stays in hex', () => {
  for (const bad of ['1.2.3.4::', '1.2.3.4::5.6.7.8', '::192.0.2.1:1']) {
    assert.equal(parseIp(bad), { ok: false, reason: `"${bad}" is not an IPv4 or IPv6 address` }, bad);
  }
  const r = parseIp('::ffff:192.0.2.1');
  assert.equal(r.ok && r.address, '::ffff:c000:201');
  assert.equal(parseIp('010.0.0.1'), {
    ok: false,
    reason: '"010.0.0.1": a leading zero is ambiguous (octal to some tools): write it without',
  });
});

test.run();
