// `tandem run`, `tandem status`, `tandem reload`.
import { parseArgs } from 'node:util';
import { loadConfig, formatIssue } from '../config/index.ts';
import { CommandError } from '../telemetry/types.ts';
import type { StatusSnapshot } from '../telemetry/types.ts';
import { EngineClient } from './engine-client.ts';
import { exitNow } from '../../drivers/exit.ts';
import { listenControl, request } from './control-socket.ts';
import { createLogger, type LogLevel, type Logger } from '../runtime/log.ts';
import type { MqttConfig, TandemConfig } from '../config/types.ts';
import type { Telemetry } from '../telemetry/telemetry.ts';
import { VERSION } from '../runtime/version.ts';
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
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c', default: DEFAULT_CONFIG },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(RUN_HELP);
    return 0;
  }
  const file = values.config!;
  const pre = loadConfig(file);
  if (!pre.ok) {
    for (const i of pre.errors) process.stderr.write(`${formatIssue(i)}\n`);
    return 1;
  }
  const logLevel = values['log-level'] ?? pre.config.log.level;
  const log = createLogger(logLevel as LogLevel);
  const engine = new EngineClient((why) => {
    log.fatal({ err: why }, 'exiting');
    exitNow(1);
  });
  try {
    await engine.start(file, values['log-level']);
  } catch (e) {
    process.stderr.write(`tandem: ${(e as Error).message}\n`);
    exitNow(1); // the engine thread may hold a capture handle: do not wait for it
  }
  const ctx: DaemonContext = { engine, config: pre.config, configFile: file, log };
  const server = await listenControl(pre.config.control.socket, (req) => engine.request(req));
  const ota = await OtaLink.open(ctx, () => void stopAndExit('ota-update'));
  const telemetry = new TelemetryLink(ctx, ota);
  await telemetry.apply(ctx.config.telemetry?.mqtt);
  engine.onEvent((e) => {
    telemetry.current?.event(e as { reason: string });
    if (e.reason === 'reloaded') {
      const r = loadConfig(file);
      if (r.ok) {
        ctx.config = r.config;
        void telemetry.apply(r.config.telemetry?.mqtt);
      }
    }
  });
  engine.onChange(() => telemetry.current?.stateChanged());

  let stopAndExit: (why: string) => Promise<void> = async () => {};
  return new Promise<number>(() => {
    let stopping = false;
    stopAndExit = async (sig: string) => {
      if (stopping) {
        log.warn({ signal: sig }, 'second signal: exiting at once');
        exitNow(1);
      }
      stopping = true;
      log.info({ signal: sig }, 'stopping: handing over');
      server.close();
      if (sig === 'ota-update') telemetry.current?.setStatus('updating');
      // Longest handover: Master_Down_Interval at the largest interval (40.95 s v3, 255 s v2) is
      // far beyond what an operator waits for; the engine bounds each instance itself.
      await engine.stop(300_000);
      await telemetry.apply(undefined);
      exitNow(0);
    };
    ota?.watchHealth();
    process.on('SIGTERM', () => void stopAndExit('SIGTERM'));
    process.on('SIGINT', () => void stopAndExit('SIGINT'));
    process.on('SIGHUP', () => {
      void engine.request({ cmd: 'reload' }).catch((e) => log.error({ err: (e as Error).message }, 'reload failed'));
    });
  });
}

/** What the main thread's services share: the engine, the current config, the logger. */
interface DaemonContext {
  engine: EngineClient;
  config: TandemConfig;
  configFile: string;
  log: Logger;
}

/** Owns the daemon's one Telemetry client; restarts it when a reload changes its settings. The
 *  module is loaded only when telemetry is configured. */
class TelemetryLink {
  current: Telemetry | undefined;
  private settings = '';
  constructor(
    private ctx: DaemonContext,
    private ota: OtaLink | undefined,
  ) {}

