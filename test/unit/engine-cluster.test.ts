// The cluster runner (firmware/engine/cluster.ts) inside real engines on the fake driver and a
// fake LAN: no root, no kernel, real time at 100 ms adverts. What each node's data path is told
// (FakeClusterDataPath) is what the kernel would filter by.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FakeClusterDataPath, FakeDriver, FakeLan } from '../../drivers/fake.ts';
import { loadConfig } from '../../firmware/config/index.ts';
import type { TandemConfig } from '../../firmware/config/types.ts';
import { clusterBucketOf, clusterSeed, memberDownIntervalMs, nodeIdOf } from '../../firmware/core/cluster/index.ts';
import { parseIp } from '../../firmware/core/packet/addr.ts';
import { type ClusterAdvert, encodeClusterFrame } from '../../firmware/core/packet/cluster.ts';
import type { ClusterStatus, EngineEvent } from '../../firmware/core/status.ts';
import { Engine } from '../../firmware/engine/engine.ts';
import { createLogger } from '../../firmware/runtime/log.ts';

const ADVERT_MS = 100;
const BUCKETS = 64;
const DRAIN_MS = 600;
/** Timer lateness allowed on a loaded 2-core machine, on top of the protocol's bound. */
const LOAD_MARGIN_MS = 75;

interface Node {
  name: string;
  driver: FakeDriver;
  engine: Engine;
  events: EngineEvent[];
  stateDir: string;
}

