// State sync: the shell around firmware/core/sync/. It runs (or reaches) conntrackd, feeds the
// followed instance's or sync group's transitions to the sequencer and runs the control step the
// sequencer hands out, one at a time; it samples `conntrackd -s` each second for health, the
// preemption hold and stall detection. See docs/state-sync.md.
import { join } from 'node:path';
import { type ConntrackdDriver, type ControlResult, conntrackdDriver } from '../../drivers/conntrackd.ts';
import type { StateSyncConfig } from '../config/types.ts';
import type { TrackedThing } from '../core/policy/tracking.ts';
import type { EngineEvent, StateSyncStatus } from '../core/status.ts';
import {
  beginHold,
  type ConntrackdStats,
  type ControlStep,
  type HoldState,
  holdBecameMaster,
  holdTick,
  initialSequencer,
  isConnected,
  isIdle,
  type LinkWatch,
  noHold,
  observeSample,
  PURGE_TIMEOUT_S,
  parseConntrackdStats,
  purgeScheduled,
  renderControlConf,
  renderConntrackdConf,
  resyncRequested,
  STEP_ARGS,
  type SequencerOutput,
  type SequencerState,
  type SyncRole,
  startWatch,
  stepDone,
  transition,
  watchSample,
} from '../core/sync/index.ts';
import type { VrrpStateName } from '../core/vrrp/index.ts';
import type { Logger } from '../runtime/log.ts';
import { SupervisedConntrackd } from './conntrackd-child.ts';

/** How often `conntrackd -s` is sampled. */
export const STATS_POLL_MS = 1_000;
/** How long `stop()` waits for a running step before stopping conntrackd. */
const STOP_WAIT_MS = 5_000;
/** The longest a takeover's addresses wait for the commit of the peer's connections. */
export const TAKEOVER_GATE_MAX_MS = 1_000;

export interface StateSyncHooks {
  log: Logger;
  now: () => number; // monotonic ms
  emit(e: EngineEvent): void;
  changed(): void;
  /** Hold (or release) preemption of a followed instance. */
  holdPreempt(instance: string, held: boolean): void;
  /** The followed instance's priority inputs changed (the stall penalty). */
  recompute(instance: string): void;
  stateOf(instance: string): VrrpStateName | undefined;
}

/** The role of the followed instance or group: a group is master when every member is, in fault
 *  when any member is; init (not started, or stopped) gives no role. */
export function roleOf(states: readonly (VrrpStateName | undefined)[]): SyncRole | undefined {
  if (states.some((s) => s === 'fault')) return 'fault';
  if (states.some((s) => s === undefined || s === 'init')) return undefined;
  return states.every((s) => s === 'master') ? 'master' : 'backup';
}

export class StateSync {
  private seq: SequencerState = initialSequencer();
  private hold: HoldState;
  private watch: LinkWatch;
  private stats: ConntrackdStats | undefined;
  private statsError: string | undefined;
  private child: SupervisedConntrackd | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private polling = false;
  /** conntrackd answered `-s` since it (re)started: steps may run. */
  private ready = false;
  /** The role last derived from the instances, fed once conntrackd is ready. */
  private role: SyncRole | undefined;
  private fedRole: SyncRole | undefined;
  private stopping = false;
  private readonly confFile: string;
  private readonly lockFile: string;
  private readonly socketPath: string;
  private readonly logFile: string;
  private counters = { restarts: 0, controlFailures: 0, stalls: 0 };
  private lastSequence: StateSyncStatus['lastSequence'] = null;
  private lastResyncReceivedUnixMs: number | null = null;
  private lastBulkSentUnixMs: number | null = null;
  private lastControlError: string | null = null;
  /** A takeover waiting for this node's commit (beforeTakeover): opened when it is done. */
  private gate: { promise: Promise<void>; open: (why: string) => void } | undefined;
  /** The commit of the current mastership ran: later takeovers (the group's other members) go on. */
  private committed = false;

  constructor(
    readonly cfg: StateSyncConfig,
    stateDir: string,
    private hooks: StateSyncHooks,
    private driver: ConntrackdDriver = conntrackdDriver,
  ) {
    this.confFile = join(stateDir, 'conntrackd.conf');
    this.lockFile = join(stateDir, 'conntrackd.lock');
    this.socketPath = cfg.socket ?? join(stateDir, 'conntrackd.ctl');
    this.logFile = join(stateDir, 'conntrackd.log');
    const now = hooks.now();
    this.hold = noHold(now);
    this.watch = startWatch(now);
  }

