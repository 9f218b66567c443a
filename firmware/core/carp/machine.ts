// The CARP election (OpenBSD sys/netinet/ip_carp.c: carp_input_c, carp_setrun, carp_master_down)
// as a pure function with the VRRP machine's shape: `step(state, event, nowMs) -> { state,
// actions }`, absolute deadlines in the state, `nextDeadline(state)` for the shell's one timer.
//
// CARP has no priority: the router that advertises most often wins. A router's interval is
// advbase s + advskew/256 s, compared as the integer advbase * 256 + advskew ("tv" below, in
// 1/256 s). Demotion (OpenBSD's carp_demote, tandem's tracking) outranks the interval.
//
// Deliberate deviations from ip_carp.c (each noted where it happens):
//  - Equal interval and demotion: ip_carp.c's master steps down (both masters may flap); tandem
//    keeps the lower source address as master, as ucarp does, so the outcome is deterministic.
//  - Graceful stop: a master sends one advert with advbase 255 and advskew 255 (ucarp's "last
//    advert"); every CARP backup reads it as a master about to time out and takes over at once
//    (carp_input_c's "guaranteed to time out" rule), instead of after 3 intervals.
import type { CarpAdvert } from '../packet/types.ts';
import { compareIp } from '../vrrp/ip.ts';
import type { CarpAction, CarpConfig, CarpEvent, CarpState, CarpStepResult, CarpTransitionReason } from './types.ts';

/** The advskew a demoted router uses, at least (ip_carp.c carp_send_ad: 240 while demoted). */
export const CARP_DEMOTED_ADVSKEW = 240;
/** advbase and advskew of the last advert a stopping master sends. */
export const CARP_LAST_ADVERT = 255;

/** Interval in 1/256 s: advbase s + advskew/256 s (ip_carp.c builds the same as a timeval). */
export const carpTv = (advbase: number, advskew: number) => advbase * 256 + advskew;
const tvMs = (tv256: number) => (tv256 * 1000) / 256;

/** The advskew we send and compare with: raised to 240 while demoted (ip_carp.c). */
export function effectiveAdvskew(s: Pick<CarpState, 'config' | 'demote'>): number {
  const k = s.config.advskew;
  return s.demote > 0 && k < CARP_DEMOTED_ADVSKEW ? CARP_DEMOTED_ADVSKEW : k;
}

/**
 * Master_Down interval of a backup in 1/256 s (ip_carp.c carp_setrun, BACKUP): 3 x advbase s +
 * advskew/256 s of OUR OWN config, not the master's; with advbase 0, 3 x advskew/256 (or 3/256).
 */
export function masterDownTv(advbase: number, advskew: number): number {
  if (advbase === 0) return 3 * Math.max(1, advskew);
  return 3 * advbase * 256 + advskew;
}

function derive(s: Omit<CarpState, 'masterDownIntervalCs' | 'masterAdverIntervalCs'>): CarpState {
  const k = effectiveAdvskew(s);
  return {
    ...s,
    masterAdverIntervalCs: Math.round(tvMs(carpTv(s.config.advbase, k)) / 10),
    masterDownIntervalCs: Math.round(tvMs(masterDownTv(s.config.advbase, k)) / 10),
  };
}

function upd(s: CarpState, patch: Partial<CarpState>): CarpState {
  return derive({ ...s, ...patch });
}

export function initialState(config: CarpConfig, nowMs: number): CarpState {
  return derive({
    name: 'init',
    config,
    demote: 0,
    since: nowMs,
    started: false,
    linkUp: true,
    masterIp: undefined,
    masterDownTimerMs: undefined,
    adverTimerMs: undefined,
  });
}

export function nextDeadline(s: CarpState): number | undefined {
  const ts = [s.masterDownTimerMs, s.adverTimerMs].filter((t): t is number => t !== undefined);
  return ts.length ? Math.min(...ts) : undefined;
}

export function isStopped(s: CarpState): boolean {
  return !s.started && s.name !== 'master';
}

