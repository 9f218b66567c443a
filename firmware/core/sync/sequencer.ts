// The order of conntrackd control calls on a state change, one at a time (docs/state-sync.md).
// Pure: the shell feeds transitions and step results, and runs the step it is handed. A step is
// never started while another runs; a transition that arrives meanwhile waits until the running
// step ends, and of several waiting transitions only the latest is kept (coalesced): the steps of
// a state the node has already left would only undo each other. The rest of a sequence that a
// newer transition overtakes is dropped.

/** What the followed instance (or sync group) became. `stop`: tandem is exiting. */
export type SyncRole = 'master' | 'backup' | 'fault' | 'stop';

/** One conntrackd control call (conntrackd(8) option in the comment). */
export type ControlStep =
  | 'commit-external' // -c: install the external cache (the peer's flows) into the kernel
  | 'flush-internal' // -f internal: forget what the internal cache held as a backup
  | 'resync-kernel' // -R: refill the internal cache from the kernel table
  | 'bulk-send' // -B: send the whole internal cache to the peer
  | 'request-resync' // -n: ask the peer for a full resync of its internal cache
  | 'shorten-timers'; // -t: shorten the kernel's conntrack timers (flows go stale soon)

/** The steps of each role, in order (conntrackd's primary-backup.sh does the same calls). A
 *  backup shortens its kernel timers first: the entries it forwarded as master are stale, and
 *  left in the kernel they would clash with the peer's fresher state when it commits that state
 *  on its next takeover (conntrackd.conf(5), PurgeTimeout). */
export const STEPS: Readonly<Record<SyncRole, readonly ControlStep[]>> = {
  master: ['commit-external', 'flush-internal', 'resync-kernel', 'bulk-send'],
  backup: ['shorten-timers', 'request-resync'],
  fault: ['shorten-timers'],
  stop: [],
};

export interface RunningStep {
  role: SyncRole;
  step: ControlStep;
  startedMs: number;
}

export interface SequencerState {
  /** The role whose steps run (or last ran); undefined before the first transition. */
  readonly role: SyncRole | undefined;
  readonly running: RunningStep | undefined;
  /** Steps of `role` still to run after the running one. */
  readonly remaining: readonly ControlStep[];
  /** Steps of the current sequence that failed so far. */
  readonly failed: readonly ControlStep[];
  /** The latest transition that arrived while a step ran. */
  readonly queued: SyncRole | undefined;
  /** Transitions replaced by a later one before they ran. */
  readonly coalesced: number;
  /** Steps of an overtaken sequence that never ran. */
  readonly dropped: number;
  /** After `stop` nothing more runs. */
  readonly stopped: boolean;
}

export interface StepResult {
  ok: boolean;
  error?: string;
}

/** What the shell does after feeding the sequencer. */
export type SequencerOutput =
  | { type: 'run'; step: ControlStep; role: SyncRole }
  | { type: 'finished'; role: SyncRole; failed: readonly ControlStep[] }
  | { type: 'idle' };

export function initialSequencer(): SequencerState {
  return {
    role: undefined,
    running: undefined,
    remaining: [],
    failed: [],
    queued: undefined,
    coalesced: 0,
    dropped: 0,
    stopped: false,
  };
}

/** Start the steps of `role` (the first one runs now); a role with no steps finishes at once. */
function begin(s: SequencerState, role: SyncRole, nowMs: number, out: SequencerOutput[]): SequencerState {
  const [first, ...rest] = STEPS[role];
  const stopped = s.stopped || role === 'stop';
  if (first === undefined) {
    out.push({ type: 'finished', role, failed: [] });
    return { ...s, role, running: undefined, remaining: [], failed: [], queued: undefined, stopped };
  }
  out.push({ type: 'run', step: first, role });
  const running = { role, step: first, startedMs: nowMs };
  return { ...s, role, running, remaining: rest, failed: [], queued: undefined, stopped };
}

/** A transition of the followed instance or group. */
export function transition(
  s: SequencerState,
  role: SyncRole,
  nowMs: number,
): { state: SequencerState; out: SequencerOutput[] } {
  if (s.stopped) return { state: s, out: [{ type: 'idle' }] };
  if (s.running) {
    // Wait for the running step; only the latest waiting transition counts.
    const coalesced = s.coalesced + (s.queued !== undefined ? 1 : 0);
    return { state: { ...s, queued: role, coalesced }, out: [] };
  }
  const out: SequencerOutput[] = [];
  return { state: begin(s, role, nowMs, out), out };
}

/** The running step ended (a failure is recorded and the sequence goes on: each step stands
 *  on its own, as in conntrackd's primary-backup.sh). */
export function stepDone(
  s: SequencerState,
  result: StepResult,
  nowMs: number,
): { state: SequencerState; out: SequencerOutput[] } {
  const run = s.running;
  if (!run) return { state: s, out: [{ type: 'idle' }] };
  const failed = result.ok ? s.failed : [...s.failed, run.step];
  const out: SequencerOutput[] = [];
  if (s.queued !== undefined) {
    // Overtaken: report what ran of this sequence, drop the rest, start the latest role.
    out.push({ type: 'finished', role: run.role, failed });
    const next = { ...s, running: undefined, dropped: s.dropped + s.remaining.length };
    return { state: begin(next, s.queued, nowMs, out), out };
  }
  const [step, ...rest] = s.remaining;
  if (step === undefined) {
    out.push({ type: 'finished', role: run.role, failed });
    return { state: { ...s, running: undefined, remaining: [], failed }, out };
  }
  out.push({ type: 'run', step, role: run.role });
  return { state: { ...s, running: { role: run.role, step, startedMs: nowMs }, remaining: rest, failed }, out };
}

/** True when no step runs and none waits. */
export function isIdle(s: SequencerState): boolean {
  return s.running === undefined && s.queued === undefined;
}
