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

export interface InstanceConfig {
  name: string;
  interface: string; // OS interface name (board aliases resolved)
  /** vrrp (RFC 5798 / RFC 3768) or carp (OpenBSD carp(4)); carp uses `carp` below. */
  protocol: 'vrrp' | 'carp';
  vrid: number; // 1..255; the VHID for CARP
  carp?: CarpInstanceConfig; // protocol carp only
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
  checksum: ChecksumMode;
  auth: { type: 'none' } | { type: 'simple'; password: string };
  garp: { count: number; intervalMs: number; refreshMs: number };
  track: { interfaces: TrackedInterface[]; scripts: TrackedScript[] };
  notify?: string;
  notifyTimeoutMs: number;
  line: number; // line of the instance in its file, for messages
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
}

export interface OtaConfig {
  root: string;
  trustedKeys: string[];
  healthDeadlineMs: number;
  allowDowngrade: boolean;
}

/** Where the Prometheus exposition (`GET /metrics`) listens. */
export interface MetricsConfig {
  host: string; // an IP literal; 127.0.0.1 when only a port was given
  port: number;
}

/** Where snmpd's AgentX master listens: a unix socket path, or TCP. */
export type SnmpConfig = { agentx: { path: string } | { host: string; port: number } };

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
  telemetry?: { mqtt?: MqttConfig };
  metrics?: MetricsConfig;
  snmp?: SnmpConfig;
  ota: OtaConfig;
}
