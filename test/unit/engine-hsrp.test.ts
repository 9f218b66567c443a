// HSRP instances in the engine, on the fake driver and a fake LAN (no root): the election, the
// Resign on stop, authentication, and what status shows. Short HSRPv2 timers (hello 100 ms,
// hold 300 ms). The wire against an independent speaker is test/net/hsrp-speaker.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeDriver, FakeLan } from '../../drivers/fake.ts';
import { loadConfig } from '../../firmware/config/index.ts';
import { Engine } from '../../firmware/engine/engine.ts';
import { formatStatus } from '../../firmware/commands/status.ts';
import { createLogger } from '../../firmware/runtime/log.ts';

const VIP = '192.0.2.254';

interface Node {
  driver: FakeDriver;
  engine: Engine;
}

function start(lan: FakeLan, dir: string, i: number, priority: number, extra = ''): Node {
  const driver = new FakeDriver({ links: { eth0: {} } });
  driver.addAddress('eth0', `192.0.2.${11 + i}/24`);
  lan.attach(driver, 'eth0');
  const yaml = `node: r${i}
state_dir: ${join(dir, `r${i}`)}
instances:
  - name: lan
    protocol: hsrp
    interface: eth0
    version: 2
    group: 300
    priority: ${priority}
    hello_time: 100ms
    hold_time: 300ms
    addresses: [${VIP}/24]
${extra}`;
  const r = loadConfig(`/virtual/r${i}.yaml`, { hostname: `r${i}`, platform: 'linux', readFile: () => yaml });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const engine = new Engine({ driver, log: createLogger('silent'), config: r.config });
  engine.start();
  return { driver, engine };
}

const st = (n: Node) => n.engine.status().instances[0];

async function until(what: string, pred: () => boolean, ms: number): Promise<number> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return Date.now() - t0;
}

test('two HSRPv2 routers: the higher priority is active, the other standby; the Resign on stop hands over at once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-hsrp-'));
  const lan = new FakeLan();
  const nodes = [start(lan, dir, 1, 150), start(lan, dir, 2, 100)];
  try {
    await until(
      'active + standby',
      () => st(nodes[0]).hsrpState === 'active' && st(nodes[1]).hsrpState === 'standby',
      3000,
    );
    assert.is(st(nodes[0]).state, 'master');
    assert.is(st(nodes[1]).state, 'backup');
    assert.is(st(nodes[1]).masterIp, '192.0.2.12'); // node 1's own address (192.0.2.11 + 1)
    assert.is(st(nodes[0]).virtualMac, '00:00:0c:9f:f1:2c'); // group 300 = 0x12c
    assert.is(st(nodes[0]).protocol, 'hsrp');
    assert.ok(nodes[0].driver.listAddresses('eth0').includes(`${VIP}/24`));
    assert.not.ok(nodes[1].driver.listAddresses('eth0').includes(`${VIP}/24`));
    // `tandem status` names the RFC 2281 state and the protocol.
    const row = formatStatus(nodes[1].engine.status())
      .split('\n')
      .find((l) => l.startsWith('lan '));
    assert.match(row ?? '', /^lan\s+eth0\s+300\s+hsrp\s+standby\s+100\s+100\s+192\.0\.2\.12\s/);
    await nodes[0].engine.stop();
    // A Resign makes the standby active without waiting for the 300 ms Holdtime.
    const took = await until('standby takes over', () => st(nodes[1]).hsrpState === 'active', 1000);
    assert.ok(took < 250, `took ${took} ms`);
  } finally {
    for (const n of nodes) await n.engine.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('MD5 keys that differ: each drops the other as bad-auth and both go active', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-hsrp-'));
  const lan = new FakeLan();
  const nodes = [start(lan, dir, 1, 150, '    md5_key: one\n'), start(lan, dir, 2, 100, '    md5_key: two\n')];
  try {
    await until('both active', () => nodes.every((n) => st(n).hsrpState === 'active'), 3000);
    assert.ok((st(nodes[0]).counters.drops['bad-auth'] ?? 0) > 0);
    assert.ok((st(nodes[1]).counters.drops['bad-auth'] ?? 0) > 0);
  } finally {
    for (const n of nodes) await n.engine.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
