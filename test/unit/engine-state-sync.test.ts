// firmware/engine/state-sync.ts with a stand-in conntrackd driver: transitions become control
// calls one at a time in the sequencer's order, a dead conntrackd is reported and restarted, the
// preemption hold is applied at start and released after the peer's resync, a stall penalty
// reaches tracking. Real timers (the restart backoff starts at 1 s).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FakeConntrackd, tick } from '../kit/fake-conntrackd.ts';
import type { StateSyncConfig } from '../../firmware/config/types.ts';
import type { EngineEvent } from '../../firmware/core/status.ts';
import type { VrrpStateName } from '../../firmware/core/vrrp/index.ts';
import { createLogger } from '../../firmware/runtime/log.ts';
import { PURGE_TIMEOUT_S } from '../../firmware/core/sync/index.ts';
import { fakeInstance, stateIn, until, withFakeEngines } from '../kit/fake-engines.ts';
import { RESTART_MIN_MS } from '../../firmware/engine/conntrackd-child.ts';
import { StateSync, TAKEOVER_GATE_MAX_MS, roleOf } from '../../firmware/engine/state-sync.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function setup(over: Partial<StateSyncConfig> = {}) {
  const cfg: StateSyncConfig = {
    follows: { instance: 'lan' },
    instances: ['lan'],
    interface: 'sync0',
    peer: '198.51.100.2',
    local: '198.51.100.1',
    port: 3780,
    conntrackd: '/usr/sbin/conntrackd',
    resyncTimeoutMs: 30_000,
    stallAfterMs: 5_000,
    controlTimeoutMs: 1_000,
    line: 1,
    ...over,
  };
  const fake = new FakeConntrackd();
  const events: EngineEvent[] = [];
  const held: [string, boolean][] = [];
  const states = new Map<string, VrrpStateName>();
  const sync = new StateSync(
    cfg,
    '/nonexistent/state',
    {
      log: createLogger('silent'),
      now: () => performance.now(),
      emit: (e) => events.push(e),
      changed: () => {},
      holdPreempt: (n, h) => held.push([n, h]),
      recompute: () => {},
      stateOf: (n) => states.get(n),
    },
    fake,
  );
  const to = (s: VrrpStateName, name = 'lan') => {
    states.set(name, s);
    sync.onTransition(name, s);
  };
  return { cfg, fake, events, held, sync, to };
}

test('a sync group is master when every member is, fault when any is, nothing while one is in init', () => {
  assert.is(roleOf(['master', 'master']), 'master');
  assert.is(roleOf(['master', 'backup']), 'backup');
  assert.is(roleOf(['master', 'fault']), 'fault');
  assert.is(roleOf(['master', 'init']), undefined);
});

test('becoming master runs -c, -f internal, -R, -B one at a time; a newer transition waits and overtakes', async () => {
  const { fake, sync, to } = setup();
  sync.start();
  await tick(); // the first -s answers: conntrackd is reachable
  to('master');
  assert.equal(fake.calls, ['-c']);
  to('backup'); // arrives while -c runs
  to('master'); // ... and is coalesced with this one
  to('backup');
  assert.equal(fake.calls, ['-c'], 'nothing starts while a step runs');
  await fake.finish();
  assert.equal(fake.calls, ['-c', '-t'], 'the latest waiting role runs; the rest of master is dropped');
  await fake.finish();
  assert.equal(fake.calls, ['-c', '-t', '-n']);
  await fake.finish();
  to('master');
  for (let i = 0; i < 4; i++) await fake.finish(i !== 1);
  assert.equal(fake.calls.slice(3), ['-c', '-f internal', '-R', '-B']);
  assert.is(fake.maxInFlight, 1);
  const st = sync.status();
  assert.equal(st.lastSequence?.failed, ['flush-internal']);
  assert.is(st.controlFailures, 1);
  assert.is(st.stepsDropped, 3);
  assert.is(st.stepsCoalesced, 2);
  await sync.stop();
});

test('a takeover waits for the commit: the master sequence starts at the first member, the addresses after -c', async () => {
  const { fake, sync, to, cfg } = setup({ follows: { syncGroup: 'fw' }, instances: ['lan', 'wan'] });
  assert.is(sync.beforeTakeover('lan'), undefined, 'conntrackd not reached yet: nothing to wait for');
  sync.start();
  await tick();
  to('backup', 'lan');
  to('backup', 'wan');
  for (let i = 0; i < 2; i++) await fake.finish(); // -t, -n
  assert.is(sync.beforeTakeover('other'), undefined, 'an instance the sync does not follow');
  let opened = 0;
  void sync.beforeTakeover('lan')?.then(() => opened++);
  assert.equal(fake.calls.slice(2), ['-c'], 'the commit starts before any address moves');
  void sync.beforeTakeover('wan')?.then(() => opened++);
  to('master', 'lan'); // one member arrived, the other still on its way: still one takeover
  await tick();
  assert.is(opened, 0, 'the addresses wait for the commit');
  await fake.finish();
  assert.is(opened, 2);
  to('master', 'wan');
  assert.is(sync.beforeTakeover('wan'), undefined, 'committed for this mastership');
  for (let i = 0; i < 3; i++) await fake.finish();
  assert.equal(fake.calls.slice(2), ['-c', '-f internal', '-R', '-B'], 'one master sequence, not two');
  assert.is(fake.maxInFlight, 1);
  assert.equal(cfg.instances, ['lan', 'wan']);
  await sync.stop();
});

