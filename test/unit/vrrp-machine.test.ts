// The VRRP state machine, one (state, event) pair at a time, with exact action lists. Each case
// cites the RFC section it checks; "tandem:" marks behaviour the RFC leaves open or that we
// deliberately do differently (see docs/state-machine.md).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { VrrpAdvert } from '../../firmware/core/packet/types.ts';
import { initialState, isStopped, nextDeadline, reconfigure, step } from '../../firmware/core/vrrp/machine.ts';
import type { VrrpAction, VrrpConfig, VrrpEvent, VrrpState, VrrpStepResult } from '../../firmware/core/vrrp/types.ts';

const T0 = 1_000_000;
const OWN = '192.0.2.10';
const HIGHER = '192.0.2.20'; // numerically above OWN
const LOWER = '192.0.2.9'; // numerically below OWN (and above it as text)
const VIP = ['192.0.2.100'];

function cfg(over: Partial<VrrpConfig> = {}): VrrpConfig {
  return {
    vrid: 7,
    version: 3,
    family: 4,
    priority: 100,
    advertIntervalCs: 100,
    preempt: true,
    preemptDelayMs: 0,
    acceptMode: false,
    addresses: VIP,
    primaryIp: OWN,
    ...over,
  };
}
function adv(priority: number, over: Partial<VrrpAdvert> = {}): VrrpAdvert {
  return { version: 3, vrid: 7, priority, maxAdverIntervalCs: 100, addresses: VIP, ...over };
}
const rx = (src: string, a: VrrpAdvert): VrrpEvent => ({ type: 'advert', src, advert: a });
const TIMER: VrrpEvent = { type: 'timer' };

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
/** step() on a frozen state: any mutation of its input throws in strict mode. */
function st(s: VrrpState, e: VrrpEvent, now: number): VrrpStepResult {
  return step(deepFreeze(s), e, now);
}
function backup(c: VrrpConfig = cfg(), now = T0): VrrpState {
  return st(initialState(c, now), { type: 'startup' }, now).state;
}
function master(c: VrrpConfig = cfg(), now = T0): VrrpState {
  const b = backup(c, now);
  return st(b, TIMER, b.masterDownTimerMs!).state;
}
const toMaster = (reason: string, prio = 100, interval = 100): VrrpAction[] => [
  { type: 'transition', from: 'backup', to: 'master', reason } as VrrpAction,
  { type: 'take-addresses' },
  { type: 'send-advert', priority: prio, maxAdverIntervalCs: interval },
  { type: 'announce' },
];

// ---- Initialize ------------------------------------------------------------------------------

test('initialState is init, not running, with the RFC 5798 6.1 derived values', () => {
  const s = initialState(cfg(), T0);
  assert.is(s.name, 'init');
  assert.is(s.since, T0);
  assert.is(s.effectivePriority, 100);
  assert.is(s.masterAdverIntervalCs, 100);
  assert.is(s.skewTimeCs, 60);
  assert.is(s.masterDownIntervalCs, 360);
  assert.is(s.masterIp, undefined);
  assert.is(nextDeadline(s), undefined);
  assert.ok(isStopped(s));
});

test('RFC 5798 6.4.1: Startup below 255 arms Master_Down_Timer = Master_Down_Interval and goes Backup', () => {
  const r = st(initialState(cfg(), T0), { type: 'startup' }, T0 + 5);
  assert.equal(r.actions, [{ type: 'transition', from: 'init', to: 'backup', reason: 'startup' }]);
  assert.is(r.state.name, 'backup');
  assert.is(r.state.since, T0 + 5);
  assert.is(r.state.masterDownTimerMs, T0 + 5 + 3600);
  assert.is(nextDeadline(r.state), T0 + 5 + 3600);
  assert.not.ok(isStopped(r.state));
});

test('RFC 5798 6.4.1: Startup of the owner (255) advertises, announces and is Master at once', () => {
  const r = st(initialState(cfg({ priority: 255 }), T0), { type: 'startup' }, T0);
  assert.equal(r.actions, [
    { type: 'transition', from: 'init', to: 'master', reason: 'owner' },
    { type: 'take-addresses' },
    { type: 'send-advert', priority: 255, maxAdverIntervalCs: 100 },
    { type: 'announce' },
  ]);
  assert.is(r.state.masterIp, OWN);
  assert.is(r.state.adverTimerMs, T0 + 1000);
  assert.is(nextDeadline(r.state), T0 + 1000);
});

