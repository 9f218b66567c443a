// `tandem run`, `tandem status`, `tandem reload`.
import { parseArgs } from 'node:util';
import { loadConfig, formatIssue } from '../config/index.ts';
import { createDriver } from '../../drivers/index.ts';
import { ConfigRejected, CommandError, Daemon } from './daemon.ts';
import { listenControl, request } from './control.ts';
import { createLogger, type LogLevel, type Logger } from './log.ts';
import type { MqttConfig } from '../config/types.ts';
import type { Telemetry } from '../telemetry/telemetry.ts';
import { VERSION } from '../version.ts';

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
  const telemetry = new TelemetryLink(daemon, log);
  await telemetry.apply(daemon.config.telemetry?.mqtt);
  daemon.onEvent((e) => {
    telemetry.current?.event(e);
    if (e.reason === 'reloaded') void telemetry.apply(daemon.config.telemetry?.mqtt);
  });
  daemon.onChange(() => telemetry.current?.stateChanged());

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (sig: string) => {
      if (stopping) { log.warn({ signal: sig }, 'second signal: exiting at once'); process.exit(1); }
      stopping = true;
      log.info({ signal: sig }, 'stopping: handing over');
      server.close();
      await daemon.stop();
      await telemetry.apply(undefined);
      driver.close();
      await flushLog(log);
      resolve(0);
      // The pcap package keeps its capture handle alive after close(); exit explicitly.
      setImmediate(() => process.exit(0));
    };
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
  constructor(private daemon: Daemon, private log: Logger) {}

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
      slot: () => undefined,
      status: () => daemon.status(),
      command: async (name, args) => handleCommand(daemon, { ...args, cmd: name }),
    }, this.log.child({ component: 'telemetry' }));
    this.current.start();
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
