// Start-up with one configured interface missing (issue #12) or admin-down: the other instances
// run, the missing one is reported in status (and as an event, and in the status table), and it
// starts once its interface appears or comes up (at once on the link event, not at the 2 s retry).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeDriver } from '../../drivers/fake.ts';
import { loadConfig } from '../../firmware/config/index.ts';
import type { EngineEvent } from '../../firmware/core/status.ts';
import { formatStatus } from '../../firmware/commands/status.ts';
import { Engine } from '../../firmware/engine/engine.ts';
import { createLogger } from '../../firmware/runtime/log.ts';

async function until(what: string, pred: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('one missing NIC: the other instance runs, the missing one is reported, then starts when the NIC appears', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-nic-'));
  const yaml = `node: r1\nstate_dir: ${dir}\ninstances:
  - { name: lan, interface: eth0, vrid: 51, priority: 200, advert_interval: 100ms, addresses: [192.0.2.254/24] }
  - { name: wan, interface: eth1, vrid: 52, priority: 200, advert_interval: 100ms, addresses: [198.51.100.254/24] }
`;
  const r = loadConfig('/virtual/r1.yaml', { hostname: 'r1', platform: 'linux', readFile: () => yaml });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const driver = new FakeDriver({ links: { eth0: {} } });
  driver.addAddress('eth0', '192.0.2.11/24');
  const engine = new Engine({ driver, log: createLogger('silent'), config: r.config });
  const events: EngineEvent[] = [];
  engine.onEvent((e) => events.push(e));
  const state = (n: string) => engine.status().instances.find((i) => i.name === n)?.state;
  try {
    engine.start(); // threw before: the whole daemon exited (and its unit restarted it, in a loop)
    await until('lan master', () => state('lan') === 'master', 3000);
    const st = engine.status();
    assert.equal(
      st.unstarted?.map((u) => [u.name, u.interface]),
      [['wan', 'eth1']],
    );
    assert.ok(st.unstarted?.[0].error.length);
    assert.ok(events.some((e) => e.instance === 'wan' && e.reason === 'instance-start-failed'));
    driver.addLink('eth1');
    driver.addAddress('eth1', '198.51.100.11/24');
    await until('wan master', () => state('wan') === 'master', 6000);
    assert.is(engine.status().unstarted, undefined);
    assert.ok(events.some((e) => e.instance === 'wan' && e.reason === 'instance-started'));
    assert.is(state('lan'), 'master');
  } finally {
    await engine.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an admin-down interface: listed as not started in the status table; up: started by the link event, not the 2 s retry', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-nic-'));
  const yaml = `node: r1\nstate_dir: ${dir}\ninstances:
  - { name: lan, interface: eth0, vrid: 51, priority: 200, advert_interval: 100ms, addresses: [192.0.2.254/24] }
`;
  const r = loadConfig('/virtual/r1.yaml', { hostname: 'r1', platform: 'linux', readFile: () => yaml });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const driver = new FakeDriver({ links: { eth0: { up: false } } });
  driver.addAddress('eth0', '192.0.2.11/24');
  const engine = new Engine({ driver, log: createLogger('silent'), config: r.config });
  try {
    engine.start();
    const st = engine.status();
    assert.equal(
      st.unstarted?.map((u) => [u.name, u.interface]),
      [['lan', 'eth0']],
    );
    assert.match(st.unstarted![0].error, /not up/);
    const table = formatStatus(JSON.parse(JSON.stringify(st)));
    assert.match(table, /^lan\s+eth0\s+-\s+-\s+not-started/m);
    assert.match(table, /lan: not started: .*not up.*comes up/);
    // The first 2 s retry is far off: only the link event can start it within one turn of the loop.
    driver.setUp('eth0', true);
    await new Promise((res) => setImmediate(res));
    assert.ok(
      engine.status().instances.some((i) => i.name === 'lan'),
      'started by the link-up event',
    );
    assert.is(engine.status().unstarted, undefined);
  } finally {
    await engine.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
