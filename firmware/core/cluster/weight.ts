// A cluster node's effective weight from its configured weight and what it tracks: keepalived's
// rule for weights, as instances use it (core/policy/tracking.ts), so a number means the same in
// both places: a positive weight is added while the tracked thing is up, a negative one while it
// is down; without a weight, down takes the node out (weight 0). Maintenance and a node's own
// carrier loss do the same.
import type { TrackedThing } from '../policy/tracking.ts';

export const MAX_CLUSTER_WEIGHT = 0xffff;

export function clusterWeight(i: {
  configuredWeight: number;
  ownCarrier: boolean;
  tracked: readonly TrackedThing[];
  maintenance: boolean;
}): number {
  if (i.maintenance || !i.ownCarrier || i.configuredWeight === 0) return 0;
  let w = i.configuredWeight;
  for (const t of i.tracked) {
    if (t.weight === undefined) {
      if (t.down) return 0;
    } else if (t.weight > 0 ? !t.down : t.down) w += t.weight;
  }
  return Math.min(MAX_CLUSTER_WEIGHT, Math.max(0, w));
}