test('tandem: Startup while the link is down waits in fault, then starts on interface-up', () => {
  const down = st(initialState(cfg(), T0), { type: 'interface-down' }, T0);
  assert.equal(down.actions, [{ type: 'transition', from: 'init', to: 'fault', reason: 'interface-down' }]);
  const started = st(down.state, { type: 'startup' }, T0 + 1);
  assert.equal(started.actions, []);
  assert.is(started.state.name, 'fault');
  assert.not.ok(isStopped(started.state));
  const up = st(started.state, { type: 'interface-up' }, T0 + 2);
  assert.equal(up.actions, [{ type: 'transition', from: 'fault', to: 'backup', reason: 'interface-up' }]);
  assert.is(up.state.masterDownTimerMs, T0 + 2 + 3600);
});

test('init ignores adverts, shutdown and timers; a priority change is remembered', () => {
  const s = initialState(cfg(), T0);
  assert.equal(st(s, rx(HIGHER, adv(200)), T0).actions, [
    { type: 'drop', reason: 'ignored', detail: 'advert in init' },
  ]);
  assert.equal(st(s, { type: 'shutdown' }, T0).actions, [
    { type: 'drop', reason: 'ignored', detail: 'shutdown: not started' },
  ]);
  assert.equal(st(s, TIMER, T0 + 99999).actions, []);
  const p = st(s, { type: 'priority', priority: 255 }, T0);
  assert.equal(p.actions, []);
  assert.is(p.state.effectivePriority, 255);
  assert.is(st(p.state, { type: 'startup' }, T0).state.name, 'master');
});

// ---- Backup ----------------------------------------------------------------------------------

test('RFC 5798 6.4.2: Master_Down_Timer fires -> advertise, announce, Adver_Timer, Master', () => {
  const b = backup();
  const r = st(b, TIMER, b.masterDownTimerMs!);
  assert.equal(r.actions, toMaster('master-down-timer'));
  assert.is(r.state.name, 'master');
  assert.is(r.state.masterIp, OWN);
  assert.is(r.state.adverTimerMs, b.masterDownTimerMs! + 1000);
  assert.is(r.state.masterDownTimerMs, undefined);
});

test('a timer event before any deadline does nothing; a late one fires once, re-armed from now', () => {
  const b = backup();
  const early = st(b, TIMER, b.masterDownTimerMs! - 1);
  assert.equal(early.actions, []);
  assert.is(early.state, b);
  const late = st(b, TIMER, b.masterDownTimerMs! + 5000);
  assert.equal(late.actions, toMaster('master-down-timer'));
  assert.is(late.state.adverTimerMs, b.masterDownTimerMs! + 5000 + 1000);
});

test('RFC 5798 6.4.2: a higher-priority advert sets Master_Adver_Interval (v3) and resets the timer', () => {
  const b = backup();
  const r = st(b, rx(HIGHER, adv(200, { maxAdverIntervalCs: 200 })), T0 + 100);
  assert.equal(r.actions, []);
  assert.is(r.state.name, 'backup');
  assert.is(r.state.masterAdverIntervalCs, 200);
  assert.is(r.state.skewTimeCs, 121); // 156*200/256 = 121.9
  assert.is(r.state.masterDownIntervalCs, 721);
  assert.is(r.state.masterDownTimerMs, T0 + 100 + 7210);
  assert.is(r.state.masterIp, HIGHER);
  assert.is(r.state.masterPriority, 200);
});

test('RFC 5798 6.4.2: an equal-priority advert keeps us Backup whatever the sender address', () => {
  for (const src of [HIGHER, LOWER]) {
    const r = st(backup(), rx(src, adv(100)), T0 + 10);
    assert.equal(r.actions, []);
    assert.is(r.state.name, 'backup');
    assert.is(r.state.masterDownTimerMs, T0 + 10 + 3600);
  }
});

test('RFC 5798 6.4.2: a priority-0 advert sets Master_Down_Timer to Skew_Time', () => {
  const b = st(backup(), rx(HIGHER, adv(200)), T0 + 10).state;
  const r = st(b, rx(HIGHER, adv(0)), T0 + 20);
  assert.equal(r.actions, []);
  assert.is(r.state.masterDownTimerMs, T0 + 20 + 600); // Skew_Time 60 cs
  const m = st(r.state, TIMER, T0 + 620);
  assert.equal(m.actions, toMaster('priority-zero-advert'));
  // a worse router taking over after the leaver's priority 0 is followed at once
  const f = st(r.state, rx(LOWER, adv(150)), T0 + 300);
  assert.is(f.state.masterIp, LOWER);
  assert.is(f.state.masterDownTimerMs, T0 + 300 + 3600);
});

