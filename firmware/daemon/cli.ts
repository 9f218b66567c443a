// `tandem run`, `tandem status`, `tandem reload`.
import { parseArgs } from 'node:util';
import { loadConfig, formatIssue } from '../config/index.ts';
import { createDriver } from '../../drivers/index.ts';
import { applyScheduling } from '../../drivers/sched.ts';
import { ConfigRejected, CommandError, Daemon } from './daemon.ts';
import { listenControl, request } from './control.ts';
import { createLogger, type LogLevel, type Logger } from './log.ts';
import type { MqttConfig } from '../config/types.ts';
import type { Telemetry } from '../telemetry/telemetry.ts';
import { VERSION } from '../version.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { OtaAgent } from '../../ota/agent.ts';

export const DEFAULT_CONFIG = '/etc/tandem/tandem.yaml';
export const DEFAULT_SOCKET = '/run/tandem/tandem.sock';

const RUN_HELP = `Usage: tandem run [--config FILE] [--log-level LEVEL]

Runs tandem in the foreground, logging one JSON object per line to stdout.
  --config FILE      default ${DEFAULT_CONFIG}
  --log-level LEVEL  trace|debug|info|warn|error (default: the config's log.level, else info)
Signals: SIGTERM/SIGINT hand mastership over (priority 0, make-before-break) and exit after
restoring addresses and MACs; a second one exits at once. SIGHUP re-reads the config.
`;

export async function runMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: {
    config: { type: 'string', short: 'c', default: DEFAULT_CONFIG },
    'log-level': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  } });
  if (values.help) { process.stdout.write(RUN_HELP); return 0; }
  const file = values.config!;
  const pre = loadConfig(file);
  if (!pre.ok) {
    for (const i of pre.errors) process.stderr.write(formatIssue(i) + '\n');
    return 1;
  }
  const log = createLogger((values['log-level'] ?? pre.config.log.level) as LogLevel);
  const sched = applyScheduling(pre.config.scheduling);
  if (sched.errors.length) log.warn({ errors: sched.errors }, 'could not raise the CPU priority');
  else log.debug({ nice: sched.nice, realtime: sched.realtime }, 'CPU priority set');
  const driver = createDriver();
  const daemon = new Daemon({ driver, log, configFile: file, config: pre.config });
  try {
    daemon.start();
  } catch (e) {
    log.fatal({ err: (e as Error).message }, 'could not start');
    await daemon.stop().catch(() => {});
    driver.close();
    await flushLog(log);
    process.stderr.write(`tandem: ${(e as Error).message}\n`);
    return 1;
  }
  const server = await listenControl(daemon.config.control.socket, (req) => handleCommand(daemon, req));
  const ota = await OtaLink.open(daemon, log, () => void stopAndExit('ota-update'));
  const telemetry = new TelemetryLink(daemon, log, ota);
  await telemetry.apply(daemon.config.telemetry?.mqtt);
  daemon.onEvent((e) => {
    telemetry.current?.event(e);
    if (e.reason === 'reloaded') void telemetry.apply(daemon.config.telemetry?.mqtt);
  });
  daemon.onChange(() => telemetry.current?.stateChanged());

  let stopAndExit: (why: string) => Promise<void> = async () => {};
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = stopAndExit = async (sig: string) => {
      if (stopping) { log.warn({ signal: sig }, 'second signal: exiting at once'); process.exit(1); }
      stopping = true;
      log.info({ signal: sig }, 'stopping: handing over');
      server.close();
      if (sig === 'ota-update') telemetry.current?.setStatus('updating');
      await daemon.stop();
      await telemetry.apply(undefined);
      driver.close();
      await flushLog(log);
      resolve(0);
      // The pcap package keeps its capture handle alive after close(); exit explicitly.
      setImmediate(() => process.exit(0));
    };
    ota?.watchHealth();
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGHUP', () => { void daemon.reload(); });
  });
}

function flushLog(log: { flush?: (cb?: (err?: Error) => void) => void }): Promise<void> {
  return new Promise((resolve) => { if (log.flush) log.flush(() => resolve()); else resolve(); setTimeout(resolve, 500).unref(); });
}

/** Owns the daemon's one Telemetry client; restarts it when a reload changes its settings. The
 *  module is loaded only when telemetry is configured. */
class TelemetryLink {
  current: Telemetry | undefined;
  private settings = '';
  constructor(private daemon: Daemon, private log: Logger, private ota: OtaLink | undefined) {}

