// The OTA health check (docs/ota.md "Boot protocol"): a trial build is confirmed only after every
// instance has been backup or master without a break for health_deadline. The pure verdict
// (ota/trial-health.ts) with a clock passed in, then the supervisor's OtaLink on a real agent and
// real bundles with a scripted engine: a trial that crashes before the deadline and one that
// leaves every instance in fault both roll back; a healthy one is confirmed, not before its time.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { OtaAgent } from '../../ota/agent.ts';
import { GIVE_UP_FACTOR, TrialHealth } from '../../ota/trial-health.ts';
import type { TandemConfig } from '../../firmware/config/types.ts';
import type { EngineEvent } from '../../firmware/core/status.ts';
import { createLogger } from '../../firmware/runtime/log.ts';
import type { EngineClient } from '../../firmware/supervisor/engine-client.ts';
import { OtaLink } from '../../firmware/supervisor/ota-link.ts';
import { makeBundle, makeKey, tempDir } from '../kit/ota.ts';

const S = 1000;
const states = (...st: string[]) => st.map((state, i) => ({ name: `i${i}`, state }));

test('TrialHealth: confirms after health_deadline of unbroken backup/master, not a moment before', () => {
  const h = new TrialHealth(120 * S, 0);
  assert.is(h.observe(states('init', 'init'), 0).action, 'wait');
  assert.is(h.observe(states('backup', 'master'), 5 * S).action, 'wait'); // healthy from 5 s
  assert.is(h.observe(states('backup', 'master'), 124 * S).action, 'wait');
  assert.is(h.observe(states('backup', 'master'), 125 * S).action, 'confirm');
});

test('TrialHealth: a crash at 30 s of a 120 s deadline was never confirmed (the run ends waiting)', () => {
  const h = new TrialHealth(120 * S, 0);
  for (let t = 0; t <= 30 * S; t += 500) assert.is(h.observe(states('master'), t).action, 'wait', `at ${t} ms`);
});

test('TrialHealth: fault counts as unhealthy; a fault or init in between restarts the count', () => {
  const h = new TrialHealth(10 * S, 0);
  assert.is(h.observe(states('master'), 0).action, 'wait');
  assert.is(h.observe(states('fault'), 6 * S).action, 'wait');
  assert.is(h.observe(states('master'), 7 * S).action, 'wait');
  assert.is(h.observe(states('master'), 16 * S).action, 'wait', 'the count restarted at 7 s');
  assert.is(h.observe(states('master'), 17 * S).action, 'confirm');
  // A fault between two polls, seen only as a transition event, breaks the run too.
  const g = new TrialHealth(10 * S, 0);
  g.observe(states('backup'), 0);
  g.transition('i0', 'fault');
  g.transition('i0', 'backup');
  assert.is(g.observe(states('backup'), 5 * S).action, 'wait');
  assert.is(g.observe(states('backup'), 10 * S).action, 'wait', 'the blip at 0..5 s was forgotten');
  assert.is(g.observe(states('backup'), 15 * S).action, 'confirm');
});

test('TrialHealth: every instance in fault (or none at all) gives up at twice the deadline', () => {
  const h = new TrialHealth(10 * S, 0);
  assert.is(h.observe(states('fault', 'fault'), 19_999).action, 'wait');
  const v = h.observe(states('fault', 'fault'), GIVE_UP_FACTOR * 10 * S);
  assert.is(v.action, 'give-up');
  if (v.action === 'give-up') assert.match(v.reason, /i0 is fault, i1 is fault/);
  const e = new TrialHealth(10 * S, 0);
  assert.is(e.observe([], 0).action, 'wait');
  assert.is(e.observe([], 20 * S).action, 'give-up');
});

// ---- OtaLink on a real agent: each "boot" is OtaLink.open (the boot check) and watchHealth ----

const key = makeKey();
const dir = tempDir('trial-health');
let v1 = '',
  v2 = '';
