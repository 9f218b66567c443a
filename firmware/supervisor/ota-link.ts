// The OTA agent's hooks in the supervisor. The agent is loaded only on an appliance installed
// from an image.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { exitNow } from '../../drivers/exit.ts';
import type { OtaAgent } from '../../ota/agent.ts';
import { TrialHealth } from '../../ota/trial-health.ts';
import { CommandError } from '../core/errors.ts';
import type { SupervisorContext } from './context.ts';
import { checkRemoteSource, redactPaths, withDeadline } from './ota-source.ts';

/** A remote update gives up after this: the download's own deadline (30 min) plus unpacking. */
const APPLY_DEADLINE_MS = 45 * 60_000;

/** The OTA agent's hooks in the daemon, active only on an appliance installed from an image
 *  (`<ota.root>/ota-state.json` exists): the boot check, the health verdict that confirms a trial,
 *  and updates requested over MQTT (apply, then a graceful handover and exit so the launcher
 *  starts the new slot). */
export class OtaLink {
  private constructor(
    private agent: OtaAgent,
    private ctx: SupervisorContext,
    private restart: () => void,
    private trial: boolean,
  ) {}

  static async open(ctx: SupervisorContext, restart: () => void): Promise<OtaLink | undefined> {
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

  /** On a trial boot: confirm once every instance has been backup or master without a break for
   *  `health_deadline` (ota/trial-health.ts); if that has not happened by twice the deadline,
   *  exit non-zero, so the launcher's next boot check counts the failed run and, after
   *  maxTrialBoots of them, rolls back. A crash ends the run unconfirmed and counts the same.
   *  Returns a function that stops watching. */
  watchHealth(opts: { exit?: (code: number) => void; pollMs?: number } = {}): () => void {
    if (!this.trial) return () => {};
    const exit = opts.exit ?? exitNow;
    const health = new TrialHealth(this.ctx.config.ota.healthDeadlineMs, Date.now());
    let done = false;
    this.ctx.engine.onEvent((e) => {
      if (!done && typeof e.instance === 'string' && typeof e.to === 'string') health.transition(e.instance, e.to);
    });
    const timer = setInterval(() => {
      const s = this.ctx.engine.status();
      const v = health.observe(s.instances, Date.now());
      if (v.action === 'wait') return;
      done = true;
      clearInterval(timer);
      if (v.action === 'confirm') {
        const r = this.agent.markHealthy();
        this.ctx.log.info({ component: 'ota', result: r }, 'update healthy: confirmed');
      } else {
        this.ctx.log.error(
          { component: 'ota', reason: v.reason, instances: s.instances.map((i) => [i.name, i.state]) },
          'update unhealthy at its deadline: exiting for rollback',
        );
        exit(70);
      }
    }, opts.pollMs ?? 500);
    timer.unref();
    return () => {
      done = true;
      clearInterval(timer);
    };
  }

  async apply(args: Record<string, unknown>, progress: (p: object) => void): Promise<unknown> {
    const extra = Object.keys(args).find((k) => k !== 'source' && k !== 'url');
    if (extra !== undefined) throw new CommandError('bad-argument', `unknown argument '${extra.slice(0, 32)}' for ota`);
    const ota = this.ctx.config.ota;
    const source = checkRemoteSource(args.source ?? args.url, {
      allowHttp: ota.remoteAllowHttp ?? false,
      ...(ota.remoteHosts ? { hosts: ota.remoteHosts } : {}),
    });
    // The agent answers 'busy' to a second apply while one runs, so a hung apply blocks only itself.
    const r = await withDeadline(
      this.agent.apply(source, (p) => progress(p)),
      APPLY_DEADLINE_MS,
      'the update',
    );
    if (!r.ok) throw new CommandError(r.reason, redactPaths(r.detail, this.agent.root));
    this.ctx.log.info({ component: 'ota', result: r }, 'update staged: handing over and restarting into it');
    setTimeout(this.restart, 500); // let the reply reach the broker first
    return r;
  }
}
