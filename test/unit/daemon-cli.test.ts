// The daemon's command line as an operator meets it, through the bundle (dist/tandem.js): a bad
// config is refused with `FILE:LINE: path: reason` by `tandem check` and by `tandem run` alike,
// and the client commands say clearly when no daemon is running. No root, no network.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = new URL('../../dist/tandem.js', import.meta.url).pathname;
const tandem = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000 });

const BAD = `node: r1
instances:
  - name: lan
    interface: eth0
    vrid: 51
    advert_intervall: 100ms
    addresses: [192.0.2.1/24]
  - name: wan
    interface: eth0
    vrid: 51
    priority: 300
    addresses: [192.0.2.2/24]
`;

function withDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-cli-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('tandem check on a bad config: exit 1, every problem as FILE:LINE: path: reason on stderr', () =>
  withDir((dir) => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, BAD);
    const r = tandem(['check', '--config', file]);
    assert.is(r.status, 1);
    assert.is(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines, [
      `${file}:6: instances[0].advert_intervall: unknown key (did you mean "advert_interval"?)`,
      `${file}:10: instances[1].vrid: VRID 51 on eth0 (IPv4) is already used by instance lan at line 3`,
      `${file}:11: instances[1].priority: must be 1..255, got 300`,
    ]);
    for (const l of lines) assert.match(l, /^\/\S+:\d+: \S+: .+/);
  }));

test('tandem run refuses the same file with the same lines and exit 1, before touching the network', () =>
  withDir((dir) => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      BAD.replace('node: r1', `node: r1\nstate_dir: ${join(dir, 'state')}\ncontrol: { socket: ${join(dir, 'sock')} }`),
    );
    const check = tandem(['check', '--config', file]);
    const run = tandem(['run', '--config', file]);
    assert.is(run.status, 1);
    assert.is(run.stderr, check.stderr);
    assert.match(run.stderr, /:\d+: instances\[1\]\.priority: must be 1\.\.255, got 300/);
  }));

test('tandem status / reload with no daemon: exit 1 and "not running" naming the socket', () =>
  withDir((dir) => {
    const sock = join(dir, 'tandem.sock');
    for (const cmd of ['status', 'reload']) {
      const r = tandem([cmd, '--socket', sock]);
      assert.is(r.status, 1, cmd);
      assert.match(
        r.stderr,
        new RegExp(`tandem is not running \\(no control socket at ${sock.replace(/[.]/g, '\\.')}\\)`),
      );
    }
  }));

test.run();
