// `tandem check`: exit codes and output, in-process through main() and once as a real process.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, DEFAULT_CONFIG } from '../../firmware/commands/check.ts';
import type { CheckIo } from '../../firmware/commands/check.ts';
import type { ConfigOptions } from '../../firmware/config/index.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const FIX = join(ROOT, 'test/fixtures/config');
const EXAMPLES = join(ROOT, 'examples');
const OPTS: ConfigOptions = { hostname: 'h', platform: 'linux', probe: () => 'ok' };

async function run(argv: string[], options: ConfigOptions = OPTS) {
  let out = '',
    err = '';
  const io: CheckIo = {
    stdout: (s) => {
      out += s;
    },
    stderr: (s) => {
      err += s;
    },
    options,
  };
  const code = await main(argv, io);
  return { code, out, err };
}

test('a valid file: exit 0 and "FILE: ok (N instances)" on stdout, nothing on stderr', async () => {
  const file = join(FIX, 'full.yaml');
  assert.equal(await run(['--config', file]), { code: 0, out: `${file}: ok (3 instances)\n`, err: '' });
  assert.equal(await run(['-c', join(EXAMPLES, 'two-routers-r1.yaml')]), {
    code: 0,
    out: `${join(EXAMPLES, 'two-routers-r1.yaml')}: ok (1 instance)\n`,
    err: '',
  });
});

test('warnings are printed to stderr as FILE:LINE: path: warning: reason, and the exit is still 0', async () => {
  const file = join(EXAMPLES, 'full.yaml');
  const r = await run(['--config', file], {
    ...OPTS,
    probe: (p) => (p === '/etc/tandem/notify.sh' ? 'not-executable' : 'ok'),
  });
  assert.equal(r, {
    code: 0,
    out: `${file}: ok (2 instances)\n`,
    err: `${file}:29: instances[0].notify: warning: /etc/tandem/notify.sh is not executable\n`,
  });
});

test('an invalid file: exit 1 and every problem, one per line, on stderr', async () => {
  const site = join(FIX, 'uses-bad-board.yaml');
  const board = join(FIX, 'bad-board.yaml');
  const r = await run(['--config', site]);
  assert.is(r.code, 1);
  assert.is(r.out, '');
  assert.equal(r.err.split('\n'), [
    `${board}:4: interfaces.wan: expected an interface name (1..15 characters, no space, / or :)`,
    `${board}:6: defaults.log.level: must be one of trace, debug, info, warn, error, got loud`,
    `${board}:7: defaults.instances: instances belong in the site file, not in a board's defaults (use instance_defaults)`,
    `${board}:9: defaults.instance_defaults.priority: must be 1..255, got 0`,
    `${board}:10: defaults.instance_defaults.grap: unknown key (did you mean "garp"?)`,
    '',
  ]);
});

test('without --config it checks /etc/tandem/tandem.yaml', async () => {
  const asked: string[] = [];
  const r = await run([], {
    ...OPTS,
    readFile: (p) => {
      asked.push(p);
      throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    },
  });
  assert.equal(asked, [DEFAULT_CONFIG]);
  assert.equal(r, { code: 1, out: '', err: '/etc/tandem/tandem.yaml:1: (file): cannot read: no such file\n' });
});

test('--help prints usage and exits 0; an unknown option or a stray argument exits 2', async () => {
  const help = await run(['--help']);
  assert.is(help.code, 0);
  assert.match(help.out, /^Usage: tandem check \[--config FILE\]/);
  assert.match(help.out, /default \/etc\/tandem\/tandem\.yaml/);
  const bad = await run(['--frob']);
  assert.is(bad.code, 2);
  assert.match(bad.err, /^tandem check: Unknown option '--frob'/);
  assert.is((await run(['extra.yaml'])).code, 2);
});

test('every file in examples/ passes check', async () => {
  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 4, `examples: ${files.join(', ')}`);
  for (const f of files) {
    const r = await run(['--config', join(EXAMPLES, f)]);
    assert.is(r.code, 0, `${f}: ${r.err}`);
    assert.match(r.out, /: ok \(\d+ instances?\)\n$/);
  }
});

test("a config file writable by others fails the check with the daemon's words (exit 1), as the daemon would refuse it", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-check-'));
  try {
    const file = join(dir, 'tandem.yaml');
    copyFileSync(join(EXAMPLES, 'two-routers-r1.yaml'), file);
    chmodSync(file, 0o600);
    assert.is((await run(['--config', file])).code, 0);
    chmodSync(file, 0o666);
    const r = await run(['--config', file]);
    assert.is(r.code, 1);
    assert.is(r.out, '');
    assert.match(r.err, `${file}: error: ${file} (the config file) is writable by group or others (mode 666)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('as a real process: exit status 0 for a good file and 1 for a bad one', () => {
  const entry = join(ROOT, 'firmware/commands/check-entry.ts');
  const good = spawnSync(process.execPath, ['--import', 'tsx', entry, '--config', join(EXAMPLES, 'ipv6.yaml')], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.is(good.status, 0, good.stderr);
  assert.is(good.stdout, `${join(EXAMPLES, 'ipv6.yaml')}: ok (2 instances)\n`);
  const bad = spawnSync(
    process.execPath,
    ['--import', 'tsx', entry, '--config', join(FIX, 'uses-missing-board.yaml')],
    { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
  );
  assert.is(bad.status, 1);
  assert.match(
    bad.stderr,
    /uses-missing-board\.yaml:1: board: cannot read board file .*no-such-board\.yaml \(ENOENT\)\n$/,
  );
});

test.run();
