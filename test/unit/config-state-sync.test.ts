// firmware/config: the state_sync section (conntrackd replication): defaults, both forms
// (tandem-run conntrackd and an operator's socket), and a table of bad sections with their exact
// `FILE:LINE: path: reason` lines.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatIssue, parseConfig } from '../../firmware/config/index.ts';
import type { ConfigOptions } from '../../firmware/config/index.ts';

const OPTS: ConfigOptions = { hostname: 'h', platform: 'linux', probe: () => 'ok' };

// Two instances (lines 2-9) in one sync group (lines 10-11); state_sync starts at line 12.
const HEAD = [
  'instances:',
  '  - name: lan',
  '    interface: eth0',
  '    vrid: 1',
  '    addresses: [192.0.2.1/24]',
  '  - name: wan',
  '    interface: eth1',
  '    vrid: 2',
  '    addresses: [203.0.113.1/24]',
  'sync_groups:',
  '  - { name: fw, instances: [lan, wan] }',
].join('\n');

const parse = (body: string) => parseConfig(`${HEAD}\nstate_sync:\n${body}\n`, 'ss.yaml', OPTS);

test('a sync group followed through a tandem-run conntrackd: every default filled in', () => {
  const r = parse('  follows: fw\n  interface: sync0\n  peer: 198.51.100.2\n  local: 198.51.100.1');
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatIssue).join('\n'));
  if (!r.ok) return;
  assert.equal(r.config.stateSync, {
    follows: { syncGroup: 'fw' },
    instances: ['lan', 'wan'],
    interface: 'sync0',
    peer: '198.51.100.2',
    local: '198.51.100.1',
    port: 3780,
    conntrackd: '/usr/sbin/conntrackd',
    resyncTimeoutMs: 30_000,
    stallAfterMs: 5_000,
    controlTimeoutMs: 5_000,
    line: 13,
  });
});

test("one instance followed through an operator's conntrackd socket, with a stall penalty", () => {
  const r = parse(
    '  follows: lan\n  socket: /run/conntrackd.ctl\n  stall_after: 3s\n  stall_penalty: 60\n  resync_timeout: 1m',
  );
  assert.ok(r.ok);
  if (!r.ok) return;
  const s = r.config.stateSync!;
  assert.equal(s.follows, { instance: 'lan' });
  assert.equal(s.instances, ['lan']);
  assert.is(s.socket, '/run/conntrackd.ctl');
  assert.is(s.interface, undefined);
  assert.is(s.stallAfterMs, 3_000);
  assert.is(s.stallPenalty, 60);
  assert.is(s.resyncTimeoutMs, 60_000);
});

test('no state_sync section: no stateSync in the config', () => {
  const r = parseConfig(`${HEAD}\n`, 'ss.yaml', OPTS);
  assert.ok(r.ok);
  if (r.ok) assert.is(r.config.stateSync, undefined);
});

const BAD: [string, string, string[]][] = [
  [
    'an unknown follows name, with the closest suggested',
    '  follows: fx\n  interface: sync0\n  peer: 198.51.100.2\n  local: 198.51.100.1',
    ['ss.yaml:13: state_sync.follows: no instance or sync group named fx (did you mean fw?)'],
  ],
  [
    'missing interface, peer and local without a socket',
    '  follows: fw',
    [
      'ss.yaml:13: state_sync.interface: missing (required)',
      'ss.yaml:13: state_sync.peer: missing (required)',
      'ss.yaml:13: state_sync.local: missing (required)',
    ],
  ],
  [
    'a misspelt key',
    '  follows: fw\n  interface: sync0\n  peer: 198.51.100.2\n  local: 198.51.100.1\n  stall_penalti: 5',
    ['ss.yaml:17: state_sync.stall_penalti: unknown key (did you mean "stall_penalty"?)'],
  ],
  [
    'peer and local of different families',
    '  follows: fw\n  interface: sync0\n  peer: 2001:db8::2\n  local: 198.51.100.1',
    ['ss.yaml:15: state_sync.peer: peer 2001:db8::2 and local 198.51.100.1 must be of the same address family'],
  ],
  [
    'a link setting beside socket',
    '  follows: fw\n  socket: /run/c.ctl\n  peer: 198.51.100.2',
    [
      "ss.yaml:15: state_sync.peer: peer belongs in the operator's own conntrackd.conf: with socket, tandem drives that conntrackd and writes no configuration",
    ],
  ],
  [
    'a stall penalty out of range and a relative socket path',
    '  follows: fw\n  socket: c.ctl\n  stall_penalty: 255',
    [
      'ss.yaml:14: state_sync.socket: must be an absolute path, got "c.ctl"',
      'ss.yaml:15: state_sync.stall_penalty: must be 1..254, got 255',
    ],
  ],
  [
    'a resync timeout below 1 s',
    '  follows: lan\n  socket: /run/c.ctl\n  resync_timeout: 10ms',
    ['ss.yaml:15: state_sync.resync_timeout: must be 1s..10m, got 10ms'],
  ],
];

for (const [what, body, expected] of BAD) {
  test(`refuses ${what}`, () => {
    const r = parse(body);
    assert.is(r.ok, false);
    assert.equal(r.ok ? [] : r.errors.map(formatIssue), expected);
  });
}

test('refuses an address owner (priority 255): RFC 5798 6.1 says it always preempts', () => {
  const text = HEAD.replace('    vrid: 1\n', '    vrid: 1\n    priority: 255\n');
  const r = parseConfig(`${text}\nstate_sync:\n  follows: fw\n  socket: /run/c.ctl\n`, 'ss.yaml', OPTS);
  assert.is(r.ok, false);
  assert.match(
    r.ok ? '' : r.errors.map(formatIssue).join('\n'),
    /ss\.yaml:14: state_sync\.follows: instance lan has priority 255/,
  );
});

test('refuses state_sync off Linux (conntrackd is Linux only)', () => {
  const r = parseConfig(`${HEAD}\nstate_sync:\n  follows: fw\n  socket: /run/c.ctl\n`, 'ss.yaml', {
    ...OPTS,
    platform: 'netbsd',
  });
  assert.equal(r.ok ? [] : r.errors.map(formatIssue), [
    'ss.yaml:13: state_sync: state_sync replicates Linux connection tracking through conntrackd; not on netbsd',
  ]);
});

test.run();