test("the engine installs a new master's addresses only after conntrackd committed the peer's connections", async () => {
  const fake = new FakeConntrackd();
  const body = [
    'instances:',
    fakeInstance({ vrid: 51, priority: 200, vip: '192.0.2.254' }),
    'state_sync:',
    '  follows: lan',
    '  interface: eth0',
    '  local: 192.0.2.11',
    '  peer: 192.0.2.12',
    '',
  ].join('\n');
  await withFakeEngines(
    [body],
    async ([r1]) => {
      // The backup's own steps (-t, -n) complete; the commit is held open below.
      const t0 = Date.now();
      while (!fake.calls.includes('-c') && Date.now() - t0 < 3000) {
        if (fake.pending.length) await fake.finish();
        else await tick();
      }
      assert.ok(fake.calls.includes('-c'), 'the commit was asked for');
      assert.is(stateIn(r1), 'master', 'the machine is master (its adverts go out) ...');
      await tick();
      assert.is(
        r1.driver.callsOf('add-address').filter((c) => String(c[1]).startsWith('192.0.2.254')).length,
        0,
        '... but its address waits for the commit',
      );
      while (fake.pending.length && fake.pending[0].args !== '-c') await fake.finish();
      await fake.finish(); // -c done
      await until(
        'the address installed',
        () => r1.driver.callsOf('add-address').some((c) => String(c[1]).startsWith('192.0.2.254')),
        1000,
      );
      while (fake.pending.length) await fake.finish();
    },
    { conntrackd: fake },
  );
});

test('a reload that changes state_sync restarts conntrackd with the new configuration; one that removes it stops it', async () => {
  const fake = new FakeConntrackd();
  const inst = fakeInstance({ vrid: 51, priority: 200, vip: '192.0.2.254' });
  const sync = (peer: string) =>
    ['state_sync:', '  follows: lan', '  interface: eth0', '  local: 192.0.2.11', `  peer: ${peer}`].join('\n');
  const body = (extra: string) => `instances:\n${inst}\n${extra}\n`;
  let stops = 0;
  const start = fake.start.bind(fake);
  fake.start = (...a: Parameters<FakeConntrackd['start']>) => {
    const c = start(...a);
    return { pid: c.pid, stop: async () => void stops++ };
  };
  await withFakeEngines(
    [body(sync('192.0.2.12'))],
    async ([r1]) => {
      await until('conntrackd started', () => fake.starts === 1, 1000);
      assert.match(fake.conf, /Destination_Address 192\.0\.2\.12/);
      // Unchanged (a comment moves it a line down): nothing restarts.
      const settle = async () => {
        while (fake.pending.length) await fake.finish();
      };
      await settle();
      let r = await r1.engine.reload(r1.config(`# moved\n${body(sync('192.0.2.12'))}`));
      assert.ok(r.ok);
      assert.is(fake.starts, 1);
      await settle();
      r = await r1.engine.reload(r1.config(body(sync('192.0.2.13'))));
      assert.ok(r.ok, JSON.stringify(r.errors));
      assert.is(stops, 1, 'the old conntrackd stopped');
      assert.is(fake.starts, 2, 'and the new one started');
      assert.match(fake.conf, /Destination_Address 192\.0\.2\.13/);
      assert.is(r1.engine.status().stateSync?.follows, 'lan');
      await settle();
      r = await r1.engine.reload(r1.config(body('')));
      assert.ok(r.ok);
      assert.is(stops, 2);
      assert.is(r1.engine.status().stateSync, undefined);
      while (fake.pending.length) await fake.finish();
    },
    { conntrackd: fake },
  );
});

