// Simulation: 2 to 5 routers running the pure state machine on a simulated LAN (virtual clock,
// event queue, random loss, delay and duplication), through random priority changes, restarts and
// interface flaps, then a quiet period. Thousands of seeded runs; a failure prints the seed and
// the trace of that run (re-run one with TANDEM_SIM_SEED=<seed> TANDEM_SIM_RUNS=1).
//
// Asserted (RFC 5798 sections in brackets):
//  - after the network has been quiet (no loss, no chaos) for Master_Down_Interval (bounded by
//    4 x the largest Advertisement_Interval) plus any preempt delay and delivery delays, there is
//    exactly one master among the routers that may be master (running, link up, effective
//    priority > 0), none if there are none [6.4];
//  - with Preempt_Mode everywhere it has the highest effective priority [6.4.2, 6.4.3]; among
//    equal top priorities any one may stay (6.4.2 keeps an equal-priority backup a backup; the
//    address tie-break decides only between two masters, 6.4.3: unit-tested separately);
//  - nothing transitions during a further window of 3 x that bound, after which every backup also
//    names that master (a backup keeps naming a better master it heard until that one is stale);
//  - at every step: no state change without a `transition` action whose from/to match and whose
//    reason is explained by the event just received (and what the router heard before), addresses
//    held exactly while master, no advert sent over a dead link, timers fire only when due.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { VrrpAdvert, VrrpVersion } from '../../firmware/core/packet/types.ts';
import { initialState, isStopped, nextDeadline, step } from '../../firmware/core/vrrp/machine.ts';
import { compareIp } from '../../firmware/core/vrrp/ip.ts';
import { seededRandom } from '../../bench/stats.ts'; // mulberry32, shared with the bench's bootstrap
import type { TransitionReason, VrrpAction, VrrpConfig, VrrpEvent, VrrpState } from '../../firmware/core/vrrp/types.ts';

// ---- deterministic randomness ----------------------------------------------------------------