  async apply(cfg: MqttConfig | undefined): Promise<void> {
    const key = JSON.stringify(cfg ?? null);
    if (key === this.settings) return;
    this.settings = key;
    const old = this.current;
    this.current = undefined;
    if (old) await old.stop();
    if (!cfg) return;
    const { Telemetry } = await import('../telemetry/telemetry.ts');
    const daemon = this.daemon;
    this.current = new Telemetry(cfg, {
      node: daemon.config.node,
      version: VERSION,
      bootId: daemon.bootId,
      slot: () => this.ota?.slot(),
      status: () => daemon.status(),
      command: async (name, args, progress) => name === 'ota'
        ? this.ota ? this.ota.apply(args, progress) : Promise.reject(new CommandError('ota-unavailable', 'this daemon was not installed from an OTA image (no ota-state.json under ota.root)'))
        : handleCommand(daemon, { ...args, cmd: name }),
    }, this.log.child({ component: 'telemetry' }));
    this.current.start();
    // A rollback that happened at this boot is reported once telemetry is back.
    const rb = this.ota?.unreportedRollback();
    if (rb) { this.current.event({ reason: 'ota-rolled-back', ...rb }); this.ota!.rollbackReported(); }
  }
}

/** The OTA agent's hooks in the daemon, active only on an appliance installed from an image
 *  (`<ota.root>/ota-state.json` exists): the boot check, the health verdict that confirms a trial,
 *  and updates requested over MQTT (apply, then a graceful handover and exit so the launcher
 *  starts the new slot). */
class OtaLink {
  private constructor(private agent: OtaAgent, private daemon: Daemon, private log: Logger, private restart: () => void, private trial: boolean) {}

  static async open(daemon: Daemon, log: Logger, restart: () => void): Promise<OtaLink | undefined> {
    const root = process.env.TANDEM_OTA_ROOT ?? daemon.config.ota.root;
    if (!existsSync(join(root, 'ota-state.json'))) return undefined;
    const { OtaAgent } = await import('../../ota/agent.ts'); // not loaded on hand-run daemons
    const agent = new OtaAgent({
      root, trustedKeys: daemon.config.ota.trustedKeys, allowDowngrade: daemon.config.ota.allowDowngrade,
      healthDeadlineS: daemon.config.ota.healthDeadlineMs / 1000,
      log: log.child({ component: 'ota' }),
    });
    const d = agent.bootCheck();
    log.info({ component: 'ota', decision: d }, 'OTA boot check');
    return new OtaLink(agent, daemon, log, restart, d.decision === 'trial');
  }

  slot(): string | undefined { return this.agent.status().active ?? undefined; }

  unreportedRollback(): Record<string, unknown> | undefined {
    const rb = this.agent.status().lastRollback;
    return rb && !rb.reported ? { ...rb } : undefined;
  }
  rollbackReported(): void { this.agent.rollbackReported(); }

  /** On a trial boot: confirm once every instance is out of init and the daemon has run for a
   *  while without crashing; exit non-zero at the deadline otherwise, so the launcher's next boot
   *  check counts it and rolls back. */
  watchHealth(): void {
    if (!this.trial) return;
    const deadlineMs = this.daemon.config.ota.healthDeadlineMs;
    const settleMs = Math.min(10_000, deadlineMs / 4);
    const t0 = Date.now();
    const timer = setInterval(() => {
      const s = this.daemon.status();
      const healthy = s.instances.every((i) => i.state !== 'init') && Date.now() - t0 >= settleMs;
      if (healthy) {
        clearInterval(timer);
        const r = this.agent.markHealthy();
        this.log.info({ component: 'ota', result: r }, 'update healthy: confirmed');
      } else if (Date.now() - t0 > deadlineMs) {
        clearInterval(timer);
        this.log.error({ component: 'ota', instances: s.instances.map((i) => [i.name, i.state]) }, 'update unhealthy at its deadline: exiting for rollback');
        process.exit(70);
      }
    }, 500);
    timer.unref();
  }

  async apply(args: Record<string, unknown>, progress: (p: object) => void): Promise<unknown> {
    const source = args.source ?? args.url;
    if (typeof source !== 'string' || !source) throw new CommandError('bad-argument', '"source" (a URL or a file path) is required');
    const r = await this.agent.apply(source, (p) => progress(p));
    if (!r.ok) throw new CommandError(r.reason, r.detail);
    this.log.info({ component: 'ota', result: r }, 'update staged: handing over and restarting into it');
    setTimeout(this.restart, 500); // let the reply reach the broker first
    return r;
  }
}