function config(
  name: string,
  stateDir: string,
  opts: { weight?: number; extra?: string; instance?: boolean; drainMs?: number } = {},
) {
  const yaml = `node: ${name}
state_dir: ${stateDir}
${
  opts.instance
    ? `instances:
  - { name: gw, interface: eth0, vrid: 7, priority: 100, advert_interval: ${ADVERT_MS}ms, addresses: [192.0.2.254/24] }
`
    : ''
}clusters:
  - name: web
    interface: eth0
    id: 9
    addresses: [192.0.2.80/32, 2001:db8::80/128]
    buckets: ${BUCKETS}
    weight: ${opts.weight ?? 100}
    advert_interval: ${ADVERT_MS}ms
    drain_timeout: ${opts.drainMs ?? DRAIN_MS}ms
${opts.extra ?? ''}`;
  const r = loadConfig(`/virtual/${name}.yaml`, { hostname: name, platform: 'linux', readFile: () => yaml });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

class Cluster {
  dir = mkdtempSync(join(tmpdir(), 'tandem-cluster-'));
  lan = new FakeLan();
  nodes: Node[] = [];
  /** node name -> frames from it are dropped (a silent failure / a partition) */
  silent = new Set<string>();
  /** node name -> performance.now() of its last frame carried */
  lastFrom = new Map<string, number>();
  /** groups: frames cross only between nodes of one group */
  group = new Map<string, number>();

  constructor() {
    this.lan.filter = (_f, from, to) => {
      const a = this.nodes.find((n) => n.driver === from.driver)!;
      const b = this.nodes.find((n) => n.driver === to.driver)!;
      if (this.silent.has(a.name)) return false;
      if ((this.group.get(a.name) ?? 0) !== (this.group.get(b.name) ?? 0)) return false;
      this.lastFrom.set(a.name, performance.now());
      return true;
    };
  }

  add(
    name: string,
    opts: { weight?: number; extra?: string; instance?: boolean; start?: boolean; drainMs?: number } = {},
  ): Node {
    const driver = new FakeDriver({ links: { eth0: {} } });
    driver.addAddress('eth0', `192.0.2.${11 + this.nodes.length}/24`);
    this.lan.attach(driver, 'eth0');
    const stateDir = join(this.dir, name);
    const engine = new Engine({ driver, log: createLogger('silent'), config: config(name, stateDir, opts) });
    const events: EngineEvent[] = [];
    engine.onEvent((e) => events.push(e));
    const n = { name, driver, engine, events, stateDir };
    this.nodes.push(n);
    if (opts.start !== false) engine.start();
    return n;
  }

  async close(): Promise<void> {
    // Stop without draining waits: the data paths are checked by the tests that care.
    await Promise.all(this.nodes.map((n) => n.engine.stop()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const dp = (n: Node): FakeClusterDataPath | undefined => n.driver.clusterPaths.get('web');
const st = (n: Node): ClusterStatus => n.engine.status().clusters![0];

/** Every bucket owned by exactly one of `nodes`, by what their data paths were told. */
function oneOwnerEach(nodes: Node[]): boolean {
  const count = new Array(BUCKETS).fill(0);
  for (const n of nodes) for (const b of dp(n)?.owned ?? []) count[b]++;
  return count.every((c) => c === 1);
}

function maxOwners(nodes: Node[]): number {
  const count = new Array(BUCKETS).fill(0);
  for (const n of nodes) for (const b of dp(n)?.owned ?? []) count[b]++;
  return Math.max(...count);
}

async function until(what: string, pred: () => boolean, ms: number, every?: () => void): Promise<number> {
  const t0 = performance.now();
  while (!pred()) {
    every?.();
    if (performance.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
  return performance.now() - t0;
}

async function three(): Promise<Cluster> {
  const c = new Cluster();
  c.add('a');
  c.add('b');
  c.add('c');
  // Started together, the first node to end its listening takes everything and drains it to the
  // others a moment later: steady once those drains (drain_timeout) are over.
  await until(
    'steady state',
    () => oneOwnerEach(c.nodes) && c.nodes.every((n) => st(n).state === 'serving' && !st(n).draining.length),
    3000,
  );
  return c;
}

test('steady state: one owner per bucket, shares within one bucket, status and data path agree', async () => {
  const c = await three();
  try {
    for (const n of c.nodes) {
      const s = st(n);
      assert.ok(s.owned.length === 21 || s.owned.length === 22, `${n.name}: ${s.owned.length}`);
      assert.equal(s.owned, dp(n)!.owned);
      assert.equal(s.draining, []);
      assert.is(s.members.length, 3);
      assert.ok(s.members.every((m) => m.weight === 100 && m.viewAgrees));
      assert.equal(
        s.members.map((m) => m.buckets).reduce((x, y) => x + y, 0),
        BUCKETS,
      );
      assert.is(s.mac, '01:00:5e:7e:54:09');
      const spec = dp(n)!.spec;
      assert.equal(spec.addresses, ['192.0.2.80/32', '2001:db8::80/128']);
      assert.is(spec.buckets, BUCKETS);
      assert.is(spec.seed, dp(c.nodes[0])!.spec.seed);
      assert.is(s.dataPath?.table, 'tandem_web');
    }
  } finally {
    await c.close();
  }
});

test('silent failure: re-owned within 3 x interval + skew (+ load margin) after its last advert, and not before; spread over both survivors', async () => {
  const c = await three();
  try {
    const [a, b, dead] = c.nodes;
    const orphans = [...dp(dead)!.owned];
    c.silent.add('c');
    const t0 = performance.now();
    await until('a and b own everything', () => oneOwnerEach([a, b]), 2000);
    const last = c.lastFrom.get('c')!;
    const took = performance.now() - last;
    const bound = memberDownIntervalMs(ADVERT_MS);
    assert.ok(took <= bound + LOAD_MARGIN_MS, `re-owned ${took.toFixed(1)} ms after c's last advert, bound ${bound}`);
    // Lower side: not before c has been silent for 3 intervals (no false failover).
    assert.ok(performance.now() - t0 >= 3 * ADVERT_MS - ADVERT_MS, 'not taken before 3 missed adverts');
    const toA = orphans.filter((x) => dp(a)!.owned.includes(x)).length;
    const toB = orphans.filter((x) => dp(b)!.owned.includes(x)).length;
    assert.is(toA + toB, orphans.length);
    assert.ok(toA >= orphans.length / 4 && toB >= orphans.length / 4, `spread ${toA}/${toB}`);
    const ev = a.events.find((e) => e.reason === 'cluster-member-down');
    assert.ok(ev && ev.member === 'c' && ev.why === 'timeout');
    assert.ok(a.events.some((e) => e.reason === 'cluster-ownership' && (e.failover as number[]).length > 0));
  } finally {
    await c.close();
  }
});

test('join: the new node takes its share as the old owners drain; never two owners of a bucket', async () => {
  const c = new Cluster();
  try {
    const [a, b] = [c.add('a'), c.add('b')];
    await until('a and b serve', () => oneOwnerEach([a, b]), 3000);
    let worst = 0;
    const d = c.add('d');
    await until(
      'd serves its share',
      () => oneOwnerEach(c.nodes) && (dp(d)?.owned.length ?? 0) >= 21,
      3000,
      () => {
        worst = Math.max(worst, maxOwners(c.nodes));
      },
    );
    assert.is(worst, 1, 'no bucket had two owners');
    const drained = [...dp(a)!.draining, ...dp(b)!.draining];
    for (const x of dp(d)!.owned) assert.ok(drained.includes(x), `bucket ${x} drains on its old owner`);
    await until('draining ends after drain_timeout', () => !dp(a)!.draining.length && !dp(b)!.draining.length, 2000);
  } finally {
    await c.close();
  }
});

test('weight change by reload: shares follow the weights, given-up buckets drain', async () => {
  const c = await three();
  try {
    const [a] = c.nodes;
    const res = await a.engine.reload(config('a', a.stateDir, { weight: 50 }));
    assert.ok(res.ok);
    await until('a has 64 x 50/250 buckets', () => oneOwnerEach(c.nodes) && dp(a)!.owned.length <= 13, 2000);
    assert.ok(dp(a)!.owned.length >= 12);
    assert.ok(dp(a)!.draining.length >= 8);
    assert.is(st(c.nodes[1]).members.find((m) => m.node === 'a')!.weight, 50);
  } finally {
    await c.close();
  }
});

test('maintenance: weight 0, every bucket handed over at once and drained', async () => {
  const c = await three();
  try {
    const [a, b, x] = c.nodes;
    const had = dp(a)!.owned.length;
    assert.equal(a.engine.maintenance(true, 'web'), ['web']);
    assert.equal(dp(a)!.owned, []);
    assert.is(dp(a)!.draining.length, had);
    await until('b and c own everything', () => oneOwnerEach([b, x]), 200);
    assert.is(st(a).weight, 0);
    a.engine.maintenance(false, 'web');
    await until('a serves again', () => oneOwnerEach(c.nodes) && dp(a)!.owned.length >= 21, 2000);
  } finally {
    await c.close();
  }
});

test('carrier loss: weight 0 and handed over; carrier back: listens again before it takes its share', async () => {
  const c = await three();
  try {
    const [a, b, x] = c.nodes;
    a.driver.setCable('eth0', false);
    await until('b and c own everything', () => oneOwnerEach([b, x]), 500);
    assert.is(st(a).weight, 0);
    assert.equal(dp(a)!.owned, []);
    a.driver.setCable('eth0', true);
    await until('a joining', () => st(a).state === 'joining', 200);
    assert.equal(dp(a)!.owned, [], 'nothing taken while listening');
    await until('a serves its share', () => oneOwnerEach(c.nodes) && dp(a)!.owned.length >= 21, 2000);
  } finally {
    await c.close();
  }
});

test('a drain ends when connection tracking has no open connection of the bucket left, not at drain_timeout', async () => {
  const c = new Cluster();
  try {
    const slow = { drainMs: 30_000 };
    const [a, b] = [c.add('a', slow), c.add('b', slow)];
    await until('a and b serve, nothing draining', () => oneOwnerEach([a, b]) && !st(a).draining.length, 35_000);
    const bucketOf = (ip: string) =>
      clusterBucketOf(parseIp(ip)!.bytes, parseIp('192.0.2.80')!.bytes, 'source', BUCKETS, clusterSeed(9));
    const mine = new Set(dp(a)!.owned);
    const client = Array.from({ length: 250 }, (_, i) => `198.51.100.${i + 1}`).find((ip) => mine.has(bucketOf(ip)))!;
    dp(a)!.connections = [{ client, service: '192.0.2.80' }];
    // Drains of the start (one node took everything first, then handed half over) may have ended
    // already and are counted: count from here.
    const endedBefore = st(a).counters.drainsEnded;
    assert.equal(a.engine.maintenance(true, 'web'), ['web']);
    assert.is(dp(a)!.draining.length, mine.size, 'every bucket drains');
    await until("every drain but the open connection's ended", () => dp(a)!.draining.length === 1, 3_000);
    assert.equal(dp(a)!.draining, [bucketOf(client)]);
    assert.is(st(a).counters.drainsEnded - endedBefore, mine.size - 1);
    assert.ok(a.events.some((e) => e.reason === 'cluster-drain-ended'));
    dp(a)!.connections = []; // the client closed it
    await until('its drain ended too', () => dp(a)!.draining.length === 0, 3_000);
    assert.ok(oneOwnerEach([b]));
  } finally {
    await c.close();
  }
});

test('without a view of connection tracking (no conntrack tool) drains end at drain_timeout', async () => {
  const c = new Cluster();
  try {
    const drainMs = 4_000;
    const [a, b] = [c.add('a', { drainMs }), c.add('b', { drainMs })];
    await until('a and b serve, nothing draining', () => oneOwnerEach([a, b]) && !st(a).draining.length, 10_000);
    dp(a)!.connections = undefined;
    const had = dp(a)!.owned.length;
    a.engine.maintenance(true, 'web');
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 2_500));
    assert.is(dp(a)!.draining.length, had, 'still draining: only the timeout ends it');
    await until('drains over at drain_timeout', () => dp(a)!.draining.length === 0, drainMs);
    assert.ok(performance.now() - t0 >= drainMs - 10, 'not before drain_timeout');
    assert.is(st(a).counters.drainsEnded, 0);
  } finally {
    await c.close();
  }
});

test('stop (SIGTERM): hand over at once, drain, farewell, data path and journal cleaned', async () => {
  const c = await three();
  try {
    const [a, b, x] = c.nodes;
    const t0 = performance.now();
    const stopped = a.engine.stop();
    await until('b and c own everything', () => oneOwnerEach([b, x]), 100);
    const handover = performance.now() - t0;
    assert.ok(handover < 50, `handover ${handover.toFixed(1)} ms`);
    assert.ok(dp(a) && dp(a)!.draining.length > 0, 'a drains while stopping');
    await stopped;
    const took = performance.now() - t0;
    assert.ok(took >= DRAIN_MS - 20 && took < DRAIN_MS + 500, `stop took ${took.toFixed(0)} ms`);
    assert.is(dp(a), undefined, 'data path closed');
    // The farewell: a is dropped at once, not after Member_Down_Interval.
    await until('b forgets a', () => !st(b).members.some((m) => m.node === 'a'), 50);
    assert.ok(b.events.some((e) => e.reason === 'cluster-member-down' && e.why === 'leaving'));
  } finally {
    await c.close();
  }
});

test('split brain that heals: every bucket one owner within one advert interval', async () => {
  const c = await three();
  try {
    const [a, b, x] = c.nodes;
    c.group.set('c', 1);
    await until('both sides own everything', () => oneOwnerEach([a, b]) && oneOwnerEach([x]), 2000);
    c.group.set('c', 0);
    const took = await until('one owner each', () => oneOwnerEach(c.nodes), 1000);
    assert.ok(took <= ADVERT_MS + LOAD_MARGIN_MS, `healed in ${took.toFixed(1)} ms`);
  } finally {
    await c.close();
  }
});

test('bad frames are counted per reason and never change ownership; VRRP instances do not see them', async () => {
  const c = new Cluster();
  try {
    const a = c.add('a', { instance: true });
    await until('a serves', () => oneOwnerEach([a]), 2000);
    const good: ClusterAdvert = {
      clusterId: 9,
      nodeId: nodeIdOf('intruder'),
      weight: 60000,
      advertIntervalMs: 100,
      viewHash: 0,
      buckets: BUCKETS,
      joining: false,
      leaving: false,
      owned: [0, 1, 2, 3],
      draining: [],
      name: 'intruder',
    };
    const frame = (adv: Partial<ClusterAdvert>, ttl = 255) =>
      encodeClusterFrame({
        srcMac: '02:00:00:00:00:99',
        family: 4,
        src: '192.0.2.99',
        advert: { ...good, ...adv },
        ttl,
      });
    const corrupt = frame({});
    corrupt[corrupt.length - 1] ^= 0xff; // checksum no longer matches
    const version = frame({});
    version[14 + 20 + 2] = 9;
    a.driver.deliver('eth0', corrupt);
    a.driver.deliver('eth0', version);
    a.driver.deliver('eth0', frame({ clusterId: 10 }));
    a.driver.deliver('eth0', frame({ buckets: 32, owned: [0] }));
    a.driver.deliver('eth0', frame({}, 64));
    a.driver.deliver('eth0', frame({ nodeId: nodeIdOf('a'), name: 'a' })); // our id, from elsewhere
    await new Promise((r) => setTimeout(r, 3 * ADVERT_MS));
    const s = st(a);
    assert.equal(s.drops, {
      'bad-checksum': 1,
      'bad-version': 1, // checked before the checksum (a future version may checksum otherwise)
      'wrong-cluster': 1,
      'bad-bucket-map': 1,
      'bad-ttl': 1,
      'own-node-id': 1,
    });
    assert.is(dp(a)!.owned.length, BUCKETS, 'ownership unchanged');
    assert.is(s.members.length, 1);
    assert.equal(a.engine.status().interfaces.find((p) => p.name === 'eth0')?.drops ?? {}, {});
    assert.is(a.engine.status().instances[0].counters.drops['bad-version'] ?? 0, 0);
  } finally {
    await c.close();
  }
});

test('leftovers of a crashed run are removed at start (journal)', async () => {
  const c = new Cluster();
  try {
    const stateDir = join(c.dir, 'a');
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(
      join(stateDir, 'changes.json'),
      JSON.stringify({
        pid: 1,
        macs: {},
        addresses: [],
        links: [],
        settings: [],
        clusters: [{ name: 'old', ifname: 'eth0' }],
      }),
    );
    const a = c.add('a');
    assert.equal(a.driver.callsOf('remove-cluster-data-path')[0], ['old', 'eth0']);
    const journal = JSON.parse(readFileSync(join(stateDir, 'changes.json'), 'utf8'));
    assert.equal(journal.clusters, [{ name: 'web', ifname: 'eth0' }]);
  } finally {
    await c.close();
  }
});

test.run();