test('RFC 5798 6.4.2 + tandem: a lower-priority master is preempted at once when Preempt_Mode is on', () => {
  const r = st(backup(), rx(HIGHER, adv(50)), T0 + 10);
  assert.equal(r.actions, toMaster('preempt'));
});

test('RFC 5798 6.4.2: without Preempt_Mode a lower-priority master is accepted', () => {
  const r = st(backup(cfg({ preempt: false })), rx(HIGHER, adv(50)), T0 + 10);
  assert.equal(r.actions, []);
  assert.is(r.state.name, 'backup');
  assert.is(r.state.masterIp, HIGHER);
  assert.is(r.state.masterDownTimerMs, T0 + 10 + 3600);
});

test('RFC 5798 6.1: the owner (255) always preempts, even with Preempt_Mode off', () => {
  let s = backup(cfg({ preempt: false }));
  s = st(s, { type: 'priority', priority: 255 }, T0 + 1).state;
  const r = st(s, rx(HIGHER, adv(200)), T0 + 2);
  assert.equal(r.actions, toMaster('preempt', 255));
});

test('preempt delay: a lower master starts the delay, keeps the timer alive, then we preempt', () => {
  const c = cfg({ preemptDelayMs: 10_000 });
  const r1 = st(backup(c), rx(HIGHER, adv(50)), T0 + 1000);
  assert.equal(r1.actions, []);
  assert.is(r1.state.preemptTimerMs, T0 + 11_000);
  assert.is(r1.state.masterDownTimerMs, T0 + 1000 + 3600); // the lower master still counts as alive
  const r2 = st(r1.state, rx(HIGHER, adv(50)), T0 + 2000);
  assert.is(r2.state.preemptTimerMs, T0 + 11_000); // not pushed back by later adverts
  assert.is(r2.state.masterDownTimerMs, T0 + 2000 + 3600);
  assert.is(nextDeadline(r2.state), T0 + 5600);
  let s = r2.state;
  for (let t = T0 + 3000; t <= T0 + 10_000; t += 1000) s = st(s, rx(HIGHER, adv(50)), t).state;
  assert.equal(st(s, TIMER, T0 + 10_999).actions, []);
  assert.equal(st(s, TIMER, T0 + 11_000).actions, toMaster('preempt'));
});

test('preempt delay: a master at least as good heard again cancels the pending preempt', () => {
  const c = cfg({ preemptDelayMs: 10_000 });
  const r1 = st(backup(c), rx(HIGHER, adv(50)), T0 + 1000);
  const r2 = st(r1.state, rx(HIGHER, adv(150)), T0 + 2000);
  assert.equal(r2.actions, []);
  assert.is(r2.state.preemptTimerMs, undefined);
  assert.is(nextDeadline(r2.state), T0 + 2000 + 3600);
});

test("preempt delay: our priority falling to the master's cancels the pending preempt", () => {
  const r1 = st(backup(cfg({ preemptDelayMs: 10_000 })), rx(HIGHER, adv(50)), T0 + 1000);
  const r2 = st(r1.state, { type: 'priority', priority: 50 }, T0 + 2000);
  assert.equal(r2.actions, []);
  assert.is(r2.state.preemptTimerMs, undefined);
});

test("a backup whose priority rises above the master's preempts on the master's next advert", () => {
  const s1 = st(backup(), rx(HIGHER, adv(150)), T0 + 10).state;
  const s2 = st(s1, { type: 'priority', priority: 200 }, T0 + 20);
  assert.equal(s2.actions, []);
  assert.is(s2.state.name, 'backup');
  assert.is(s2.state.skewTimeCs, 21); // 56*100/256 = 21.9
  assert.equal(st(s2.state, rx(HIGHER, adv(150)), T0 + 1000).actions, toMaster('preempt', 200));
});

test('RFC 3768 7.1: a v2 advert whose Adver Int differs from ours is dropped', () => {
  const b = backup(cfg({ version: 2 }));
  const r = st(b, rx(HIGHER, adv(200, { version: 2, maxAdverIntervalCs: 200 })), T0 + 10);
  assert.equal(r.actions, [{ type: 'drop', reason: 'interval-mismatch', detail: `200 cs from ${HIGHER}` }]);
  assert.is(r.state, b);
});

test('RFC 3768 6.4.2: a v2 backup keeps its own interval (no Master_Adver_Interval learning)', () => {
  const r = st(backup(cfg({ version: 2 })), rx(HIGHER, adv(200, { version: 2 })), T0 + 10);
  assert.equal(r.actions, []);
  assert.is(r.state.masterAdverIntervalCs, 100);
  assert.is(r.state.masterDownTimerMs, T0 + 10 + 3600);
});

