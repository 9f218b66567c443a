// The `bfd` block of an instance (docs/bfd.md): values, defaults, and exact `FILE:LINE: path:
// reason` errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatIssue, parseConfig } from '../../firmware/config/index.ts';
import type { ConfigOptions } from '../../firmware/config/index.ts';

const OPTS: ConfigOptions = { hostname: 'h', platform: 'linux', probe: () => 'ok' };
const I = (extra: string, addr = '192.0.2.10') =>
  `instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    addresses: [${addr}]\n${extra}`;

function ok(text: string) {
  const r = parseConfig(text, 'b.yaml', OPTS);
  if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
  return r.config.instances[0];
}
function errors(text: string): string[] {
  const r = parseConfig(text, 'b.yaml', OPTS);
  assert.not.ok(r.ok, 'expected errors');
  return r.ok ? [] : r.errors.map(formatIssue);
}

test('the example of the issue: peer, 3 ms, x3', () => {
  const c = ok(I('    bfd: { peer: 192.0.2.2, interval: 3ms, multiplier: 3 }\n'));
  assert.equal(c.bfd, { peer: '192.0.2.2', intervalMs: 3, multiplier: 3 });
});

test('interval and multiplier default to 10 ms x 3', () => {
  assert.equal(ok(I('    bfd:\n      peer: 192.0.2.2\n')).bfd, { peer: '192.0.2.2', intervalMs: 10, multiplier: 3 });
});

test('no bfd block: no BFD', () => {
  assert.is(ok(I('')).bfd, undefined);
});

test('IPv6 peers are written canonically', () => {
  const c = ok(I('    bfd: { peer: "2001:DB8:0::2" }\n', '"2001:db8::10"'));
  assert.is(c.bfd?.peer, '2001:db8::2');
});

const BAD: [string, string, string[]][] = [
  ['a missing peer', I('    bfd: { interval: 3ms }\n'), ['b.yaml:6: instances[0].bfd.peer: missing (required)']],
  [
    'a misspelt key',
    I('    bfd: { peer: 192.0.2.2, multiplyer: 3 }\n'),
    ['b.yaml:6: instances[0].bfd.multiplyer: unknown key (did you mean "multiplier"?)'],
  ],
  [
    'Detect Mult 0 (RFC 5880 4.1: nonzero)',
    I('    bfd: { peer: 192.0.2.2, multiplier: 0 }\n'),
    ['b.yaml:6: instances[0].bfd.multiplier: must be 1..255, got 0'],
  ],
  [
    'an interval of 0',
    I('    bfd: { peer: 192.0.2.2, interval: 0ms }\n'),
    ['b.yaml:6: instances[0].bfd.interval: must be 1ms..1m, got 0ms'],
  ],
  [
    'a peer of the other family',
    I('    bfd: { peer: "2001:db8::2" }\n'),
    ["b.yaml:6: instances[0].bfd.peer: BFD peer 2001:db8::2 is IPv6, the instance's addresses are IPv4"],
  ],
];
for (const [what, text, want] of BAD) {
  test(`refuses ${what}`, () => {
    const got = errors(text);
    assert.equal(got, want);
  });
}

test('CARP instances refuse bfd', () => {
  const text =
    'instances:\n  - name: c\n    protocol: carp\n    interface: eth0\n    vhid: 3\n    addresses: [192.0.2.10]\n    bfd: { peer: 192.0.2.2 }\n';
  const got = errors(text);
  assert.ok(
    got.some((e) => e.includes('bfd') && e.includes('VRRP key')),
    got.join('\n'),
  );
});

test.run();