  private get log(): Logger {
    return this.hooks.log;
  }

  private get follows(): string {
    return 'instance' in this.cfg.follows ? this.cfg.follows.instance : this.cfg.follows.syncGroup;
  }

  /** Write the configuration, start conntrackd (unless the operator runs it), hold preemption
   *  until the first resync, and start sampling. Called after the instances started. */
  start(): void {
    this.driver.writeConf(
      this.confFile,
      this.cfg.socket
        ? renderControlConf(this.socketPath)
        : renderConntrackdConf({
            interface: this.cfg.interface!,
            local: this.cfg.local!,
            peer: this.cfg.peer!,
            port: this.cfg.port,
            lockFile: this.lockFile,
            socketPath: this.socketPath,
            logFile: this.logFile,
          }),
    );
    if (!this.cfg.socket) this.spawn();
    // The instances started before us: their first transitions (init -> backup) are already done.
    this.role = roleOf(this.cfg.instances.map((n) => this.hooks.stateOf(n)));
    this.beginHold('start');
    this.pollTimer = setInterval(() => void this.poll(), STATS_POLL_MS);
    this.pollTimer.unref?.();
    void this.poll();
    this.log.info(
      { follows: this.follows, mode: this.cfg.socket ? 'socket' : 'child', conf: this.confFile },
      'state sync started',
    );
  }

  // ---- the conntrackd child ----

  private spawn(): void {
    this.child = new SupervisedConntrackd(this.driver, this.cfg.conntrackd, this.confFile, this.lockFile, {
      now: this.hooks.now,
      exited: (e, ranMs, inMs) => {
        this.ready = false;
        this.log.error(
          { code: e.code, signal: e.signal, stderr: e.stderr, ranMs: Math.round(ranMs), restartInMs: inMs },
          'conntrackd exited; restarting it',
        );
        this.hooks.emit({
          reason: 'state-sync-conntrackd-exited',
          code: e.code,
          signal: e.signal,
          stderr: e.stderr,
          restartInMs: inMs,
        });
      },
      restarted: (pid, restarts) => {
        this.counters.restarts = restarts;
        this.log.warn({ pid, restarts }, 'conntrackd restarted');
        this.hooks.emit({ reason: 'state-sync-conntrackd-restarted', pid, restarts });
      },
    });
    this.child.start();
  }

  // ---- transitions -> sequencer -> control steps ----

  /** A followed instance is about to install its addresses. The kernel must hold the peer's
   *  connections first: a packet that reaches the address before its conntrack entry is a new
   *  flow to a local address (TCP answers it with a RST; measured: a commit 60 ms late reset all
   *  20 connections). So the master sequence (commit first) starts now and the addresses wait
   *  for its commit, at most TAKEOVER_GATE_MAX_MS. Undefined: nothing to wait for. */
  beforeTakeover(instance: string): Promise<void> | undefined {
    if (!this.cfg.instances.includes(instance) || this.stopping || !this.ready) return undefined;
    if (this.role !== 'master') {
      this.becomeMaster();
      this.feed();
    }
    return this.committed ? undefined : this.openGateLater();
  }

  private openGateLater(): Promise<void> {
    if (this.gate) return this.gate.promise;
    const t0 = this.hooks.now();
    let open!: (why: string) => void;
    const promise = new Promise<void>((resolve) => {
      const timer = setTimeout(() => open('timeout'), TAKEOVER_GATE_MAX_MS);
      open = (why) => {
        clearTimeout(timer);
        if (this.gate?.promise !== promise) return;
        this.gate = undefined;
        const waitedMs = Math.round(this.hooks.now() - t0);
        if (why === 'committed') this.log.info({ waitedMs }, 'peer connections committed before the addresses');
        else this.log.warn({ waitedMs, why }, 'addresses installed without waiting for the commit');
        resolve();
      };
    });
    this.gate = { promise, open };
    return promise;
  }

  private becomeMaster(): void {
    this.role = 'master';
    this.committed = false;
    this.releaseHold(holdBecameMaster(this.hold));
  }