  /** OTA progress goes to the requester's reply topic and, as events, to the fleet: one event per
   *  step and per 10 % (weighted by bytes), so the events topic is not flooded. */
  private otaProgress(reply: (p: object) => void): (p: object) => void {
    let lastStep = '',
      lastPct = -10;
    return (p) => {
      reply(p);
      const { step, percent } = p as { step?: string; percent?: number };
      const pct = typeof percent === 'number' ? percent : 0;
      if (step !== lastStep || pct >= lastPct + 10 || pct === 100) {
        lastStep = step ?? '';
        lastPct = pct;
        this.current?.event({ reason: 'ota-progress', ...p });
      }
    };
  }

  async apply(cfg: MqttConfig | undefined): Promise<void> {
    const key = JSON.stringify(cfg ?? null);
    if (key === this.settings) return;
    this.settings = key;
    const old = this.current;
    this.current = undefined;
    if (old) await old.stop();
    if (!cfg) return;
    const { Telemetry } = await import('../telemetry/telemetry.ts');
    const { engine } = this.ctx;
    this.current = new Telemetry(
      cfg,
      {
        node: this.ctx.config.node,
        version: VERSION,
        bootId: engine.bootId,
        slot: () => this.ota?.slot(),
        status: () => engine.status() as unknown as StatusSnapshot,
        command: async (name, args, progress) =>
          name === 'ota'
            ? this.ota
              ? this.ota.apply(args, this.otaProgress(progress))
              : Promise.reject(
                  new CommandError(
                    'ota-unavailable',
                    'this daemon was not installed from an OTA image (no ota-state.json under ota.root)',
                  ),
                )
            : engine.request({ ...args, cmd: name }).catch((e: { code?: string; message: string }) => {
                throw new CommandError(e.code ?? 'failed', e.message);
              }),
      },
      this.ctx.log.child({ component: 'telemetry' }),
    );
    this.current.start();
    // A rollback that happened at this boot is reported once telemetry is back.
    const rb = this.ota?.unreportedRollback();
    if (rb) {
      this.current.event({ reason: 'ota-rolled-back', ...rb });
      this.ota!.rollbackReported();
    }
  }
}

/** The OTA agent's hooks in the daemon, active only on an appliance installed from an image
 *  (`<ota.root>/ota-state.json` exists): the boot check, the health verdict that confirms a trial,
 *  and updates requested over MQTT (apply, then a graceful handover and exit so the launcher
 *  starts the new slot). */
class OtaLink {
  private constructor(
    private agent: OtaAgent,
    private ctx: DaemonContext,
    private restart: () => void,
    private trial: boolean,
  ) {}

  static async open(ctx: DaemonContext, restart: () => void): Promise<OtaLink | undefined> {
    const ota = ctx.config.ota;
    const root = process.env.TANDEM_OTA_ROOT ?? ota.root;
    if (!existsSync(join(root, 'ota-state.json'))) return undefined;
    const { OtaAgent } = await import('../../ota/agent.ts'); // not loaded on hand-run daemons
    const agent = new OtaAgent({
      root,
      trustedKeys: ota.trustedKeys,
      allowDowngrade: ota.allowDowngrade,
      healthDeadlineS: ota.healthDeadlineMs / 1000,
      log: ctx.log.child({ component: 'ota' }),
    });
    const d = agent.bootCheck();
    ctx.log.info({ component: 'ota', decision: d }, 'OTA boot check');
    return new OtaLink(agent, ctx, restart, d.decision === 'trial');
  }

  slot(): string | undefined {
    return this.agent.status().active ?? undefined;
  }

  unreportedRollback(): Record<string, unknown> | undefined {
    const rb = this.agent.status().lastRollback;
    return rb && !rb.reported ? { ...rb } : undefined;
  }
  rollbackReported(): void {
    this.agent.rollbackReported();
  }

