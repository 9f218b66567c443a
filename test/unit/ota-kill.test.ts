// SIGKILL the agent at every step of an update (in a child process), then run the boot check in a
// fresh process: it must land on a slot whose files verify, with state and `current` agreeing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { OtaAgent, verifySlot, APPLY_CHECKPOINTS } from '../../ota/agent.ts';
import { makeBundle, makeKey, tempDir } from '../kit/ota.ts';

const SELF = new URL(import.meta.url).pathname;
const mode = process.env.OTA_CHILD;

if (mode === 'apply') {
  // Child: apply and die by SIGKILL at the named point.
  const at = process.env.OTA_KILL_AT!;
  const die = () => process.kill(process.pid, 'SIGKILL');
  const agent = new OtaAgent({
    root: process.env.OTA_ROOT!,
    trustedKeys: [process.env.OTA_KEY!],
    onStep: (s) => {
      if (s === at) die();
    },
  });
  let verifyEvents = 0;
  await agent.apply(process.env.OTA_BUNDLE!, (p) => {
    // the first verify event is the step starting; later ones come as bundle chunks are unpacked
    if (at === 'mid-unpack' && p.step === 'verify' && ++verifyEvents === 3) die();
    if (at === 'mid-write' && p.step === 'write' && p.bytesDone > p.bytesTotal * 0.5) die();
  });
  process.stdout.write('finished without being killed\n');
  process.exit(0);
} else if (mode === 'boot') {
  // Child: a fresh start's boot check.
  const agent = new OtaAgent({ root: process.env.OTA_ROOT!, trustedKeys: [process.env.OTA_KEY!] });
  const d = agent.bootCheck('fresh-boot');
  process.stdout.write(`${JSON.stringify({ decision: d, status: agent.status() })}\n`);
  process.exit(0);
} else {
  const key = makeKey();
  const dir = tempDir('kill');
  let v1 = '',
    v2 = '';
  test.before(async () => {
    v1 = (await makeBundle(key, { rollbackIndex: 1, outDir: join(dir, 'v1') })).file;
    v2 = (await makeBundle(key, { rollbackIndex: 2, outDir: join(dir, 'v2') })).file;
  });

  const child = (env: Record<string, string>) =>
    spawnSync(process.execPath, ['--import', 'tsx', SELF], {
      env: { ...process.env, OTA_KEY: key.pubPem, ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });

  // Before the link moves the old slot must survive; from the link switch on, the new one runs on trial.
  const POINTS: [string, 'a' | 'b'][] = [
    ['downloaded', 'a'],
    ['checked', 'a'],
    ['mid-unpack', 'a'],
    ['unpacked', 'a'],
    ['mid-write', 'a'],
    ['slot-written', 'a'],
    ['staged', 'a'],
    ['switched', 'b'],
    ['done', 'b'],
  ];

  test('every named checkpoint of apply is covered', () => {
    for (const c of APPLY_CHECKPOINTS)
      assert.ok(
        POINTS.some(([p]) => p === c),
        c,
      );
  });

  for (const [point, lands] of POINTS) {
    test(`killed at ${point}: the next boot runs slot ${lands} and its files verify`, async () => {
      const root = tempDir(`kill-${point}`);
      assert.ok((await new OtaAgent({ root, trustedKeys: [key.pubPem] }).apply(v1)).ok);
      const k = child({ OTA_CHILD: 'apply', OTA_ROOT: root, OTA_BUNDLE: v2, OTA_KILL_AT: point });
      assert.is(k.signal, 'SIGKILL', `${point}: ${k.stdout}${k.stderr}`);
      const b = child({ OTA_CHILD: 'boot', OTA_ROOT: root });
      assert.is(b.status, 0, b.stderr);
      const { decision, status } = JSON.parse(b.stdout);
      assert.is(readlinkSync(join(root, 'current')), `slots/${lands}`);
      assert.is(status.active, lands);
      assert.is(status.staged, null);
      assert.is(decision.slot, lands);
      assert.is(decision.decision, lands === 'a' ? 'confirmed' : 'trial');
      const v = await verifySlot(join(root, 'slots', lands));
      assert.ok(v.ok, v.ok ? '' : v.detail);
      if (lands === 'a') {
        // the dead process's lock and leftovers do not block the next attempt
        const again = await new OtaAgent({ root, trustedKeys: [key.pubPem] }).apply(v2);
        assert.ok(again.ok && again.slot === 'b', JSON.stringify(again));
      }
    });
  }

  test.after(async () => {
    const { rm } = await import('node:fs/promises');
    await rm(dir, { recursive: true, force: true });
  });
  test.run();
}
