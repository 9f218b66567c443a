// Sync groups move together whatever moves one member (keepalived's vrrp_sync_group): two routers
// with the same group of two instances (lan, VRID 51; wan, VRID 52) on fake drivers and a fake
// LAN, one test per cause of a transition. After each, both members of a router are in the same
// state, and the VIPs of both are held by one router only. Plus the pure policy.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { syncGroupPriorities } from '../../firmware/core/policy/sync-group.ts';
import { type FakeNode, fakeInstance, stateIn, until, withFakeEngines } from '../kit/fake-engines.ts';

const LAN_VIP = '192.0.2.254';
const WAN_VIP = '198.51.100.254';

function body(priority: number, lanExtra: string[] = [], preempt = true): string {
  const p = `preempt: ${preempt}`;
  return [
    'instances:',
    fakeInstance({ name: 'lan', vrid: 51, priority, vip: LAN_VIP, extra: [p, ...lanExtra] }),
    fakeInstance({ name: 'wan', vrid: 52, priority, vip: WAN_VIP, extra: [p] }),
    'sync_groups:',
    '  - name: gw',
    '    instances: [lan, wan]',
    '',
  ].join('\n');
}

const both = (n: FakeNode, st: string) => stateIn(n, 'lan') === st && stateIn(n, 'wan') === st;
const holds = (n: FakeNode, vip: string) => n.driver.listAddresses('eth0').some((a) => a.startsWith(`${vip}/`));

/** r1 master of both, r2 backup of both: the starting point of every cause. */
async function elected(r1: FakeNode, r2: FakeNode): Promise<void> {
  await until('r1 master of both, r2 backup of both', () => both(r1, 'master') && both(r2, 'backup'), 3000);
}

/** The group moved whole to `winner`: both members master there, backup (or held) on the loser. */
async function movedTo(winner: FakeNode, loser: FakeNode, what: string): Promise<void> {
  await until(
    what,
    () => both(winner, 'master') && !['master'].includes(stateIn(loser, 'lan')!) && stateIn(loser, 'wan') !== 'master',
    3000,
  );
  for (const vip of [LAN_VIP, WAN_VIP]) {
    assert.ok(holds(winner, vip), `${winner.name} lacks ${vip}`);
    assert.not.ok(holds(loser, vip), `${loser.name} still holds ${vip}`);
  }
}

