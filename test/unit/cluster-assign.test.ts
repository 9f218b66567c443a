// The bucket assignment (core/cluster/assign.ts): shares within one bucket of the weights, a
// failed node's buckets spread over every survivor, few other buckets move, the same owners
// whatever order the members are listed in. Plus the cluster MAC and the seed (core/cluster/mac.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  assignBuckets,
  clusterIgmpGroup,
  clusterMac,
  clusterSeed,
  nodeIdOf,
  quotas,
  viewHash,
} from '../../firmware/core/cluster/index.ts';

const node = (name: string, weight = 100) => ({ nodeId: nodeIdOf(name), weight });
const count = (owners: (number | null)[], id: number) => owners.filter((o) => o === id).length;

test('shares are proportional to weight within one bucket (largest remainder)', () => {
  const cases: [number[], number][] = [
    [[100, 100, 100], 64],
    [[100, 50, 25], 64],
    [[1, 2, 3, 4, 5], 256],
    [[7, 0, 13], 10],
    [[65535, 1], 1024],
    [[3, 3], 1],
  ];
  for (const [weights, buckets] of cases) {
    const ms = weights.map((w, i) => node(`n${i}`, w));
    const owners = assignBuckets(ms, buckets);
    assert.is(owners.filter((o) => o === null).length, 0, 'every bucket has an owner');
    const total = weights.reduce((a, b) => a + b, 0);
    for (const m of ms) {
      const ideal = (buckets * m.weight) / total;
      const got = count(owners, m.nodeId);
      assert.ok(Math.abs(got - ideal) < 1, `${weights}/${buckets}: ${got} vs ${ideal}`);
      assert.is(got, quotas(ms, buckets).get(m.nodeId));
    }
  }
});

test('weight 0 serves nothing; every weight 0 leaves every bucket without owner', () => {
  const owners = assignBuckets([node('a', 0), node('b', 10)], 32);
  assert.is(count(owners, nodeIdOf('a')), 0);
  assert.is(count(owners, nodeIdOf('b')), 32);
  assert.ok(assignBuckets([node('a', 0), node('b', 0)], 8).every((o) => o === null));
  assert.ok(assignBuckets([], 8).every((o) => o === null));
});

test('3 nodes, 64 buckets: a failed node`s buckets spread over both survivors, few others move', () => {
  const ms = [node('alpha'), node('bravo'), node('charlie')];
  const before = assignBuckets(ms, 64);
  for (const dead of ms) {
    const survivors = ms.filter((m) => m !== dead);
    const after = assignBuckets(survivors, 64);
    const orphans = before.map((o, b) => (o === dead.nodeId ? b : -1)).filter((b) => b >= 0);
    const share = survivors.map((s) => orphans.filter((b) => after[b] === s.nodeId).length);
    // Each survivor takes "about half": at least a quarter of the orphans, never all of them.
    for (const n of share) assert.ok(n >= orphans.length / 4, `spread ${share} of ${orphans.length}`);
    const moved = before.filter((o, b) => o !== dead.nodeId && after[b] !== o).length;
    assert.ok(moved <= 4, `${moved} buckets of survivors moved`);
  }
});

test('over many clusters: orphans split near half on average, others rarely move', () => {
  let ratio = 0,
    moved = 0;
  const trials = 200;
  for (let t = 0; t < trials; t++) {
    const ms = [node(`a${t}`), node(`b${t}`), node(`c${t}`)];
    const before = assignBuckets(ms, 64);
    const after = assignBuckets(ms.slice(1), 64);
    const orphans = before.map((o, b) => (o === ms[0].nodeId ? b : -1)).filter((b) => b >= 0);
    ratio += orphans.filter((b) => after[b] === ms[1].nodeId).length / orphans.length;
    moved += before.filter((o, b) => o !== ms[0].nodeId && after[b] !== o).length;
  }
  assert.ok(Math.abs(ratio / trials - 0.5) < 0.05, `mean share ${ratio / trials}`);
  assert.ok(moved / trials < 2.5, `mean other moves ${moved / trials}`);
});

test('a weight change moves about the difference in quota, not more', () => {
  const ms = [node('a'), node('b'), node('c'), node('d')];
  const before = assignBuckets(ms, 256);
  const after = assignBuckets([{ ...ms[0], weight: 50 }, ...ms.slice(1)], 256);
  const shed = count(before, ms[0].nodeId) - count(after, ms[0].nodeId);
  const moved = before.filter((o, b) => after[b] !== o).length;
  assert.ok(shed > 20);
  assert.ok(moved <= shed + 12, `moved ${moved} for a shed of ${shed}`);
});

test('the same owners whatever the order of members (determinism)', () => {
  const ms = [node('x', 30), node('y', 70), node('z', 100), node('w', 1)];
  const ref = assignBuckets(ms, 128);
  const perms = [
    [3, 2, 1, 0],
    [1, 3, 0, 2],
    [2, 0, 3, 1],
  ];
  for (const p of perms)
    assert.equal(
      assignBuckets(
        p.map((i) => ms[i]),
        128,
      ),
      ref,
    );
  assert.is(viewHash(perms[0].map((i) => ms[i])), viewHash(ms));
  assert.is.not(viewHash([ms[0], ms[1]]), viewHash([ms[0], { ...ms[1], weight: 71 }]));
});

test('cluster MAC: multicast/igmp 01:00:5e:7e:54:<id>, unicast locally administered; never VRRP or CARP', () => {
  assert.is(clusterMac(1, 'multicast'), '01:00:5e:7e:54:01');
  assert.is(clusterMac(255, 'igmp'), '01:00:5e:7e:54:ff');
  assert.is(clusterIgmpGroup(255, 'igmp'), '239.126.84.255');
  assert.is(clusterIgmpGroup(3, 'multicast'), undefined);
  assert.is(clusterMac(16, 'unicast'), '02:74:61:6e:00:10');
  for (let id = 1; id <= 255; id++) {
    for (const mode of ['multicast', 'igmp', 'unicast'] as const) {
      const mac = clusterMac(id, mode);
      assert.not.ok(mac.startsWith('00:00:5e:00:01:') || mac.startsWith('00:00:5e:00:02:'), 'VRRP');
      assert.not.ok(mac.startsWith('01:00:5e:00:01:'), 'carp(4) balancing');
      assert.not.ok(mac.startsWith('01:00:5e:7f:') || mac.startsWith('03:bf:'), 'NLB');
    }
  }
  assert.throws(() => clusterMac(0, 'multicast'));
  assert.is(clusterSeed(1), clusterSeed(1));
  assert.is.not(clusterSeed(1), clusterSeed(2));
});

test.run();