test('RFC 5798 7.1: a different address list is dropped unless the sender is the owner (255)', () => {
  const b = backup();
  const other = ['192.0.2.101'];
  const r = st(b, rx(HIGHER, adv(200, { addresses: other })), T0 + 10);
  assert.equal(r.actions, [{ type: 'drop', reason: 'address-mismatch', detail: HIGHER }]);
  assert.is(r.state, b);
  const owner = st(b, rx(HIGHER, adv(255, { addresses: other })), T0 + 10);
  assert.equal(owner.actions, []);
  assert.is(owner.state.masterIp, HIGHER);
  // order and text form do not matter
  const multi = backup(cfg({ addresses: ['192.0.2.100', '192.0.2.101'] }));
  assert.equal(st(multi, rx(HIGHER, adv(200, { addresses: ['192.0.2.101', '192.0.2.100'] })), T0).actions, []);
});

test('our own looped-back advert and other VRIDs are dropped without effect', () => {
  const m = master();
  assert.equal(st(m, rx(OWN, adv(100)), T0).actions, [{ type: 'drop', reason: 'own-packet', detail: OWN }]);
  assert.equal(st(m, rx(HIGHER, adv(200, { vrid: 8 })), T0).actions, [
    { type: 'drop', reason: 'ignored', detail: 'advert for VRID 8' },
  ]);
  assert.equal(st(m, rx(HIGHER, adv(200, { version: 2 })), T0).actions, [
    { type: 'drop', reason: 'ignored', detail: 'VRRPv2 advert' },
  ]);
});

test('RFC 5798 6.4.2: Shutdown in Backup cancels the Master_Down_Timer and goes Initialize', () => {
  const r = st(backup(), { type: 'shutdown' }, T0 + 10);
  assert.equal(r.actions, [{ type: 'transition', from: 'backup', to: 'init', reason: 'shutdown' }]);
  assert.is(nextDeadline(r.state), undefined);
  assert.ok(isStopped(r.state));
});

test('effective priority 0 in Backup: the Master_Down_Timer never makes us master', () => {
  const s = st(backup(), { type: 'priority', priority: 0 }, T0 + 1).state;
  const r = st(s, TIMER, s.masterDownTimerMs!);
  assert.equal(r.actions, []);
  assert.is(r.state.name, 'backup');
  assert.is(nextDeadline(r.state), undefined);
  assert.equal(st(r.state, rx(HIGHER, adv(0)), T0 + 5000).actions, []);
  const back = st(r.state, { type: 'priority', priority: 50 }, T0 + 9000);
  assert.is(back.state.masterDownTimerMs, T0 + 9000 + 3800); // 300 + 206*100/256 = 80.5 -> 80 cs
});

test('tandem: a worse router than the fresh master we follow cannot shorten our timer (split brain)', () => {
  // We follow HIGHER at 200 with 1 s adverts; LOWER (150, 100 ms adverts) loses a split brain.
  const b = st(backup(), rx(HIGHER, adv(200)), T0 + 1000).state;
  assert.is(b.masterDownTimerMs, T0 + 1000 + 3600);
  const r1 = st(b, rx(LOWER, adv(150, { maxAdverIntervalCs: 10 })), T0 + 1100);
  assert.equal(r1.actions, []);
  assert.is(r1.state, b); // RFC would re-arm at +360 ms
  const r2 = st(b, rx(LOWER, adv(0)), T0 + 1100);
  assert.equal(r2.actions, [{ type: 'drop', reason: 'ignored', detail: `priority 0 from ${LOWER}, not our master` }]);
  const r3 = st(b, rx(LOWER, adv(50)), T0 + 1100); // below us too: 6.4.2 discard, no preempt
  assert.equal(r3.actions, [{ type: 'drop', reason: 'ignored', detail: `lower advert from ${LOWER}, not our master` }]);
  // ... but it may keep the timer alive past the known master's deadline
  const r4 = st(b, rx(LOWER, adv(150, { maxAdverIntervalCs: 100 })), T0 + 4000);
  assert.is(r4.state.masterDownTimerMs, T0 + 4000 + 3600);
  assert.is(r4.state.masterIp, HIGHER);
  // once the known master is stale, the other router is followed as the RFC says
  const r5 = st(r4.state, rx(LOWER, adv(150, { maxAdverIntervalCs: 10 })), T0 + 1000 + 3600);
  assert.is(r5.state.masterIp, LOWER);
  assert.is(r5.state.masterAdverIntervalCs, 10);
  assert.is(r5.state.masterDownTimerMs, T0 + 4600 + 30 * 10 + 6 * 10); // 3*10 + 156*10/256 = 6.1 cs
});

