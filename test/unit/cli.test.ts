import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
const BIN = new URL('../../dist/tandem.js', import.meta.url).pathname;

test('the bundle prints the package version for --version', () => {
  const out = execFileSync(process.execPath, [BIN, '--version'], { encoding: 'utf8' });
  assert.is(out.trim(), `tandem ${pkg.version}`);
});

test('the bundle lists its commands for --help and exits 0', () => {
  const r = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
  assert.is(r.status, 0);
  assert.match(r.stdout, /Usage: tandem <command>/);
});

test('an unknown command is refused with exit code 2 and a message naming it', () => {
  const r = spawnSync(process.execPath, [BIN, 'frobnicate'], { encoding: 'utf8' });
  assert.is(r.status, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
});

test.run();
