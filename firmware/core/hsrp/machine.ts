// The HSRP election (RFC 2281 section 6) as a pure function with the VRRP and CARP machines'
// shape: `step(state, event, nowMs) -> { state, actions }`, absolute deadlines in the state,
// `nextDeadline(state)` for the shell's one timer.
//
// RFC 2281 6.3 events and 6.4 actions, by letter, as this file uses them:
//   a  HSRP configured on an enabled interface   A  start the Active timer
//   b  HSRP disabled, or the interface down       B  start the Standby timer
//   c  Active timer expiry                        C  stop the Active timer
//   d  Standby timer expiry                       D  stop the Standby timer
//   e  Hello timer expiry                         E  learn parameters (virtual IP, timers)
//   f  Hello of higher priority from Speak        F  send a Hello
//   g  Hello of higher priority from Active       G  send a Coup
//   h  Hello of lower priority from Active        H  send a Resign
//   i  Resign from the Active router              I  send a gratuitous ARP
//   j  Coup from a higher-priority router
//   k  Hello of higher priority from Standby
//   l  Hello of lower priority from Standby
// "Higher priority" is priority, then the higher IP address (RFC 2281 5.1).
//
// Where tandem reads the table (each also noted where it happens):
//  - A stopped Active timer means "no active router is known". Speak's Standby timer expiry (d)
//    with no active router known goes on through Standby to Active at once, as event c would
//    have done had the timer still been running (otherwise a lone router would wait forever).
//  - A Resign from the Active router (i) is its Active timer expiring now (c).
//  - Preemption (RFC 2281 5.1 Coup): a router configured to preempt that hears a lower-priority
//    active router (h) in Listen, Speak or Standby sends a Coup and becomes active.
//  - Learnt timers: taken from an authenticated Hello of the active router unless configured,
//    and never while active (RFC 2281 5.1 Holdtime).
import { compareIp } from '../vrrp/ip.ts';
import type {
  HsrpAction,
  HsrpConfig,
  HsrpEvent,
  HsrpMessage,
  HsrpOp,
  HsrpState,
  HsrpStateName,
  HsrpStepResult,
  HsrpTransitionReason,
} from './types.ts';

export function initialState(config: HsrpConfig, nowMs: number): HsrpState {
  return {
    name: 'initial',
    config,
    priority: config.priority,
    since: nowMs,
    started: false,
    linkUp: true,
    virtualIp: config.virtualIp,
    hellotimeMs: config.hellotimeMs,
    holdtimeMs: config.holdtimeMs,
    activeIp: undefined,
    standbyIp: undefined,
    activeTimerMs: undefined,
    standbyTimerMs: undefined,
    helloTimerMs: undefined,
  };
}

export function nextDeadline(s: HsrpState): number | undefined {
  const ts = [s.activeTimerMs, s.standbyTimerMs, s.helloTimerMs].filter((t): t is number => t !== undefined);
  return ts.length ? Math.min(...ts) : undefined;
}

export function isStopped(s: HsrpState): boolean {
  return !s.started && s.name !== 'active';
}

/** RFC 2281 5.1: a outranks b by priority, then by the higher IP address. */
export function outranks(aPriority: number, aIp: string, bPriority: number, bIp: string): boolean {
  return aPriority > bPriority || (aPriority === bPriority && compareIp(aIp, bIp) > 0);
}

/** States that send Hellos (RFC 2281 6.1: Speak, Standby, Active). */
const speaking = (n: HsrpStateName) => n === 'speak' || n === 'standby' || n === 'active';

export function step(s: HsrpState, ev: HsrpEvent, nowMs: number): HsrpStepResult {
  switch (ev.type) {
    case 'startup':
      if (s.started) return ignored(s, 'already started');
      if (!s.linkUp) return same({ ...s, started: true });
      return onEnable({ ...s, started: true }, nowMs, 'startup');
    case 'interface-up':
      if (s.linkUp) return ignored(s, 'link already up');
      if (!s.started) return same({ ...s, linkUp: true });
      return onEnable({ ...s, linkUp: true }, nowMs, 'interface-up');
    case 'shutdown':
      if (!s.started) return ignored(s, 'not started');
      return onDisable({ ...s, started: false }, nowMs, 'shutdown');
    case 'interface-down':
      if (!s.linkUp) return ignored(s, 'link already down');
      if (!s.started) return same({ ...s, linkUp: false });
      return onDisable({ ...s, linkUp: false }, nowMs, 'interface-down');
    case 'timer':
      return onTimer(s, nowMs);
    case 'message':
      return onMessage(s, ev.src, ev.message, nowMs);
    case 'priority':
      return onPriority(s, Math.min(255, Math.max(0, Math.trunc(ev.priority) || 0)), nowMs);
    default: {
      const never: never = ev;
      return ignored(s, `unhandled ${JSON.stringify(never)}`);
    }
  }
}

