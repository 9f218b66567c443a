// The supervisor's handle on the protocol engine (firmware/engine/worker.ts, a worker thread).
import { Worker } from 'node:worker_threads';
import type { TandemConfig } from '../config/types.ts';
import type { EngineEvent, EngineStatus } from '../core/status.ts';
import type { EngineReply, EngineRequest, FromEngine, ToEngine } from '../engine/protocol.ts';
import type { LogLevel } from '../runtime/log.ts';

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
  private eventListeners: ((e: EngineEvent) => void)[] = [];
  private changeListeners: (() => void)[] = [];
  private lastStatus: EngineStatus | undefined;
  private stopped: (() => void) | undefined;

  /** `onExit` is called if the engine thread dies (an uncaught error): the daemon must exit. */
  constructor(private onExit: (why: string) => void) {}

  /** Starts the engine with a validated config; rejects with the reason when it cannot start. */
  start(config: TandemConfig, logLevel: LogLevel): Promise<void> {
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
            this.lastStatus = m.status;
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
            this.lastStatus = m.s;
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
      this.send({ t: 'start', config, logLevel });
    });
  }

  /** A request to the engine; its answer has the type of that request's reply. */
  request<R extends EngineRequest>(req: R): Promise<EngineReply<R>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.send({ t: 'req', id, req });
    });
  }

  /** The latest snapshot the engine pushed: at once after any change, and each second while
   *  telemetry, metrics or SNMP read its counters (engine/worker.ts statusReaders). */
  status(): EngineStatus {
    if (!this.lastStatus) throw new EngineError('not-running', 'the engine has not started');
    return this.lastStatus;
  }

  onEvent(l: (e: EngineEvent) => void): void {
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