test('RFC 5798 6.4.2: a better router than the master we follow takes over as our master', () => {
  const b = st(backup(), rx(LOWER, adv(150)), T0 + 1000).state;
  const r = st(b, rx(HIGHER, adv(200, { maxAdverIntervalCs: 50 })), T0 + 1100);
  assert.is(r.state.masterIp, HIGHER);
  assert.is(r.state.masterAdverIntervalCs, 50);
});

// ---- Master ----------------------------------------------------------------------------------

test('RFC 5798 6.4.3: Adver_Timer fires -> one advert, timer reset; early does nothing', () => {
  const m = master();
  assert.equal(st(m, TIMER, m.adverTimerMs! - 1).actions, []);
  const r = st(m, TIMER, m.adverTimerMs!);
  assert.equal(r.actions, [{ type: 'send-advert', priority: 100, maxAdverIntervalCs: 100 }]);
  assert.is(r.state.adverTimerMs, m.adverTimerMs! + 1000);
  const late = st(m, TIMER, m.adverTimerMs! + 3500);
  assert.equal(late.actions, [{ type: 'send-advert', priority: 100, maxAdverIntervalCs: 100 }]);
  assert.is(late.state.adverTimerMs, m.adverTimerMs! + 4500);
});

test('tandem: a slightly late Adver_Timer keeps the cadence (next due = this due + interval)', () => {
  const m = master();
  const due = m.adverTimerMs!;
  const r = st(m, TIMER, due + 7);
  assert.equal(r.actions, [{ type: 'send-advert', priority: 100, maxAdverIntervalCs: 100 }]);
  assert.is(r.state.adverTimerMs, due + 1000, 'not due + 7 + 1000: lateness does not accumulate');
});

test('RFC 5798 6.4.3: a higher-priority advert -> last advert at our priority, release, Backup', () => {
  const m = master();
  const r = st(m, rx(LOWER, adv(200, { maxAdverIntervalCs: 50 })), T0 + 9000);
  assert.equal(r.actions, [
    { type: 'transition', from: 'master', to: 'backup', reason: 'higher-priority-advert' },
    { type: 'send-advert', priority: 100, maxAdverIntervalCs: 100 },
    { type: 'release-addresses' },
  ]);
  assert.is(r.state.name, 'backup');
  assert.is(r.state.masterIp, LOWER);
  assert.is(r.state.masterAdverIntervalCs, 50);
  assert.is(r.state.masterDownTimerMs, T0 + 9000 + (150 + 30) * 10); // 156*50/256 = 30.5
  assert.is(r.state.adverTimerMs, undefined);
});

test('RFC 5798 6.4.3: equal priority, the higher sender address wins the tie-break', () => {
  const r = st(master(), rx(HIGHER, adv(100)), T0 + 9000);
  assert.is(r.state.name, 'backup');
  assert.equal(r.actions[0], { type: 'transition', from: 'master', to: 'backup', reason: 'higher-priority-advert' });
});

test('split brain (keepalived #166): a lower or tie-losing master makes us re-announce and advertise', () => {
  for (const [src, prio] of [
    [LOWER, 100],
    [HIGHER, 99],
  ] as const) {
    const m = master();
    const r = st(m, rx(src, adv(prio)), T0 + 9000);
    assert.equal(r.actions, [{ type: 'announce' }, { type: 'send-advert', priority: 100, maxAdverIntervalCs: 100 }]);
    assert.is(r.state.name, 'master');
    assert.is(r.state.adverTimerMs, T0 + 9000 + 1000);
  }
});

test('split brain: at most two answers to lower masters per Advertisement_Interval', () => {
  const answer = [{ type: 'announce' }, { type: 'send-advert', priority: 100, maxAdverIntervalCs: 100 }];
  const r1 = st(master(), rx(LOWER, adv(50)), T0 + 9000);
  assert.equal(r1.actions, answer);
  const r2 = st(r1.state, rx(LOWER, adv(50)), T0 + 9010); // e.g. the loser's farewell
  assert.equal(r2.actions, answer);
  const r3 = st(r2.state, rx(LOWER, adv(50)), T0 + 9999);
  assert.equal(r3.actions, [
    { type: 'drop', reason: 'ignored', detail: `lower master ${LOWER}: 2 answers in the last 999 ms` },
  ]);
  assert.is(r3.state, r2.state);
  assert.equal(st(r3.state, rx(LOWER, adv(50)), T0 + 10_000).actions, answer);
});