const same = (state: HsrpState): HsrpStepResult => ({ state, actions: [] });

function ignored(state: HsrpState, detail: string): HsrpStepResult {
  return { state, actions: [{ type: 'drop', reason: 'ignored', detail }] };
}

function send(s: HsrpState, op: HsrpOp): HsrpAction {
  return {
    type: 'send',
    op,
    state: s.name,
    priority: s.priority,
    hellotimeMs: s.hellotimeMs,
    holdtimeMs: s.holdtimeMs,
    virtualIp: s.virtualIp,
  };
}

/** Move to `to`, with the transition action first when the state changes. */
function go(s: HsrpState, to: HsrpStateName, nowMs: number, reason: HsrpTransitionReason, patch: Partial<HsrpState>) {
  const state: HsrpState = { ...s, ...patch, name: to, since: to === s.name ? s.since : nowMs };
  const actions: HsrpAction[] = to === s.name ? [] : [{ type: 'transition', from: s.name, to, reason }];
  return { state, actions };
}

/** Event a in Initial: AB, then Learn without a virtual IP, Listen with one (RFC 2281 6.5). */
function onEnable(s: HsrpState, nowMs: number, reason: HsrpTransitionReason): HsrpStepResult {
  return go(s, s.virtualIp === undefined ? 'learn' : 'listen', nowMs, reason, {
    activeTimerMs: nowMs + s.holdtimeMs,
    standbyTimerMs: nowMs + s.holdtimeMs,
    helloTimerMs: undefined,
    activeIp: undefined,
    standbyIp: undefined,
  });
}

/** Event b: CD to Initial; the active router also sends a Resign (H) and gives up the addresses. */
function onDisable(s: HsrpState, nowMs: number, reason: HsrpTransitionReason): HsrpStepResult {
  const wasActive = s.name === 'active';
  const r = go(s, 'initial', nowMs, reason, {
    activeTimerMs: undefined,
    standbyTimerMs: undefined,
    helloTimerMs: undefined,
    activeIp: undefined,
    standbyIp: undefined,
    // A learnt virtual IP is forgotten with the group (RFC 2281 6.1 Learn).
    virtualIp: s.config.virtualIp,
    hellotimeMs: s.config.hellotimeMs,
    holdtimeMs: s.config.holdtimeMs,
  });
  if (s.name === 'initial') return { state: r.state, actions: [] };
  if (wasActive) r.actions.push(send(s, 'resign'), { type: 'release-addresses' });
  return r;
}

/** Into Speak: (re)start the Standby timer (B), so the group hears us for a whole Holdtime before
 *  we claim the standby role, send a Hello now (F) and keep sending. */
function toSpeak(s: HsrpState, nowMs: number, reason: HsrpTransitionReason): HsrpStepResult {
  const r = go(s, 'speak', nowMs, reason, {
    standbyTimerMs: nowMs + s.holdtimeMs,
    helloTimerMs: nowMs + s.hellotimeMs,
  });
  r.actions.push(send(r.state, 'hello'));
  return r;
}

/** Into Active (Standby's c, or a preempting Coup): CD, F, I; take the virtual IP. */
function toActive(s: HsrpState, nowMs: number, reason: HsrpTransitionReason, coup: boolean): HsrpStepResult {
  const r = go(s, 'active', nowMs, reason, {
    activeTimerMs: undefined,
    standbyTimerMs: undefined,
    standbyIp: s.standbyIp === s.config.primaryIp ? undefined : s.standbyIp,
    activeIp: s.config.primaryIp,
    helloTimerMs: nowMs + s.hellotimeMs,
  });
  if (coup) r.actions.push(send(r.state, 'coup'));
  r.actions.push({ type: 'take-addresses', virtualIp: s.virtualIp! }, send(r.state, 'hello'), { type: 'announce' });
  return r;
}

