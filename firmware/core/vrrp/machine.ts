// The VRRP state machine (RFC 5798 / RFC 9568 section 6; RFC 3768 for v2) as a pure function:
// `step(state, event, nowMs) -> { state, actions }`. No I/O, no clock, no timers: deadlines are
// absolute ms inside the state, the shell arms one timer for `nextDeadline(state)` and feeds
// `{ type: 'timer' }`; a timer event fires exactly what is due at `nowMs` (early: nothing).
//
// Action order convention: a step that changes state emits its `transition` first, then the side
// effects in the order the shell must perform them.
//
// Deliberate deviations from the RFC text (each also noted where it happens):
//  - Preemption (6.4.2 says "Discard the ADVERTISEMENT" and lets the Master_Down_Timer expire):
//    a backup with Preempt_Mode whose master drops below it takes over at once (reason
//    'preempt'), or after preemptDelayMs; the outcome is the RFC's, one Master_Down_Interval
//    sooner (OpenBSD CARP does the same).
//  - A backup ignores adverts from routers worse than the fresh master it follows for timing
//    (backupRx), so a split-brain loser's packets cannot start a takeover.
//  - The address owner (priority 255) does not discard every advert (7.1): as master it runs 6.4.3
//    like anyone else, so two misconfigured owners still converge by the IP tie-break.
//  - Shutdown and priority 0 hand over make-before-break (the RFC releases at once), and a master
//    that hears a lower master re-announces (split brain, keepalived #166). See the docs.
import type { VrrpAdvert } from '../packet/types.ts';
import { compareIp, sameAddressSet } from './ip.ts';
import { clampPriority, csToMs, masterDownIntervalCs, skewTimeCs } from './timers.ts';
import type {
  TransitionReason,
  VrrpAction,
  VrrpConfig,
  VrrpEvent,
  VrrpState,
  VrrpStateName,
  VrrpStepResult,
} from './types.ts';

/** The state less what is derived from it (Skew_Time, Master_Down_Interval). */
type StateFields = Omit<VrrpState, 'skewTimeCs' | 'masterDownIntervalCs'>;

/** How many times per Advertisement_Interval a master answers lower masters (split brain) and
 *  priority-0 adverts, together. */
const LOWER_MASTER_ANSWERS = 2;

/** Builds a state, recomputing Skew_Time and Master_Down_Interval (RFC 5798 6.1) from its fields. */
function withTimers(b: StateFields): VrrpState {
  const v = b.config.version;
  return {
    ...b,
    skewTimeCs: skewTimeCs(b.effectivePriority, b.masterAdverIntervalCs, v),
    masterDownIntervalCs: masterDownIntervalCs(b.effectivePriority, b.masterAdverIntervalCs, v),
  };
}

/** A copy of `s` with `patch` applied and the derived timers recomputed. */
function withChanges(s: VrrpState, patch: Partial<StateFields>): VrrpState {
  // One copy per step on the hot path (a backup runs this for every advert it hears).
  const b = { ...s, ...patch } as { -readonly [K in keyof VrrpState]: VrrpState[K] };
  const v = b.config.version;
  b.skewTimeCs = skewTimeCs(b.effectivePriority, b.masterAdverIntervalCs, v);
  b.masterDownIntervalCs = masterDownIntervalCs(b.effectivePriority, b.masterAdverIntervalCs, v);
  return b;
}

/** The state before Startup (RFC 5798 6.4.1 Initialize). */
export function initialState(config: VrrpConfig, nowMs: number): VrrpState {
  return withTimers({
    name: 'init',
    config,
    effectivePriority: clampPriority(config.priority),
    masterAdverIntervalCs: config.advertIntervalCs,
    masterIp: undefined,
    masterPriority: undefined,
    masterHeardMs: undefined,
    since: nowMs,
    started: false,
    linkUp: true,
    masterDownTimerMs: undefined,
    masterDownCause: 'master-down-timer',
    adverTimerMs: undefined,
    preemptTimerMs: undefined,
    lowerMasterAnswers: undefined,
    handover: undefined,
  });
}

