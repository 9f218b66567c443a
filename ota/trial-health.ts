// When a trial build has proved itself (docs/ota.md "Boot protocol"): pure, time passed in. The
// supervisor feeds it the instances' states (polled) and every transition (so a fault shorter
// than a poll still counts), and acts on the verdict: confirm the trial, or exit for rollback.

/** The states that count as healthy: the router takes part in the protocol. `init` (not yet
 *  started, or restarted by a reload) and `fault` do not. */
const HEALTHY = new Set(['backup', 'master']);

export type TrialVerdict = { action: 'wait' } | { action: 'confirm' } | { action: 'give-up'; reason: string };

/** How long a trial may take to show `healthyForMs` of unbroken health: twice that, from its
 *  start, so one fault early in the trial still leaves room to prove itself. */
export const GIVE_UP_FACTOR = 2;

export class TrialHealth {
  private healthySince: number | null = null;
  private readonly giveUpAt: number;
  private lastBad = 'no instance reported yet';

  /** `healthyForMs`: the configured `health_deadline`; `startMs`: when the trial run started. */
  constructor(
    private readonly healthyForMs: number,
    startMs: number,
  ) {
    this.giveUpAt = startMs + GIVE_UP_FACTOR * healthyForMs;
  }

  /** A transition seen as it happened: into anything but backup or master breaks the run. */
  transition(instance: string, to: string): void {
    if (HEALTHY.has(to)) return;
    this.healthySince = null;
    this.lastBad = `${instance} went to ${to}`;
  }

  /** The current states; returns what to do now. An empty list is not healthy (nothing runs). */
  observe(states: readonly { name: string; state: string }[], nowMs: number): TrialVerdict {
    const bad = states.filter((s) => !HEALTHY.has(s.state));
    if (states.length === 0 || bad.length) {
      this.healthySince = null;
      this.lastBad = states.length ? bad.map((s) => `${s.name} is ${s.state}`).join(', ') : 'no instances';
    } else if (this.healthySince === null) {
      this.healthySince = nowMs;
    }
    if (this.healthySince !== null && nowMs - this.healthySince >= this.healthyForMs) return { action: 'confirm' };
    if (nowMs >= this.giveUpAt) {
      const sinceMs = this.healthySince === null ? 0 : nowMs - this.healthySince;
      return {
        action: 'give-up',
        reason: `not healthy for ${this.healthyForMs} ms in a row within ${GIVE_UP_FACTOR * this.healthyForMs} ms (healthy for ${sinceMs} ms; last: ${this.lastBad})`,
      };
    }
    return { action: 'wait' };
  }
}
