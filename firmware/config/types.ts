// tandem's validated configuration: what firmware/config/ hands to the rest of the product.
// Every value is present and defaulted; durations are milliseconds; addresses are canonical
// (IPv6 compressed lower-case, RFC 5952). YAML spells the keys in snake_case, these in camelCase.

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';
export type MacMode = 'none' | 'virtual' | 'move';
export type ChecksumMode = 'auto' | 'pseudo-header' | 'vrrp-only';

/** One problem in a configuration file; printed as `FILE:LINE: path: reason` (formatIssue). */
export interface ConfigIssue {
  file: string;
  line: number; // 1-based
  path: string; // e.g. `instances[0].vrid`
  reason: string;
}

export type ConfigResult =
  | { ok: true; config: TandemConfig; warnings: ConfigIssue[] }
  | { ok: false; errors: ConfigIssue[]; warnings: ConfigIssue[] };

/** What tandem reads from a board file: only its interface aliases (its defaults are merged in). */
export interface BoardInfo {
  file: string; // resolved path of the board file
  interfaces: Record<string, string>; // alias -> OS interface name, e.g. { lan: 'eth0' }
}

export interface VirtualAddress {
  address: string; // canonical text form
  prefixLength: number; // default 32 (IPv4) or 128 (IPv6)
}

export interface TrackedInterface {
  name: string; // OS interface name (board aliases resolved)
  weight?: number; // -254..254, never 0; absent: the instance goes to fault while it is down
}

export interface TrackedScript {
  run: string; // absolute path of an executable, run without a shell and without arguments
  intervalMs: number;
  timeoutMs: number; // <= intervalMs
  rise: number; // consecutive successes before it counts as up
  fall: number; // consecutive failures before it counts as down
  weight?: number; // -254..254, never 0; absent: fault while down
}

/** CARP's own keys (OpenBSD carp(4), ucarp). */
export interface CarpInstanceConfig {
  advbase: number; // seconds 1..254 between adverts
  advskew: number; // 0..254, in 1/256 s added to advbase: the lower, the more preferred
  passphrase: string; // HMAC-SHA1 key, 0..20 bytes ('' = a key of zeros, as carp(4) without pass)
}

/** BFD to the peer that may be master (RFC 5880 asynchronous mode, RFC 5881 single hop). */
export interface BfdConfig {
  peer: string; // canonical address, same family as the instance
  intervalMs: number; // Desired Min TX and Required Min RX
  multiplier: number; // Detect Mult, 1..255
}

/** HSRP's own keys (RFC 2281; version 2 as Cisco sends it). */
export interface HsrpInstanceConfig {
  version: 1 | 2;
  group: number; // v1 0..255, v2 0..4095 (also in vrid)
  hellotimeMs: number; // v1: whole seconds
  holdtimeMs: number;
  /** hello_time or hold_time was set: never learnt from the active router. */
  timersConfigured: boolean;
  /** Text (8 bytes, "cisco" by default, RFC 2281 5.1) or the MD5 Authentication TLV. */
  auth: { type: 'text'; text: string } | { type: 'md5'; key: string; keyId: number };
  /** No address configured: learn the virtual IP from the active router (RFC 2281 Learn). */
  learn: boolean;
}

/** A router allowed to advertise for an instance, and optionally the Ethernet source it must use. */
export interface AcceptFromPeer {
  address: string; // canonical IP text
  mac?: string; // lower-case aa:bb:cc:dd:ee:ff
}

export interface InstanceConfig {
  name: string;
  interface: string; // OS interface name (board aliases resolved)
  /** vrrp (RFC 5798 / RFC 3768), carp (OpenBSD carp(4)) or hsrp (RFC 2281); `carp`/`hsrp` below. */
  protocol: 'vrrp' | 'carp' | 'hsrp';
  vrid: number; // 1..255; the VHID for CARP; the group for HSRP (0..4095)
  carp?: CarpInstanceConfig; // protocol carp only
  hsrp?: HsrpInstanceConfig; // protocol hsrp only
  version: 2 | 3;
  family: 4 | 6; // derived from the addresses
  priority: number; // 1..255; 255 = address owner
  advertIntervalMs: number; // v3: multiple of 10 in 10..40950; v2: multiple of 1000 in 1000..255000
  preempt: boolean;
  preemptDelayMs: number;
  acceptMode: boolean;
  addresses: VirtualAddress[];
  macMode: MacMode;
  macCycleLink: boolean;
  sourceAddress?: string;
  unicastPeers: string[];
  bfd?: BfdConfig; // VRRP only
  /** Only adverts from these sources count (docs/security.md); absent: from anyone. */
  acceptFrom?: AcceptFromPeer[];
  checksum: ChecksumMode;
  auth: { type: 'none' } | { type: 'simple'; password: string };
  garp: { count: number; intervalMs: number; refreshMs: number };
  track: { interfaces: TrackedInterface[]; scripts: TrackedScript[] };
  notify?: string;
  notifyTimeoutMs: number;
  line: number; // line of the instance in its file, for messages
}

/** An active-active cluster (issue #13, docs/cluster.md): this node's part in sharing `addresses`
 *  with every node that advertises the same `id` on the segment. */
