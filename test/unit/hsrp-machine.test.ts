// The HSRP election, walking RFC 2281's state table (6.5) one (state, event) cell per test; the
// letters are the RFC's events (a..l) and actions (A..I), listed at the top of
// firmware/core/hsrp/machine.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  hsrpInitialState,
  hsrpIsStopped,
  hsrpNextDeadline,
  hsrpOutranks,
  hsrpReconfigure,
  hsrpStep,
  type HsrpAction,
  type HsrpConfig,
  type HsrpMessage,
  type HsrpState,
  type HsrpStateName,
} from '../../firmware/core/hsrp/index.ts';

const ME = '192.0.2.2';
const HIGH_IP = '192.0.2.9'; // a peer with a higher address
const LOW_IP = '192.0.2.1';
const VIP = '192.0.2.254';

const cfg = (o: Partial<HsrpConfig> = {}): HsrpConfig => ({
  group: 1,
  version: 1,
  family: 4,
  priority: 100,
  preempt: false,
  hellotimeMs: 1000,
  holdtimeMs: 3000,
  timersConfigured: true,
  virtualIp: VIP,
  primaryIp: ME,
  ...o,
});
const msg = (state: HsrpStateName, priority: number, o: Partial<HsrpMessage> = {}): HsrpMessage => ({
  op: 'hello',
  state,
  priority,
  hellotimeMs: 1000,
  holdtimeMs: 3000,
  virtualIp: VIP,
  ...o,
});
const rx = (s: HsrpState, src: string, m: HsrpMessage, t: number) =>
  hsrpStep(s, { type: 'message', src, message: m }, t);
/** Actions in short: "to:reason" for transitions, "send:op/state", the others by type. */
const kinds = (a: HsrpAction[]) =>
  a.map((x) =>
    x.type === 'transition' ? `${x.to}:${x.reason}` : x.type === 'send' ? `send:${x.op}/${x.state}` : x.type,
  );

function started(o: Partial<HsrpConfig> = {}, t = 0): HsrpState {
  return hsrpStep(hsrpInitialState(cfg(o), t), { type: 'startup' }, t).state;
}
/** Listen -> Speak at the Standby timer (d), t = 3000. */
function speak(o: Partial<HsrpConfig> = {}): HsrpState {
  const l = started(o);
  // An active router keeps Listen's Active timer running, so Speak does not go on to Active.
  const heard = rx(l, HIGH_IP, msg('active', 200), 2000).state;
  return hsrpStep(heard, { type: 'timer' }, 3000).state;
}
function standby(o: Partial<HsrpConfig> = {}): HsrpState {
  const s = speak(o);
  const heard = rx(s, HIGH_IP, msg('active', 200), 4000).state;
  return hsrpStep(heard, { type: 'timer' }, 6000).state; // Speak's Standby timer: 3000 + 3000
}
/** Alone on the segment: Listen, Speak, Standby, Active after 2 x Holdtime. */
function active(o: Partial<HsrpConfig> = {}): HsrpState {
  let s = started(o);
  for (let t = 0; t <= 6000 && s.name !== 'active'; t = hsrpNextDeadline(s)!)
    s = hsrpStep(s, { type: 'timer' }, t).state;
  assert.is(s.name, 'active');
  return s;
}

test('priority then the higher IP address elects (RFC 2281 5.1)', () => {
  assert.ok(hsrpOutranks(101, LOW_IP, 100, ME));
  assert.ok(!hsrpOutranks(99, HIGH_IP, 100, ME));
  assert.ok(hsrpOutranks(100, HIGH_IP, 100, ME));
  assert.ok(!hsrpOutranks(100, LOW_IP, 100, ME));
});

test('a in Initial with a virtual IP: AB, to Listen; both timers at Holdtime', () => {
  const r = hsrpStep(hsrpInitialState(cfg(), 500), { type: 'startup' }, 500);
  assert.equal(kinds(r.actions), ['listen:startup']);
  assert.is(r.state.activeTimerMs, 3500);
  assert.is(r.state.standbyTimerMs, 3500);
  assert.is(r.state.helloTimerMs, undefined); // Listen does not speak
});

test('a in Initial without a virtual IP: AB, to Learn', () => {
  const r = hsrpStep(hsrpInitialState(cfg({ virtualIp: undefined }), 0), { type: 'startup' }, 0);
  assert.equal(kinds(r.actions), ['learn:startup']);
});

