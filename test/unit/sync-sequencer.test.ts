// firmware/core/sync: the order of conntrackd control steps per transition, one at a time, newer
// transitions queued behind the running step and coalesced to the latest; the preemption hold;
// the `conntrackd -s` parser and the link watch; the conntrackd.conf writer.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  beginHold,
  holdBecameMaster,
  holdTick,
  initialSequencer,
  isConnected,
  isIdle,
  observeSample,
  parseConntrackdStats,
  purgeScheduled,
  RESYNC_QUIET_MS,
  renderClusterConntrackdConf,
  renderConntrackdConf,
  resyncRequested,
  type SequencerOutput,
  type SequencerState,
  type SyncRole,
  startWatch,
  stepDone,
  transition,
  watchSample,
} from '../../firmware/core/sync/index.ts';

/** Feed a transition, then complete every step; returns the steps in the order they ran. */
function runAll(
  s: SequencerState,
  role: SyncRole,
  ok = true,
): { state: SequencerState; steps: string[]; outs: SequencerOutput[] } {
  const steps: string[] = [];
  const outs: SequencerOutput[] = [];
  const r = transition(s, role, 0);
  outs.push(...r.out);
  let state = r.state;
  for (let guard = 0; state.running && guard < 10; guard++) {
    steps.push(state.running.step);
    const d = stepDone(state, { ok }, guard);
    outs.push(...d.out);
    state = d.state;
  }
  return { state, steps, outs };
}

test('master: commit external, flush internal, resync with the kernel, bulk send, in that order', () => {
  const { state, steps, outs } = runAll(initialSequencer(), 'master');
  assert.equal(steps, ['commit-external', 'flush-internal', 'resync-kernel', 'bulk-send']);
  assert.equal(outs.at(-1), { type: 'finished', role: 'master', failed: [] });
  assert.ok(isIdle(state));
});

test('backup shortens its stale kernel entries, then asks the peer for a resync; fault shortens the timers; stop runs nothing', () => {
  assert.equal(runAll(initialSequencer(), 'backup').steps, ['shorten-timers', 'request-resync']);
  assert.equal(runAll(initialSequencer(), 'fault').steps, ['shorten-timers']);
  const stop = runAll(initialSequencer(), 'stop');
  assert.equal(stop.steps, []);
  assert.equal(stop.outs, [{ type: 'finished', role: 'stop', failed: [] }]);
});

test('only one step runs at a time: the next starts only when the running one is done', () => {
  const r = transition(initialSequencer(), 'master', 0);
  assert.equal(r.out, [{ type: 'run', step: 'commit-external', role: 'master' }]);
  // A second transition while commit runs starts nothing.
  const r2 = transition(r.state, 'backup', 5);
  assert.equal(r2.out, []);
  assert.is(r2.state.running?.step, 'commit-external');
  assert.is(r2.state.queued, 'backup');
});

test('a newer transition waits for the running step, then the rest of the overtaken sequence is dropped', () => {
  let s = transition(initialSequencer(), 'master', 0).state;
  s = transition(s, 'backup', 1).state;
  const d = stepDone(s, { ok: true }, 2);
  assert.equal(d.out, [
    { type: 'finished', role: 'master', failed: [] },
    { type: 'run', step: 'shorten-timers', role: 'backup' },
  ]);
  assert.is(d.state.dropped, 3); // flush, resync, bulk never ran
  assert.is(d.state.role, 'backup');
});

test('several waiting transitions are coalesced to the latest', () => {
  let s = transition(initialSequencer(), 'backup', 0).state;
  s = transition(s, 'master', 1).state;
  s = transition(s, 'fault', 2).state;
  s = transition(s, 'master', 3).state;
  assert.is(s.coalesced, 2);
  const d = stepDone(s, { ok: true }, 4);
  assert.equal(d.out[1], { type: 'run', step: 'commit-external', role: 'master' });
});

test('a failed step is reported and the sequence goes on', () => {
  const { steps, outs } = runAll(initialSequencer(), 'master', false);
  assert.is(steps.length, 4);
  assert.equal(outs.at(-1), {
    type: 'finished',
    role: 'master',
    failed: ['commit-external', 'flush-internal', 'resync-kernel', 'bulk-send'],
  });
});

test('after stop nothing runs any more; a stop queued behind a step wins over earlier ones', () => {
  let s = transition(initialSequencer(), 'master', 0).state;
  s = transition(s, 'stop', 1).state;
  const d = stepDone(s, { ok: true }, 2);
  assert.ok(d.state.stopped);
  assert.ok(isIdle(d.state));
  assert.equal(transition(d.state, 'master', 3).out, [{ type: 'idle' }]);
});

test('the hold ends after the peer answered and the external cache stayed the same for the quiet time', () => {
  let h = beginHold(0, 30_000);
  h = observeSample(h, { external: 0, recvPackets: 10 }, 100);
  assert.ok(h.held, 'no request yet: a sample alone proves nothing');
  h = resyncRequested(h, 10, 200);
  h = observeSample(h, { external: 0, recvPackets: 10 }, 300);
  assert.ok(h.held, 'the peer has not answered');
  h = observeSample(h, { external: 12, recvPackets: 14 }, 400);
  h = observeSample(h, { external: 20, recvPackets: 16 }, 600);
  assert.ok(h.held, 'still growing');
  h = observeSample(h, { external: 20, recvPackets: 17 }, 600 + RESYNC_QUIET_MS - 1);
  assert.ok(h.held);
  h = observeSample(h, { external: 20, recvPackets: 18 }, 600 + RESYNC_QUIET_MS);
  assert.not.ok(h.held);
  assert.is(h.released, 'resynced');
});