export interface ClusterConfig {
  name: string; // 1..32 of A-Z a-z 0-9 _ . - (names the data path's nft table tandem_<name>)
  interface: string; // OS interface name (board aliases resolved)
  id: number; // 1..255, the cluster's identity on the wire and in its MAC
  addresses: VirtualAddress[]; // IPv4 and IPv6 together
  buckets: number; // 1..1024, fixed for the cluster's life
  hash: 'source' | 'source-dest';
  weight: number; // 0..65535; 0 = serve nothing (maintenance)
  advertIntervalMs: number; // 10..65535 ms (16 bits of ms on the wire)
  preemptDelayMs: number; // a starting node listens at least this long before it takes buckets
  drainTimeoutMs: number; // how long a bucket given up keeps serving established flows
  macMode: 'multicast' | 'igmp' | 'unicast';
  /** local: the addresses are services this node answers itself; forward: they are the clients'
   *  gateway, and the node forwards (a firewall): every frame to the cluster MAC is hashed. */
  mode: 'local' | 'forward';
  /** forward: the interface the servers answer on, and the gateway addresses there; its frames
   *  hash on the destination (the client), so both directions of a flow land on one node. */
  returnPath?: { interface: string; addresses: VirtualAddress[] };
  /** forward: conntrackd between every node, so a dead node's flows carry on (docs/cluster.md). */
  stateSync?: ClusterStateSyncConfig;
  /** As for instances (keepalived's rule): a positive weight is added while up, a negative one
   *  while down (floor 0); without a weight, down sets the cluster weight to 0. */
  track: { interfaces: TrackedInterface[]; scripts: TrackedScript[] };
  line: number;
}

/** conntrackd among all the nodes of a cluster: NOTRACK over multicast on the sync link. */
export interface ClusterStateSyncConfig {
  interface: string;
  local: string; // this node's IPv4 address on the sync link
  group: string; // IPv4 multicast group
  port: number;
  conntrackd: string;
  controlTimeoutMs: number;
}

export interface SyncGroupConfig {
  name: string;
  instances: string[];
}

export interface MqttConfig {
  url: string;
  clientId: string;
  username?: string;
  passwordFile?: string;
  ca?: string;
  cert?: string;
  key?: string;
  topicPrefix: string;
  healthIntervalMs: number;
  protocolVersion: 4 | 5;
  offlineQueue: number;
  /** Present only when the config has a `commands` block; absent = only `status`, unsigned. */
  commands?: MqttCommandsConfig;
}

/** Remote commands over MQTT (docs/security.md): what this node executes, and whose signature it needs. */
export interface MqttCommandsConfig {
  allow: string[]; // command names; `status` alone when not set
  trustedKeys: string[]; // Ed25519 PEM paths; when non-empty every command must be signed
  replayWindowMs: number; // a signed command's ts must be within this of the node's clock
}

export interface OtaConfig {
  root: string;
  trustedKeys: string[];
  healthDeadlineMs: number;
  allowDowngrade: boolean;
  /** `ota` over MQTT: hosts a bundle may come from (absent: any); http:// too when true. */
  remoteHosts?: string[];
  remoteAllowHttp?: boolean;
}

/** Where the Prometheus exposition (`GET /metrics`) listens. */
export interface MetricsConfig {
  host: string; // an IP literal; 127.0.0.1 when only a port was given
  port: number;
}

/** Where snmpd's AgentX master listens: a unix socket path, or TCP. */
export type SnmpConfig = { agentx: { path: string } | { host: string; port: number } };

/** Connection-state replication through conntrackd (docs/state-sync.md). One per node: the
 *  kernel has one connection-tracking table per network namespace. */
export interface StateSyncConfig {
  /** The instance or sync group whose state drives the sync: master commits and sends, backup asks. */
  follows: { instance: string } | { syncGroup: string };
  /** The instances named by `follows` (one, or the group's members). */
  instances: string[];
  /** Without `socket`: tandem runs conntrackd itself, FTFW over UDP on this link. */
  interface?: string;
  peer?: string; // the other node's address on the sync link
  local?: string; // this node's address on the sync link
  port: number; // UDP port (conntrackd's default 3780)
  /** An operator-run conntrackd's UNIX socket: tandem drives it but does not start it. */
  socket?: string;
  conntrackd: string; // the conntrackd binary
  resyncTimeoutMs: number; // preemption is held at most this long for a full resync
  stallAfterMs: number; // nothing heard from the peer this long = stalled
  stallPenalty?: number; // 1..254: lowers the priority while stalled, like a failed track with that weight
  controlTimeoutMs: number; // each `conntrackd -C ... -c` (etc.) call
  line: number;
}

export interface TandemConfig {
  file: string;
  node: string;
  board?: BoardInfo;
  stateDir: string;
  control: { socket: string };
  log: { level: LogLevel };
  /** The protocol engine thread's CPU priority: VRRP timers must win over other load (keepalived's vrrp_priority
   *  and vrrp_rt_priority). nice -20..19 (default -10); realtime_priority 1..99 = SCHED_RR (default 10), 0 = off. */
  scheduling: { nice: number; realtimePriority: number };
  instances: InstanceConfig[];
  syncGroups: SyncGroupConfig[];
  stateSync?: StateSyncConfig;
  /** Present when the file has `clusters:` (issue #13). */
  clusters?: ClusterConfig[];
  telemetry?: { mqtt?: MqttConfig };
  metrics?: MetricsConfig;
  snmp?: SnmpConfig;
  ota: OtaConfig;
}