/** For `ms`, the two members of each router never disagree about being master (no split). */
async function staysWhole(nodes: FakeNode[], ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    for (const n of nodes)
      assert.is(
        stateIn(n, 'lan') === 'master',
        stateIn(n, 'wan') === 'master',
        `${n.name} split: lan ${stateIn(n, 'lan')}, wan ${stateIn(n, 'wan')}`,
      );
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('priority: a tracked interface with a weight drops one member below the peer; both members hand over, and come back with it', async () => {
  const trackLan = ['track:', '  interfaces: [{ name: trk, weight: -150 }]'];
  await withFakeEngines(
    [body(200, trackLan), body(100)],
    async ([r1, r2]) => {
      await elected(r1, r2);
      r1.driver.setCable('trk', false); // lan 200 -> 50, below r2's 100
      await movedTo(r2, r1, 'r2 master of both after r1 lost priority on lan');
      assert.is(
        r1.engine.status().instances.find((i) => i.name === 'wan')!.effectivePriority,
        50,
        'wan carries the change',
      );
      await staysWhole([r1, r2], 500);
      // Preemption: the priority returns and r1 takes both back.
      r1.driver.setCable('trk', true);
      await movedTo(r1, r2, 'r1 preempts both back');
      await staysWhole([r1, r2], 500);
    },
    { links: ['trk'] },
  );
});

test('admin: set-priority lowering one member moves the group; restoring it preempts the group back', async () => {
  await withFakeEngines([body(200), body(150)], async ([r1, r2]) => {
    await elected(r1, r2);
    r1.engine.setPriority('lan', 100); // lan alone below r2's 150: the group follows
    await movedTo(r2, r1, 'r2 preempts both');
    await staysWhole([r1, r2], 300);
    // Raising one member alone does not lift the group: the worst change counts.
    r1.engine.setPriority('wan', 254);
    await staysWhole([r1, r2], 300);
    assert.ok(both(r2, 'master'));
    r1.engine.setPriority('lan', null);
    r1.engine.setPriority('wan', null);
    await movedTo(r1, r2, 'r1 preempts both back');
  });
});

test('admin: maintenance on one member hands the whole group over', async () => {
  await withFakeEngines([body(200), body(100)], async ([r1, r2]) => {
    await elected(r1, r2);
    r1.engine.maintenance(true, 'wan');
    await movedTo(r2, r1, 'r2 master of both');
    await staysWhole([r1, r2], 300);
    r1.engine.maintenance(false, 'wan');
    await movedTo(r1, r2, 'r1 back');
  });
});

test('fault: one member losing a tracked interface (no weight) makes both hand over', async () => {
  const trackLan = ['track:', '  interfaces: [{ name: trk }]'];
  await withFakeEngines(
    [body(200, trackLan), body(100)],
    async ([r1, r2]) => {
      await elected(r1, r2);
      r1.driver.setCable('trk', false);
      await movedTo(r2, r1, 'r2 master of both after a fault on r1 lan');
      assert.is(stateIn(r1, 'lan'), 'fault');
      await staysWhole([r1, r2], 300);
      r1.driver.setCable('trk', true);
      await movedTo(r1, r2, 'r1 back after the fault cleared');
    },
    { links: ['trk'] },
  );
});

test('master down: the master falls silent; the backup takes both over (Master_Down_Interval), and gives both back', async () => {
  await withFakeEngines([body(200, [], false), body(100, [], false)], async ([r1, r2], lan) => {
    await elected(r1, r2);
    lan.setCut(r1.driver, 'eth0', true); // r1 hears and is heard by no one
    await until('r2 master of both', () => both(r2, 'master'), 3000);
    await staysWhole([r2], 300);
    // The partition heals: the lower master of each VRID steps down when it hears the other's
    // next advert (each VRID on its own timer, so within one interval of each other).
    lan.setCut(r1.driver, 'eth0', false);
    await movedTo(r1, r2, 'r1 master of both again');
    await staysWhole([r1, r2], 300);
  });
});

test('syncGroupPriorities: the worst change applies to every member; 0 holds all; the owner keeps 255', () => {
  const g = [{ instances: ['a', 'b', 'c'] }];
  const m = (x: Record<string, [number, number]>) => (n: string) =>
    x[n] ? { configured: x[n][0], own: x[n][1] } : undefined;
  assert.equal(Object.fromEntries(syncGroupPriorities(g, m({ a: [200, 50], b: [200, 200], c: [150, 170] }))), {
    a: 50,
    b: 50,
    c: 1, // 150 - 150, kept at the lowest backup priority
  });
  assert.equal(Object.fromEntries(syncGroupPriorities(g, m({ a: [200, 200], b: [100, 0], c: [255, 255] }))), {
    a: 0,
    b: 0,
    c: 0,
  });
  assert.equal(Object.fromEntries(syncGroupPriorities(g, m({ a: [200, 180], b: [255, 255] }))), { a: 180, b: 255 });
  // Positive weights lift the group by the smallest lift, kept at 254.
  assert.equal(Object.fromEntries(syncGroupPriorities(g, m({ a: [250, 254], b: [100, 110] }))), { a: 254, b: 104 });
  // In two groups: the lower result wins.
  const two = [{ instances: ['a', 'b'] }, { instances: ['b', 'c'] }];
  assert.is(syncGroupPriorities(two, m({ a: [200, 100], b: [200, 200], c: [200, 190] })).get('b'), 100);
});

test.run();