export function step(s: CarpState, ev: CarpEvent, nowMs: number): CarpStepResult {
  switch (ev.type) {
    case 'startup':
      if (s.started) return ignored(s, 'already started');
      return s.linkUp ? enterBackup(upd(s, { started: true }), nowMs, 'startup') : same(upd(s, { started: true }));
    case 'shutdown':
      return onShutdown(s, nowMs);
    case 'timer':
      return onTimer(s, nowMs);
    case 'advert':
      return onAdvert(s, ev.src, ev.advert, nowMs);
    case 'demote':
      return onDemote(s, Math.min(255, Math.max(0, Math.trunc(ev.demote) || 0)), nowMs);
    case 'interface-down':
      return onInterfaceDown(s, nowMs);
    case 'interface-up':
      if (s.linkUp) return ignored(s, 'link already up');
      if (!s.started) return same(upd(s, { linkUp: true }));
      return enterBackup(upd(s, { linkUp: true }), nowMs, 'interface-up');
    default: {
      const never: never = ev;
      return ignored(s, `unhandled ${JSON.stringify(never)}`);
    }
  }
}

const same = (state: CarpState): CarpStepResult => ({ state, actions: [] });

function ignored(state: CarpState, detail: string): CarpStepResult {
  return { state, actions: [{ type: 'drop', reason: 'ignored', detail }] };
}

function transition(from: CarpState['name'], to: CarpState['name'], reason: CarpTransitionReason): CarpAction {
  return { type: 'transition', from, to, reason };
}

function advert(s: CarpState): CarpAction {
  return { type: 'send-advert', advbase: s.config.advbase, advskew: effectiveAdvskew(s), demote: s.demote };
}

/** ip_carp.c carp_setrun(BACKUP): arm the master-down timer from our own advbase/advskew. */
function enterBackup(s: CarpState, nowMs: number, reason: CarpTransitionReason): CarpStepResult {
  const next = upd(s, {
    name: 'backup',
    since: s.name === 'backup' ? s.since : nowMs,
    adverTimerMs: undefined,
    masterDownTimerMs: nowMs + tvMs(masterDownTv(s.config.advbase, effectiveAdvskew(s))),
  });
  const actions: CarpAction[] = s.name === 'master' ? [{ type: 'release-addresses' }] : [];
  if (s.name !== 'backup') actions.unshift(transition(s.name, 'backup', reason));
  return { state: next, actions };
}

/** ip_carp.c carp_master_down: advertise at once, take the addresses, announce them. */
function becomeMaster(s: CarpState, nowMs: number, reason: CarpTransitionReason): CarpStepResult {
  const next = upd(s, {
    name: 'master',
    since: nowMs,
    masterIp: s.config.primaryIp,
    masterDownTimerMs: undefined,
    adverTimerMs: nowMs + tvMs(carpTv(s.config.advbase, effectiveAdvskew(s))),
  });
  return {
    state: next,
    actions: [transition(s.name, 'master', reason), { type: 'take-addresses' }, advert(next), { type: 'announce' }],
  };
}

function onTimer(s: CarpState, nowMs: number): CarpStepResult {
  if (s.name === 'backup' && s.masterDownTimerMs !== undefined && nowMs >= s.masterDownTimerMs)
    return becomeMaster(s, nowMs, 'master-down-timer');
  if (s.name === 'master' && s.adverTimerMs !== undefined && nowMs >= s.adverTimerMs) {
    const next = upd(s, { adverTimerMs: nowMs + tvMs(carpTv(s.config.advbase, effectiveAdvskew(s))) });
    return { state: next, actions: [advert(next)] };
  }
  return same(s);
}

