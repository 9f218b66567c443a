// Notify scripts and track scripts run as child processes, never on the protocol path: the caller
// gets control back at once, a script that hangs is killed at its timeout, and per-instance notify
// calls run one after another so a script sees transitions in order.
import { spawn } from 'node:child_process';

export interface ScriptResult {
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  ms: number;
  error?: string;
}

export function runScript(argv: string[], timeoutMs: number): Promise<ScriptResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let timedOut = false;
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(argv[0], argv.slice(1), { stdio: 'ignore', detached: true });
    } catch (e) {
      resolve({ code: null, signal: null, timedOut: false, ms: 0, error: (e as Error).message });
      return;
    }
    const kill = (sig: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, sig);
      } catch {
        /* gone */
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill('SIGTERM');
      setTimeout(() => kill('SIGKILL'), 1000).unref();
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, timedOut, ms: performance.now() - t0, error: e.message });
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, timedOut, ms: performance.now() - t0 });
    });
  });
}

/** Runs notify scripts for one instance in order, dropping the oldest beyond `max` queued. */
export class NotifyQueue {
  private queue: string[][] = [];
  private running = false;
  dropped = 0;
  constructor(
    private timeoutMs: number,
    private onDone: (argv: string[], r: ScriptResult) => void,
    private max = 16,
  ) {}

  push(argv: string[]): void {
    this.queue.push(argv);
    if (this.queue.length > this.max) {
      this.queue.shift();
      this.dropped++;
    }
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    for (let argv = this.queue.shift(); argv; argv = this.queue.shift()) {
      this.onDone(argv, await runScript(argv, this.timeoutMs));
    }
    this.running = false;
  }
}

/**
 * A periodic check script with rise/fall hysteresis (keepalived's semantics): the result changes
 * to "failed" only after `fall` consecutive failures and back to "ok" after `rise` successes, so a
 * single bounce never moves mastership. Starts optimistic ("ok") until `fall` failures.
 */
export class TrackScript {
  ok = true;
  private streak = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  constructor(
    readonly spec: { run: string; intervalMs: number; timeoutMs: number; rise: number; fall: number; weight?: number },
    private onChange: (ok: boolean, r: ScriptResult) => void,
  ) {}

  start(): void {
    this.schedule(0);
  }
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** Applies one result; exported for tests through `feed`. */
  feed(success: boolean, r: ScriptResult): void {
    if (success === this.ok) {
      this.streak = 0;
      return;
    }
    this.streak++;
    if (this.streak >= (success ? this.spec.rise : this.spec.fall)) {
      this.ok = success;
      this.streak = 0;
      this.onChange(success, r);
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(async () => {
      const r = await runScript([this.spec.run], this.spec.timeoutMs);
      if (this.stopped) return;
      this.feed(r.code === 0 && !r.timedOut, r);
      this.schedule(this.spec.intervalMs);
    }, ms);
    this.timer.unref?.();
  }
}