test('a takeover gate opens without the commit when the takeover is abandoned, and at the latest after its bound', async () => {
  const { fake, sync, to } = setup();
  sync.start();
  await tick();
  to('backup');
  for (let i = 0; i < 2; i++) await fake.finish();
  let opened = false;
  void sync.beforeTakeover('lan')?.then(() => {
    opened = true;
  });
  to('backup'); // the machine went back before the commit: nothing waits any more
  await tick();
  assert.ok(opened, 'abandoned: open');
  await fake.finish(); // the -c that was running
  // conntrackd hangs on -c: the addresses go in after TAKEOVER_GATE_MAX_MS, not later.
  to('backup');
  while (fake.pending.length) await fake.finish();
  const t0 = performance.now();
  const gate = sync.beforeTakeover('lan');
  assert.ok(gate);
  await gate;
  const waited = performance.now() - t0;
  assert.ok(waited >= TAKEOVER_GATE_MAX_MS - 5 && waited < TAKEOVER_GATE_MAX_MS + 500, `opened after ${waited} ms`);
  await fake.finish();
  await sync.stop();
});

test('fault shortens the kernel timers; back from fault the node asks for a resync and holds preemption', async () => {
  const { fake, sync, to, held } = setup();
  sync.start();
  await tick();
  to('backup');
  await fake.finish();
  await fake.finish();
  to('fault');
  await fake.finish();
  held.length = 0;
  to('backup');
  assert.equal(fake.calls, ['-t', '-n', '-t', '-t']);
  assert.equal(held, [['lan', true]]);
  await fake.finish();
  await fake.finish();
  assert.equal(fake.calls.at(-1), '-n');
  await sync.stop();
});

test('the hold: on at start, off after the peer answered the resync request and the external cache settled', async () => {
  const { fake, sync, to, held, events } = setup();
  sync.start();
  await tick();
  assert.equal(held, [['lan', true]]);
  to('backup');
  await fake.finish(); // -t: the purge of stale entries is due PURGE_TIMEOUT_S + a poll later
  await fake.finish(); // -n accepted
  fake.external = 20;
  await sleep(3_300);
  assert.equal(held.at(-1), ['lan', true], 'resynced, but the purge is not done yet');
  // Due at the purge plus a poll and a settled cache (about PURGE_TIMEOUT_S + 1.5 s); the polls
  // run on real timers, so on a loaded machine allow up to 5 s more before calling it stuck.
  const deadline = Date.now() + PURGE_TIMEOUT_S * 1000 + 5_000;
  while (held.at(-1)?.[1] !== false && Date.now() < deadline) await sleep(100);
  assert.equal(held.at(-1), ['lan', false]);
  assert.ok(events.some((e) => e.reason === 'state-sync-hold-resynced'));
  assert.ok(sync.status().lastResyncReceivedUnixMs !== null);
  await sync.stop();
});

test('a node that becomes master (nobody to preempt) drops the hold at once', async () => {
  const { fake, sync, to, held } = setup();
  sync.start();
  await tick();
  to('master');
  assert.equal(held.at(-1), ['lan', false]);
  for (let i = 0; i < 4; i++) await fake.finish();
  await sync.stop();
});

test('conntrackd dies: reported, restarted after the backoff, and the current role runs again', async () => {
  const { fake, sync, to, events } = setup();
  sync.start();
  await tick();
  to('master');
  for (let i = 0; i < 4; i++) await fake.finish();
  fake.up = false;
  fake.onExit!({ code: null, signal: 'SIGKILL', stderr: '' });
  assert.ok(events.some((e) => e.reason === 'state-sync-conntrackd-exited' && e.signal === 'SIGKILL'));
  await sleep(RESTART_MIN_MS + 100);
  assert.is(fake.starts, 2);
  assert.ok(events.some((e) => e.reason === 'state-sync-conntrackd-restarted'));
  fake.up = true;
  await sleep(1_100); // the next -s answers
  assert.equal(fake.calls.slice(4), ['-c'], 'a fresh conntrackd gets the master sequence again');
  for (let i = 0; i < 4; i++) await fake.finish();
  assert.is(sync.status().restarts, 1);
  await sync.stop();
});

test('an operator socket: a control-only conf, no child', async () => {
  const { fake, sync } = setup({
    socket: '/run/op/conntrackd.ctl',
    interface: undefined,
    peer: undefined,
    local: undefined,
  });
  sync.start();
  await tick();
  assert.is(fake.starts, 0);
  assert.match(fake.conf, /Path \/run\/op\/conntrackd\.ctl/);
  assert.is(sync.status().mode, 'socket');
  await sync.stop();
});

test('stall: an event after stall_after without packets from the peer, and the penalty as a weight', async () => {
  const { fake, sync, events } = setup({ stallAfterMs: 1_000, stallPenalty: 50 });
  sync.start();
  await tick();
  assert.equal(sync.tracked('lan'), [{ down: false, weight: -50 }]);
  fake.up = false; // no samples: nothing heard
  await sleep(2_200);
  assert.ok(events.some((e) => e.reason === 'state-sync-stalled'));
  assert.equal(sync.tracked('lan'), [{ down: true, weight: -50 }]);
  assert.equal(sync.tracked('wan'), []);
  await sync.stop();
});

test.run();