/** ip_carp.c carp_input_c after the HMAC check (the shell made it): the election. */
function onAdvert(s: CarpState, src: string, a: CarpAdvert, nowMs: number): CarpStepResult {
  const ours = carpTv(s.config.advbase, effectiveAdvskew(s));
  const theirs = carpTv(a.advbase, a.advskew);
  if (s.name === 'master') {
    // A peer more frequent than us and not more demoted, or less demoted at all, wins. On a tie of
    // both, the lower address stays master (ucarp; ip_carp.c would step down: see the top).
    const tieLost = ours === theirs && a.demote === s.demote && compareIp(src, s.config.primaryIp) < 0;
    if ((theirs < ours && a.demote <= s.demote) || a.demote < s.demote || tieLost)
      return enterBackup(upd(s, { masterIp: src }), nowMs, 'preferred-master');
    // A worse master: it will step down when it hears our next advert; answer now so it does
    // not wait a whole interval (ucarp re-announces here as well).
    return { state: s, actions: [advert(s), { type: 'announce' }] };
  }
  if (s.name !== 'backup') return ignored(s, `advert in ${s.name}`);
  const heard = upd(s, { masterIp: src });
  // Preempt a master that advertises slower than us, unless it is less demoted.
  if (s.config.preempt && ours < theirs && a.demote >= s.demote) return becomeMaster(heard, nowMs, 'preempt');
  // A more demoted master is taken over whether we preempt or not.
  if (a.demote > s.demote) return becomeMaster(heard, nowMs, 'demoted-master');
  // A master this slow is sure to time out (and advbase 255, advskew 255 is a stopping master).
  if (s.config.advbase > 0 && 3 * s.config.advbase * 256 < theirs) return becomeMaster(heard, nowMs, 'master-leaving');
  return {
    state: upd(heard, { masterDownTimerMs: nowMs + tvMs(masterDownTv(s.config.advbase, effectiveAdvskew(s))) }),
    actions: [],
  };
}

function onDemote(s: CarpState, demote: number, nowMs: number): CarpStepResult {
  if (demote === s.demote) return same(s);
  const next = upd(s, { demote });
  if (s.name !== 'master') return same(next);
  // Tell the backups now (ip_carp.c sends on a demotion change), and keep our own pace.
  const re = upd(next, { adverTimerMs: nowMs + tvMs(carpTv(next.config.advbase, effectiveAdvskew(next))) });
  return { state: re, actions: [advert(re)] };
}

function onShutdown(s: CarpState, nowMs: number): CarpStepResult {
  if (!s.started) return ignored(s, 'not started');
  const stopped = upd(s, {
    name: 'init',
    started: false,
    since: nowMs,
    masterIp: undefined,
    masterDownTimerMs: undefined,
    adverTimerMs: undefined,
  });
  if (s.name !== 'master') {
    return { state: stopped, actions: s.name === 'init' ? [] : [transition(s.name, 'init', 'shutdown')] };
  }
  return {
    state: stopped,
    actions: [
      transition('master', 'init', 'shutdown'),
      { type: 'send-advert', advbase: CARP_LAST_ADVERT, advskew: CARP_LAST_ADVERT, demote: s.demote },
      { type: 'release-addresses' },
    ],
  };
}

function onInterfaceDown(s: CarpState, nowMs: number): CarpStepResult {
  if (!s.linkUp) return ignored(s, 'link already down');
  const next = upd(s, {
    name: s.started ? 'fault' : s.name,
    linkUp: false,
    since: s.started ? nowMs : s.since,
    masterIp: undefined,
    masterDownTimerMs: undefined,
    adverTimerMs: undefined,
  });
  if (!s.started) return same(next);
  const actions: CarpAction[] = [transition(s.name, 'fault', 'interface-down')];
  if (s.name === 'master') actions.push({ type: 'release-addresses' });
  return { state: next, actions };
}

/** A config change that keeps the state (advskew, preempt, addresses): re-arm with new timing. */
export function reconfigure(s: CarpState, config: CarpConfig, nowMs: number): CarpStepResult {
  const next = upd(s, { config });
  if (next.name === 'master')
    return same(upd(next, { adverTimerMs: nowMs + tvMs(carpTv(config.advbase, effectiveAdvskew(next))) }));
  if (next.name === 'backup')
    return same(upd(next, { masterDownTimerMs: nowMs + tvMs(masterDownTv(config.advbase, effectiveAdvskew(next))) }));
  return same(next);
}
