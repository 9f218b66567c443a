// The daemon's main thread: reads and validates the configuration, starts the protocol engine
// in its worker thread and hands it the config, and runs what may be slow or bursty beside it:
// the control socket, MQTT telemetry and OTA. Every operator command, from the socket or from
// MQTT, is parsed once here (operator-command.ts) and answered by the engine.
import type { Server } from 'node:net';
import { exitNow } from '../../drivers/exit.ts';
import { lockStateDir } from '../../drivers/state-lock.ts';
import { sdNotify } from '../../drivers/sd-notify.ts';
import { formatIssue, loadConfig } from '../config/index.ts';
import type { TandemConfig } from '../config/types.ts';
import type { ReloadResult } from '../core/status.ts';
import { createLogger, type Logger, type LogLevel } from '../runtime/log.ts';
import type { SupervisorContext } from './context.ts';
import { listenControl } from './control-socket.ts';
import { EngineClient, EngineError } from './engine-client.ts';
import type { MetricsConfig, SnmpConfig } from '../config/types.ts';
import type { MetricsServer } from './metrics.ts';
import type { SnmpSubagent } from './snmp.ts';
import { CommandError } from '../core/errors.ts';
import { parseOperatorCommand } from './operator-command.ts';
import { checkFileModes, trustedFiles } from './file-modes.ts';
import { OtaLink } from './ota-link.ts';
import { TelemetryLink } from './telemetry-link.ts';

/** Longest handover at stop: Master_Down_Interval at the largest interval (40.95 s v3, 255 s v2)
 *  is beyond what an operator waits for; the engine bounds each instance itself. */
const STOP_TIMEOUT_MS = 300_000;

class Supervisor implements SupervisorContext {
  readonly engine: EngineClient;
  private server: Server | undefined;
  private ota: OtaLink | undefined;
  private telemetry: TelemetryLink | undefined;
  private metrics: { server: MetricsServer; key: string } | undefined;
  private snmp: { agent: SnmpSubagent; key: string } | undefined;
  private stopping = false;

  constructor(
    public config: TandemConfig,
    readonly configFile: string,
    readonly log: Logger,
  ) {
    this.engine = new EngineClient((why) => {
      log.fatal({ err: why }, 'exiting');
      exitNow(1);
    });
  }

  async start(logLevel: LogLevel): Promise<void> {
    try {
      await this.engine.start(this.config, logLevel);
    } catch (e) {
      process.stderr.write(`tandem: ${(e as Error).message}\n`);
      exitNow(1); // the engine thread may hold a capture handle: do not wait for it
    }
    this.server = await listenControl(this.config.control.socket, (req) => this.execute(req.cmd, req));
    this.ota = await OtaLink.open(this, () => void this.stopAndExit('ota-update'));
    this.telemetry = new TelemetryLink(this, this.ota);
    await this.telemetry.apply(this.config.telemetry?.mqtt);
    this.engine.onEvent((e) => this.telemetry?.current?.event(e));
    this.engine.onChange(() => this.telemetry?.current?.stateChanged());
    await this.applyMetrics(this.config.metrics);
    await this.applySnmp(this.config.snmp);
    this.engine.onChange(() => this.snmp?.agent.refresh());
    this.ota?.watchHealth();
    process.on('SIGTERM', () => void this.stopAndExit('SIGTERM'));
    process.on('SIGINT', () => void this.stopAndExit('SIGINT'));
    process.on('SIGHUP', () => {
      void this.reload().catch((e) => this.log.error({ err: (e as Error).message }, 'reload failed'));
    });
    this.whenElected(() => this.notify(`READY=1\nSTATUS=${this.summary()}`));
  }

  /** systemd (Type=notify): READY once every instance has left init, RELOADING/READY around a
   *  reload, STOPPING at shutdown. Outside systemd there is no NOTIFY_SOCKET and nothing is sent. */
  private notify(state: string): void {
    const r = sdNotify(state);
    if (!r.sent && process.env.NOTIFY_SOCKET) this.log.warn({ reason: r.reason }, 'sd_notify failed');
  }

  private summary(): string {
    const counts = new Map<string, number>();
    for (const i of this.engine.status().instances) counts.set(i.state, (counts.get(i.state) ?? 0) + 1);
    return [...counts].map(([st, n]) => `${n} ${st}`).join(', ');
  }

  /** Calls `fn` once the first election state is reached: no instance is still in init. */
  private whenElected(fn: () => void): void {
    let done = false;
    const check = () => {
      if (done || this.engine.status().instances.some((i) => i.state === 'init')) return;
      done = true;
      fn();
    };
    this.engine.onChange(check);
    check();
  }

  async execute(name: unknown, args: Record<string, unknown>): Promise<unknown> {
    const cmd = parseOperatorCommand(name, args);
    try {
      return cmd.cmd === 'reload' ? await this.reload() : await this.engine.request(cmd);
    } catch (e) {
      if (e instanceof EngineError) throw new CommandError(e.code, e.message);
      throw e;
    }
  }

  /** Re-reads the config file: a config with any error is refused whole and nothing changes. */
  async reload(): Promise<ReloadResult> {
    // sd_notify(3): RELOADING=1 carries the CLOCK_MONOTONIC time (hrtime is that clock on Linux).
    this.notify(`RELOADING=1\nMONOTONIC_USEC=${process.hrtime.bigint() / 1000n}`);
    try {
      return await this.reloadConfig();
    } finally {
      if (!this.stopping) this.notify(`READY=1\nSTATUS=${this.summary()}`);
    }
  }

