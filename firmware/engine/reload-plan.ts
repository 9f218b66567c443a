// What a reload does to each instance, decided from the old and new configuration alone.
import type { InstanceConfig } from '../config/types.ts';

export interface ReloadPlan {
  unchanged: string[]; // identical: left running untouched
  inPlace: string[]; // only keys the running machine absorbs changed: reconfigured, state kept
  restart: string[]; // anything else changed: handed over, stopped and started again
  remove: string[]; // gone from the new configuration
  add: string[]; // new in it
}

/** Keys whose change the running machine absorbs (its RFC 5798 state is kept). */
const IN_PLACE_KEYS = new Set<keyof InstanceConfig>([
  'priority',
  'preempt',
  'preemptDelayMs',
  'acceptMode',
  'garp',
  'track',
  'notify',
  'notifyTimeoutMs',
  'bfd', // Instance.reconfigure re-times the session (a Poll Sequence) or replaces it for a new peer
  'line',
]);

function differs(a: InstanceConfig, b: InstanceConfig, k: keyof InstanceConfig): boolean {
  return JSON.stringify(a[k]) !== JSON.stringify(b[k]);
}

export function planReload(current: readonly InstanceConfig[], next: readonly InstanceConfig[]): ReloadPlan {
  const plan: ReloadPlan = { unchanged: [], inPlace: [], restart: [], remove: [], add: [] };
  const nextByName = new Map(next.map((c) => [c.name, c]));
  const currentNames = new Set(current.map((c) => c.name));
  for (const old of current) {
    const n = nextByName.get(old.name);
    if (!n) {
      plan.remove.push(old.name);
      continue;
    }
    const keys = new Set([...Object.keys(old), ...Object.keys(n)] as (keyof InstanceConfig)[]);
    const changed = [...keys].filter((k) => k !== 'line' && differs(old, n, k));
    if (changed.length === 0) plan.unchanged.push(old.name);
    else if (changed.every((k) => IN_PLACE_KEYS.has(k))) plan.inPlace.push(old.name);
    else plan.restart.push(old.name);
  }
  for (const c of next) if (!currentNames.has(c.name)) plan.add.push(c.name);
  return plan;
}