/** Out of Active (g: a higher active, j: a Coup): AB to Speak, giving up the addresses. */
function leaveActive(s: HsrpState, nowMs: number, reason: HsrpTransitionReason, src: string, m: HsrpMessage) {
  const r = go(s, 'speak', nowMs, reason, {
    activeIp: src,
    activeTimerMs: nowMs + (m.holdtimeMs || s.holdtimeMs),
    standbyTimerMs: nowMs + s.holdtimeMs,
    helloTimerMs: nowMs + s.hellotimeMs,
  });
  r.actions.push({ type: 'release-addresses' });
  if (reason === 'coup') r.actions.push(send(s, 'resign')); // H, still as the active router
  r.actions.push(send(r.state, 'hello'));
  return r;
}

function onTimer(s: HsrpState, nowMs: number): HsrpStepResult {
  let cur = s;
  const actions: HsrpAction[] = [];
  const run = (r: HsrpStepResult) => {
    cur = r.state;
    actions.push(...r.actions);
  };
  // e: Hello timer expiry, F in the speaking states.
  if (cur.helloTimerMs !== undefined && nowMs >= cur.helloTimerMs) {
    cur = { ...cur, helloTimerMs: speaking(cur.name) ? nowMs + cur.hellotimeMs : undefined };
    if (speaking(cur.name)) actions.push(send(cur, 'hello'));
  }
  if (cur.activeTimerMs !== undefined && nowMs >= cur.activeTimerMs)
    run(activeTimerExpired(cur, nowMs, 'active-timer'));
  if (cur.standbyTimerMs !== undefined && nowMs >= cur.standbyTimerMs) run(standbyTimerExpired(cur, nowMs));
  return { state: cur, actions };
}

/** Event c (and i, a Resign from the active router, which tandem reads as c now). */
function activeTimerExpired(s0: HsrpState, nowMs: number, reason: HsrpTransitionReason): HsrpStepResult {
  const s: HsrpState = { ...s0, activeTimerMs: undefined, activeIp: undefined };
  switch (s.name) {
    case 'listen': // c: to Speak, to run for the vacant roles
      return toSpeak(s, nowMs, reason);
    case 'standby': // c: C, D, F, I to Active
      return toActive(s, nowMs, reason, false);
    case 'learn': // no virtual IP: cannot speak; keep waiting for an active router
    case 'speak': // C: no active router now; the Standby timer decides (see d)
      return same(s);
    default:
      return same(s);
  }
}

/** Event d. */
function standbyTimerExpired(s0: HsrpState, nowMs: number): HsrpStepResult {
  // The standby router we heard (if any) has gone silent.
  const s: HsrpState = { ...s0, standbyTimerMs: undefined, standbyIp: undefined };
  switch (s.name) {
    case 'listen': // d: no standby router: to Speak
      return toSpeak(s, nowMs, 'standby-timer');
    case 'speak': {
      // d: D, to Standby. With no active router known, on to Active at once (see the top).
      const r = go(s, 'standby', nowMs, 'standby-timer', { standbyIp: s.config.primaryIp });
      if (r.state.activeTimerMs !== undefined) return r;
      const a = toActive(r.state, nowMs, 'active-timer', false);
      return { state: a.state, actions: [...r.actions, ...a.actions] };
    }
    default: // Learn waits; Active just forgets the standby router (D)
      return same(s);
  }
}

function onMessage(s: HsrpState, src: string, m: HsrpMessage, nowMs: number): HsrpStepResult {
  if (!s.started || !s.linkUp || s.name === 'initial') return ignored(s, `message in ${s.name}`);
  const higher = outranks(m.priority, src, s.priority, s.config.primaryIp);
  if (m.op === 'coup') {
    // j: only the active router acts on a Coup, and only from a higher-priority router.
    if (s.name === 'active' && higher) return leaveActive(s, nowMs, 'coup', src, m);
    return ignored(s, `coup in ${s.name}${higher ? '' : ' from a lower priority'}`);
  }
  if (m.op === 'resign') {
    // i: the active router is leaving (tandem: its Active timer expires now).
    if (m.state !== 'active' || s.name === 'active') return ignored(s, `resign from ${m.state} in ${s.name}`);
    return activeTimerExpired(s, nowMs, 'resign');
  }
  switch (m.state) {
    case 'active':
      return higher ? helloFromHigherActive(s, src, m, nowMs) : helloFromLowerActive(s, src, m, nowMs);
    case 'standby':
      return helloFromStandby(s, src, higher, nowMs);
    case 'speak':
      // f: a better candidate for standby; Speak and Standby step back to Listen (B).
      if (!higher || (s.name !== 'speak' && s.name !== 'standby')) return same(s);
      return go(s, 'listen', nowMs, 'higher-speaker', {
        standbyTimerMs: nowMs + s.holdtimeMs,
        standbyIp: s.name === 'standby' ? undefined : s.standbyIp,
        helloTimerMs: undefined,
      });
    default:
      return same(s); // Hellos come from Speak, Standby and Active only (RFC 2281 6.1)
  }
}