  private async reloadConfig(): Promise<ReloadResult> {
    const r = loadConfig(this.configFile);
    for (const w of r.warnings) this.log.warn({ issue: formatIssue(w) }, 'config warning');
    if (!r.ok) {
      const errors = r.errors.map(formatIssue);
      this.log.error({ errors }, 'reload rejected: keeping the running configuration');
      this.telemetry?.current?.event({ reason: 'reload-rejected', errors });
      return { ok: false, errors, kept: [], restarted: [], added: [], removed: [] };
    }
    const modes = checkFileModes(trustedFiles(r.config, this.configFile));
    if (modes.length) {
      this.log.error({ errors: modes }, 'reload rejected: files writable by others');
      return { ok: false, errors: modes, kept: [], restarted: [], added: [], removed: [] };
    }
    const result = await this.engine.request({ cmd: 'reload', config: r.config });
    if (!result.ok) return result; // the engine kept the running configuration
    this.config = r.config;
    await this.telemetry?.apply(r.config.telemetry?.mqtt);
    await this.applyMetrics(r.config.metrics);
    await this.applySnmp(r.config.snmp);
    return result;
  }

  /** Starts, moves or stops the AgentX subagent (net-snmp loads only when snmp is configured). */
  private async applySnmp(cfg: SnmpConfig | undefined): Promise<void> {
    const key = cfg ? JSON.stringify(cfg) : '';
    if (key === (this.snmp?.key ?? '')) return;
    await this.snmp?.agent.stop();
    this.snmp = undefined;
    if (!cfg) return;
    const { SnmpSubagent } = await import('./snmp.ts');
    const agent = new SnmpSubagent(cfg, () => this.engine.status(), this.log.child({ component: 'snmp' }));
    agent.start();
    this.snmp = { agent, key };
  }

  /** Starts, moves or stops the metrics listener so that it matches `cfg`. A port that cannot be
   *  bound is logged, not fatal: VRRP matters more than its metrics. prom-client loads only when
   *  metrics are on. */
  private async applyMetrics(cfg: MetricsConfig | undefined): Promise<void> {
    const key = cfg ? `${cfg.host} ${cfg.port}` : '';
    if (key === (this.metrics?.key ?? '')) return;
    await this.metrics?.server.close();
    this.metrics = undefined;
    if (!cfg) return;
    try {
      const { MetricsServer } = await import('./metrics.ts');
      const server = await MetricsServer.listen(cfg, () => this.engine.status());
      this.metrics = { server, key };
      this.log.info({ host: cfg.host, port: cfg.port }, 'metrics listening');
    } catch (e) {
      this.log.error({ host: cfg.host, port: cfg.port, err: (e as Error).message }, 'metrics: cannot listen');
    }
  }

  async stopAndExit(why: string): Promise<void> {
    if (this.stopping) {
      this.log.warn({ signal: why }, 'second signal: exiting at once');
      exitNow(1);
    }
    this.stopping = true;
    this.notify('STOPPING=1');
    this.log.info({ signal: why }, 'stopping: handing over');
    this.server?.close();
    if (why === 'ota-update') this.telemetry?.current?.setStatus('updating');
    await this.engine.stop(STOP_TIMEOUT_MS);
    await this.telemetry?.apply(undefined);
    await this.metrics?.server.close();
    await this.snmp?.agent.stop();
    exitNow(0);
  }
}

/** `tandem run`: never resolves; the process ends through stopAndExit (or exits 1 at start). */
export async function runSupervisor(configFile: string, logLevelOverride?: LogLevel): Promise<number> {
  const pre = loadConfig(configFile);
  if (!pre.ok) {
    for (const i of pre.errors) process.stderr.write(`${formatIssue(i)}\n`);
    return 1;
  }
  // Nothing tandem runs or trusts as root may be writable by others (StrictModes, issue #12).
  const modes = checkFileModes(trustedFiles(pre.config, configFile));
  if (modes.length) {
    for (const m of modes) process.stderr.write(`tandem: ${m}\n`);
    process.stderr.write('tandem: refusing to start: fix the owner or mode (chmod go-w) of the files above\n');
    return 1;
  }
  // One daemon per state directory, decided before anything there is read or written.
  const lock = lockStateDir(pre.config.stateDir);
  if (!lock.ok) {
    const who = lock.heldBy ? `another tandem (pid ${lock.heldBy})` : 'another tandem';
    process.stderr.write(
      lock.error
        ? `tandem: cannot lock ${lock.file}: ${lock.error}\n`
        : `tandem: ${who} holds ${lock.file}: give this daemon its own state_dir in ${configFile} (now ${pre.config.stateDir})\n`,
    );
    return 1;
  }
  const log = createLogger(logLevelOverride ?? pre.config.log.level);
  for (const w of pre.warnings) log.warn({ issue: formatIssue(w) }, 'config warning');
  const supervisor = new Supervisor(pre.config, configFile, log);
  await supervisor.start(logLevelOverride ?? pre.config.log.level);
  return new Promise<number>(() => {});
}