test('RFC 5798 6.4.3: a priority-0 advert heard by the master triggers an advert at once', () => {
  const r = st(master(), rx(HIGHER, adv(0)), T0 + 9000);
  assert.equal(r.actions, [{ type: 'send-advert', priority: 100, maxAdverIntervalCs: 100 }]);
  assert.is(r.state.adverTimerMs, T0 + 10_000);
});

test('tandem: a master answers at most 2 priority-0 adverts per Advertisement_Interval (a spoofed flood is not echoed)', () => {
  // Issue #12: 500 spoofed priority-0 adverts used to draw 500 adverts.
  let s = master();
  let sent = 0;
  for (let i = 0; i < 500; i++) {
    const r = st(s, rx(HIGHER, adv(0)), T0 + 9000 + i); // 500 in 500 ms, inside one 1 s interval
    sent += r.actions.filter((a) => a.type === 'send-advert').length;
    s = r.state;
  }
  assert.is(sent, 2, 'two answers in the one interval the flood spans');
  assert.is(s.name, 'master');
  const later = st(s, rx(HIGHER, adv(0)), T0 + 10_000);
  assert.equal(
    later.actions,
    [{ type: 'send-advert', priority: 100, maxAdverIntervalCs: 100 }],
    'answered again next interval',
  );
});

test('tandem: the owner as master runs 6.4.3 too, so two owners converge by address', () => {
  const m = master(cfg({ priority: 255 }));
  assert.is(st(m, rx(HIGHER, adv(255)), T0).state.name, 'backup');
  assert.equal(st(m, rx(LOWER, adv(255)), T0).actions[0], { type: 'announce' });
});

test('make-before-break Shutdown: priority-0 advert, keep the addresses until a backup is heard', () => {
  const m = master();
  const r1 = st(m, { type: 'shutdown' }, T0 + 9000);
  assert.equal(r1.actions, [{ type: 'send-advert', priority: 0, maxAdverIntervalCs: 100 }]);
  assert.is(r1.state.name, 'master');
  assert.not.ok(isStopped(r1.state));
  assert.is(nextDeadline(r1.state), T0 + 9000 + 3600);
  assert.is(r1.state.adverTimerMs, undefined); // no more regular adverts
  assert.equal(st(r1.state, TIMER, T0 + 10_000).actions, []);
  assert.equal(st(r1.state, rx(HIGHER, adv(0)), T0 + 9100).actions, []);
  const r2 = st(r1.state, rx(LOWER, adv(50)), T0 + 9700);
  assert.equal(r2.actions, [
    { type: 'transition', from: 'master', to: 'init', reason: 'shutdown' },
    { type: 'release-addresses' },
  ]);
  assert.ok(isStopped(r2.state));
  assert.is(nextDeadline(r2.state), undefined);
});

test('tandem: Startup during a Shutdown handover at priority 0 keeps handing over, ending in Backup', () => {
  const r1 = st(master(), { type: 'shutdown' }, T0 + 9000);
  const r2 = st(r1.state, { type: 'priority', priority: 0 }, T0 + 9050);
  const r3 = st(r2.state, { type: 'startup' }, T0 + 9100);
  assert.equal(r3.actions, []);
  assert.equal(r3.state.handover, { endsIn: 'backup', untilMs: T0 + 9000 + 3600 });
  const r4 = st(r3.state, TIMER, T0 + 12_600);
  assert.equal(r4.actions, [
    { type: 'transition', from: 'master', to: 'backup', reason: 'priority-change' },
    { type: 'release-addresses' },
  ]);
});

test('make-before-break Shutdown: with nobody taking over, release after Master_Down_Interval', () => {
  const r1 = st(master(), { type: 'shutdown' }, T0 + 9000);
  assert.equal(st(r1.state, TIMER, T0 + 12_599).actions, []);
  const r2 = st(r1.state, TIMER, T0 + 12_600);
  assert.equal(r2.actions, [
    { type: 'transition', from: 'master', to: 'init', reason: 'shutdown' },
    { type: 'release-addresses' },
  ]);
  assert.equal(st(r1.state, { type: 'shutdown' }, T0 + 9001).actions, [
    { type: 'drop', reason: 'ignored', detail: 'shutdown: already stopping' },
  ]);
});