/** E: learn the virtual IP (when not configured) and the timers (when not configured, never while
 *  active) from an authenticated Hello of the active router, and A: restart its Active timer. */
function learnFromActive(s: HsrpState, src: string, m: HsrpMessage, nowMs: number): HsrpState {
  const timers = !s.config.timersConfigured && s.name !== 'active' && m.hellotimeMs > 0 && m.holdtimeMs > 0;
  return {
    ...s,
    activeIp: src,
    activeTimerMs: nowMs + (m.holdtimeMs || s.holdtimeMs),
    virtualIp: s.config.virtualIp ?? m.virtualIp ?? s.virtualIp,
    ...(timers ? { hellotimeMs: m.hellotimeMs, holdtimeMs: m.holdtimeMs } : {}),
  };
}

/** g: a higher-priority active router. */
function helloFromHigherActive(s: HsrpState, src: string, m: HsrpMessage, nowMs: number): HsrpStepResult {
  // Active: AB to Speak (two active routers: the lower one gives way).
  if (s.name === 'active') return leaveActive(s, nowMs, 'higher-active', src, m);
  return fromActiveHello(s, src, m, nowMs);
}

/** h: a lower-priority active router. */
function helloFromLowerActive(s: HsrpState, src: string, m: HsrpMessage, nowMs: number): HsrpStepResult {
  // Active: G, a Coup tells it to step down; we stay active.
  if (s.name === 'active') return { state: s, actions: [send(s, 'coup')] };
  const r = fromActiveHello(s, src, m, nowMs);
  const n = r.state.name;
  if (!s.config.preempt || r.state.virtualIp === undefined || (n !== 'listen' && n !== 'speak' && n !== 'standby'))
    return r;
  // Preemption: Coup, then Active.
  const a = toActive(r.state, nowMs, 'preempt', true);
  return { state: a.state, actions: [...r.actions, ...a.actions] };
}

/** AE in Learn, Listen, Speak and Standby; Learn moves on to Listen once it knows the address. */
function fromActiveHello(s: HsrpState, src: string, m: HsrpMessage, nowMs: number): HsrpStepResult {
  const learnt = learnFromActive(s, src, m, nowMs);
  if (s.name === 'learn') {
    if (learnt.virtualIp === undefined) return same(learnt); // the active router has none either
    return go(learnt, 'listen', nowMs, 'learnt-virtual-ip', {});
  }
  return same(learnt);
}

/** k and l. */
function helloFromStandby(s: HsrpState, src: string, higher: boolean, nowMs: number): HsrpStepResult {
  if (s.name === 'active') return same({ ...s, standbyIp: src, standbyTimerMs: nowMs + s.holdtimeMs }); // B
  if (!higher) {
    // l: a weaker standby router; Speak lets its own Standby timer run out and takes the role.
    return same(s);
  }
  const heard = { ...s, standbyIp: src, standbyTimerMs: nowMs + s.holdtimeMs }; // B
  // k: Speak and Standby step back to Listen.
  if (s.name === 'speak' || s.name === 'standby')
    return go(heard, 'listen', nowMs, 'higher-standby', { helloTimerMs: undefined });
  return same(heard);
}

/** Tracking moved our priority: speaking routers tell the group at once (F). */
function onPriority(s: HsrpState, priority: number, nowMs: number): HsrpStepResult {
  if (priority === s.priority) return same(s);
  const next = { ...s, priority };
  if (!speaking(s.name)) return same(next);
  const re = { ...next, helloTimerMs: nowMs + s.hellotimeMs };
  return { state: re, actions: [send(re, 'hello')] };
}

/** A config change that keeps the state (priority, preempt, timers, authentication). */
export function reconfigure(s: HsrpState, config: HsrpConfig, nowMs: number): HsrpStepResult {
  const timers = config.timersConfigured
    ? { hellotimeMs: config.hellotimeMs, holdtimeMs: config.holdtimeMs }
    : s.config.timersConfigured
      ? { hellotimeMs: config.hellotimeMs, holdtimeMs: config.holdtimeMs }
      : {};
  const next: HsrpState = {
    ...s,
    config,
    priority: config.priority,
    virtualIp: config.virtualIp ?? s.virtualIp,
    ...timers,
  };
  if (speaking(next.name)) return same({ ...next, helloTimerMs: nowMs + next.hellotimeMs });
  return same(next);
}