class Rng {
  next: () => number;
  constructor(seed: number) {
    this.next = seededRandom(seed);
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

// ---- event queue (binary heap on time, then insertion order) ---------------------------------

type Item =
  | { kind: 'timer'; r: number; token: number }
  | { kind: 'deliver'; r: number; src: string; advert: VrrpAdvert }
  | { kind: 'chaos'; r: number; event: VrrpEvent }
  | { kind: 'link'; r: number; up: boolean };
interface Entry {
  t: number;
  seq: number;
  item: Item;
}

class Queue {
  private h: Entry[] = [];
  private seq = 0;
  get size(): number {
    return this.h.length;
  }
  push(t: number, item: Item): void {
    const h = this.h;
    h.push({ t, seq: this.seq++, item });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }
  peekTime(): number {
    return this.h[0].t;
  }
  pop(): Entry {
    const h = this.h;
    const top = h[0];
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1,
          r = l + 1;
        let m = i;
        if (l < h.length && less(h[l], h[m])) m = l;
        if (r < h.length && less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}
const less = (a: Entry, b: Entry) => a.t < b.t || (a.t === b.t && a.seq < b.seq);

// ---- the simulated routers and LAN -----------------------------------------------------------

interface Router {
  id: number;
  ip: string;
  state: VrrpState;
  token: number;
  holding: boolean;
  linkUp: boolean; // the simulated carrier (the machine hears of it via events)
  lastTimerEarly: boolean;
  heardZeroAt: number; // last priority-0 advert received
  heardLowerAt: number; // last advert that could trigger a preempt
  transitions: number;
}

interface Net {
  loss: number;
  dup: number;
  minDelay: number;
  maxDelay: number;
}

const PRIORITIES = [0, 1, 50, 100, 100, 150, 200, 254, 255] as const;
const VIPS = ['192.0.2.100', '192.0.2.101'];

class Failure extends Error {}
const STEP_BUDGET = 200_000; // a normal run takes a few hundred to a few thousand

interface RunOptions {
  seed: number;
  version: VrrpVersion;
  trace?: string[];
  seen?: Map<string, number>;
}

function runOne({ seed, version, trace, seen }: RunOptions): { steps: number } {
  const rng = new Rng(seed);
  const n = rng.int(2, 5);
  const allPreempt = rng.chance(0.8);
  const withDelay = rng.chance(0.3);
  const net: Net = {
    loss: rng.pick([0, 0.05, 0.2, 0.5]),
    dup: rng.pick([0, 0.05, 0.3]),
    minDelay: 0,
    maxDelay: rng.pick([0, 2, 10, 30]),
  };
  net.minDelay = rng.int(0, net.maxDelay);
  const q = new Queue();
  const log = (t: number, s: string) => {
    if (trace) trace.push(`${t} ${s}`);
  };
  const fail = (t: number, msg: string): never => {
    throw new Failure(`t=${t}: ${msg}`);
  };

  // Distinct addresses in 192.0.2.0/24, some above and below each other numerically.
  const hosts = new Set<number>();
  while (hosts.size < n) hosts.add(rng.int(1, 99));
  const routers: Router[] = [...hosts].map((h, id) => {
    const config: VrrpConfig = {
      vrid: 42,
      version,
      family: 4,
      priority: rng.pick(PRIORITIES.filter((p) => p > 0)),
      advertIntervalCs: version === 2 ? 100 : rng.pick([10, 25, 50, 100]),
      preempt: allPreempt || rng.chance(0.5),
      preemptDelayMs: withDelay ? rng.pick([0, 300, 2000]) : 0,
      acceptMode: false,
      addresses: VIPS,
      primaryIp: `192.0.2.${h}`,
    };
    return {
      id,
      ip: config.primaryIp,
      state: initialState(config, 0),
      token: 0,
      holding: false,
      linkUp: true,
      lastTimerEarly: false,
      heardZeroAt: -1,
      heardLowerAt: -1,
      transitions: 0,
    };
  });
  const maxIntervalMs = Math.max(...routers.map((r) => r.state.config.advertIntervalCs)) * 10;
  const maxDownMs = 4 * maxIntervalMs; // Master_Down_Interval <= 3 I + I (priority 0)
  const maxPreemptDelay = Math.max(...routers.map((r) => r.state.config.preemptDelayMs));
  let steps = 0;

  function arm(r: Router, now: number): void {
    const d = nextDeadline(r.state);
    r.token++;
    if (d === undefined) return;
    // Timers fire on time, late, or (not after an early one) early: the machine must cope.
    let t = d;
    const x = rng.next();
    if (x < 0.15) t += rng.int(1, 40);
    else if (x < 0.2 && !r.lastTimerEarly) t -= rng.int(1, 20);
    q.push(Math.max(t, now), { kind: 'timer', r: r.id, token: r.token });
  }

  function broadcast(from: Router, advert: VrrpAdvert, now: number): void {
    for (const to of routers) {
      if (to === from || !to.linkUp) continue;
      if (net.loss && rng.chance(net.loss)) continue;
      const copies = net.dup && rng.chance(net.dup) ? 2 : 1;
      for (let c = 0; c < copies; c++) {
        q.push(now + rng.int(net.minDelay, net.maxDelay) + c, { kind: 'deliver', r: to.id, src: from.ip, advert });
      }
    }
  }

  function feed(r: Router, e: VrrpEvent, now: number): void {
    if (++steps > STEP_BUDGET) fail(now, `more than ${STEP_BUDGET} steps: livelock`);
    const before = r.state;
    const { state, actions } = step(before, e, now);
    r.state = state;
    log(
      now,
      `R${r.id}(${r.ip} p${before.effectivePriority}) ${before.name}${before.handover ? `/${before.handover.endsIn}` : ''} <- ${describe(e)} => ${state.name} ${actions.map(describeAction).join(' ')}`,
    );
    checkStep(r, before, e, actions, now);
    if (seen) {
      for (const a of actions) {
        const k =
          a.type === 'transition'
            ? a.reason
            : a.type === 'drop'
              ? `drop:${a.reason}`
              : a.type === 'announce' && before.name === 'master'
                ? 'split-brain-answer'
                : '';
        if (k) seen.set(k, (seen.get(k) ?? 0) + 1);
      }
    }
    for (const a of actions) {
      if (a.type === 'send-advert') {
        if (!r.linkUp) fail(now, `R${r.id} sent an advert over a dead link`);
        broadcast(
          r,
          { version, vrid: 42, priority: a.priority, maxAdverIntervalCs: a.maxAdverIntervalCs, addresses: VIPS },
          now,
        );
      }
    }
    if (e.type === 'advert') {
      if (e.advert.priority === 0) r.heardZeroAt = now;
      else if (e.advert.priority < before.effectivePriority) r.heardLowerAt = now;
    }
    arm(r, now);
  }

  /** No transition without a cause; addresses held exactly while master. */
  function checkStep(r: Router, before: VrrpState, e: VrrpEvent, actions: VrrpAction[], now: number): void {
    const after = r.state;
    const trs = actions.filter((a): a is Extract<VrrpAction, { type: 'transition' }> => a.type === 'transition');
    if (trs.length > 1) fail(now, `R${r.id}: ${trs.length} transitions in one step`);
    if (before.name !== after.name && trs.length === 0)
      fail(now, `R${r.id}: ${before.name} -> ${after.name} without a transition action`);
    if (trs.length === 1) {
      const tr = trs[0];
      r.transitions++;
      if (tr.from !== before.name || tr.to !== after.name)
        fail(now, `R${r.id}: transition ${tr.from}->${tr.to} but state ${before.name}->${after.name}`);
      if (after.since !== now) fail(now, `R${r.id}: since not updated`);
      const why = explain(tr.reason, before, e, now, r);
      if (why) fail(now, `R${r.id}: ${tr.from}->${tr.to} reason ${tr.reason} not explained by ${describe(e)}: ${why}`);
    } else if (after.since !== before.since) {
      fail(now, `R${r.id}: since moved without a transition`);
    }
    for (const a of actions) {
      if (a.type === 'take-addresses') {
        if (r.holding) fail(now, `R${r.id}: took addresses twice`);
        r.holding = true;
      }
      if (a.type === 'release-addresses') {
        if (!r.holding) fail(now, `R${r.id}: released addresses it did not hold`);
        r.holding = false;
      }
    }
    if (after.name === 'master' && !after.handover && after.effectivePriority === 0)
      fail(now, `R${r.id}: master at priority 0`);
    if (r.holding !== (after.name === 'master')) fail(now, `R${r.id}: holding=${r.holding} in ${after.name}`);
    if (e.type === 'timer') {
      const d = nextDeadline(after);
      if (d !== undefined && d <= now) fail(now, `R${r.id}: a deadline due at ${d} survived a timer event`);
    }
  }

  /** Returns why the reason does not fit, or '' when it does. */
  function explain(reason: TransitionReason, before: VrrpState, e: VrrpEvent, now: number, r: Router): string {
    const t = e.type;
    switch (reason) {
      case 'startup':
        return t === 'startup' ? '' : 'not a startup';
      case 'owner':
        return t === 'startup' && before.effectivePriority === 255 ? '' : 'not an owner startup';
      case 'interface-down':
        return t === 'interface-down' || (t === 'startup' && !before.linkUp) ? '' : 'link not down';
      case 'interface-up':
        return t === 'interface-up' ? '' : 'not an interface-up';
      case 'shutdown':
        if (t === 'shutdown') return '';
        return (t === 'timer' || t === 'advert') && before.handover?.endsIn === 'init' ? '' : 'no shutdown pending';
      case 'priority-change':
        return (t === 'timer' || t === 'advert') &&
          before.handover?.endsIn === 'backup' &&
          before.effectivePriority === 0
          ? ''
          : 'no priority-0 handover';
      case 'master-down-timer':
        return t === 'timer' && before.masterDownTimerMs !== undefined && before.masterDownTimerMs <= now
          ? ''
          : 'timer not due';
      case 'priority-zero-advert':
        return t === 'timer' &&
          before.masterDownTimerMs !== undefined &&
          before.masterDownTimerMs <= now &&
          r.heardZeroAt >= 0
          ? ''
          : 'no priority-0 advert heard';
      case 'preempt':
        if (t === 'advert')
          return e.advert.priority > 0 && e.advert.priority < before.effectivePriority ? '' : 'advert not lower';
        return t === 'timer' &&
          before.preemptTimerMs !== undefined &&
          before.preemptTimerMs <= now &&
          r.heardLowerAt >= 0
          ? ''
          : 'no preempt due';
      case 'higher-priority-advert':
        if (t !== 'advert') return 'not an advert';
        return e.advert.priority > before.effectivePriority ||
          (e.advert.priority === before.effectivePriority && compareIp(e.src, before.config.primaryIp) > 0)
          ? ''
          : 'advert not better';
      case 'lower-priority-master':
        return 'never emitted';
      case 'master-down-detected':
        return t === 'master-down-detected' && before.name === 'backup' ? '' : 'no master-down-detected event';
    }
  }

  function drain(until: number): void {
    while (q.size && q.peekTime() <= until) {
      const { t, item } = q.pop();
      const r = routers[item.r];
      switch (item.kind) {
        case 'timer':
          if (item.token !== r.token) break; // superseded by a later arm()
          r.lastTimerEarly = (nextDeadline(r.state) ?? Infinity) > t;
          feed(r, { type: 'timer' }, t);
          break;
        case 'deliver':
          if (r.linkUp) feed(r, { type: 'advert', src: item.src, advert: item.advert }, t);
          break;
        case 'chaos':
          feed(r, item.event, t);
          break;
        case 'link':
          r.linkUp = item.up;
          feed(r, { type: item.up ? 'interface-up' : 'interface-down' }, t);
          break;
      }
    }
  }

  // Start everybody at slightly different times.
  for (const r of routers) q.push(rng.int(0, 500), { kind: 'chaos', r: r.id, event: { type: 'startup' } });

  // Chaos: random priority changes, restarts and link flaps, all undone before chaosEnd.
  const chaosEnd = rng.int(2_000, 15_000);
  const nChaos = rng.int(0, 12);
  for (let k = 0; k < nChaos; k++) {
    const r = rng.int(0, n - 1);
    const t = rng.int(500, chaosEnd - 1);
    const back = Math.min(chaosEnd, t + rng.int(0, 3000));
    const x = rng.next();
    if (x < 0.45) q.push(t, { kind: 'chaos', r, event: { type: 'priority', priority: rng.pick(PRIORITIES) } });
    else if (x < 0.75) {
      q.push(t, { kind: 'chaos', r, event: { type: 'shutdown' } });
      q.push(back, { kind: 'chaos', r, event: { type: 'startup' } });
    } else {
      q.push(t, { kind: 'link', r, up: false });
      q.push(back, { kind: 'link', r, up: true });
    }
  }
  // Some routers end stopped for good (Shutdown during chaos, never restarted).
  for (const r of routers) {
    if (rng.chance(0.1))
      q.push(rng.int(chaosEnd - 1000, chaosEnd), { kind: 'chaos', r: r.id, event: { type: 'shutdown' } });
  }

  drain(chaosEnd);
  // Quiet: no loss, no more chaos. Links are all up again by construction.
  net.loss = 0;
  for (const r of routers) if (!r.linkUp) fail(chaosEnd, `R${r.id} link still down`);
  // Quiet for one Master_Down_Interval (its bound 4 I), any preempt delay, and delivery delays.
  const settle = chaosEnd + maxDownMs + maxPreemptDelay + 4 * net.maxDelay + 100;
  drain(settle);

  const check = (when: number, namesMaster: boolean) => {
    const eligible = routers.filter((r) => r.state.started && r.linkUp && r.state.effectivePriority > 0);
    const masters = routers.filter((r) => r.state.name === 'master');
    for (const m of masters) if (m.state.handover) fail(when, `R${m.id} still handing over`);
    if (eligible.length === 0) {
      if (masters.length) fail(when, `no eligible router, yet ${masters.length} master(s)`);
      return;
    }
    if (masters.length !== 1) fail(when, `${masters.length} masters: ${masters.map((m) => `R${m.id}`).join(',')}`);
    const m = masters[0];
    if (!eligible.includes(m)) fail(when, `master R${m.id} is not eligible`);
    if (eligible.every((r) => r.state.config.preempt || r.state.effectivePriority === 255)) {
      const top = Math.max(...eligible.map((r) => r.state.effectivePriority));
      if (m.state.effectivePriority !== top)
        fail(when, `master R${m.id} has priority ${m.state.effectivePriority}, best is ${top}`);
    }
    for (const r of routers) {
      if (r === m) continue;
      if (r.state.started && r.state.name !== 'backup') fail(when, `R${r.id} running but ${r.state.name}`);
      if (namesMaster && r.state.name === 'backup' && r.state.masterIp !== m.ip)
        fail(when, `R${r.id} names ${r.state.masterIp} as master, not ${m.ip}`);
      if (!r.state.started && !isStopped(r.state)) fail(when, `R${r.id} stopped but not isStopped`);
    }
  };
  check(settle, false);
  const before = routers.map((r) => r.transitions);
  const end = settle + 3 * maxDownMs;
  drain(end);
  routers.forEach((r, i) => {
    if (r.transitions !== before[i]) fail(end, `R${r.id} transitioned while the network was quiet`);
  });
  check(end, true);
  return { steps };
}

function describe(e: VrrpEvent): string {
  return e.type === 'advert'
    ? `advert(${e.src} p${e.advert.priority} i${e.advert.maxAdverIntervalCs})`
    : e.type === 'priority'
      ? `priority(${e.priority})`
      : e.type;
}
function describeAction(a: VrrpAction): string {
  return a.type === 'transition'
    ? `[${a.from}->${a.to}:${a.reason}]`
    : a.type === 'send-advert'
      ? `[advert p${a.priority}]`
      : a.type === 'drop'
        ? `[drop ${a.reason}]`
        : `[${a.type}]`;
}

function runMany(version: VrrpVersion, runs: number, baseSeed: number): void {
  let steps = 0;
  const t0 = performance.now();
  const seen = new Map<string, number>();
  for (let i = 0; i < runs; i++) {
    const seed = (baseSeed + Math.imul(i, 0x9e3779b1)) >>> 0;
    try {
      steps += runOne({ seed, version, seen }).steps;
    } catch (err) {
      const trace: string[] = [];
      try {
        runOne({ seed, version, trace });
      } catch {
        /* the same failure, now traced */
      }
      const tail = trace.slice(-60).join('\n');
      assert.unreachable(
        `v${version} seed ${seed} (TANDEM_SIM_SEED=${seed} TANDEM_SIM_RUNS=1): ${(err as Error).message}\n${tail}`,
      );
    }
  }
  console.log(`  v${version}: ${runs} runs, ${steps} steps in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  console.log(
    `    ${[...seen]
      .sort()
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
  // The runs must actually exercise every path the invariants are about.
  if (runs >= 200) {
    for (const k of [
      'startup',
      'owner',
      'shutdown',
      'master-down-timer',
      'priority-zero-advert',
      'preempt',
      'higher-priority-advert',
      'priority-change',
      'interface-down',
      'interface-up',
      'split-brain-answer',
    ]) {
      assert.ok((seen.get(k) ?? 0) > 0, `no run exercised ${k}`);
    }
  }
}

const ENV_SEED = process.env.TANDEM_SIM_SEED;
const BASE_SEED = ENV_SEED !== undefined ? Number(ENV_SEED) >>> 0 : 0x7a4d3e51;
const RUNS = Number(process.env.TANDEM_SIM_RUNS ?? 0);
// A single explicit seed replays exactly that run (seed = BASE_SEED for i = 0).

test('v3: 2-5 routers converge on one best master after chaos (RFC 5798 6.4)', () => {
  runMany(3, RUNS || 2500, BASE_SEED);
});

test('v2: 2-5 routers converge on one best master after chaos (RFC 3768 6.4)', () => {
  runMany(2, RUNS || 1500, ENV_SEED !== undefined ? BASE_SEED : BASE_SEED ^ 0x55aa55aa);
});

test.run();