test.before(async () => {
  v1 = (await makeBundle(key, { rollbackIndex: 5, outDir: join(dir, 'v1') })).file;
  v2 = (await makeBundle(key, { rollbackIndex: 6, outDir: join(dir, 'v2') })).file;
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

const HEALTH_MS = 400; // health_deadline, short for the test; the rule is the same at 120 s
const quiet = { info() {}, warn() {}, error() {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function trialRoot(tag: string): Promise<string> {
  const root = tempDir(tag);
  const a = new OtaAgent({ root, trustedKeys: [key.pubPem], log: quiet });
  assert.ok((await a.apply(v1)).ok);
  const r = await a.apply(v2);
  assert.ok(r.ok && r.pending, JSON.stringify(r));
  return root;
}

/** One start of the daemon on `root`, its engine reporting `state` for its one instance. */
async function boot(root: string, state: () => string) {
  delete process.env.TANDEM_BOOT_ID; // every start is a new boot
  delete process.env.TANDEM_OTA_ROOT;
  const listeners: ((e: EngineEvent) => void)[] = [];
  const engine = {
    status: () => ({ instances: [{ name: 'lan', state: state() }] }),
    onEvent: (l: (e: EngineEvent) => void) => listeners.push(l),
  } as unknown as EngineClient;
  const config = {
    ota: { root, trustedKeys: [key.pubPem], healthDeadlineMs: HEALTH_MS, allowDowngrade: false },
  } as unknown as TandemConfig;
  const ctx = { engine, config, configFile: '', log: createLogger('silent'), execute: async () => undefined };
  const link = await OtaLink.open(ctx, () => {});
  assert.ok(link, 'an installed root');
  let exitCode: number | undefined;
  const stop = link!.watchHealth({ exit: (c) => (exitCode = c), pollMs: 20 });
  return {
    stop,
    exitCode: () => exitCode,
    emit: (e: EngineEvent) => {
      for (const l of listeners) l(e);
    },
  };
}

const status = (root: string) => new OtaAgent({ root, trustedKeys: [key.pubPem], log: quiet }).status();

test('a trial that crashes before health_deadline is never confirmed, and after maxTrialBoots it rolls back', async () => {
  const root = await trialRoot('crash');
  try {
    for (let run = 1; run <= 2; run++) {
      const b = await boot(root, () => 'master');
      await sleep(HEALTH_MS * 0.6); // healthy all along, then it crashes
      b.stop();
      assert.is(status(root).pending, true, `run ${run} was confirmed before its deadline`);
    }
    await boot(root, () => 'master'); // the third start finds two failed runs
    const s = status(root);
    assert.is(s.active, 'a', 'rolled back to the previous slot');
    assert.is(s.pending, false);
    assert.ok(s.lastRollback, 'a rollback is recorded');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a trial that leaves every instance in fault exits for rollback at twice the deadline, and rolls back', async () => {
  const root = await trialRoot('fault');
  try {
    for (let run = 1; run <= 2; run++) {
      const t0 = Date.now();
      const b = await boot(root, () => 'fault');
      while (b.exitCode() === undefined && Date.now() - t0 < 10 * HEALTH_MS) await sleep(10);
      b.stop();
      assert.is(b.exitCode(), 70, `run ${run} did not exit for rollback`);
      assert.ok(Date.now() - t0 >= GIVE_UP_FACTOR * HEALTH_MS - 50, 'gave up before twice the deadline');
      assert.is(status(root).pending, true);
    }
    await boot(root, () => 'fault');
    assert.is(status(root).active, 'a');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a healthy trial is confirmed after health_deadline; a fault event restarts the count', async () => {
  const root = await trialRoot('healthy');
  try {
    const t0 = Date.now();
    const b = await boot(root, () => 'backup');
    await sleep(HEALTH_MS / 2);
    b.emit({ instance: 'lan', from: 'backup', to: 'fault', reason: 'interface-down' });
    const tFault = Date.now();
    while (status(root).pending && Date.now() - t0 < 10 * HEALTH_MS) await sleep(10);
    b.stop();
    const s = status(root);
    assert.is(s.pending, false, 'not confirmed');
    assert.is(s.active, 'b');
    assert.ok(Date.now() - tFault >= HEALTH_MS - 30, 'confirmed before a full deadline after the fault');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