  /** A followed instance changed state. */
  onTransition(instance: string, to: VrrpStateName): void {
    if (!this.cfg.instances.includes(instance) || this.stopping) return;
    const role = roleOf(this.cfg.instances.map((n) => (n === instance ? to : this.hooks.stateOf(n))));
    if (role === undefined || role === this.role) return;
    // A member arriving at master while the rest of its group is still on the way: the takeover
    // began at the first beforeTakeover; only a member that leaves master ends it.
    if (this.role === 'master' && role === 'backup' && to === 'master') return;
    const from = this.role;
    if (role === 'master') this.becomeMaster();
    else {
      this.role = role;
      this.committed = false;
      this.gate?.open(`became ${role}`);
    }
    // Back from fault: the state it had is stale; wait for a resync before taking mastership.
    if (role === 'backup' && from === 'fault') this.beginHold('returned from fault');
    this.feed();
  }

  /** Feed the current role to the sequencer once conntrackd can be reached. */
  private feed(): void {
    if (!this.ready || this.role === undefined || this.role === this.fedRole) return;
    this.fedRole = this.role;
    this.apply(transition(this.seq, this.role, this.hooks.now()));
  }

  private apply(r: { state: SequencerState; out: SequencerOutput[] }): void {
    this.seq = r.state;
    for (const o of r.out) {
      if (o.type === 'run') void this.runStep(o.step, o.role);
      else if (o.type === 'finished') this.finished(o.role, o.failed);
    }
  }

  private async runStep(step: ControlStep, role: SyncRole): Promise<void> {
    const res = await this.control(STEP_ARGS[step]);
    if (res.ok) {
      this.log.info({ step, role, ms: res.ms }, 'state sync step done');
      if (step === 'request-resync')
        this.hold = resyncRequested(this.hold, this.stats?.recvPackets ?? 0, this.hooks.now());
      if (step === 'bulk-send') this.lastBulkSentUnixMs = Date.now();
      // The purge of stale entries comes PURGE_TIMEOUT_S (+ a poll) later: hold until it is done.
      if (step === 'shorten-timers')
        this.hold = purgeScheduled(this.hold, this.hooks.now(), PURGE_TIMEOUT_S * 1000 + STATS_POLL_MS);
    } else {
      this.log.error({ step, role, error: res.error, timedOut: res.timedOut }, 'state sync step failed');
      this.hooks.emit({ reason: 'state-sync-step-failed', step, role, error: res.error, timedOut: res.timedOut });
    }
    if (step === 'commit-external' && role === 'master') {
      this.committed = true;
      this.gate?.open(res.ok ? 'committed' : 'commit failed');
    }
    this.apply(stepDone(this.seq, { ok: res.ok, error: res.error }, this.hooks.now()));
  }

  private finished(role: SyncRole, failed: readonly ControlStep[]): void {
    this.lastSequence = { role, failed: [...failed], atUnixMs: Date.now() };
    this.changed();
    if (!failed.length) this.log.info({ role }, 'state sync sequence complete');
  }

  private async control(args: readonly string[]): Promise<ControlResult> {
    const res = await this.driver.control(this.cfg.conntrackd, this.confFile, args, this.cfg.controlTimeoutMs);
    if (!res.ok) {
      this.counters.controlFailures++;
      this.lastControlError = `conntrackd ${args.join(' ')}: ${res.error}`;
    }
    return res;
  }

  // ---- health, hold and stall, from `conntrackd -s` ----

  private async poll(): Promise<void> {
    if (this.polling || this.stopping) return;
    this.polling = true;
    try {
      const res = await this.control(['-s']);
      const now = this.hooks.now();
      let recv: number | undefined;
      if (res.ok) {
        const p = parseConntrackdStats(res.stdout);
        if (p.ok) {
          this.stats = p.stats;
          this.statsError = undefined;
          recv = p.stats.recvPackets;
          this.releaseHold(observeSample(this.hold, { external: p.stats.external, recvPackets: recv }, now));
        } else this.statsError = p.reason;
      } else this.statsError = res.error;
      if (this.stopping) return;
      const wasReady = this.ready;
      this.ready = recv !== undefined;
      if (this.ready && !wasReady) this.reached();
      this.releaseHold(holdTick(this.hold, now));
      const stalled = this.watch.stalled;
      this.watch = watchSample(this.watch, recv, now, this.cfg.stallAfterMs);
      if (this.watch.stalled !== stalled) this.stallChanged();
      this.changed();
    } finally {
      this.polling = false;
    }
  }

