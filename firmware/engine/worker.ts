// The protocol engine's thread. Everything VRRP lives here: the driver (netlink, ioctls, pcap),
// every instance's state machine and timers, the change journal, tracking and notify scripts.
// The main thread keeps what may be slow or bursty (the control socket, MQTT telemetry, OTA),
// so neither its work nor its garbage collection can delay an advertisement: a worker has its
// own event loop and its own heap.
//
// Messages in:  start {configFile, logLevel?} | req {id, req} | stop
// Messages out: started {bootId, status} | start-failed {error} | res {id, ok, result|error}
//               event {e} | status {s} | stopped
import { parentPort } from 'node:worker_threads';
import { loadConfig, formatIssue } from '../config/index.ts';
import { createDriver } from '../../drivers/index.ts';
import { applyScheduling } from '../../drivers/sched.ts';
import type { Driver } from '../../drivers/types.ts';
import { Daemon } from './engine.ts';
import { handleCommand } from './commands.ts';
import { createLogger, type LogLevel, type Logger } from '../runtime/log.ts';

export type ToEngine =
  | { t: 'start'; configFile: string; logLevel?: string }
  | { t: 'req'; id: number; req: Record<string, unknown> }
  | { t: 'stop' };

export type FromEngine =
  | { t: 'started'; bootId: string; status: unknown }
  | { t: 'start-failed'; error: string }
  | { t: 'res'; id: number; ok: true; result: unknown }
  | { t: 'res'; id: number; ok: false; error: { code: string; message: string } }
  | { t: 'event'; e: Record<string, unknown> }
  | { t: 'status'; s: unknown }
  | { t: 'stopped' };

/** Status snapshots for the main thread's telemetry: on every change (coalesced) and each second. */
const STATUS_PERIOD_MS = 1000;

const port = parentPort;
if (!port) throw new Error('engine-worker runs as a worker thread');

let daemon: Daemon | undefined;
let driver: Driver | undefined;
let log: Logger | undefined;
const post = (m: FromEngine) => port.postMessage(m);

function flushLog(l: Logger | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (l?.flush) l.flush(() => resolve());
    else resolve();
    setTimeout(resolve, 500).unref();
  });
}

async function start(m: Extract<ToEngine, { t: 'start' }>): Promise<void> {
  const pre = loadConfig(m.configFile);
  if (!pre.ok) {
    post({ t: 'start-failed', error: pre.errors.map(formatIssue).join('\n') });
    return;
  }
  log = createLogger((m.logLevel ?? pre.config.log.level) as LogLevel);
  // Thread-level on Linux: this raises the engine thread, which runs every protocol timer.
  const sched = applyScheduling(pre.config.scheduling);
  if (sched.errors.length) log.warn({ errors: sched.errors }, 'could not raise the CPU priority');
  else log.debug({ nice: sched.nice, realtime: sched.realtime }, 'CPU priority set');
  driver = createDriver();
  daemon = new Daemon({ driver, log, configFile: m.configFile, config: pre.config });
  try {
    daemon.start();
  } catch (e) {
    log.fatal({ err: (e as Error).message }, 'could not start');
    await daemon.stop().catch(() => {});
    driver.close();
    await flushLog(log);
    post({ t: 'start-failed', error: (e as Error).message });
    return;
  }
  let pending = false;
  const pushStatus = () => {
    if (pending) return;
    pending = true;
    setImmediate(() => {
      pending = false;
      if (daemon) post({ t: 'status', s: daemon.status() });
    });
  };
  daemon.onEvent((e) => post({ t: 'event', e: { ...e } }));
  daemon.onChange(pushStatus);
  setInterval(pushStatus, STATUS_PERIOD_MS).unref();
  post({ t: 'started', bootId: daemon.bootId, status: daemon.status() });
}

async function request(id: number, req: Record<string, unknown>): Promise<void> {
  if (!daemon) {
    post({ t: 'res', id, ok: false, error: { code: 'not-running', message: 'the engine is not running' } });
    return;
  }
  try {
    post({ t: 'res', id, ok: true, result: await handleCommand(daemon, req) });
  } catch (e) {
    const err = e as { code?: unknown; message?: string };
    post({
      t: 'res',
      id,
      ok: false,
      error: { code: typeof err.code === 'string' ? err.code : 'failed', message: err.message ?? String(e) },
    });
  }
}

async function stop(): Promise<void> {
  if (daemon) await daemon.stop();
  driver?.close();
  await flushLog(log);
  post({ t: 'stopped' });
}

port.on('message', (m: ToEngine) => {
  switch (m.t) {
    case 'start':
      void start(m);
      break;
    case 'req':
      void request(m.id, m.req);
      break;
    case 'stop':
      void stop();
      break;
  }
});
