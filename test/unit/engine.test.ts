// The engine (firmware/engine/engine.ts) on the fake driver and a fake LAN: no root, no kernel.
// Two or three engines share one FakeLan; time is real but short (100 ms adverts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeDriver, FakeLan } from '../../drivers/fake.ts';
import { loadConfig } from '../../firmware/config/index.ts';
import type { TandemConfig } from '../../firmware/config/types.ts';
import type { EngineEvent } from '../../firmware/core/status.ts';
import { Engine } from '../../firmware/engine/engine.ts';
import { createLogger } from '../../firmware/runtime/log.ts';

const ADVERT_MS = 100;
const VIP = '192.0.2.254';

interface Node {
  name: string;
  driver: FakeDriver;
  engine: Engine;
  events: EngineEvent[];
}

function config(name: string, stateDir: string, priority: number, extra = ''): TandemConfig {
  const yaml = `node: ${name}
state_dir: ${stateDir}
instances:
  - name: lan
    interface: eth0
    vrid: 51
    priority: ${priority}
    advert_interval: ${ADVERT_MS}ms
    addresses: [${VIP}/24]
${extra}`;
  const r = loadConfig(`/virtual/${name}.yaml`, { hostname: name, platform: 'linux', readFile: () => yaml });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

async function withNodes(
  prios: number[],
  fn: (nodes: Node[], lan: FakeLan) => Promise<void>,
  opts: { extra?: string; retryMs?: number } = {},
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-engine-'));
  const lan = new FakeLan();
  const nodes: Node[] = prios.map((p, i) => {
    const driver = new FakeDriver({ links: { eth0: {} } });
    driver.addAddress('eth0', `192.0.2.${11 + i}/24`);
    lan.attach(driver, 'eth0');
    const name = `r${i + 1}`;
    const engine = new Engine({
      driver,
      log: createLogger('silent'),
      config: config(name, join(dir, name), p, opts.extra),
      actionFaultRetryMs: opts.retryMs,
    });
    const events: EngineEvent[] = [];
    engine.onEvent((e) => events.push(e));
    return { name, driver, engine, events };
  });
  try {
    for (const n of nodes) n.engine.start();
    await fn(nodes, lan);
  } finally {
    for (const n of nodes) await n.engine.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const stateOf = (n: Node) => n.engine.status().instances[0].state;

async function until(what: string, pred: () => boolean, ms: number): Promise<number> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return Date.now() - t0;
}

const hasVip = (n: Node) => n.driver.listAddresses('eth0').some((a) => a.startsWith(`${VIP}/`));

test('two engines elect the higher priority; only the master holds the VIP', async () => {
  await withNodes([200, 100], async ([r1, r2]) => {
    await until('r1 master, r2 backup', () => stateOf(r1) === 'master' && stateOf(r2) === 'backup', 3000);
    assert.ok(hasVip(r1));
    assert.not.ok(hasVip(r2));
    assert.is(r2.engine.status().instances[0].masterIp, '192.0.2.11');
  });
});

test('a master that cannot install its VIP goes to fault, the peer takes over, and it retries', async () => {
  await withNodes(
    [200, 100],
    async ([r1, r2]) => {
      r1.driver.failAlways('add-address', 'EPERM');
      await until('r2 master after r1 failed to install', () => stateOf(r2) === 'master', 3000);
      assert.is(stateOf(r1), 'fault');
      assert.not.ok(hasVip(r1), 'the faulted master holds nothing');
      assert.ok(hasVip(r2));
      assert.ok(r1.events.some((e) => e.reason === 'address-install-failed'));
      // The kernel accepts the address again: r1 leaves fault at the retry and preempts back.
      r1.driver.failAlways('add-address', null);
      await until('r1 master again', () => stateOf(r1) === 'master' && stateOf(r2) === 'backup', 3000);
      assert.ok(hasVip(r1));
    },
    { retryMs: 500 },
  );
});

test('a master whose adverts fail to send 10 times in a row goes to fault and the peer takes over', async () => {
  await withNodes(
    [200, 100],
    async ([r1, r2]) => {
      await until('r1 master', () => stateOf(r1) === 'master' && stateOf(r2) === 'backup', 3000);
      r1.driver.failAlways('send', 'ENETDOWN');
      // r2 hears nothing from the moment sends fail and takes over after Master_Down_Interval;
      // r1 faults after 10 failed adverts (~1 s at 100 ms) and releases the VIP.
      await until('r1 fault', () => stateOf(r1) === 'fault', 3000);
      assert.is(stateOf(r2), 'master');
      assert.not.ok(hasVip(r1));
      assert.ok(r1.events.some((e) => e.reason === 'send-errors'));
      assert.ok(r1.engine.status().instances[0].counters.sendErrors >= 10);
    },
    { retryMs: 60_000 },
  );
});

test('reload: a priority change applies in place, the master stays master and keeps its VIP', async () => {
  await withNodes([200, 100], async ([r1, r2]) => {
    await until('r1 master', () => stateOf(r1) === 'master' && stateOf(r2) === 'backup', 3000);
    const next = config('r1', r1.engine.config.stateDir, 250);
    const res = await r1.engine.reload(next);
    assert.equal(res, { ok: true, errors: [], kept: ['lan'], restarted: [], added: [], removed: [] });
    assert.is(stateOf(r1), 'master');
    assert.is(r1.engine.status().instances[0].effectivePriority, 250);
    assert.is(r1.engine.status().instances[0].counters.becameMaster, 1, 'no second election');
  });
});

test('two reloads at once run one after the other: one live instance per VRID, nothing left', async () => {
  await withNodes([200], async ([r1]) => {
    await until('r1 master', () => stateOf(r1) === 'master', 3000);
    const moved = (vrid: number) => {
      const c = config('r1', r1.engine.config.stateDir, 200);
      return { ...c, instances: c.instances.map((i) => ({ ...i, vrid })) };
    };
    const [x, y] = await Promise.all([r1.engine.reload(moved(52)), r1.engine.reload(moved(53))]);
    assert.ok(x.ok && y.ok);
    const s = r1.engine.status();
    assert.is(s.instances.length, 1);
    assert.is(s.instances[0].vrid, 53);
    assert.is(r1.driver.openChannels('eth0').length, 1, 'one capture for the one instance');
  });
});

test('reload to an instance that cannot start is refused whole: the running instance keeps running', async () => {
  await withNodes([200], async ([r1]) => {
    await until('r1 master', () => stateOf(r1) === 'master', 3000);
    const c = config('r1', r1.engine.config.stateDir, 200);
    const next = { ...c, instances: c.instances.map((i) => ({ ...i, vrid: 52, interface: 'eth9' })) };
    const res = await r1.engine.reload(next);
    assert.is(res.ok, false);
    assert.match(res.errors.join('\n'), /instance lan: .*eth9/);
    const s = r1.engine.status();
    assert.is(s.instances.length, 1);
    assert.is(s.instances[0].vrid, 51, 'the old instance is untouched');
    assert.is(stateOf(r1), 'master');
    assert.ok(hasVip(r1));
    assert.ok(r1.events.some((e) => e.reason === 'reload-rejected'));
  });
});

test('stop undoes everything the engine changed (VIP gone)', async () => {
  let driver: FakeDriver | undefined;
  await withNodes([200], async ([r1]) => {
    driver = r1.driver;
    await until('r1 master', () => stateOf(r1) === 'master', 3000);
    assert.ok(hasVip(r1));
  });
  assert.not.ok(driver!.listAddresses('eth0').some((a) => a.startsWith(`${VIP}/`)));
});

test.run();