export async function handleCommand(daemon: Daemon, req: Record<string, unknown>): Promise<unknown> {
  switch (req.cmd) {
    case 'status': return daemon.status();
    case 'reload': return daemon.reload();
    case 'set-priority': {
      if (typeof req.instance !== 'string') throw new CommandError('bad-argument', '"instance" (string) is required');
      const v = req.value === null || req.value === undefined ? null : Number(req.value);
      daemon.setPriority(req.instance, v);
      return { instance: req.instance, priority: v };
    }
    case 'maintenance': {
      if (typeof req.on !== 'boolean') throw new CommandError('bad-argument', '"on" (boolean) is required');
      if (req.instance !== undefined && typeof req.instance !== 'string') throw new CommandError('bad-argument', '"instance" must be a string');
      return { instances: daemon.maintenance(req.on, req.instance as string | undefined), on: req.on };
    }
    default: throw new CommandError('unknown-command', `unknown command '${String(req.cmd)}'`);
  }
}

function socketFrom(values: { socket?: string; config?: string }): string {
  if (values.socket) return values.socket;
  if (values.config) {
    const r = loadConfig(values.config);
    if (r.ok) return r.config.control.socket;
    throw new Error(`cannot read ${values.config}: ${r.errors.map(formatIssue).join('; ')}`);
  }
  return DEFAULT_SOCKET;
}

const STATUS_HELP = `Usage: tandem status [--json] [--socket PATH | --config FILE]
Asks the running daemon for each instance's state, priorities, master and counters.
`;

export async function statusMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: {
    json: { type: 'boolean' }, socket: { type: 'string' }, config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' },
  } });
  if (values.help) { process.stdout.write(STATUS_HELP); return 0; }
  const r = await request(socketFrom(values), { cmd: 'status' });
  if (!r.ok) { process.stderr.write(`tandem status: ${r.error?.message}\n`); return 1; }
  const s = r.result as StatusJson;
  if (values.json) {
    process.stdout.write(JSON.stringify(s, null, 2) + '\n');
    return 0;
  }
  process.stdout.write(formatStatus(s));
  return 0;
}

interface StatusJson {
  node: string; version: string; uptimeMs: number; loopDelay: { p50: number; p99: number; max: number };
  instances: {
    name: string; interface: string; vrid: number; version: number; state: string; priority: number; effectivePriority: number;
    masterIp: string | null; timeInStateMs: number; maintenance?: boolean;
    counters: { advertsSent: number; advertsReceived: number; transitions: number; drops: Record<string, number> };
  }[];
  interfaces?: { name: string; drops: Record<string, number> }[];
}

export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${(ms / 1000).toFixed(1)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

export function formatStatus(s: StatusJson): string {
  const head = ['NAME', 'IF', 'VRID', 'V', 'STATE', 'PRIO', 'EFF', 'MASTER', 'IN STATE', 'SENT', 'RCVD', 'TRANS', 'DROPS'];
  const rows = s.instances.map((i) => [
    i.name, i.interface, String(i.vrid), String(i.version), i.state + (i.maintenance ? '*' : ''), String(i.priority),
    String(i.effectivePriority), i.masterIp ?? '-', formatDuration(i.timeInStateMs), String(i.counters.advertsSent),
    String(i.counters.advertsReceived), String(i.counters.transitions),
    Object.entries(i.counters.drops).map(([k, v]) => `${k}=${v}`).join(',') || '0',
  ]);
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((x, c) => x.padEnd(w[c])).join('  ').trimEnd() + '\n';
  let out = `node ${s.node}  tandem ${s.version}  up ${formatDuration(s.uptimeMs)}  loop delay p50 ${s.loopDelay.p50} ms, p99 ${s.loopDelay.p99} ms, max ${s.loopDelay.max} ms\n`;
  out += line(head) + rows.map(line).join('');
  for (const p of s.interfaces ?? []) {
    const d = Object.entries(p.drops);
    if (d.length) out += `${p.name}: dropped ${d.map(([k, v]) => `${k}=${v}`).join(', ')}\n`;
  }
  if (s.instances.some((i) => i.maintenance)) out += '* maintenance: handing over and staying backup\n';
  return out;
}

export async function reloadMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: {
    socket: { type: 'string' }, config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' },
  } });
  if (values.help) { process.stdout.write('Usage: tandem reload [--socket PATH | --config FILE]\nAsks the daemon to re-read its config (as SIGHUP does).\n'); return 0; }
  const r = await request(socketFrom(values), { cmd: 'reload' }, 30_000);
  if (!r.ok) { process.stderr.write(`tandem reload: ${r.error?.message}\n`); return 1; }
  const res = r.result as { ok: boolean; errors: string[]; kept: string[]; restarted: string[]; added: string[]; removed: string[] };
  if (!res.ok) {
    process.stderr.write(`tandem reload: rejected, the running configuration is kept:\n${res.errors.join('\n')}\n`);
    return 1;
  }
  process.stdout.write(`reloaded: kept ${res.kept.length}, restarted ${res.restarted.length}, added ${res.added.length}, removed ${res.removed.length}\n`);
  return 0;
}

export { ConfigRejected };
