// The contract between the supervisor (host, main thread) and the MQTT telemetry module. The
// supervisor's TelemetryLink builds a TelemetryHost over the engine client and an MqttConfig (from
// the config loader), and owns one Telemetry instance at a time.
import type { MqttConfig as ValidatedMqttConfig } from '../config/types.ts';
import type { EngineEvent, EngineStatus } from '../core/status.ts';

/** MQTT settings, validated by the config loader, plus knobs (defaults in telemetry.ts) that
 *  tests shrink to keep runs short. */
export interface MqttConfig extends ValidatedMqttConfig {
  keepaliveS?: number; // MQTT keepalive, seconds (default 30)
  connectTimeoutMs?: number; // CONNACK deadline (default 10 000)
  backoffMinMs?: number; // reconnect backoff base (default 1 000)
  backoffMaxMs?: number; // reconnect backoff cap (default 60 000)
  stateCoalesceMs?: number; // stateChanged() calls within this window give one publish (default 100)
}

/** What telemetry reads of the engine's status; the whole of it is published as is on `state`. */
export type StatusSnapshot = Pick<EngineStatus, 'node' | 'version' | 'instances'> & Partial<EngineStatus>;

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
export type TelemetryEvent = EngineEvent;

export type PublishedStatus = 'online' | 'offline' | 'updating';

export interface TelemetryStats {
  connected: boolean;
  queued: number; // events waiting for (or in) delivery
  dropped: number; // events dropped because the queue was full
  reconnects: number; // connection attempts after the first
  oversized: number; // messages dropped because they exceed the broker's Maximum Packet Size
  rejected: number; // QoS 1 messages the broker refused with a PUBACK failure code (MQTT 5)
  inFlight: number; // QoS 1 publishes awaiting PUBACK on the current connection
  refused: number; // commands refused: not in the allowlist, or unsigned / badly signed / replayed
  retainedIgnored: number; // retained command messages dropped unexecuted
}

/** Thrown by TelemetryHost.command for bad arguments or an unknown instance. */
export { CommandError } from '../core/errors.ts';
export type { InstanceCounters, InstanceStatus } from '../core/status.ts';
