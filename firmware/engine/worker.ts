// The protocol engine's thread. Everything VRRP lives here: the driver (netlink, ioctls, pcap),
// every instance's state machine and timers, the change journal, tracking and notify scripts.
// The supervisor (main thread) keeps what may be slow or bursty (the control socket, MQTT
// telemetry, OTA), so neither its work nor its garbage collection can delay an advertisement: a
// worker has its own event loop and its own heap. Messages: protocol.ts.
import { parentPort } from 'node:worker_threads';
import { createDriver } from '../../drivers/index.ts';
import { applyScheduling } from '../../drivers/sched.ts';
import type { Driver } from '../../drivers/types.ts';
import type { TandemConfig } from '../config/types.ts';
import { createLogger, type Logger } from '../runtime/log.ts';
import { handleRequest } from './commands.ts';
import { Engine } from './engine.ts';
import type { EngineRequest, FromEngine, ToEngine } from './protocol.ts';

/** Status snapshots for the supervisor: on every change (coalesced), and each second when
 *  something on the main thread reads the counters from them (see statusReaders). */
const STATUS_PERIOD_MS = 1000;

/** Telemetry, metrics and SNMP publish counters from the pushed snapshot; an operator's `status`
 *  (control socket or MQTT command) asks the engine instead. Without those readers the periodic
 *  snapshot is not sent: at 251 instances it cost ~5.6 ms of engine CPU a second (issue #15). */
function statusReaders(c: TandemConfig): boolean {
  return c.telemetry?.mqtt !== undefined || c.metrics !== undefined || c.snmp !== undefined;
}
let statusTimer: NodeJS.Timeout | undefined;
let pushStatus: () => void = () => {};
function periodicStatus(c: TandemConfig): void {
  if (statusTimer || !statusReaders(c)) return;
  statusTimer = setInterval(() => pushStatus(), STATUS_PERIOD_MS);
  statusTimer.unref();
}

const port = parentPort;
if (!port) throw new Error('firmware/engine/worker.ts runs as a worker thread');

let engine: Engine | undefined;
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
  log = createLogger(m.logLevel);
  // Thread-level on Linux: this raises the engine thread, which runs every protocol timer.
  const sched = applyScheduling(m.config.scheduling);
  if (sched.errors.length) log.warn({ errors: sched.errors }, 'could not raise the CPU priority');
  else log.debug({ nice: sched.nice, realtime: sched.realtime }, 'CPU priority set');
  driver = createDriver();
  engine = new Engine({ driver, log, config: m.config });
  try {
    engine.start();
  } catch (e) {
    log.fatal({ err: (e as Error).message }, 'could not start');
    await engine.stop().catch(() => {});
    driver.close();
    await flushLog(log);
    post({ t: 'start-failed', error: (e as Error).message });
    return;
  }
  let pending = false;
  pushStatus = () => {
    if (pending) return;
    pending = true;
    setImmediate(() => {
      pending = false;
      if (engine) post({ t: 'status', s: engine.status() });
    });
  };
  engine.onEvent((e) => post({ t: 'event', e: { ...e } }));
  engine.onChange(pushStatus);
  periodicStatus(m.config);
  post({ t: 'started', bootId: engine.bootId, status: engine.status() });
}

async function request(id: number, req: EngineRequest): Promise<void> {
  if (!engine) {
    post({ t: 'res', id, ok: false, error: { code: 'not-running', message: 'the engine is not running' } });
    return;
  }
  try {
    if (req.cmd === 'reload') periodicStatus(req.config); // a reload may add a reader
    post({ t: 'res', id, ok: true, result: await handleRequest(engine, req) });
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
  if (engine) await engine.stop();
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
