// firmware/engine/cluster-state-sync.ts with a stand-in conntrackd: the configuration it writes,
// a commit per burst of member deaths (never two at once), a failed commit counted and reported,
// cache sizes from `-s`, and a conntrackd that dies restarted after the backoff. Real timers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ClusterStateSyncConfig } from '../../firmware/config/types.ts';
import type { EngineEvent } from '../../firmware/core/status.ts';
import { ClusterStateSync } from '../../firmware/engine/cluster-state-sync.ts';
import { RESTART_MIN_MS } from '../../firmware/engine/conntrackd-child.ts';
import { STATS_POLL_MS } from '../../firmware/engine/state-sync.ts';
import { createLogger } from '../../firmware/runtime/log.ts';
import { FakeConntrackd, tick } from '../kit/fake-conntrackd.ts';

const cfg: ClusterStateSyncConfig = {
  interface: 'sync0',
  local: '203.0.113.11',
  group: '225.0.0.50',
  port: 3780,
  conntrackd: '/usr/sbin/conntrackd',
  controlTimeoutMs: 1_000,
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function setup() {
  const fake = new FakeConntrackd();
  const events: EngineEvent[] = [];
  const sync = new ClusterStateSync(cfg, {
    cluster: 'fw',
    stateDir: '/run/tandem',
    log: createLogger('fatal'),
    now: () => performance.now(),
    emit: (e) => events.push(e),
    driver: fake,
  });
  return { fake, events, sync };
}

test('it writes a NOTRACK multicast conntrackd.conf of its own and starts conntrackd', async () => {
  const { fake, sync } = setup();
  sync.start();
  assert.is(fake.starts, 1);
  assert.ok(fake.conf.includes('Mode NOTRACK'));
  assert.ok(fake.conf.includes('LockFile /run/tandem/conntrackd-fw.lock'));
  assert.is(sync.status().conntrackdPid, 4242);
  await sync.stop();
});

test('member deaths in a burst make one commit after the running one, never two at once', async () => {
  const { fake, sync } = setup();
  sync.start();
  const a = sync.commit('member n2 down');
  const b = sync.commit('member n3 down');
  const c = sync.commit('member n4 down');
  assert.equal(fake.calls, ['-c']);
  await fake.finish();
  assert.equal(fake.calls, ['-c', '-c'], 'the later deaths are one more commit');
  assert.is(fake.maxInFlight, 1);
  await fake.finish();
  await Promise.all([a, b, c]);
  assert.is(sync.status().commits, 2);
  assert.is(sync.status().commitFailures, 0);
  assert.ok(sync.status().lastCommit?.ok);
  await sync.stop();
});

test('a failed commit is counted, kept as the last error and sent as an event', async () => {
  const { fake, events, sync } = setup();
  sync.start();
  const p = sync.commit('member n2 down');
  await fake.finish(false);
  await p;
  const s = sync.status();
  assert.is(s.commitFailures, 1);
  assert.is(s.lastCommit?.ok, false);
  assert.match(s.lastError ?? '', /conntrackd -c: boom/);
  assert.ok(events.some((e) => e.reason === 'cluster-sync-commit-failed' && e.cluster === 'fw'));
  await sync.stop();
});

test('cache sizes come from conntrackd -s', async () => {
  const { fake, sync } = setup();
  fake.external = 40;
  sync.start();
  await sleep(STATS_POLL_MS + 100);
  const s = sync.status();
  assert.is(s.reachable, true);
  assert.is(s.externalCache, 40);
  assert.is(s.internalCache, 3);
  await sync.stop();
});

test('a conntrackd that dies is reported and started again after the backoff', async () => {
  const { fake, events, sync } = setup();
  sync.start();
  fake.onExit!({ code: 1, signal: null, stderr: 'bind: address in use' });
  assert.is(sync.status().conntrackdPid, null);
  assert.match(sync.status().lastError ?? '', /address in use/);
  assert.ok(events.some((e) => e.reason === 'cluster-sync-conntrackd-exited'));
  await sleep(RESTART_MIN_MS + 100);
  await tick();
  assert.is(fake.starts, 2);
  assert.is(sync.status().restarts, 1);
  assert.is(sync.status().conntrackdPid, 4242);
  await sync.stop();
});

test.run();