test('Learn, g or h: AE, the virtual IP and the timers learnt, to Listen', () => {
  const l = started({ virtualIp: undefined, timersConfigured: false, hellotimeMs: 3000, holdtimeMs: 10000 });
  const r = rx(l, LOW_IP, msg('active', 50, { hellotimeMs: 200, holdtimeMs: 700 }), 100);
  assert.equal(kinds(r.actions), ['listen:learnt-virtual-ip']);
  assert.is(r.state.virtualIp, VIP);
  assert.is(r.state.hellotimeMs, 200);
  assert.is(r.state.holdtimeMs, 700);
  assert.is(r.state.activeTimerMs, 800); // A from the Hello's Holdtime
});

test('Learn: configured timers are not learnt; an active router without an address keeps us in Learn', () => {
  const l = started({ virtualIp: undefined });
  const r = rx(l, LOW_IP, msg('active', 50, { hellotimeMs: 200, holdtimeMs: 700, virtualIp: undefined }), 0);
  assert.is(r.state.name, 'learn');
  assert.is(r.state.holdtimeMs, 3000);
});

test('Learn, c and d: nothing to speak for without a virtual IP', () => {
  const l = started({ virtualIp: undefined });
  const r = hsrpStep(l, { type: 'timer' }, 3000);
  assert.is(r.state.name, 'learn');
  assert.equal(kinds(r.actions), []);
  assert.is(hsrpNextDeadline(r.state), undefined);
});

test('Listen, d: to Speak, F at once and every Hellotime', () => {
  const s = speak();
  assert.is(s.name, 'speak');
  assert.is(s.helloTimerMs, 4000);
  const r = hsrpStep(s, { type: 'timer' }, 4000); // e
  assert.equal(kinds(r.actions), ['send:hello/speak']);
  assert.is(r.state.helloTimerMs, 5000);
});

test('Listen, c with nobody heard: Speak, then d in Speak goes through Standby to Active (2 x Holdtime alone)', () => {
  const l = started();
  const r1 = hsrpStep(l, { type: 'timer' }, 3000);
  assert.equal(kinds(r1.actions), ['speak:active-timer', 'send:hello/speak']);
  const r2 = hsrpStep(r1.state, { type: 'timer' }, 6000);
  assert.equal(kinds(r2.actions), [
    'send:hello/speak',
    'standby:standby-timer',
    'active:active-timer',
    'take-addresses',
    'send:hello/active',
    'announce',
  ]);
  assert.is(r2.state.activeIp, ME);
});

test('Listen, g/h: AE; the Active timer follows the Hello', () => {
  const l = started();
  const r = rx(l, HIGH_IP, msg('active', 200, { holdtimeMs: 5000 }), 1000);
  assert.is(r.state.name, 'listen');
  assert.is(r.state.activeIp, HIGH_IP);
  assert.is(r.state.activeTimerMs, 6000);
});

test("Listen, k: B restarts on the standby router's Hellos, so Listen stays", () => {
  const l = started();
  const r = rx(l, HIGH_IP, msg('standby', 150), 2500);
  assert.is(r.state.standbyTimerMs, 5500);
  assert.is(r.state.standbyIp, HIGH_IP);
});

test('Speak, f: a higher speaker sends us back to Listen (B), Hellos stop', () => {
  const r = rx(speak(), HIGH_IP, msg('speak', 100), 3500);
  assert.equal(kinds(r.actions), ['listen:higher-speaker']);
  assert.is(r.state.helloTimerMs, undefined);
  assert.is(r.state.standbyTimerMs, 6500);
});

test('Speak, f from a lower speaker: nothing', () => {
  const r = rx(speak(), LOW_IP, msg('speak', 100), 3500);
  assert.equal(kinds(r.actions), []);
  assert.is(r.state.name, 'speak');
});

test('Speak, k: a higher standby router: to Listen', () => {
  const r = rx(speak(), LOW_IP, msg('standby', 150), 3500);
  assert.equal(kinds(r.actions), ['listen:higher-standby']);
});

test('Speak, l: a lower standby router: stay; our Standby timer makes us standby', () => {
  const s = speak();
  const r = rx(s, LOW_IP, msg('standby', 50), 3500);
  assert.equal(kinds(r.actions), []);
  assert.is(r.state.standbyTimerMs, s.standbyTimerMs);
});

test('Speak, d with an active router alive: D, to Standby only', () => {
  const s = standby();
  assert.is(s.name, 'standby');
  assert.is(s.standbyIp, ME);
});

test('Standby, e: F as standby', () => {
  const s = standby();
  const r = hsrpStep(s, { type: 'timer' }, s.helloTimerMs!);
  assert.ok(kinds(r.actions).includes('send:hello/standby'));
});

