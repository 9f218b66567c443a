// Active-active clusters (issue #13): the pure parts. docs/cluster.md explains them.
export { assignBuckets, quotas } from './assign.ts';
export type { Participant } from './assign.ts';
export { clusterSeed, fnv1a32, mix32, nodeIdOf, rendezvousScore, viewHash } from './hash.ts';
export { clusterIgmpGroup, clusterMac } from './mac.ts';
export type { ClusterMacMode } from './mac.ts';
export { ClusterMachine, memberDownIntervalMs } from './machine.ts';
export { clusterWeight, MAX_CLUSTER_WEIGHT } from './weight.ts';
export type { ClusterAction, ClusterParams, HeardAdvert, Member } from './machine.ts';
export { clusterBucketOf } from './jhash.ts';