  /** On a trial boot: confirm once every instance is out of init and the daemon has run for a
   *  while without crashing; exit non-zero at the deadline otherwise, so the launcher's next boot
   *  check counts it and rolls back. */
  watchHealth(): void {
    if (!this.trial) return;
    const deadlineMs = this.ctx.config.ota.healthDeadlineMs;
    const settleMs = Math.min(10_000, deadlineMs / 4);
    const t0 = Date.now();
    const timer = setInterval(() => {
      const s = this.ctx.engine.status();
      const healthy = s.instances.every((i) => i.state !== 'init') && Date.now() - t0 >= settleMs;
      if (healthy) {
        clearInterval(timer);
        const r = this.agent.markHealthy();
        this.ctx.log.info({ component: 'ota', result: r }, 'update healthy: confirmed');
      } else if (Date.now() - t0 > deadlineMs) {
        clearInterval(timer);
        this.ctx.log.error(
          { component: 'ota', instances: s.instances.map((i) => [i.name, i.state]) },
          'update unhealthy at its deadline: exiting for rollback',
        );
        exitNow(70);
      }
    }, 500);
    timer.unref();
  }

  async apply(args: Record<string, unknown>, progress: (p: object) => void): Promise<unknown> {
    const source = args.source ?? args.url;
    if (typeof source !== 'string' || !source)
      throw new CommandError('bad-argument', '"source" (a URL or a file path) is required');
    const r = await this.agent.apply(source, (p) => progress(p));
    if (!r.ok) throw new CommandError(r.reason, r.detail);
    this.ctx.log.info({ component: 'ota', result: r }, 'update staged: handing over and restarting into it');
    setTimeout(this.restart, 500); // let the reply reach the broker first
    return r;
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
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean' },
      socket: { type: 'string' },
      config: { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(STATUS_HELP);
    return 0;
  }
  const r = await request(socketFrom(values), { cmd: 'status' });
  if (!r.ok) {
    process.stderr.write(`tandem status: ${r.error?.message}\n`);
    return 1;
  }
  const s = r.result as StatusJson;
  if (values.json) {
    process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(formatStatus(s));
  return 0;
}

interface StatusJson {
  node: string;
  version: string;
  uptimeMs: number;
  loopDelay: { p50: number; p99: number; max: number };
  instances: {
    name: string;
    interface: string;
    vrid: number;
    version: number;
    state: string;
    priority: number;
    effectivePriority: number;
    masterIp: string | null;
    timeInStateMs: number;
    maintenance?: boolean;
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
  const head = [
    'NAME',
    'IF',
    'VRID',
    'V',
    'STATE',
    'PRIO',
    'EFF',
    'MASTER',
    'IN STATE',
    'SENT',
    'RCVD',
    'TRANS',
    'DROPS',
  ];
  const rows = s.instances.map((i) => [
    i.name,
    i.interface,
    String(i.vrid),
    String(i.version),
    i.state + (i.maintenance ? '*' : ''),
    String(i.priority),
    String(i.effectivePriority),
    i.masterIp ?? '-',
    formatDuration(i.timeInStateMs),
    String(i.counters.advertsSent),
    String(i.counters.advertsReceived),
    String(i.counters.transitions),
    Object.entries(i.counters.drops)
      .map(([k, v]) => `${k}=${v}`)
      .join(',') || '0',
  ]);
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r: string[]) =>
    `${r
      .map((x, c) => x.padEnd(w[c]))
      .join('  ')
      .trimEnd()}\n`;
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
  const { values } = parseArgs({
    args: argv,
    options: {
      socket: { type: 'string' },
      config: { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(
      'Usage: tandem reload [--socket PATH | --config FILE]\nAsks the daemon to re-read its config (as SIGHUP does).\n',
    );
    return 0;
  }
  const r = await request(socketFrom(values), { cmd: 'reload' }, 30_000);
  if (!r.ok) {
    process.stderr.write(`tandem reload: ${r.error?.message}\n`);
    return 1;
  }
  const res = r.result as {
    ok: boolean;
    errors: string[];
    kept: string[];
    restarted: string[];
    added: string[];
    removed: string[];
  };
  if (!res.ok) {
    process.stderr.write(`tandem reload: rejected, the running configuration is kept:\n${res.errors.join('\n')}\n`);
    return 1;
  }
  process.stdout.write(
    `reloaded: kept ${res.kept.length}, restarted ${res.restarted.length}, added ${res.added.length}, removed ${res.removed.length}\n`,
  );
  return 0;
}
