// The supervisor's MQTT link: owns the daemon's one Telemetry client and restarts it when a
// reload changes its settings. The telemetry module is loaded only when it is configured.
import type { MqttConfig } from '../config/types.ts';
import { CommandError } from '../core/errors.ts';
import { VERSION } from '../runtime/version.ts';
import type { Telemetry } from '../telemetry/telemetry.ts';
import type { SupervisorContext } from './context.ts';
import type { OtaLink } from './ota-link.ts';

export class TelemetryLink {
  current: Telemetry | undefined;
  private settings = '';
  constructor(
    private ctx: SupervisorContext,
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

  /** Starts, restarts or stops the client so that it runs with `cfg` (nothing when unchanged). */
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
        status: () => engine.status(),
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
            : this.ctx.execute(name, args),
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
