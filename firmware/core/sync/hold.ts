// No preemption before the state is there (docs/state-sync.md): a node that starts, or comes back
// from fault or from a conntrackd restart, keeps its instances from preempting until it has a full
// resync from the current master, or until the timeout passes. Pure: the shell feeds stats samples
// and asks for the verdict. keepalived issue #1076 is the failure this prevents.

/** The external cache must stop changing this long, after the peer answered, for the resync to
 *  count as complete (conntrackd's FTFW has no end-of-resync marker). */
export const RESYNC_QUIET_MS = 1_000;

export type HoldRelease = 'resynced' | 'timeout' | 'became-master';

export interface HoldState {
  readonly held: boolean;
  readonly sinceMs: number;
  readonly deadlineMs: number;
  /** When the peer was asked for a resync (conntrackd -n returned 0), and its packet count then. */
  readonly requestedMs: number | undefined;
  readonly recvAtRequest: number | undefined;
  /** The last external cache size seen after the peer answered, and since when it is unchanged. */
  readonly external: number | undefined;
  readonly stableSinceMs: number | undefined;
  readonly released: HoldRelease | undefined;
  /** Not released by a resync before this (the scheduled purge of the node's stale entries). */
  readonly notBeforeMs: number;
}

export interface SyncSample {
  external: number; // entries in the external cache (the peer's flows)
  recvPackets: number; // sync packets received from the peer since conntrackd started
}

export function beginHold(nowMs: number, timeoutMs: number): HoldState {
  return {
    held: true,
    sinceMs: nowMs,
    deadlineMs: nowMs + timeoutMs,
    requestedMs: undefined,
    recvAtRequest: undefined,
    external: undefined,
    stableSinceMs: undefined,
    released: undefined,
    notBeforeMs: nowMs,
  };
}

/** The node's stale kernel entries will be flushed purgeMs from now (conntrackd -t): a takeover
 *  before that would keep them, and they would clash with the peer's state it commits. */
export function purgeScheduled(h: HoldState, nowMs: number, purgeMs: number): HoldState {
  return h.held ? { ...h, notBeforeMs: Math.max(h.notBeforeMs, nowMs + purgeMs) } : h;
}

/** A hold that is not in force (a node that never waited). */
export function noHold(nowMs: number): HoldState {
  return { ...beginHold(nowMs, 0), held: false };
}

/** The peer was asked for a full resync (the backup's request-resync step succeeded). */
export function resyncRequested(h: HoldState, recvPackets: number, nowMs: number): HoldState {
  if (!h.held) return h;
  return { ...h, requestedMs: nowMs, recvAtRequest: recvPackets, external: undefined, stableSinceMs: undefined };
}

/** A stats sample: once the peer has sent something since the request and the external cache
 *  stayed the same for RESYNC_QUIET_MS, the resync is complete. */
export function observeSample(h: HoldState, s: SyncSample, nowMs: number): HoldState {
  const timedOut = holdTick(h, nowMs);
  if (!timedOut.held) return timedOut;
  if (h.requestedMs === undefined || h.recvAtRequest === undefined) return h;
  if (s.recvPackets <= h.recvAtRequest) return h;
  if (h.external !== s.external || h.stableSinceMs === undefined)
    return { ...h, external: s.external, stableSinceMs: nowMs };
  if (nowMs - h.stableSinceMs >= RESYNC_QUIET_MS && nowMs >= h.notBeforeMs)
    return { ...h, held: false, released: 'resynced' };
  return h;
}

/** The timeout: the hold ends whether or not the state came. */
export function holdTick(h: HoldState, nowMs: number): HoldState {
  if (!h.held || nowMs < h.deadlineMs) return h;
  return { ...h, held: false, released: 'timeout' };
}

/** Mastership came anyway (no master was there to preempt): nothing left to wait for. */
export function holdBecameMaster(h: HoldState): HoldState {
  return h.held ? { ...h, held: false, released: 'became-master' } : h;
}