test('Standby, c: the active router silent for Holdtime: CD F I to Active', () => {
  const s = standby();
  const due = s.activeTimerMs!;
  assert.is(due, 4000 + 3000); // the last Hello at 4000, its Holdtime 3000
  assert.is(hsrpStep(s, { type: 'timer' }, due - 1).state.name, 'standby');
  const r = hsrpStep(s, { type: 'timer' }, due);
  assert.equal(kinds(r.actions).slice(-4), ['active:active-timer', 'take-addresses', 'send:hello/active', 'announce']);
  assert.is(r.state.activeTimerMs, undefined);
  assert.is(r.state.standbyTimerMs, undefined);
});

test('Standby, i: a Resign from the active router makes us active at once', () => {
  const r = rx(standby(), HIGH_IP, msg('active', 200, { op: 'resign' }), 6100);
  assert.equal(kinds(r.actions), ['active:resign', 'take-addresses', 'send:hello/active', 'announce']);
});

test('Listen, i: a Resign sends Listen to Speak', () => {
  const l = rx(started(), HIGH_IP, msg('active', 200), 100).state;
  const r = rx(l, HIGH_IP, msg('active', 200, { op: 'resign' }), 200);
  assert.equal(kinds(r.actions), ['speak:resign', 'send:hello/speak']);
});

test('a Resign from a router that is not active is ignored', () => {
  const r = rx(standby(), LOW_IP, msg('speak', 50, { op: 'resign' }), 6100);
  assert.is(r.state.name, 'standby');
  assert.equal(kinds(r.actions), ['drop']);
});

test('Standby, f: a higher speaker takes the standby role: to Listen', () => {
  const r = rx(standby(), HIGH_IP, msg('speak', 100), 6100);
  assert.equal(kinds(r.actions), ['listen:higher-speaker']);
  assert.is(r.state.standbyIp, undefined);
});

test('Standby, k: two standby routers, the lower goes to Listen', () => {
  const r = rx(standby(), HIGH_IP, msg('standby', 100), 6100);
  assert.equal(kinds(r.actions), ['listen:higher-standby']);
});

test('Active, e: F every Hellotime', () => {
  const a = active();
  const r = hsrpStep(a, { type: 'timer' }, a.helloTimerMs!);
  assert.equal(kinds(r.actions), ['send:hello/active']);
});

test('Active, g: a higher active router: AB to Speak, addresses released', () => {
  const a = active();
  const r = rx(a, HIGH_IP, msg('active', 200), 7000);
  assert.equal(kinds(r.actions), ['speak:higher-active', 'release-addresses', 'send:hello/speak']);
  assert.is(r.state.activeIp, HIGH_IP);
  assert.is(r.state.activeTimerMs, 10000);
  assert.is(r.state.standbyTimerMs, 10000);
});

test('Active, h: a lower active router: G, a Coup, and we stay active', () => {
  const r = rx(active(), LOW_IP, msg('active', 50), 7000);
  assert.equal(kinds(r.actions), ['send:coup/active']);
  assert.is(r.state.name, 'active');
});

test('Active, j: a Coup from a higher router: ABH to Speak', () => {
  const r = rx(active(), HIGH_IP, msg('active', 200, { op: 'coup' }), 7000);
  assert.equal(kinds(r.actions), ['speak:coup', 'release-addresses', 'send:resign/active', 'send:hello/speak']);
});

test('Active, j from a lower router: ignored', () => {
  const r = rx(active(), LOW_IP, msg('active', 50, { op: 'coup' }), 7000);
  assert.is(r.state.name, 'active');
  assert.equal(kinds(r.actions), ['drop']);
});

test('a Coup outside Active is not acted on', () => {
  const r = rx(standby(), HIGH_IP, msg('active', 200, { op: 'coup' }), 6100);
  assert.is(r.state.name, 'standby');
});

test('Active, k and l: B, the standby router is tracked; d: it is forgotten', () => {
  const a = active();
  const r = rx(a, LOW_IP, msg('standby', 50), 7000);
  assert.is(r.state.standbyIp, LOW_IP);
  assert.is(r.state.standbyTimerMs, 10000);
  const gone = hsrpStep(r.state, { type: 'timer' }, 10000);
  assert.is(gone.state.standbyIp, undefined);
  assert.is(gone.state.name, 'active');
});

test('Active: does not learn timers from other routers (RFC 2281 5.1 Holdtime)', () => {
  const a = active({ timersConfigured: false });
  const r = rx(a, LOW_IP, msg('active', 50, { hellotimeMs: 100, holdtimeMs: 300 }), 7000);
  assert.is(r.state.holdtimeMs, 3000);
});