  /** conntrackd answers (first start, a restart, or an operator's daemon back): a fresh conntrackd
   *  has empty caches, so the current role's steps run again (master: bulk send; backup: resync). */
  private reached(): void {
    this.log.info({ pid: this.child?.pid }, 'conntrackd answers');
    if (this.fedRole !== undefined) {
      if (this.role === 'backup' && !this.hold.held) this.beginHold('conntrackd restarted');
      this.fedRole = undefined;
    }
    this.feed();
  }

  private stallChanged(): void {
    const stalled = this.watch.stalled;
    if (stalled) this.counters.stalls++;
    const penalty = this.cfg.stallPenalty;
    const detail = { stallAfterMs: this.cfg.stallAfterMs, penalty: penalty ?? null, error: this.statsError ?? null };
    if (stalled) this.log.warn(detail, 'state sync stalled: nothing heard from the peer');
    else this.log.info('state sync recovered');
    this.hooks.emit({ reason: stalled ? 'state-sync-stalled' : 'state-sync-recovered', ...detail });
    if (penalty !== undefined) for (const n of this.cfg.instances) this.hooks.recompute(n);
  }

  /** The stall penalty as a tracked thing: weight -N counts while stalled (keepalived's sign rule). */
  tracked(instance: string): TrackedThing[] {
    if (this.cfg.stallPenalty === undefined || !this.cfg.instances.includes(instance)) return [];
    return [{ down: this.watch.stalled, weight: -this.cfg.stallPenalty }];
  }

  private beginHold(why: string): void {
    if (this.role === 'master') return;
    this.hold = beginHold(this.hooks.now(), this.cfg.resyncTimeoutMs);
    this.log.info({ why, timeoutMs: this.cfg.resyncTimeoutMs }, 'preemption held until a full resync from the peer');
    for (const n of this.cfg.instances) this.hooks.holdPreempt(n, true);
  }

  private releaseHold(next: HoldState): void {
    const was = this.hold.held;
    this.hold = next;
    if (!was || next.held) return;
    const heldMs = Math.round(this.hooks.now() - next.sinceMs);
    if (next.released === 'timeout') {
      this.log.warn({ heldMs }, 'no full resync within resync_timeout: preemption allowed without it');
    } else {
      this.log.info({ heldMs, why: next.released }, 'preemption hold ended');
    }
    if (next.released === 'resynced') this.lastResyncReceivedUnixMs = Date.now();
    this.hooks.emit({ reason: `state-sync-hold-${next.released}`, heldMs, external: this.stats?.external ?? null });
    for (const n of this.cfg.instances) this.hooks.holdPreempt(n, false);
  }

  /** Instances were restarted by a reload: put the hold back on the new ones. */
  reapply(): void {
    for (const n of this.cfg.instances) this.hooks.holdPreempt(n, this.hold.held);
  }

  get preemptHeld(): boolean {
    return this.hold.held;
  }

  private changed(): void {
    this.hooks.changed();
  }

  status(): StateSyncStatus {
    const now = this.hooks.now();
    const s = this.stats;
    return {
      follows: this.follows,
      mode: this.cfg.socket ? 'socket' : 'child',
      role: this.role ?? null,
      conntrackdPid: this.child?.pid ?? null,
      reachable: this.ready,
      connected: isConnected(this.watch, now, this.cfg.stallAfterMs),
      stalled: this.watch.stalled,
      preemptHeld: this.hold.held,
      internalCache: s?.internal ?? null,
      externalCache: s?.external ?? null,
      messagesLost: s?.lost ?? null,
      malformedMessages: s?.malformed ?? null,
      lastResyncReceivedUnixMs: this.lastResyncReceivedUnixMs,
      lastBulkSentUnixMs: this.lastBulkSentUnixMs,
      lastSequence: this.lastSequence,
      lastError: this.statsError ?? this.lastControlError,
      restarts: this.counters.restarts,
      controlFailures: this.counters.controlFailures,
      stalls: this.counters.stalls,
      stepsCoalesced: this.seq.coalesced,
      stepsDropped: this.seq.dropped,
    };
  }

  /** tandem exits: let a running step end (bounded), then stop the conntrackd we started. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.gate?.open('stopping');
    this.apply(transition(this.seq, 'stop', this.hooks.now()));
    const deadline = this.hooks.now() + STOP_WAIT_MS;
    while (!isIdle(this.seq) && this.hooks.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.stopping = true;
    clearInterval(this.pollTimer);
    await this.child?.stop();
    this.child = undefined;
    this.log.info('state sync stopped');
  }
}
