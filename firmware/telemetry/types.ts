// The contract between the daemon (host) and the MQTT telemetry module. The daemon builds a
// TelemetryHost and an MqttConfig (from the config loader) and owns one Telemetry instance.

/** MQTT settings, already validated by the config loader. */
export interface MqttConfig {
  url: string; // mqtt://host:1883 or mqtts://host:8883 (userinfo is never logged)
  clientId: string;
  username?: string;
  passwordFile?: string; // read at every connect attempt; one trailing newline is trimmed
  ca?: string; // PEM file paths for TLS
  cert?: string;
  key?: string;
  topicPrefix: string; // topics are <topicPrefix>/<node>/...
  healthIntervalMs: number;
  protocolVersion: 4 | 5;
  offlineQueue: number; // events kept while the broker is unreachable; oldest dropped first
  // Optional knobs (defaults in telemetry.ts); tests shrink them to keep runs short.
  keepaliveS?: number; // MQTT keepalive, seconds (default 30)
  connectTimeoutMs?: number; // CONNACK deadline (default 10 000)
  backoffMinMs?: number; // reconnect backoff base (default 1 000)
  backoffMaxMs?: number; // reconnect backoff cap (default 60 000)
  stateCoalesceMs?: number; // stateChanged() calls within this window give one publish (default 100)
}

/** Counters of one virtual router, as `tandem status --json` prints them. */
export interface InstanceCounters {
  advertsSent: number;
  advertsReceived: number;
  transitions: number;
  drops: Record<string, number>;
}

export interface InstanceStatus {
  name: string;
  interface: string;
  vrid: number;
  version: number;
  family: number; // 4 or 6
  state: string;
  priority: number;
  effectivePriority: number;
  masterIp: string | null;
  timeInStateMs: number;
  counters: InstanceCounters;
}

/** The object `tandem status --json` prints; published retained on `state`. */
export interface StatusSnapshot {
  node: string;
  version: string;
  instances: InstanceStatus[];
  loopDelay?: Record<string, number>;
  [k: string]: unknown;
}

/** What the daemon gives the telemetry module. */
export interface TelemetryHost {
  node: string;
  version: string;
  bootId: string;
  slot(): string | undefined;
  status(): StatusSnapshot;
  /** Executes status | set-priority | maintenance | reload | ota; throws CommandError on bad input. */
  command(name: string, args: Record<string, unknown>, progress: (p: object) => void): Promise<unknown>;
}

/** A pino-like logger: `log.warn({ err }, 'msg')` or `log.warn('msg')`. */
type LogFn = (objOrMsg: unknown, msg?: string) => void;
export interface TelemetryLog {
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  debug: LogFn;
}

/** One state-machine or daemon event, published once on `events`. */
export interface TelemetryEvent {
  instance?: string;
  from?: string;
  to?: string;
  reason: string;
  [k: string]: unknown;
}

export type PublishedStatus = 'online' | 'offline' | 'updating';

export interface TelemetryStats {
  connected: boolean;
  queued: number; // events waiting for (or in) delivery
  dropped: number; // events dropped because the queue was full
  reconnects: number; // connection attempts after the first
  oversized: number; // messages dropped because they exceed the broker's Maximum Packet Size
  rejected: number; // QoS 1 messages the broker refused with a PUBACK failure code (MQTT 5)
  inFlight: number; // QoS 1 publishes awaiting PUBACK on the current connection
}

/** Thrown by TelemetryHost.command for bad arguments or an unknown instance. */
export class CommandError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'CommandError';
    this.code = code;
  }
}