test('tandem: Startup during a Shutdown handover resumes as master without a flap', () => {
  const r1 = st(master(), { type: 'shutdown' }, T0 + 9000);
  const r2 = st(r1.state, { type: 'startup' }, T0 + 9100);
  assert.equal(r2.actions, [{ type: 'send-advert', priority: 100, maxAdverIntervalCs: 100 }]);
  assert.is(r2.state.handover, undefined);
  assert.is(r2.state.adverTimerMs, T0 + 10_100);
  assert.not.ok(isStopped(r2.state));
});

test('effective priority 0 while master: hand over make-before-break and stay backup', () => {
  const r1 = st(master(), { type: 'priority', priority: 0 }, T0 + 9000);
  assert.equal(r1.actions, [{ type: 'send-advert', priority: 0, maxAdverIntervalCs: 100 }]);
  assert.is(r1.state.name, 'master');
  assert.is(nextDeadline(r1.state), T0 + 9000 + 4000); // 3*100 + 256*100/256 cs
  const r2 = st(r1.state, rx(HIGHER, adv(80)), T0 + 9500);
  assert.equal(r2.actions, [
    { type: 'transition', from: 'master', to: 'backup', reason: 'priority-change' },
    { type: 'release-addresses' },
  ]);
  assert.is(r2.state.masterIp, HIGHER);
  assert.not.ok(isStopped(r2.state));
  const r3 = st(r2.state, TIMER, r2.state.masterDownTimerMs!);
  assert.equal(r3.actions, []);
  assert.is(r3.state.name, 'backup');
});

test('effective priority 0 while master, nobody takes over: release after the interval, stay backup', () => {
  const r1 = st(master(), { type: 'priority', priority: 0 }, T0 + 9000);
  const r2 = st(r1.state, TIMER, T0 + 13_000);
  assert.equal(r2.actions, [
    { type: 'transition', from: 'master', to: 'backup', reason: 'priority-change' },
    { type: 'release-addresses' },
  ]);
  assert.is(nextDeadline(r2.state), undefined);
});

test('priority restored during a priority-0 handover: resume advertising, keep the addresses', () => {
  const r1 = st(master(), { type: 'priority', priority: 0 }, T0 + 9000);
  const r2 = st(r1.state, { type: 'priority', priority: 90 }, T0 + 9200);
  assert.equal(r2.actions, [{ type: 'send-advert', priority: 90, maxAdverIntervalCs: 100 }]);
  assert.is(r2.state.handover, undefined);
  assert.is(r2.state.adverTimerMs, T0 + 10_200);
});

test('a master whose priority drops advertises the new priority at once, so a better backup preempts', () => {
  const r = st(master(), { type: 'priority', priority: 40 }, T0 + 9000);
  assert.equal(r.actions, [{ type: 'send-advert', priority: 40, maxAdverIntervalCs: 100 }]);
  assert.is(r.state.name, 'master');
  assert.is(r.state.skewTimeCs, 84); // 216*100/256 = 84.4
  // the backup at 80 hears it and preempts
  const other = backup(cfg({ primaryIp: HIGHER, priority: 80 }));
  assert.equal(st(other, rx(OWN, adv(40)), T0 + 9001).actions, toMaster('preempt', 80));
});

// ---- Fault -----------------------------------------------------------------------------------

test('tandem: interface-down in Master releases the addresses and stops all timers', () => {
  const r = st(master(), { type: 'interface-down' }, T0 + 9000);
  assert.equal(r.actions, [
    { type: 'transition', from: 'master', to: 'fault', reason: 'interface-down' },
    { type: 'release-addresses' },
  ]);
  assert.is(nextDeadline(r.state), undefined);
  assert.is(r.state.masterIp, undefined);
  assert.equal(st(r.state, rx(HIGHER, adv(200)), T0 + 9001).actions, [
    { type: 'drop', reason: 'ignored', detail: 'advert in fault' },
  ]);
  assert.equal(st(r.state, TIMER, T0 + 99_999).actions, []);
  assert.equal(st(r.state, { type: 'interface-down' }, T0 + 9002).actions, []);
});

