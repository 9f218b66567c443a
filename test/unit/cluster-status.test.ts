// What an operator sees of a cluster (issue #13): `tandem status` (table and --json) and MQTT
// `state` / `events` and Prometheus metrics, from a real engine on the fake driver, checked against docs/schemas.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeDriver } from '../../drivers/fake.ts';
import { bucketRanges, formatStatus } from '../../firmware/commands/status.ts';
import { loadConfig } from '../../firmware/config/index.ts';
import type { EngineEvent } from '../../firmware/core/status.ts';
import { Engine } from '../../firmware/engine/engine.ts';
import { TandemMetrics } from '../../firmware/supervisor/metrics.ts';
import { createLogger } from '../../firmware/runtime/log.ts';
import { envelope, eventPayload, statePayload } from '../../firmware/telemetry/payloads.ts';
import { type JsonSchema, validate } from '../../firmware/telemetry/schema.ts';

const schema = (name: string): JsonSchema =>
  JSON.parse(readFileSync(new URL(`../../docs/schemas/${name}.json`, import.meta.url), 'utf8'));

test('bucket ranges read as 0-3,7,9-10', () => {
  assert.is(bucketRanges([0, 1, 2, 3, 7, 9, 10]), '0-3,7,9-10');
  assert.is(bucketRanges([]), '-');
  assert.is(bucketRanges([5]), '5');
});

test('status, its table and the MQTT state and events of a one-node cluster', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-cluster-status-'));
  const yaml = `node: solo
state_dir: ${dir}
clusters:
  - { name: web, interface: eth0, id: 3, addresses: [192.0.2.80], buckets: 16, advert_interval: 20ms, drain_timeout: 0s }
`;
  const r = loadConfig('/virtual/solo.yaml', { hostname: 'solo', platform: 'linux', readFile: () => yaml });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const driver = new FakeDriver({ links: { eth0: {} } });
  driver.addAddress('eth0', '192.0.2.11/24');
  const engine = new Engine({ driver, log: createLogger('silent'), config: r.config });
  const events: EngineEvent[] = [];
  engine.onEvent((e) => events.push(e));
  engine.start();
  try {
    const t0 = Date.now();
    while (engine.status().clusters![0].owned.length < 16 && Date.now() - t0 < 2000)
      await new Promise((res) => setTimeout(res, 5));
    const s = engine.status();
    const c = s.clusters![0];
    assert.equal(c.owned, [...Array(16).keys()]);
    assert.equal(c.draining, []);
    assert.equal(
      c.members.map(({ node, weight, buckets }) => ({ node, weight, buckets })),
      [{ node: 'solo', weight: 100, buckets: 16 }],
    );
    assert.is(c.state, 'serving');
    const table = formatStatus(JSON.parse(JSON.stringify(s)));
    assert.match(table, 'cluster web on eth0  id 3  mac 01:00:5e:7e:54:03  serving  weight 100/100  buckets 16/16');
    assert.match(table, '  owned 0-15\n');
    assert.match(table, /member solo +weight +100 +buckets +16/);
    const state = statePayload(envelope('boot', 1, 0), s);
    assert.equal(validate(schema('state'), JSON.parse(JSON.stringify(state))), []);
    const own = events.find((e) => e.reason === 'cluster-ownership')!;
    assert.equal(own.gained, [...Array(16).keys()]);
    assert.equal(own.failover, []);
    const ev = eventPayload(envelope('boot', 2, 0), 'solo', own);
    assert.equal(validate(schema('events'), JSON.parse(JSON.stringify(ev))), []);
    assert.is((ev as Record<string, unknown>).cluster, 'web');
    const text = await new TandemMetrics().render(s);
    assert.match(text, 'tandem_cluster_buckets{cluster="web",role="owned"} 16\n');
    assert.match(text, 'tandem_cluster_buckets{cluster="web",role="draining"} 0\n');
    assert.match(text, 'tandem_cluster_weight{cluster="web"} 100\n');
    assert.match(text, 'tandem_cluster_members{cluster="web"} 1\n');
  } finally {
    await engine.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
