// One conntrackd run as tandem's child and kept running: when it exits it is started again after
// a backoff (1 s, doubling, at most 30 s; back to 1 s once a run lasted 60 s), until stop(). Both
// state syncs use it: the VRRP pair's (state-sync.ts) and a forward cluster's (cluster-state-sync.ts).
import type { ChildExit, ConntrackdChild, ConntrackdDriver } from '../../drivers/conntrackd.ts';

export const RESTART_MIN_MS = 1_000;
export const RESTART_MAX_MS = 30_000;
export const RESTART_RESET_AFTER_MS = 60_000;

export interface SupervisedConntrackdHooks {
  now: () => number; // monotonic ms
  /** The child exited on its own; it is started again in `restartInMs`. */
  exited(e: ChildExit, ranMs: number, restartInMs: number): void;
  /** It was started again after an exit; `restarts` counts them. */
  restarted(pid: number | undefined, restarts: number): void;
}

export class SupervisedConntrackd {
  private child: ConntrackdChild | undefined;
  private startedMs = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private restartDelayMs = RESTART_MIN_MS;
  private stopping = false;
  private restarts = 0;

  constructor(
    private readonly driver: ConntrackdDriver,
    private readonly bin: string,
    private readonly confFile: string,
    private readonly lockFile: string,
    private readonly hooks: SupervisedConntrackdHooks,
  ) {}

  /** The running child's pid; undefined while it is down (between an exit and its restart). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  start(): void {
    this.startedMs = this.hooks.now();
    const child = this.driver.start(this.bin, this.confFile, this.lockFile, (e) => {
      if (this.child !== child) return;
      this.child = undefined;
      if (this.stopping) return;
      const ranMs = this.hooks.now() - this.startedMs;
      if (ranMs >= RESTART_RESET_AFTER_MS) this.restartDelayMs = RESTART_MIN_MS;
      const inMs = this.restartDelayMs;
      this.restartDelayMs = Math.min(RESTART_MAX_MS, inMs * 2);
      this.hooks.exited(e, ranMs, inMs);
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        if (this.stopping) return;
        this.restarts++;
        this.start();
        this.hooks.restarted(this.child?.pid, this.restarts);
      }, inMs);
    });
    this.child = child;
  }

  /** No more restarts; the child (if any) gets SIGTERM and is waited for. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const c = this.child;
    this.child = undefined;
    await c?.stop();
  }
}
