// Topic names and payload builders. Pure: the caller passes the clock reading and the sequence
// number, so tests can pin every byte. Every payload starts with the same envelope:
//   v        schema version (1)
//   ts       ISO 8601 time the message was composed
//   boot_id  the daemon's boot identifier (a new one per process start)
//   seq      one per-boot counter across all topics: a gap means a message was lost or dropped
import type { InstanceCounters } from '../core/status.ts';
import type { PublishedStatus, StatusSnapshot, TelemetryEvent } from './types.ts';

export const SCHEMA_VERSION = 1;

export interface Envelope {
  v: number;
  ts: string;
  boot_id: string;
  seq: number;
}

export function envelope(bootId: string, seq: number, nowMs: number): Envelope {
  return { v: SCHEMA_VERSION, ts: new Date(nowMs).toISOString(), boot_id: bootId, seq };
}

export interface Topics {
  base: string;
  status: string;
  state: string;
  events: string;
  health: string;
  reply: string; // 3.1.1 replies, and MQTT 5 requests without a Response Topic
  cmdPrefix: string; // <base>/cmd/ ; the command name is the rest of the topic
  cmdFilter: string; // <base>/cmd/+
}

export function topicsFor(prefix: string, node: string): Topics {
  const base = `${prefix.replace(/\/+$/, '')}/${node}`;
  return {
    base,
    status: `${base}/status`,
    state: `${base}/state`,
    events: `${base}/events`,
    health: `${base}/health`,
    reply: `${base}/reply`,
    cmdPrefix: `${base}/cmd/`,
    cmdFilter: `${base}/cmd/+`,
  };
}

export function statusPayload(
  env: Envelope,
  node: string,
  state: PublishedStatus,
  version: string,
  slot: string | undefined,
) {
  return { ...env, node, state, version, slot: slot ?? null };
}

/** The host's status snapshot under the envelope; envelope keys win over snapshot keys. */
export function statePayload(env: Envelope, snapshot: StatusSnapshot) {
  return { ...snapshot, ...env };
}

/** One event. Extra fields the daemon attached are kept; instance/from/to default to null. */
export function eventPayload(env: Envelope, node: string, e: TelemetryEvent) {
  return { ...e, instance: e.instance ?? null, from: e.from ?? null, to: e.to ?? null, reason: e.reason, node, ...env };
}

export interface HealthSample {
  uptimeS: number;
  rssBytes: number;
  cpuUserPct: number; // of one core, since the previous sample
  cpuSystemPct: number;
  loopDelayMs: { p50: number; p99: number; max: number };
}

export interface HealthInstance {
  name: string;
  state: string;
  counters: InstanceCounters;
}

export function healthPayload(
  env: Envelope,
  node: string,
  version: string,
  slot: string | undefined,
  s: HealthSample,
  instances: HealthInstance[],
  mqtt: { queued: number; dropped: number; reconnects: number; oversized: number },
) {
  return {
    ...env,
    node,
    version,
    slot: slot ?? null,
    uptime_s: s.uptimeS,
    rss_bytes: s.rssBytes,
    cpu_pct: { user: s.cpuUserPct, system: s.cpuSystemPct },
    loop_delay_ms: s.loopDelayMs,
    mqtt,
    instances,
  };
}

export type ReplyStatus = 'accepted' | 'progress' | 'done' | 'failed';

export interface ReplyBody {
  id: string | null;
  cmd: string;
  status: ReplyStatus;
  result?: unknown;
  progress?: unknown;
  error?: { code: string; message: string };
}

export function replyPayload(env: Envelope, node: string, r: ReplyBody) {
  return { ...r, node, ...env };
}

/** The MQTT 5 properties tandem sets on a PUBLISH (subset used for size accounting). */
export interface PublishProps {
  messageExpiryInterval?: number; // seconds
  topicAlias?: number;
  responseTopic?: string;
  correlationData?: Buffer;
  payloadFormatIndicator?: boolean;
}

function varintSize(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}

/**
 * Size in bytes of the whole PUBLISH packet (MQTT 5 section 3.3, MQTT 3.1.1 section 3.3): fixed
 * header, topic, packet identifier, properties (v5 only) and payload. Compared with the broker's
 * Maximum Packet Size (MQTT 5 section 3.2.2.3.6) before sending: a client that sends a bigger
 * packet is disconnected (section 4.13), so tandem drops and counts instead.
 */
export function publishPacketSize(
  topic: string,
  payloadBytes: number,
  qos: 0 | 1,
  protocolVersion: 4 | 5,
  props?: PublishProps,
): number {
  let rest = 2 + Buffer.byteLength(topic) + (qos > 0 ? 2 : 0) + payloadBytes;
  if (protocolVersion === 5) {
    let p = 0;
    if (props?.payloadFormatIndicator !== undefined) p += 1 + 1;
    if (props?.messageExpiryInterval !== undefined) p += 1 + 4;
    if (props?.topicAlias !== undefined) p += 1 + 2;
    if (props?.responseTopic !== undefined) p += 1 + 2 + Buffer.byteLength(props.responseTopic);
    if (props?.correlationData !== undefined) p += 1 + 2 + props.correlationData.byteLength;
    rest += varintSize(p) + p;
  }
  return 1 + varintSize(rest) + rest;
}