test('the hold outlasts the scheduled purge of stale entries even when the resync came earlier', () => {
  let h = resyncRequested(purgeScheduled(beginHold(0, 30_000), 0, 4_000), 10, 0);
  h = observeSample(h, { external: 5, recvPackets: 11 }, 100);
  h = observeSample(h, { external: 5, recvPackets: 12 }, 100 + RESYNC_QUIET_MS);
  assert.ok(h.held, 'the purge is due at 4 s');
  h = observeSample(h, { external: 5, recvPackets: 13 }, 4_000);
  assert.is(h.released, 'resynced');
});

test('the hold ends at its timeout, or when mastership came anyway', () => {
  const h = beginHold(1_000, 5_000);
  assert.ok(holdTick(h, 5_999).held);
  assert.is(holdTick(h, 6_000).released, 'timeout');
  assert.is(observeSample(h, { external: 0, recvPackets: 0 }, 6_000).released, 'timeout');
  assert.is(holdBecameMaster(h).released, 'became-master');
});

const STATS = `cache internal:
current active connections:	          21
connections created:		          40	failed:	           0
connections updated:		           3	failed:	           0
connections destroyed:		          19	failed:	           0

cache external:
current active connections:	           7
connections created:		           7	failed:	           0
connections updated:		           0	failed:	           0
connections destroyed:		           0	failed:	           0

traffic processed:
                   0 Bytes                         0 Pckts

UDP traffic (active device=sync0):
                2048 Bytes sent                 1024 Bytes recv
                  64 Pckts sent                   32 Pckts recv
                   1 Error send                    2 Error recv

message tracking:
                   5 Malformed msgs                    3 Lost msgs
`;

test('conntrackd -s: caches, sync traffic and message tracking, field by field', () => {
  assert.equal(parseConntrackdStats(STATS), {
    ok: true,
    stats: {
      internal: 21,
      external: 7,
      sentPackets: 64,
      recvPackets: 32,
      sendErrors: 1,
      recvErrors: 2,
      malformed: 5,
      lost: 3,
    },
  });
});

test('conntrackd -s: a report without the external cache or the channel is refused, not read as zeros', () => {
  const noExt = STATS.replace(/cache external:[\s\S]*?\n\n/, '');
  assert.equal(parseConntrackdStats(noExt), {
    ok: false,
    reason: 'no external cache in the report (external cache disabled?)',
  });
  assert.is(parseConntrackdStats('').ok, false);
});

test('the link watch: connected while the received count moves, stalled after stall_after without', () => {
  let w = startWatch(0);
  w = watchSample(w, 5, 1_000, 3_000);
  assert.not.ok(isConnected(w, 1_000, 3_000), 'a baseline alone is not proof of a peer');
  w = watchSample(w, 6, 2_000, 3_000);
  assert.ok(isConnected(w, 2_000, 3_000));
  w = watchSample(w, 6, 4_999, 3_000);
  assert.not.ok(w.stalled);
  w = watchSample(w, undefined, 5_000, 3_000); // conntrackd did not answer
  assert.ok(w.stalled);
  w = watchSample(w, 7, 5_500, 3_000);
  assert.not.ok(w.stalled);
});

test('conntrackd.conf: FTFW over UDP on the sync link, its own lock file and socket; unsafe tokens refused', () => {
  const text = renderConntrackdConf({
    interface: 'sync0',
    local: '198.51.100.1',
    peer: '198.51.100.2',
    port: 3780,
    lockFile: '/run/tandem/conntrackd.lock',
    socketPath: '/run/tandem/conntrackd.ctl',
    logFile: '/run/tandem/conntrackd.log',
  });
  for (const line of [
    'Mode FTFW {',
    'IPv4_address 198.51.100.1',
    'IPv4_Destination_Address 198.51.100.2',
    'Port 3780',
    'Interface sync0',
    'LockFile /run/tandem/conntrackd.lock',
    'Path /run/tandem/conntrackd.ctl',
  ])
    assert.ok(text.includes(line), line);
  assert.not.ok(text.includes('DisableExternalCache'), 'the external cache stays on');
  assert.throws(() =>
    renderConntrackdConf({
      interface: 'sync0',
      local: '198.51.100.1',
      peer: '198.51.100.2',
      port: 3780,
      lockFile: '/tmp/a b',
      socketPath: '/x',
      logFile: '/y',
    }),
  );
});

test('a cluster`s conntrackd.conf: NOTRACK over multicast on the sync link, both caches on; unsafe tokens refused', () => {
  const i = {
    interface: 'sync0',
    local: '203.0.113.11',
    group: '225.0.0.50',
    port: 3780,
    lockFile: '/run/tandem/conntrackd-fw.lock',
    socketPath: '/run/tandem/conntrackd-fw.ctl',
    logFile: '/run/tandem/conntrackd-fw.log',
  };
  const text = renderClusterConntrackdConf(i);
  for (const line of [
    'Mode NOTRACK {',
    'DisableExternalCache off',
    'Multicast {',
    'IPv4_address 225.0.0.50',
    'Group 3780',
    'IPv4_interface 203.0.113.11',
    'Interface sync0',
    'LockFile /run/tandem/conntrackd-fw.lock',
    'Path /run/tandem/conntrackd-fw.ctl',
  ])
    assert.ok(text.includes(line), line);
  assert.not.ok(text.includes('Mode FTFW'));
  assert.throws(() => renderClusterConntrackdConf({ ...i, interface: 'sync 0' }));
});

test.run();