test('preempt: Standby hearing a lower active router sends a Coup and becomes active', () => {
  // Standby with the higher priority, then preempt switched on (a reload).
  const s = hsrpReconfigure(standby({ priority: 250 }), cfg({ priority: 250, preempt: true }), 6000).state;
  const r = rx(s, HIGH_IP, msg('active', 200), 6100);
  assert.equal(kinds(r.actions), [
    'active:preempt',
    'send:coup/active',
    'take-addresses',
    'send:hello/active',
    'announce',
  ]);
});

test('no preempt: a lower active router is left in place (AE only)', () => {
  const s = standby({ priority: 250 });
  const r = rx(s, HIGH_IP, msg('active', 200), 6100);
  assert.equal(kinds(r.actions), []);
  assert.is(r.state.activeTimerMs, 9100);
});

test('preempt from Listen: Coup at once', () => {
  const r = rx(started({ priority: 250, preempt: true }), HIGH_IP, msg('active', 200), 100);
  assert.equal(kinds(r.actions)[0], 'active:preempt');
});

test('b in Active: CDH, a Resign, addresses released, to Initial', () => {
  const r = hsrpStep(active(), { type: 'shutdown' }, 7000);
  assert.equal(kinds(r.actions), ['initial:shutdown', 'send:resign/active', 'release-addresses']);
  assert.is(hsrpNextDeadline(r.state), undefined);
  assert.ok(hsrpIsStopped(r.state));
});

test('b in Standby: CD to Initial, no Resign', () => {
  const r = hsrpStep(standby(), { type: 'shutdown' }, 7000);
  assert.equal(kinds(r.actions), ['initial:shutdown']);
});

test('interface down and up: Initial, then a again', () => {
  const d = hsrpStep(active(), { type: 'interface-down' }, 7000);
  assert.equal(kinds(d.actions), ['initial:interface-down', 'send:resign/active', 'release-addresses']);
  const u = hsrpStep(d.state, { type: 'interface-up' }, 8000);
  assert.equal(kinds(u.actions), ['listen:interface-up']);
});

test('a learnt virtual IP is forgotten in Initial', () => {
  const l = rx(started({ virtualIp: undefined }), LOW_IP, msg('active', 50), 0).state;
  const d = hsrpStep(l, { type: 'shutdown' }, 10);
  assert.is(d.state.virtualIp, undefined);
});

test('messages in Initial are ignored; startup twice is ignored', () => {
  const i = hsrpInitialState(cfg(), 0);
  assert.equal(kinds(rx(i, HIGH_IP, msg('active', 200), 0).actions), ['drop']);
  assert.equal(kinds(hsrpStep(started(), { type: 'startup' }, 0).actions), ['drop']);
});

test('priority change: a speaking router sends a Hello at once with the new priority', () => {
  const r = hsrpStep(active(), { type: 'priority', priority: 40 }, 7000);
  assert.equal(r.actions, [
    { type: 'send', op: 'hello', state: 'active', priority: 40, hellotimeMs: 1000, holdtimeMs: 3000, virtualIp: VIP },
  ]);
});

test('reconfigure keeps the state and takes the new priority', () => {
  const r = hsrpReconfigure(active(), cfg({ priority: 120 }), 7000);
  assert.is(r.state.name, 'active');
  assert.is(r.state.priority, 120);
});

test('two machines on one segment elect the higher priority, and the other becomes standby', () => {
  // A tiny simulated LAN: every send reaches the other machine at once.
  const hi = hsrpInitialState(cfg({ priority: 200, primaryIp: '192.0.2.3' }), 0);
  const lo = hsrpInitialState(cfg({ priority: 100, primaryIp: '192.0.2.4' }), 0);
  const nodes = [
    { ip: '192.0.2.3', s: hi },
    { ip: '192.0.2.4', s: lo },
  ];
  const deliver = (from: number, acts: HsrpAction[], t: number) => {
    for (const a of acts) {
      if (a.type !== 'send') continue;
      const to = nodes[1 - from];
      const { type: _t, ...m } = a;
      const r = rx(to.s, nodes[from].ip, m, t);
      to.s = r.state;
      deliver(1 - from, r.actions, t);
    }
  };
  nodes.forEach((n, i) => {
    const r = hsrpStep(n.s, { type: 'startup' }, i * 7);
    n.s = r.state;
  });
  for (let t = 0; t < 20000; t += 10) {
    nodes.forEach((n, i) => {
      const due = hsrpNextDeadline(n.s);
      if (due === undefined || due > t) return;
      const r = hsrpStep(n.s, { type: 'timer' }, t);
      n.s = r.state;
      deliver(i, r.actions, t);
    });
  }
  assert.is(nodes[0].s.name, 'active');
  assert.is(nodes[1].s.name, 'standby');
  assert.is(nodes[1].s.activeIp, '192.0.2.3');
});

test.run();