test('tandem: interface-up in fault is Startup again (backup, or master for the owner)', () => {
  const f = st(backup(), { type: 'interface-down' }, T0 + 10);
  assert.equal(f.actions, [{ type: 'transition', from: 'backup', to: 'fault', reason: 'interface-down' }]);
  const up = st(f.state, { type: 'interface-up' }, T0 + 20);
  assert.equal(up.actions, [{ type: 'transition', from: 'fault', to: 'backup', reason: 'interface-up' }]);
  assert.is(up.state.masterDownTimerMs, T0 + 20 + 3600);
  const fo = st(master(cfg({ priority: 255 })), { type: 'interface-down' }, T0 + 10);
  const upo = st(fo.state, { type: 'interface-up' }, T0 + 20);
  assert.equal(upo.actions, [
    { type: 'transition', from: 'fault', to: 'master', reason: 'interface-up' },
    { type: 'take-addresses' },
    { type: 'send-advert', priority: 255, maxAdverIntervalCs: 100 },
    { type: 'announce' },
  ]);
  assert.equal(st(up.state, { type: 'interface-up' }, T0 + 30).actions, [
    { type: 'drop', reason: 'ignored', detail: 'interface-up: link already up' },
  ]);
});

test('tandem: Shutdown in fault goes to init; a later interface-up does not start it', () => {
  const f = st(backup(), { type: 'interface-down' }, T0 + 10).state;
  const r = st(f, { type: 'shutdown' }, T0 + 20);
  assert.equal(r.actions, [{ type: 'transition', from: 'fault', to: 'init', reason: 'shutdown' }]);
  assert.ok(isStopped(r.state));
  const up = st(r.state, { type: 'interface-up' }, T0 + 30);
  assert.equal(up.actions, []);
  assert.is(up.state.name, 'init');
  assert.ok(up.state.linkUp);
});

// ---- reconfigure -----------------------------------------------------------------------------

test('reconfigure, same VRID: keeps role and timers, moves the effective priority with the config', () => {
  const b = st(backup(), rx(HIGHER, adv(120)), T0 + 10).state;
  const r = reconfigure(deepFreeze(b), cfg({ priority: 150 }), T0 + 20);
  assert.equal(r.actions, []);
  assert.is(r.state.name, 'backup');
  assert.is(r.state.effectivePriority, 150);
  assert.is(r.state.masterDownTimerMs, b.masterDownTimerMs);
  assert.is(r.state.config.priority, 150);
});

test('reconfigure, same VRID: a tracked (non-config) effective priority is left to the shell', () => {
  const b = st(backup(), { type: 'priority', priority: 70 }, T0 + 10).state;
  assert.is(reconfigure(b, cfg({ priority: 150 }), T0 + 20).state.effectivePriority, 70);
});

test('reconfigure while master: a new address list is re-taken and announced', () => {
  const r = reconfigure(deepFreeze(master()), cfg({ addresses: ['192.0.2.100', '192.0.2.101'] }), T0 + 9000);
  assert.equal(r.actions, [{ type: 'release-addresses' }, { type: 'take-addresses' }, { type: 'announce' }]);
  assert.is(r.state.name, 'master');
  const same = reconfigure(master(), cfg({ acceptMode: true }), T0 + 9000);
  assert.equal(same.actions, []);
  assert.ok(same.state.config.acceptMode);
});

test('reconfigure while master: a shorter interval pulls the Adver_Timer in', () => {
  const m = master();
  const r = reconfigure(m, cfg({ advertIntervalCs: 20 }), m.adverTimerMs! - 900);
  assert.is(r.state.adverTimerMs, m.adverTimerMs! - 700);
  assert.is(r.state.masterAdverIntervalCs, 20);
});

test('reconfigure to another VRID is a restart: release, then start the new router', () => {
  const r = reconfigure(deepFreeze(master()), cfg({ vrid: 9 }), T0 + 9000);
  assert.equal(r.actions, [
    { type: 'transition', from: 'master', to: 'init', reason: 'shutdown' },
    { type: 'release-addresses' },
    { type: 'transition', from: 'init', to: 'backup', reason: 'startup' },
  ]);
  assert.is(r.state.config.vrid, 9);
  assert.is(r.state.masterDownTimerMs, T0 + 9000 + 3600);
});

test('nextDeadline is the earliest of the armed timers', () => {
  const r1 = st(backup(cfg({ preemptDelayMs: 500 })), rx(HIGHER, adv(50)), T0 + 1000);
  assert.is(r1.state.preemptTimerMs, T0 + 1500);
  assert.is(nextDeadline(r1.state), T0 + 1500);
});

test('malformed events are ignored, never thrown', () => {
  const b = backup();
  const r = step(b, { type: 'bogus' } as unknown as VrrpEvent, T0);
  assert.is(r.state, b);
  assert.is(r.actions[0].type, 'drop');
  assert.is(st(b, { type: 'priority', priority: Number.NaN }, T0).state.effectivePriority, 0);
  assert.is(st(b, { type: 'priority', priority: 999 }, T0).state.effectivePriority, 255);
});

test.run();
