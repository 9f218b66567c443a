// What tracking makes of an instance: its fault verdict and effective priority, from its carrier,
// the tracked interfaces and scripts, operator overrides and its sync groups. Pure: the engine
// gathers the inputs and feeds the verdict to the state machine when it changes.

/** A tracked interface or script: with a weight it moves the priority; without, down is a fault. */
export interface TrackedThing {
  down: boolean;
  weight?: number; // -254..254, never 0
}

export interface TrackingInputs {
  configuredPriority: number; // 1..255
  priorityOverride?: number; // the set-priority command, 1..254
  ownCarrier: boolean; // the instance's own interface is up with carrier
  tracked: readonly TrackedThing[];
  maintenance: boolean;
  groupHold: boolean; // another member of one of its sync groups is in fault
  /** The shell could not act for the machine (install the VIPs, send adverts): a fault until
   *  the engine retries. */
  actionFault?: boolean;
}

export interface TrackingVerdict {
  fault: boolean;
  effectivePriority: number;
}

/** RFC 5798 5.2.4: 255 is the address owner's alone and 0 means "stop being master", so a
 *  backup's priority moved by weights stays in 1..254. */
export const MIN_BACKUP_PRIORITY = 1;
export const MAX_BACKUP_PRIORITY = 254;
export const OWNER_PRIORITY = 255;

/**
 * keepalived's rule for weights (keepalived.conf(5), track_interface and vrrp_script), so that
 * its users' numbers mean the same here: a positive weight is added while the tracked thing is up
 * (or the script succeeds), a negative one while it is down (or fails); without a weight, down
 * is a fault. The address owner's priority is fixed at 255 (RFC 5798 5.2.4); only a fault moves
 * it. Maintenance and a sync-group hold hand mastership over with priority 0.
 */
export function trackingVerdict(i: TrackingInputs): TrackingVerdict {
  let weightSum = 0;
  let fault = !i.ownCarrier || i.actionFault === true;
  for (const t of i.tracked) {
    if (t.weight === undefined) {
      if (t.down) fault = true;
    } else if (t.weight > 0 ? !t.down : t.down) {
      weightSum += t.weight;
    }
  }
  let effectivePriority =
    i.configuredPriority === OWNER_PRIORITY
      ? OWNER_PRIORITY
      : Math.min(
          MAX_BACKUP_PRIORITY,
          Math.max(MIN_BACKUP_PRIORITY, (i.priorityOverride ?? i.configuredPriority) + weightSum),
        );
  if (i.maintenance || i.groupHold) effectivePriority = 0;
  return { fault, effectivePriority };
}

/** Sync groups fail over together: while any member is in fault, the others are held (hand over
 *  and stay backup). Returns the hold of every instance named in a group. */
export function syncGroupHolds(
  groups: readonly { instances: readonly string[] }[],
  faulted: (name: string) => boolean,
): Map<string, boolean> {
  const holds = new Map<string, boolean>();
  for (const g of groups) {
    const anyFault = g.instances.some(faulted);
    for (const n of g.instances) holds.set(n, (holds.get(n) ?? false) || (anyFault && !faulted(n)));
  }
  return holds;
}
