// One BFD session in asynchronous mode (RFC 5880 section 6), as a pure function:
// `bfdStep(session, event, nowMs, random) -> { session, actions }`. No I/O, no clock, no timers:
// the transmit and detection deadlines are absolute ms inside the session, the shell arms one
// timer for `bfdNextDeadline(session)` and feeds `{ type: 'timer' }`. Randomness (the transmit
// jitter of 6.8.7) is passed in, so tests are exact.
//
// Intervals are microseconds as on the wire (bfd.DesiredMinTxInterval and friends, 6.8.1);
// deadlines are milliseconds (fractions allowed) on the injected clock.
//
// Not implemented (and never advertised): Demand mode (we never set D; a peer asking for it is
// still sent periodic packets, which 6.8.7 forbids only while the remote is in Demand mode and
// both are Up), the Echo function (Required Min Echo RX is sent as 0), authentication (a packet
// with the A bit is dropped: none can be configured).
//
// Flap damping (tandem's; RFC 5880 leaves it to the application): the session itself follows the
// RFC exactly; what is damped is its power to start a VRRP takeover. See `BfdDamping`.
import type { BfdControl, BfdStateName } from '../packet/bfd.ts';

/** RFC 5880 6.8.3: while not Up, bfd.DesiredMinTxInterval "MUST" be at least one second. */
export const SLOW_TX_US = 1_000_000;
/** Damping hold after the first flap, and its ceiling (it doubles per repeated flap). */
export const DAMP_BASE_MS = 1_000;
export const DAMP_MAX_MS = 64_000;

export interface BfdSessionConfig {
  localDiscr: number; // bfd.LocalDiscr: nonzero, unique on this system
  desiredMinTxUs: number; // the interval we want to send at once Up
  requiredMinRxUs: number; // bfd.RequiredMinRxInterval: the fastest we accept packets
  detectMult: number; // bfd.DetectMult, 1..255
}

/** Why a received packet was not used (counted by the shell). */
export type BfdSessionDropReason = 'bfd-auth-not-configured' | 'bfd-your-discr-mismatch' | 'bfd-admin-down';

/**
 * Damping of the session's power to trigger a takeover. A Down from Up while the session had been
 * back Up for less than `holdMs` since its previous Down is a flap: it triggers nothing and
 * doubles `holdMs` (up to DAMP_MAX_MS). A Down after at least `holdMs` of Up may trigger; after
 * 4 x holdMs of Up the hold falls back to DAMP_BASE_MS. The first Down ever always may trigger.
 */
export interface BfdDamping {
  readonly holdMs: number;
  readonly lastDownMs: number | undefined;
  readonly flaps: number; // Downs from Up that were damped
}

export interface BfdSession {
  readonly config: BfdSessionConfig;
  readonly state: BfdStateName; // bfd.SessionState
  readonly remoteState: BfdStateName; // bfd.RemoteSessionState
  readonly remoteDiscr: number; // bfd.RemoteDiscr, 0 when unknown
  readonly localDiag: number; // bfd.LocalDiag
  readonly desiredMinTxUs: number; // bfd.DesiredMinTxInterval as sent now (slow while not Up)
  readonly requiredMinRxUs: number; // bfd.RequiredMinRxInterval
  readonly remoteMinRxUs: number; // bfd.RemoteMinRxInterval (initially 1)
  readonly remoteDesiredMinTxUs: number; // the remote's last Desired Min TX (0 before any packet)
  readonly remoteDetectMult: number; // the remote's last Detect Mult (0 before any packet)
  readonly remoteDemand: boolean; // bfd.RemoteDemandMode
  /** A Poll Sequence is running (6.5): periodic packets carry P until a Final arrives. */
  readonly polling: boolean;
  /** 6.8.3: after an increase of DesiredMinTx while Up, the old value paces us until the Final. */
  readonly txFloorUs: number | undefined;
  /** 6.8.3: after a decrease of RequiredMinRx while Up, the old value times detection until the Final. */
  readonly rxDetectUs: number | undefined;
  readonly nextTxMs: number | undefined;
  readonly detectMs: number | undefined; // the Detection Time deadline
  readonly since: number; // ms of the last state change
  readonly upSinceMs: number | undefined;
  readonly everUp: boolean;
  readonly lastDownDiag: number | undefined; // bfd.LocalDiag of the last Down from Init/Up
  readonly damping: BfdDamping;
}

export type BfdEvent =
  | { type: 'timer' }
  | { type: 'packet'; packet: BfdControl } // decoded, from this session's peer
  | { type: 'admin-down' } // 6.8.16: stop the session, tell the peer
  | { type: 'admin-up' };

