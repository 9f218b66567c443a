// The cluster's link-layer identity. Every node answers ARP / NS for the cluster's addresses with
// this MAC, so the switch delivers each client frame to every node.
//
// multicast: 01:00:5e:7e:54:<id>, an IPv4-mapped multicast MAC (RFC 1112 6.4) of the group
//   239.126.84.<id>. It collides neither with VRRP's 00:00:5e:00:01:xx / 00:00:5e:00:02:xx
//   (unicast, RFC 5798 7.3), nor with carp(4) balancing's 01:00:5e:00:01:<vhid>, nor with
//   Microsoft NLB's 03:bf:... and its IGMP mode's 01:00:5e:7f:...
// igmp: the same MAC; the node also joins 239.126.84.<id> so IGMP-snooping switches forward the
//   MAC's frames to the nodes only (instead of flooding them to every port).
// unicast: 02:74:61:6e:00:<id>, locally administered (IEEE 802 U/L bit), as NLB's unicast mode:
//   never used as a source, so the switch never learns it and floods it to every port.
export type ClusterMacMode = 'multicast' | 'igmp' | 'unicast';

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

function checkId(id: number): void {
  if (!Number.isInteger(id) || id < 1 || id > 255) throw new RangeError(`cluster id must be 1..255, got ${id}`);
}

/** The MAC every node answers with for the cluster's addresses. */
export function clusterMac(id: number, macMode: ClusterMacMode): string {
  checkId(id);
  return macMode === 'unicast' ? `02:74:61:6e:00:${hex2(id)}` : `01:00:5e:7e:54:${hex2(id)}`;
}

/** The IPv4 group an igmp-mode node joins (its MAC is clusterMac(id, 'igmp')); undefined otherwise. */
export function clusterIgmpGroup(id: number, macMode: ClusterMacMode): string | undefined {
  checkId(id);
  return macMode === 'igmp' ? `239.126.84.${id}` : undefined;
}
