// The main thread's handle on the protocol engine (firmware/engine/worker.ts, a worker thread).
import { Worker } from 'node:worker_threads';
import type { FromEngine, ToEngine } from '../engine/worker.ts';

/** What the engine reports in `tandem status --json` (kept loose: the engine owns the shape). */
export interface EngineStatus {
  node: string;
  version: string;
  instances: { name: string; state: string; [k: string]: unknown }[];
  [k: string]: unknown;
}

export class EngineError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Where the worker's code is: next to this module in the bundle, or the .ts source under tsx. */
function workerEntry(): { url: URL; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  return fromSource
    ? { url: new URL('../engine/worker.ts', import.meta.url), execArgv: ['--import', 'tsx'] }
    : { url: new URL('./engine-worker.js', import.meta.url), execArgv: [] };
}

export class EngineClient {
  bootId = '';
  private worker: Worker | undefined;
  private nextId = 1;
  private waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private eventListeners: ((e: Record<string, unknown>) => void)[] = [];
  private changeListeners: (() => void)[] = [];
  private lastStatus: EngineStatus | undefined;
  private stopped: (() => void) | undefined;

  /** `onExit` is called if the engine thread dies (an uncaught error): the daemon must exit. */
  constructor(private onExit: (why: string) => void) {}

  /** Starts the engine; rejects with the reason when it cannot start (bad config, no interface). */
  start(configFile: string, logLevel?: string): Promise<void> {
    const { url, execArgv } = workerEntry();
    // execArgv is not inherited: preloads meant for the main thread stay out of the engine. A
    // small young generation keeps the engine's memory low (it allocates little per packet).
    const w = new Worker(url, {
      execArgv,
      resourceLimits: { maxYoungGenerationSizeMb: 4 },
      stdout: false,
      stderr: false,
    });
    this.worker = w;
    return new Promise<void>((resolve, reject) => {
      let started = false;
      w.on('message', (m: FromEngine) => {
        switch (m.t) {
          case 'started':
            started = true;
            this.bootId = m.bootId;
            this.lastStatus = m.status as EngineStatus;
            resolve();
            break;
          case 'start-failed':
            reject(new EngineError('start-failed', m.error));
            break;
          case 'res': {
            const p = this.waiting.get(m.id);
            this.waiting.delete(m.id);
            if (!p) break;
            if (m.ok) p.resolve(m.result);
            else p.reject(new EngineError(m.error.code, m.error.message));
            break;
          }
          case 'event':
            for (const l of this.eventListeners) l(m.e);
            break;
          case 'status':
            this.lastStatus = m.s as EngineStatus;
            for (const l of this.changeListeners) l();
            break;
          case 'stopped':
            this.stopped?.();
            break;
        }
      });
      w.on('error', (e) => {
        if (!started) reject(e);
        else this.onExit(`the protocol engine failed: ${e.stack ?? e.message}`);
      });
      w.on('exit', (code) => {
        for (const p of this.waiting.values())
          p.reject(new EngineError('engine-exited', `the engine exited (${code})`));
        this.waiting.clear();
        if (!started) reject(new EngineError('engine-exited', `the engine exited (${code}) before starting`));
        else if (!this.stopped) this.onExit(`the protocol engine exited with code ${code}`);
      });
      this.send({ t: 'start', configFile, logLevel });
    });
  }

  /** A command for the engine (status, reload, set-priority, maintenance). */
  request(req: Record<string, unknown>): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.send({ t: 'req', id, req });
    });
  }

  /** The latest snapshot the engine pushed (at most a second old; at once after any change). */
  status(): EngineStatus {
    if (!this.lastStatus) throw new EngineError('not-running', 'the engine has not started');
    return this.lastStatus;
  }

  onEvent(l: (e: Record<string, unknown>) => void): void {
    this.eventListeners.push(l);
  }
  onChange(l: () => void): void {
    this.changeListeners.push(l);
  }

  /** Graceful stop inside the engine (handover, restore), bounded by `timeoutMs`. */
  stop(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.stopped = () => {
        clearTimeout(t);
        resolve();
      };
      this.send({ t: 'stop' });
    });
  }

  private send(m: ToEngine): void {
    this.worker?.postMessage(m);
  }
}
