// Sync groups move their members together, as keepalived's vrrp_sync_group: one VRRP election per
// member, but every member carries the group's worst priority change, so an election that one
// member loses by priority (tracking weights, set-priority, maintenance) all of them lose, and a
// router that regains priority preempts for all of them. Faults are the other half
// (tracking.ts syncGroupHolds: a member in fault makes the others hand over and stay backup).
// Pure: the engine gathers each member's own priority and feeds the result to the machines.
import { MAX_BACKUP_PRIORITY, MIN_BACKUP_PRIORITY, OWNER_PRIORITY } from './tracking.ts';

export interface MemberPriority {
  configured: number; // the instance's `priority`, 1..255
  own: number; // its effective priority from its own tracking (trackingVerdict), 0..255
}

/**
 * The priority each instance named in a group should advertise. A group's change is the lowest
 * `own - configured` among its members; each member gets its configured priority plus that change,
 * kept within 1..254 (the address owner keeps 255, RFC 5798 5.2.4). A member at 0 (maintenance,
 * a hold) puts the whole group at 0. An instance in several groups takes the lowest result; one in
 * none is not in the map. Assumes what a sync group needs anyway: on every router the members'
 * priorities are ordered the same way, so equal changes keep the elections agreeing.
 */
export function syncGroupPriorities(
  groups: readonly { instances: readonly string[] }[],
  member: (name: string) => MemberPriority | undefined,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const g of groups) {
    const ms = g.instances.map((n) => [n, member(n)] as const).filter((x): x is [string, MemberPriority] => !!x[1]);
    if (!ms.length) continue;
    const zero = ms.some(([, m]) => m.own === 0);
    const delta = Math.min(...ms.map(([, m]) => m.own - m.configured));
    for (const [n, m] of ms) {
      let p: number;
      if (zero) p = 0;
      else if (m.configured === OWNER_PRIORITY) p = OWNER_PRIORITY;
      else p = Math.min(MAX_BACKUP_PRIORITY, Math.max(MIN_BACKUP_PRIORITY, m.configured + delta));
      out.set(n, Math.min(out.get(n) ?? p, p));
    }
  }
  return out;
}