/** The earliest absolute deadline (ms) the shell must wake us for, or undefined for none. */
export function nextDeadline(state: VrrpState): number | undefined {
  let best: number | undefined;
  for (const t of [state.masterDownTimerMs, state.adverTimerMs, state.preemptTimerMs, state.handover?.untilMs]) {
    if (t !== undefined && (best === undefined || t < best)) best = t;
  }
  return best;
}

/** True when the instance holds nothing and runs no timer: the shell may exit after Shutdown. */
export function isStopped(state: VrrpState): boolean {
  return !state.started && state.name !== 'master';
}

/** One event in, the next state and the actions out. Never throws. */
export function step(state: VrrpState, event: VrrpEvent, nowMs: number): VrrpStepResult {
  switch (event.type) {
    case 'startup':
      return onStartup(state, nowMs);
    case 'shutdown':
      return onShutdown(state, nowMs);
    case 'timer':
      return onTimer(state, nowMs);
    case 'advert':
      return onAdvert(state, event.src, event.advert, nowMs);
    case 'priority':
      return onPriority(state, clampPriority(event.priority), nowMs);
    case 'interface-down':
      return onInterfaceDown(state, nowMs);
    case 'interface-up':
      return onInterfaceUp(state, nowMs);
    case 'master-down-detected':
      return onMasterDownDetected(state, event.masterIp, nowMs);
    default:
      return unhandled(state, event);
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the handlers.

function unhandled(state: VrrpState, what: never): VrrpStepResult {
  return ignored(state, `unhandled ${JSON.stringify(what)}`);
}

function ignored(state: VrrpState, detail: string): VrrpStepResult {
  return { state, actions: [{ type: 'drop', reason: 'ignored', detail }] };
}

function transition(from: VrrpStateName, to: VrrpStateName, reason: TransitionReason): VrrpAction {
  return { type: 'transition', from, to, reason };
}

/** A master advertises its own Advertisement_Interval (RFC 5798 5.2.7). */
function advert(s: VrrpState, priority: number = s.effectivePriority): VrrpAction {
  return { type: 'send-advert', priority, maxAdverIntervalCs: s.config.advertIntervalCs };
}

/** RFC 5798 6.4.2 "Master_Down_Timer fires" / 6.4.1 owner startup: advertise, announce, Master. */
function becomeMaster(s: VrrpState, nowMs: number, reason: TransitionReason): VrrpStepResult {
  const next = withChanges(s, {
    name: 'master',
    since: nowMs,
    masterIp: s.config.primaryIp,
    masterPriority: s.effectivePriority,
    masterHeardMs: undefined,
    masterAdverIntervalCs: s.config.advertIntervalCs,
    masterDownTimerMs: undefined,
    masterDownCause: 'master-down-timer',
    preemptTimerMs: undefined,
    handover: undefined,
    lowerMasterAnswers: undefined,
    adverTimerMs: nowMs + csToMs(s.config.advertIntervalCs),
  });
  return {
    state: next,
    actions: [transition(s.name, 'master', reason), { type: 'take-addresses' }, advert(next), { type: 'announce' }],
  };
}

/** RFC 5798 6.4.1 Startup, non-owner: Master_Adver_Interval = Advertisement_Interval, arm the
 *  Master_Down_Timer to Master_Down_Interval, go Backup. */
function enterBackupFresh(s: VrrpState, nowMs: number, reason: TransitionReason): VrrpStepResult {
  const b = withChanges(s, {
    name: 'backup',
    since: nowMs,
    masterAdverIntervalCs: s.config.advertIntervalCs,
    masterIp: undefined,
    masterPriority: undefined,
    masterHeardMs: undefined,
    adverTimerMs: undefined,
    preemptTimerMs: undefined,
    handover: undefined,
  });
  const next = withChanges(b, {
    masterDownTimerMs: nowMs + csToMs(b.masterDownIntervalCs),
    masterDownCause: 'master-down-timer',
  });
  return { state: next, actions: [transition(s.name, 'backup', reason)] };
}

/** Startup, or link up in a started instance (RFC 5798 6.4.1). */
function start(s: VrrpState, nowMs: number, reason: 'startup' | 'interface-up'): VrrpStepResult {
  const s1 = withChanges(s, { started: true, linkUp: true });
  if (s1.effectivePriority === 255) return becomeMaster(s1, nowMs, reason === 'startup' ? 'owner' : reason);
  return enterBackupFresh(s1, nowMs, reason);
}

/** Backup with a known master: learn its interval (v3 only) and re-arm the Master_Down_Timer. */
function heardMaster(
  s: VrrpState,
  src: string,
  adv: VrrpAdvert,
  nowMs: number,
  patch: Partial<StateFields>,
): VrrpState {
  // RFC 5798 6.4.2: "Set Master_Adver_Interval to Adver Interval contained in the ADVERTISEMENT".
  // v2 has no such variable: a v2 advert's interval equals ours or was dropped (RFC 3768 7.1).
  const mai = s.config.version === 3 ? Math.max(1, adv.maxAdverIntervalCs) : s.config.advertIntervalCs;
  const down = masterDownIntervalCs(patch.effectivePriority ?? s.effectivePriority, mai, s.config.version);
  return withChanges(s, {
    ...patch,
    masterAdverIntervalCs: mai,
    masterIp: src,
    masterPriority: adv.priority,
    masterHeardMs: nowMs,
    masterDownTimerMs: nowMs + csToMs(down),
    masterDownCause: 'master-down-timer',
  });
}

function mayPreempt(s: VrrpState): boolean {
  // RFC 5798 6.1 Preempt_Mode: "the router that owns the IPvX address ... always preempts".
  return s.effectivePriority > 0 && (s.config.preempt || s.effectivePriority === 255);
}

/** End of a make-before-break handover: release the addresses, go to Initialize or Backup. */
function finishHandover(s: VrrpState, nowMs: number, heard?: { src: string; adv: VrrpAdvert }): VrrpStepResult {
  const endsIn = s.handover?.endsIn ?? 'init';
  const release: VrrpAction = { type: 'release-addresses' };
  if (endsIn === 'init') {
    const next = withChanges(s, {
      name: 'init',
      since: nowMs,
      started: false,
      masterIp: undefined,
      masterPriority: undefined,
      masterHeardMs: undefined,
      adverTimerMs: undefined,
      masterDownTimerMs: undefined,
      preemptTimerMs: undefined,
      handover: undefined,
      masterAdverIntervalCs: s.config.advertIntervalCs,
    });
    return { state: next, actions: [transition('master', 'init', 'shutdown'), release] };
  }
  const b: Partial<StateFields> = {
    name: 'backup',
    since: nowMs,
    adverTimerMs: undefined,
    preemptTimerMs: undefined,
    handover: undefined,
  };
  const next = heard
    ? heardMaster(s, heard.src, heard.adv, nowMs, b)
    : // Nobody took over within Master_Down_Interval: at priority 0 we never become master, so
      // there is nothing to time until the priority rises again (see onPriority).
      withChanges(s, {
        ...b,
        masterIp: undefined,
        masterPriority: undefined,
        masterHeardMs: undefined,
        masterDownTimerMs: undefined,
        masterAdverIntervalCs: s.config.advertIntervalCs,
      });
  return { state: next, actions: [transition('master', 'backup', 'priority-change'), release] };
}

/** Make-before-break: one priority-0 advert now, keep the addresses, no more regular adverts. */
function beginHandover(
  s: VrrpState,
  nowMs: number,
  endsIn: 'init' | 'backup',
  patch: Partial<StateFields>,
): VrrpStepResult {
  const b = withChanges(s, patch);
  const next = withChanges(b, {
    adverTimerMs: undefined,
    handover: { endsIn, untilMs: nowMs + csToMs(b.masterDownIntervalCs) },
  });
  return { state: next, actions: [advert(next, 0)] };
}

// ---------------------------------------------------------------------------------------------
// Event handlers: one exhaustive switch over the state in each.

function onStartup(s: VrrpState, nowMs: number): VrrpStepResult {
  switch (s.name) {
    case 'init':
      if (!s.linkUp) {
        // Started while the carrier is down: wait in fault, start on interface-up.
        const next = withChanges(s, { name: 'fault', since: nowMs, started: true });
        return { state: next, actions: [transition('init', 'fault', 'interface-down')] };
      }
      return start(s, nowMs, 'startup');
    case 'fault':
      if (s.started) return ignored(s, 'startup: already started');
      return { state: withChanges(s, { started: true }), actions: [] };
    case 'backup':
      return ignored(s, 'startup: already running');
    case 'master': {
      if (s.handover?.endsIn !== 'init') return ignored(s, 'startup: already running');
      // At priority 0 we must not resume: keep handing over, but end in Backup, not Initialize.
      if (s.effectivePriority === 0)
        return { state: withChanges(s, { started: true, handover: { ...s.handover, endsIn: 'backup' } }), actions: [] };
      // Restarted during a shutdown handover: we still hold the addresses, so simply resume.
      const next = withChanges(s, {
        started: true,
        handover: undefined,
        masterPriority: s.effectivePriority,
        adverTimerMs: nowMs + csToMs(s.config.advertIntervalCs),
      });
      return { state: next, actions: [advert(next)] };
    }
    default:
      return unhandled(s, s.name);
  }
}

function onShutdown(s: VrrpState, nowMs: number): VrrpStepResult {
  switch (s.name) {
    case 'init':
      return ignored(s, 'shutdown: not started');
    case 'fault': {
      if (!s.started) return ignored(s, 'shutdown: not started');
      const next = withChanges(s, { name: 'init', since: nowMs, started: false });
      return { state: next, actions: [transition('fault', 'init', 'shutdown')] };
    }
    case 'backup': {
      // RFC 5798 6.4.2: cancel the Master_Down_Timer, transition to Initialize.
      const next = withChanges(s, {
        name: 'init',
        since: nowMs,
        started: false,
        masterDownTimerMs: undefined,
        preemptTimerMs: undefined,
        masterIp: undefined,
        masterPriority: undefined,
        masterHeardMs: undefined,
        masterAdverIntervalCs: s.config.advertIntervalCs,
      });
      return { state: next, actions: [transition('backup', 'init', 'shutdown')] };
    }
    case 'master':
      if (s.handover) {
        if (s.handover.endsIn === 'init') return ignored(s, 'shutdown: already stopping');
        // Already handing over at priority 0: end in Initialize instead of Backup.
        return { state: withChanges(s, { started: false, handover: { ...s.handover, endsIn: 'init' } }), actions: [] };
      }
      // RFC 5798 6.4.3 Shutdown sends priority 0 and leaves; we keep the addresses until a
      // backup is heard taking over (make-before-break), so no packet meets an empty gateway.
      return beginHandover(s, nowMs, 'init', { started: false });
    default:
      return unhandled(s, s.name);
  }
}

function onTimer(s: VrrpState, nowMs: number): VrrpStepResult {
  switch (s.name) {
    case 'init':
    case 'fault':
      return { state: s, actions: [] }; // no timers run here; a stale wake-up is harmless
    case 'backup': {
      const down = s.masterDownTimerMs !== undefined && s.masterDownTimerMs <= nowMs ? s.masterDownTimerMs : undefined;
      const pre = s.preemptTimerMs !== undefined && s.preemptTimerMs <= nowMs ? s.preemptTimerMs : undefined;
      if (down === undefined && pre === undefined) return { state: s, actions: [] }; // early
      if (s.effectivePriority === 0) {
        // Priority 0 means "never master": the master is gone but we must not take over.
        const patch: Partial<StateFields> = { preemptTimerMs: undefined };
        if (down !== undefined)
          Object.assign(patch, {
            masterDownTimerMs: undefined,
            masterIp: undefined,
            masterPriority: undefined,
            masterHeardMs: undefined,
          });
        return { state: withChanges(s, patch), actions: [] };
      }
      // RFC 5798 6.4.2 "If the Master_Down_Timer fires": the earlier of the two due deadlines names the cause.
      if (down !== undefined && (pre === undefined || down <= pre)) return becomeMaster(s, nowMs, s.masterDownCause);
      return becomeMaster(s, nowMs, 'preempt');
    }
    case 'master': {
      if (s.handover) {
        if (s.handover.untilMs <= nowMs) return finishHandover(s, nowMs);
        return { state: s, actions: [] };
      }
      if (s.adverTimerMs === undefined || s.adverTimerMs > nowMs) return { state: s, actions: [] };
      // RFC 5798 6.4.3 "If the Adver_Timer fires": send, reset to Advertisement_Interval. The next
      // deadline counts from when this one was due, not from the (late) wake-up, so lateness does
      // not accumulate into a slower cadence; a wake-up later than a whole interval re-arms from
      // now (one advert, no burst to catch up).
      const interval = csToMs(s.config.advertIntervalCs);
      const due = s.adverTimerMs + interval;
      const next = withChanges(s, { adverTimerMs: due > nowMs ? due : nowMs + interval });
      return { state: next, actions: [advert(next)] };
    }
    default:
      return unhandled(s, s.name);
  }
}

function onAdvert(s: VrrpState, src: string, adv: VrrpAdvert, nowMs: number): VrrpStepResult {
  const cfg = s.config;
  if (s.name === 'init' || s.name === 'fault') return ignored(s, `advert in ${s.name}`);
  if (compareIp(src, cfg.primaryIp) === 0)
    return { state: s, actions: [{ type: 'drop', reason: 'own-packet', detail: src }] };
  if (adv.vrid !== cfg.vrid) return ignored(s, `advert for VRID ${adv.vrid}`);
  if (adv.version !== cfg.version) return ignored(s, `VRRPv${adv.version} advert`);
  // RFC 3768 7.1: "MUST verify that the Adver Interval in the packet is the same as the locally
  // configured for this virtual router"; on failure "the receiver MUST discard the packet".
  if (cfg.version === 2 && adv.maxAdverIntervalCs !== cfg.advertIntervalCs) {
    return {
      state: s,
      actions: [{ type: 'drop', reason: 'interval-mismatch', detail: `${adv.maxAdverIntervalCs} cs from ${src}` }],
    };
  }
  // RFC 5798 7.1 (RFC 3768 7.1 alike): when the address list does not match ours, "If the packet
  // was not generated by the address owner (Priority does not equal 255 (decimal)), the receiver
  // MUST drop the packet".
  if (adv.priority !== 255 && !sameAddressSet(adv.addresses, cfg.addresses)) {
    return { state: s, actions: [{ type: 'drop', reason: 'address-mismatch', detail: src }] };
  }
  switch (s.name) {
    case 'backup':
      return backupRx(s, src, adv, nowMs);
    case 'master':
      return s.handover ? handoverRx(s, src, adv, nowMs) : masterRx(s, src, adv, nowMs);
    default:
      return unhandled(s, s.name);
  }
}

/** RFC 5798 6.4.2 "If an ADVERTISEMENT is received" in Backup. */
function backupRx(s: VrrpState, src: string, adv: VrrpAdvert, nowMs: number): VrrpStepResult {
  // tandem: while the master we follow is fresh (heard within Master_Down_Interval), an advert
  // from a different, worse router is a master losing a split brain or its farewell advert. The
  // RFC would take its priority 0 or its (maybe shorter) Adver Interval and restart the timer
  // from it, so one stray packet could make us take over from a live, better master. We let it
  // neither shorten the Master_Down_Timer nor replace the master we follow.
  const known =
    s.masterIp !== undefined &&
    s.masterHeardMs !== undefined &&
    s.masterPriority !== undefined &&
    nowMs < s.masterHeardMs + csToMs(s.masterDownIntervalCs);
  const fromKnown = known && compareIp(src, s.masterIp!) === 0;
  const belowKnown =
    known &&
    !fromKnown &&
    (adv.priority < s.masterPriority! || (adv.priority === s.masterPriority && compareIp(src, s.masterIp!) < 0));
  if (adv.priority === 0) {
    if (belowKnown) return ignored(s, `priority 0 from ${src}, not our master`);
    // "Set the Master_Down_Timer to Skew_Time": the master is leaving, take over soon. It is no
    // longer a master to follow, so whoever advertises next is taken at its word.
    return {
      state: withChanges(s, {
        masterDownTimerMs: nowMs + csToMs(s.skewTimeCs),
        masterDownCause: 'priority-zero-advert',
        masterHeardMs: undefined,
      }),
      actions: [],
    };
  }
  const accept = !mayPreempt(s) || adv.priority >= s.effectivePriority;
  if (belowKnown) {
    if (!accept) return ignored(s, `lower advert from ${src}, not our master`); // 6.4.2 "Discard"
    // Still alive and at least as good as us: it may keep our timer from firing, never shorten it.
    const mai = s.config.version === 3 ? Math.max(1, adv.maxAdverIntervalCs) : s.config.advertIntervalCs;
    const until = nowMs + csToMs(masterDownIntervalCs(s.effectivePriority, mai, s.config.version));
    if (s.masterDownTimerMs !== undefined && s.masterDownTimerMs >= until) return { state: s, actions: [] };
    return { state: withChanges(s, { masterDownTimerMs: until, masterDownCause: 'master-down-timer' }), actions: [] };
  }
  if (accept) {
    // "Set Master_Adver_Interval ..., Recompute the Master_Down_Interval, Reset the
    // Master_Down_Timer"; a master at least as good as us also cancels a pending preempt delay.
    return { state: heardMaster(s, src, adv, nowMs, { preemptTimerMs: undefined }), actions: [] };
  }
  // The master we follow (or the only one we hear) is below us and Preempt_Mode is on: the RFC
  // discards the advert and lets the timer run out; we preempt now, or after preemptDelayMs
  // during which the lower master still counts as alive (its adverts keep re-arming the
  // Master_Down_Timer, so the delay is not cut short).
  if (s.config.preemptDelayMs <= 0) return becomeMaster(s, nowMs, 'preempt');
  const next = heardMaster(s, src, adv, nowMs, { preemptTimerMs: s.preemptTimerMs ?? nowMs + s.config.preemptDelayMs });
  if (next.preemptTimerMs !== undefined && next.preemptTimerMs <= nowMs) return becomeMaster(next, nowMs, 'preempt');
  return { state: next, actions: [] };
}

/** RFC 5798 6.4.3 "If an ADVERTISEMENT is received" in Master. */
function masterRx(s: VrrpState, src: string, adv: VrrpAdvert, nowMs: number): VrrpStepResult {
  const rearm = (): VrrpState => withChanges(s, { adverTimerMs: nowMs + csToMs(s.config.advertIntervalCs) });
  const interval = csToMs(s.config.advertIntervalCs);
  const w = s.lowerMasterAnswers;
  const fresh = w === undefined || nowMs - w.sinceMs >= interval;
  const answered = (): Pick<StateFields, 'lowerMasterAnswers'> => ({
    lowerMasterAnswers: fresh ? { sinceMs: nowMs, count: 1 } : { sinceMs: w.sinceMs, count: w.count + 1 },
  });
  if (adv.priority === 0) {
    // "Send an ADVERTISEMENT, Reset the Adver_Timer to Advertisement_Interval". tandem: within
    // the same budget as the answers to lower masters below, so spoofed priority-0 adverts
    // (500 in) cannot become a flood of adverts (500 out); one answer already tells the backups.
    if (!fresh && w.count >= LOWER_MASTER_ANSWERS)
      return ignored(s, `priority 0 from ${src}: ${w.count} answers in the last ${nowMs - w.sinceMs} ms`);
    const next = withChanges(rearm(), answered());
    return { state: next, actions: [advert(next)] };
  }
  const better =
    adv.priority > s.effectivePriority ||
    (adv.priority === s.effectivePriority && compareIp(src, s.config.primaryIp) > 0);
  if (better) {
    // "Cancel Adver_Timer, Set Master_Adver_Interval ..., Recompute Skew_Time and
    // Master_Down_Interval, Set Master_Down_Timer, Transition to Backup". First one last advert
    // at our current priority, so the winner hears a lower master and re-announces (below).
    const next = heardMaster(s, src, adv, nowMs, {
      name: 'backup',
      since: nowMs,
      adverTimerMs: undefined,
      preemptTimerMs: undefined,
    });
    return {
      state: next,
      actions: [transition('master', 'backup', 'higher-priority-advert'), advert(s), { type: 'release-addresses' }],
    };
  }
  // The RFC discards this. Two masters (split brain, keepalived #166): hosts may have learnt the
  // other one's MAC, so re-announce ours and advertise at once so the other steps down. At most
  // LOWER_MASTER_ANSWERS per Advertisement_Interval: enough to answer a split brain and the
  // loser's farewell advert, while a flood of (spoofed) lower adverts cannot become a flood of
  // gratuitous ARPs, nor two routers that both think they win ping-pong at wire speed.
  if (!fresh && w.count >= LOWER_MASTER_ANSWERS) {
    return ignored(s, `lower master ${src}: ${w.count} answers in the last ${nowMs - w.sinceMs} ms`);
  }
  const next = withChanges(rearm(), answered());
  return { state: next, actions: [{ type: 'announce' }, advert(next)] };
}

/** Handing over: any other router heard with priority > 0 has taken (or kept) the role. */
function handoverRx(s: VrrpState, src: string, adv: VrrpAdvert, nowMs: number): VrrpStepResult {
  if (adv.priority === 0) return { state: s, actions: [] }; // another leaver: keep waiting
  return finishHandover(s, nowMs, { src, adv });
}

function onPriority(s: VrrpState, p: number, nowMs: number): VrrpStepResult {
  if (p === s.effectivePriority) return { state: s, actions: [] };
  switch (s.name) {
    case 'init':
    case 'fault':
      return { state: withChanges(s, { effectivePriority: p }), actions: [] };
    case 'backup': {
      let next = withChanges(s, { effectivePriority: p });
      if (next.masterDownTimerMs === undefined && p > 0) {
        // Back from priority 0 with no master timed: start waiting for one.
        next = withChanges(next, {
          masterDownTimerMs: nowMs + csToMs(next.masterDownIntervalCs),
          masterDownCause: 'master-down-timer',
        });
      }
      // A pending preempt only stands while we still beat the master we heard.
      if (
        next.preemptTimerMs !== undefined &&
        (!mayPreempt(next) || next.masterPriority === undefined || p <= next.masterPriority)
      ) {
        next = withChanges(next, { preemptTimerMs: undefined });
      }
      // Rising above the master preempts on its next advert (backupRx), not here.
      return { state: next, actions: [] };
    }
    case 'master': {
      if (s.handover) {
        if (s.handover.endsIn === 'backup' && p > 0) {
          // Priority restored before anyone took over: we still hold the addresses, resume.
          const next = withChanges(s, {
            effectivePriority: p,
            masterPriority: p,
            handover: undefined,
            adverTimerMs: nowMs + csToMs(s.config.advertIntervalCs),
          });
          return { state: next, actions: [advert(next)] };
        }
        return { state: withChanges(s, { effectivePriority: p }), actions: [] };
      }
      // Priority 0 ("never master"): hand over make-before-break, then stay backup.
      if (p === 0) return beginHandover(s, nowMs, 'backup', { effectivePriority: 0, masterPriority: 0 });
      // Advertise the new priority at once, so a better backup with preempt takes over now.
      const next = withChanges(s, {
        effectivePriority: p,
        masterPriority: p,
        adverTimerMs: nowMs + csToMs(s.config.advertIntervalCs),
      });
      return { state: next, actions: [advert(next)] };
    }
    default:
      return unhandled(s, s.name);
  }
}

function onInterfaceDown(s: VrrpState, nowMs: number): VrrpStepResult {
  const toFault = (extra: VrrpAction[]): VrrpStepResult => {
    const next = withChanges(s, {
      name: 'fault',
      since: nowMs,
      linkUp: false,
      masterIp: undefined,
      masterPriority: undefined,
      masterHeardMs: undefined,
      masterDownTimerMs: undefined,
      adverTimerMs: undefined,
      preemptTimerMs: undefined,
      handover: undefined,
      masterAdverIntervalCs: s.config.advertIntervalCs,
    });
    return { state: next, actions: [transition(s.name, 'fault', 'interface-down'), ...extra] };
  };
  switch (s.name) {
    case 'fault':
      return { state: withChanges(s, { linkUp: false }), actions: [] };
    case 'init':
    case 'backup':
      return toFault([]);
    // No advert can leave a dead link; release so the addresses are not answered for elsewhere.
    case 'master':
      return toFault([{ type: 'release-addresses' }]);
    default:
      return unhandled(s, s.name);
  }
}

/**
 * A detector faster than Master_Down_Interval (BFD) says the master at `masterIp` went silent.
 * In Backup, following that master, with a priority that may become master: what RFC 5798 6.4.2
 * does when the Master_Down_Timer fires, now. Anything else (another master, no master known,
 * priority 0, not Backup) is ignored: the detector can only make the timer fire early, never
 * elect a router the timer would not have.
 */
function onMasterDownDetected(s: VrrpState, masterIp: string, nowMs: number): VrrpStepResult {
  if (s.name !== 'backup') return ignored(s, `master-down-detected in ${s.name}`);
  if (s.masterIp === undefined || compareIp(s.masterIp, masterIp) !== 0)
    return ignored(s, `master-down-detected for ${masterIp}, following ${s.masterIp ?? 'no master'}`);
  if (s.effectivePriority === 0) return ignored(s, 'master-down-detected at priority 0');
  return becomeMaster(s, nowMs, 'master-down-detected');
}

function onInterfaceUp(s: VrrpState, nowMs: number): VrrpStepResult {
  switch (s.name) {
    case 'fault':
      if (s.started) return start(s, nowMs, 'interface-up');
      return {
        state: withChanges(s, { name: 'init', since: nowMs, linkUp: true }),
        actions: [transition('fault', 'init', 'interface-up')],
      };
    case 'init':
      return { state: s.linkUp ? s : withChanges(s, { linkUp: true }), actions: [] };
    case 'backup':
    case 'master':
      return ignored(s, 'interface-up: link already up');
    default:
      return unhandled(s, s.name);
  }
}

/**
 * New configuration for a running instance. Same VRID, version and family: keep the state,
 * timers and role where possible (an address change while master re-takes and re-announces; a
 * changed config priority moves the effective priority unless tracking had changed it, in which
 * case the shell re-sends its tracked value). Otherwise it is a different virtual router: the old
 * one stops at once (release if master) and the new one starts if the old one was started.
 * `release-addresses` means "release what you hold"; `take-addresses` "take state.config's".
 */
export function reconfigure(state: VrrpState, config: VrrpConfig, nowMs: number): VrrpStepResult {
  const old = state.config;
  if (config.vrid !== old.vrid || config.version !== old.version || config.family !== old.family) {
    const actions: VrrpAction[] = [];
    if (state.name === 'master') actions.push(transition('master', 'init', 'shutdown'), { type: 'release-addresses' });
    else if (state.name !== 'init') actions.push(transition(state.name, 'init', 'shutdown'));
    const fresh = withChanges(initialState(config, nowMs), { linkUp: state.linkUp });
    if (!state.started) return { state: fresh, actions };
    const r = onStartup(fresh, nowMs);
    return { state: r.state, actions: [...actions, ...r.actions] };
  }
  const effective =
    state.effectivePriority === clampPriority(old.priority) ? clampPriority(config.priority) : state.effectivePriority;
  let next = withChanges(state, { config });
  const actions: VrrpAction[] = [];
  if (next.name === 'master') {
    next = withChanges(next, { masterIp: config.primaryIp, masterAdverIntervalCs: config.advertIntervalCs });
    if (config.advertIntervalCs !== old.advertIntervalCs && next.adverTimerMs !== undefined) {
      next = withChanges(next, { adverTimerMs: Math.min(next.adverTimerMs, nowMs + csToMs(config.advertIntervalCs)) });
    }
    const sameOrder =
      config.addresses.length === old.addresses.length &&
      config.addresses.every((a, i) => compareIp(a, old.addresses[i]) === 0);
    if (!sameOrder) actions.push({ type: 'release-addresses' }, { type: 'take-addresses' }, { type: 'announce' });
  } else if (next.name === 'backup') {
    if (config.version === 2) next = withChanges(next, { masterAdverIntervalCs: config.advertIntervalCs });
    if (next.preemptTimerMs !== undefined && !mayPreempt(next)) next = withChanges(next, { preemptTimerMs: undefined });
  } else {
    next = withChanges(next, { masterAdverIntervalCs: config.advertIntervalCs });
  }
  if (effective !== next.effectivePriority) {
    const r = onPriority(next, effective, nowMs);
    return { state: r.state, actions: [...actions, ...r.actions] };
  }
  return { state: next, actions };
}