export type BfdAction =
  | { type: 'send'; packet: BfdControl }
  | {
      type: 'transition';
      from: BfdStateName;
      to: BfdStateName;
      diag: number;
      /** Up -> Down because our Detection Time expired, and not damped: the peer went silent. */
      peerSilent: boolean;
    }
  | { type: 'drop'; reason: BfdSessionDropReason };

export interface BfdStepResult {
  session: BfdSession;
  actions: BfdAction[];
}

/** A random number in [0, 1) (Math.random in the shell, a sequence in tests). */
export type Random = () => number;

type Mutable = { -readonly [K in keyof BfdSession]: BfdSession[K] };

const usToMs = (us: number): number => us / 1000;

/** The session before it runs: Down, nothing known of the peer, first packet due now. */
export function bfdInitialSession(config: BfdSessionConfig, nowMs: number): BfdSession {
  return {
    config,
    state: 'Down',
    remoteState: 'Down',
    remoteDiscr: 0,
    localDiag: 0,
    desiredMinTxUs: Math.max(config.desiredMinTxUs, SLOW_TX_US),
    requiredMinRxUs: config.requiredMinRxUs,
    remoteMinRxUs: 1,
    remoteDesiredMinTxUs: 0,
    remoteDetectMult: 0,
    remoteDemand: false,
    polling: false,
    txFloorUs: undefined,
    rxDetectUs: undefined,
    nextTxMs: nowMs,
    detectMs: undefined,
    since: nowMs,
    upSinceMs: undefined,
    everUp: false,
    lastDownDiag: undefined,
    damping: { holdMs: DAMP_BASE_MS, lastDownMs: undefined, flaps: 0 },
  };
}

/** 6.8.2 / 6.8.7: the interval we send at: the larger of our DesiredMinTx (or the floor kept
 *  during a poll) and the remote's RequiredMinRx; 0 means "the remote wants none". */
export function bfdTxIntervalUs(s: BfdSession): number {
  if (s.remoteMinRxUs === 0) return 0;
  return Math.max(s.txFloorUs ?? s.desiredMinTxUs, s.remoteMinRxUs);
}

/** 6.8.4 Asynchronous mode: the remote's Detect Mult times the larger of our RequiredMinRx and
 *  its last Desired Min TX. 0 before the first packet. */
export function bfdDetectionTimeUs(s: BfdSession): number {
  return s.remoteDetectMult * Math.max(s.rxDetectUs ?? s.requiredMinRxUs, s.remoteDesiredMinTxUs);
}

/** The earliest absolute deadline (ms) to wake for. */
export function bfdNextDeadline(s: BfdSession): number | undefined {
  const a = s.nextTxMs;
  const b = s.detectMs;
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

/** Whether a Down now could trigger a takeover (Up, and not held by damping). */
export function bfdMayTrigger(s: BfdSession, nowMs: number): boolean {
  if (s.state !== 'Up' || s.upSinceMs === undefined) return false;
  return s.damping.lastDownMs === undefined || nowMs - s.upSinceMs >= s.damping.holdMs;
}

/** 6.8.7: each interval is reduced by a random 0-25% (10-25% when Detect Mult is 1). */
export function jitteredMs(intervalUs: number, detectMult: number, random: Random): number {
  const r = Math.min(Math.max(random(), 0), 0.999999);
  const factor = detectMult === 1 ? 0.75 + 0.15 * r : 0.75 + 0.25 * r;
  return usToMs(intervalUs) * factor;
}

/** The packet we send now (6.8.7), with P while polling unless this is a Final. */
export function bfdPacket(s: BfdSession, final = false): BfdControl {
  return {
    diag: s.localDiag,
    state: s.state,
    poll: s.polling && !final, // 4.1: never P and F together
    final,
    cpi: false, // runs in the control plane's process: not independent of it
    demand: false,
    detectMult: s.config.detectMult,
    myDiscr: s.config.localDiscr,
    yourDiscr: s.remoteDiscr,
    desiredMinTxUs: s.desiredMinTxUs,
    requiredMinRxUs: s.requiredMinRxUs,
    requiredMinEchoRxUs: 0,
  };
}

/** One event in, the next session and the actions out. Never throws. */
export function bfdStep(s: BfdSession, ev: BfdEvent, nowMs: number, random: Random): BfdStepResult {
  switch (ev.type) {
    case 'timer':
      return onTimer(s, nowMs, random);
    case 'packet':
      return onPacket(s, ev.packet, nowMs, random);
    case 'admin-down':
      return onAdminDown(s, nowMs);
    case 'admin-up':
      return onAdminUp(s, nowMs);
    default:
      return unhandled(s, ev);
  }
}

function unhandled(s: BfdSession, _ev: never): BfdStepResult {
  return { session: s, actions: [] };
}

/** Changes the session's own state (6.2), with the side rules of 6.8.3 and the damping. */
function changeState(b: Mutable, to: BfdStateName, diag: number, nowMs: number, actions: BfdAction[]): void {
  const from = b.state;
  let peerSilent = false;
  if (from === 'Up') {
    const may = bfdMayTrigger(b, nowMs);
    const upFor = nowMs - (b.upSinceMs ?? nowMs);
    const d = b.damping;
    if (!may) b.damping = { holdMs: Math.min(d.holdMs * 2, DAMP_MAX_MS), lastDownMs: nowMs, flaps: d.flaps + 1 };
    else
      b.damping = {
        holdMs: d.lastDownMs !== undefined && upFor >= 4 * d.holdMs ? DAMP_BASE_MS : d.holdMs,
        lastDownMs: nowMs,
        flaps: d.flaps,
      };
    peerSilent = may && diag === 1;
  }
  b.state = to;
  b.localDiag = diag;
  b.since = nowMs;
  if (to === 'Up') {
    b.upSinceMs = nowMs;
    b.everUp = true;
    // 6.8.3: now Up, we may ask for our real interval; a change of DesiredMinTx starts a Poll
    // Sequence (6.5). A decrease takes effect at once, so no floor.
    if (b.desiredMinTxUs !== b.config.desiredMinTxUs) {
      b.desiredMinTxUs = b.config.desiredMinTxUs;
      b.polling = true;
      b.txFloorUs = undefined;
    }
  } else {
    b.upSinceMs = undefined;
    if (to !== 'Init') {
      // Leaving Init/Up for Down or AdminDown: back to the slow rate; a poll now is meaningless.
      if (from === 'Init' || from === 'Up') b.lastDownDiag = diag;
      b.desiredMinTxUs = Math.max(b.config.desiredMinTxUs, SLOW_TX_US);
      b.polling = false;
      b.txFloorUs = undefined;
      b.rxDetectUs = undefined;
    }
  }
  actions.push({ type: 'transition', from, to, diag, peerSilent });
  // Tell the peer at once rather than at the next (maybe slow) tick: the 3-way handshake and a
  // Down both travel in one packet time.
  b.nextTxMs = nowMs;
}

function sendPeriodic(b: Mutable, nowMs: number, random: Random, actions: BfdAction[]): void {
  const interval = bfdTxIntervalUs(b);
  // 6.8.7: "MUST NOT transmit ... if bfd.RemoteMinRxInterval is zero".
  if (interval === 0) {
    b.nextTxMs = undefined;
    return;
  }
  actions.push({ type: 'send', packet: bfdPacket(b) });
  b.nextTxMs = nowMs + jitteredMs(interval, b.config.detectMult, random);
}

function onTimer(s: BfdSession, nowMs: number, random: Random): BfdStepResult {
  const b: Mutable = { ...s };
  const actions: BfdAction[] = [];
  if (b.detectMs !== undefined && b.detectMs <= nowMs) {
    b.detectMs = undefined;
    // 6.8.1 bfd.RemoteDiscr: zeroed once a Detection Time passes without a valid packet.
    b.remoteDiscr = 0;
    // 6.8.4: "If a period of a Detection Time passes without the receipt of a valid ... Control
    // packet, ... the session has gone down -- the local system MUST set bfd.SessionState to Down
    // and bfd.LocalDiag to 1".
    if (b.state === 'Init' || b.state === 'Up') changeState(b, 'Down', 1, nowMs, actions);
  }
  if (b.nextTxMs !== undefined && b.nextTxMs <= nowMs) sendPeriodic(b, nowMs, random, actions);
  return { session: b, actions };
}

function onPacket(s: BfdSession, p: BfdControl, nowMs: number, random: Random): BfdStepResult {
  // 6.8.6, after the checks the codec made (version, lengths, Detect Mult, M, My Discr, the
  // Your Discr / State rule):
  // "If the A bit is set and no authentication is in use (bfd.AuthType is zero), the packet MUST
  // be discarded." tandem has no authentication to configure.
  if (p.auth) return { session: s, actions: [{ type: 'drop', reason: 'bfd-auth-not-configured' }] };
  // "If the Your Discriminator field is nonzero, it MUST be used to select the session ... If no
  // session is found, the packet MUST be discarded."
  if (p.yourDiscr !== 0 && p.yourDiscr !== s.config.localDiscr)
    return { session: s, actions: [{ type: 'drop', reason: 'bfd-your-discr-mismatch' }] };
  const b: Mutable = { ...s };
  const actions: BfdAction[] = [];
  b.remoteDiscr = p.myDiscr;
  b.remoteState = p.state;
  b.remoteDemand = p.demand;
  b.remoteMinRxUs = p.requiredMinRxUs;
  b.remoteDesiredMinTxUs = p.desiredMinTxUs;
  b.remoteDetectMult = p.detectMult;
  // "If the Final (F) bit is set and the local system has a Poll Sequence in progress, the Poll
  // Sequence MUST be terminated": the held old values no longer apply.
  if (p.final && b.polling) {
    b.polling = false;
    b.txFloorUs = undefined;
    b.rxDetectUs = undefined;
  }
  // "If bfd.SessionState is AdminDown: Discard the packet".
  if (b.state === 'AdminDown') return { session: s, actions: [{ type: 'drop', reason: 'bfd-admin-down' }] };
  if (p.state === 'AdminDown') {
    if (b.state !== 'Down') changeState(b, 'Down', 3, nowMs, actions);
  } else if (b.state === 'Down') {
    if (p.state === 'Down') changeState(b, 'Init', 0, nowMs, actions);
    else if (p.state === 'Init') changeState(b, 'Up', 0, nowMs, actions);
  } else if (b.state === 'Init') {
    if (p.state === 'Init' || p.state === 'Up') changeState(b, 'Up', 0, nowMs, actions);
  } else if (p.state === 'Down') {
    // Up, the remote says Down: "Neighbor Signaled Session Down".
    changeState(b, 'Down', 3, nowMs, actions);
  }
  // "If the Poll (P) bit is set, send a BFD Control packet to the remote system with the Poll (P)
  // bit clear, and the Final (F) bit set" -- at once, regardless of the transmit timer.
  if (p.poll) actions.push({ type: 'send', packet: bfdPacket(b, true) });
  // 6.8.2 / 6.8.3: the transmit interval may have shrunk (the remote now accepts faster, or we
  // just came Up): do not wait out a deadline computed for a slower rate.
  const interval = bfdTxIntervalUs(b);
  if (interval === 0) b.nextTxMs = undefined;
  else {
    const soon = nowMs + jitteredMs(interval, b.config.detectMult, random);
    if (b.nextTxMs === undefined || b.nextTxMs > soon) b.nextTxMs = soon;
  }
  // The packet was not discarded: restart the Detection Time (6.8.4).
  b.detectMs = nowMs + usToMs(bfdDetectionTimeUs(b));
  return { session: b, actions };
}

function onAdminDown(s: BfdSession, nowMs: number): BfdStepResult {
  if (s.state === 'AdminDown') return { session: s, actions: [] };
  const b: Mutable = { ...s };
  const actions: BfdAction[] = [];
  // 6.8.16: "set bfd.SessionState to AdminDown ... bfd.LocalDiag to an appropriate value" (7).
  changeState(b, 'AdminDown', 7, nowMs, actions);
  b.detectMs = undefined;
  return { session: b, actions };
}

function onAdminUp(s: BfdSession, nowMs: number): BfdStepResult {
  if (s.state !== 'AdminDown') return { session: s, actions: [] };
  const b: Mutable = { ...s };
  const actions: BfdAction[] = [];
  // 6.8.16: "set bfd.SessionState to Down"; the diagnostic stays until the session comes up.
  changeState(b, 'Down', s.localDiag, nowMs, actions);
  return { session: b, actions };
}

/**
 * New intervals or multiplier for a running session (6.8.3). While Up, a change of DesiredMinTx
 * or RequiredMinRx starts a Poll Sequence; an increase of DesiredMinTx keeps pacing at the old
 * rate, and a decrease of RequiredMinRx keeps timing detection with the old value, until the
 * Final arrives. The discriminator never changes.
 */
export function bfdReconfigure(s: BfdSession, config: BfdSessionConfig, nowMs: number): BfdStepResult {
  const b: Mutable = { ...s, config: { ...config, localDiscr: s.config.localDiscr } };
  if (b.state !== 'Up') {
    b.desiredMinTxUs = Math.max(config.desiredMinTxUs, SLOW_TX_US);
    b.requiredMinRxUs = config.requiredMinRxUs;
    return { session: b, actions: [] };
  }
  const txChanged = config.desiredMinTxUs !== s.desiredMinTxUs;
  const rxChanged = config.requiredMinRxUs !== s.requiredMinRxUs;
  if (!txChanged && !rxChanged) return { session: b, actions: [] };
  if (txChanged && config.desiredMinTxUs > s.desiredMinTxUs)
    b.txFloorUs = Math.min(s.txFloorUs ?? s.desiredMinTxUs, config.desiredMinTxUs);
  if (rxChanged && config.requiredMinRxUs < s.requiredMinRxUs)
    b.rxDetectUs = Math.max(s.rxDetectUs ?? s.requiredMinRxUs, config.requiredMinRxUs);
  b.desiredMinTxUs = config.desiredMinTxUs;
  b.requiredMinRxUs = config.requiredMinRxUs;
  b.polling = true;
  b.nextTxMs = nowMs; // start the poll now
  return { session: b, actions: [] };
}
