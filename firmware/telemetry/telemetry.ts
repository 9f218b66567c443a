// Fleet telemetry and remote control over MQTT (MQTT.js v5, protocol 3.1.1 or 5).
//
// Topics under <prefix>/<node>/: status (retained, Will = offline), state (retained, coalesced),
// events (one message per event), health (QoS 0, periodic), cmd/<name> (requests in) and reply.
//
// The broker must never slow the daemon. So: nothing on the caller's path waits for the broker;
// events go into our own bounded O(1) queue and leave it only when PUBACKed; MQTT.js gets a
// message only while connected and only up to the in-flight limit, so its own queue stays small;
// reconnects are ours (capped exponential backoff, full jitter), one fresh client per attempt.
import mqtt from 'mqtt';
import type { IClientOptions, IConnackPacket, IPublishPacket, MqttClient } from 'mqtt';
import { readFile } from 'node:fs/promises';
import { backoffDelayMs } from './backoff.ts';
import {
  CommandAuth,
  confineResponseTopic,
  DEFAULT_REPLAY_WINDOW_MS,
  READ_ONLY_COMMANDS,
  requestKey,
} from './command-auth.ts';
import { parseRequest, ReplyCache, TWO_PHASE } from './commands.ts';
import { HealthSampler } from './health.ts';
import {
  envelope,
  eventPayload,
  healthPayload,
  publishPacketSize,
  replyPayload,
  statePayload,
  statusPayload,
  topicsFor,
  type HealthInstance,
  type PublishProps,
  type ReplyBody,
  type Topics,
} from './payloads.ts';
import { AckQueue } from './queue.ts';
import {
  CommandError,
  type MqttConfig,
  type PublishedStatus,
  type TelemetryEvent,
  type TelemetryHost,
  type TelemetryLog,
  type TelemetryStats,
} from './types.ts';

export { CommandError } from './types.ts';
export type * from './types.ts';

const DEFAULTS = {
  keepaliveS: 30,
  connectTimeoutMs: 10_000,
  backoffMinMs: 1_000,
  backoffMaxMs: 60_000,
  stateCoalesceMs: 100,
};
/** Our own cap on unacknowledged QoS 1 publishes, further lowered by the broker's Receive Maximum. */
const LOCAL_INFLIGHT_MAX = 16;
const REPLY_QUEUE = 64;
const MAX_RUNNING_COMMANDS = 8;
const PROGRESS_MIN_GAP_MS = 1_000;
/** Skip a health report while this many bytes sit unsent in the socket (the broker stalls). */
const HEALTH_BACKPRESSURE_BYTES = 64 * 1024;
const STOP_PUBLISH_MS = 1_400;
const STOP_END_MS = 400;
const LOG_EVERY_MS = 10_000;
/** Aliases for the fixed topics (MQTT 5 section 3.3.2.3.4), used only when the broker allows 4. */
const ALIASES = { status: 1, state: 2, events: 3, health: 4 } as const;
type AliasName = keyof typeof ALIASES;

interface Msg {
  topic: string;
  payload: Buffer;
  retain: boolean;
  props?: PublishProps;
  alias?: AliasName;
}

export interface TelemetryOptions {
  now?: () => number; // wall clock, ms
  random?: () => number; // backoff jitter, [0, 1)
}

/** Strips user:password from a broker URL for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}

export class Telemetry {
  private readonly topics: Topics;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly k: typeof DEFAULTS;
  private seq = 0;

  private client: MqttClient | null = null;
  private gen = 0; // connection generation: callbacks of older clients are ignored
  private connected = false;
  private started = false;
  private stopped = false;
  private attempts = 0; // connection attempts in total
  private failures = 0; // consecutive failed attempts, drives the backoff
  private reconnectTimer: NodeJS.Timeout | null = null;
  private healthTimer: NodeJS.Timeout | null = null;
  private stateTimer: NodeJS.Timeout | null = null;
  private pumpScheduled = false;

  private readonly events: AckQueue<Msg>;
  private readonly replies = new AckQueue<Msg>(REPLY_QUEUE);
  private published: PublishedStatus = 'online';
  private statusDirty = true;
  private statusInFlight = false;
  private stateDirty = true;
  private stateInFlight = false;
  private willSeq = 0;

  private inFlight = 0;
  private inFlightMax = LOCAL_INFLIGHT_MAX;
  private maxPacket = Infinity;
  private aliasMax = 0;
  private aliasSent = new Set<AliasName>();
  private oversized = 0;
  private rejected = 0;

  private readonly cache = new ReplyCache(256);
  private readonly auth: CommandAuth;
  private refused = 0; // commands refused by the allowlist or the signature check
  private retainedIgnored = 0; // retained command messages, never executed
  private running = 0;
  private sampler: HealthSampler | null = null;
  private lastLog = new Map<string, number>();

  constructor(
    private readonly cfg: MqttConfig,
    private readonly host: TelemetryHost,
    private readonly log: TelemetryLog,
    opts: TelemetryOptions = {},
  ) {
    this.topics = topicsFor(cfg.topicPrefix, host.node);
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.k = {
      keepaliveS: cfg.keepaliveS ?? DEFAULTS.keepaliveS,
      connectTimeoutMs: cfg.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      backoffMinMs: cfg.backoffMinMs ?? DEFAULTS.backoffMinMs,
      backoffMaxMs: cfg.backoffMaxMs ?? DEFAULTS.backoffMaxMs,
      stateCoalesceMs: cfg.stateCoalesceMs ?? DEFAULTS.stateCoalesceMs,
    };
    this.events = new AckQueue<Msg>(Math.max(1, Math.floor(cfg.offlineQueue)));
    this.auth = new CommandAuth(
      {
        allow: cfg.commands?.allow ?? READ_ONLY_COMMANDS,
        trustedKeys: cfg.commands?.trustedKeys ?? [],
        replayWindowMs: cfg.commands?.replayWindowMs ?? DEFAULT_REPLAY_WINDOW_MS,
      },
      host.node,
    );
    for (const e of this.auth.keyErrors) log.error({ err: e }, 'telemetry: a command key does not load (ignored)');
  }

  /** Starts connecting in the background; returns at once and never throws on broker trouble. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.sampler = new HealthSampler(this.now);
    if (this.cfg.healthIntervalMs > 0) {
      this.healthTimer = setInterval(() => this.publishHealth(), this.cfg.healthIntervalMs);
      this.healthTimer.unref();
    }
    void this.connectOnce();
  }

  /** Queues one event (QoS 1, in order, survives broker outages up to offlineQueue entries). */
  event(e: TelemetryEvent): void {
    if (this.stopped) return;
    const body = eventPayload(envelope(this.host.bootId, ++this.seq, this.now()), this.host.node, e);
    let payload: Buffer;
    try {
      payload = Buffer.from(JSON.stringify(body));
    } catch {
      // a value JSON cannot carry (BigInt, cycle): keep the essentials
      const { instance, from, to, reason, node, v, ts, boot_id, seq } = body;
      payload = Buffer.from(JSON.stringify({ instance, from, to, reason: String(reason), node, v, ts, boot_id, seq }));
    }
    const lost = this.events.push({ topic: this.topics.events, payload, retain: false, alias: 'events' });
    if (lost)
      this.rateLog(
        'warn',
        'queue-full',
        { dropped: this.events.droppedCount },
        'telemetry event queue full: dropping oldest',
      );
    this.schedulePump();
  }

  /** The host's status changed: republish the retained state once the coalescing window closes. */
  stateChanged(): void {
    if (this.stopped || this.stateTimer) return;
    this.stateTimer = setTimeout(() => {
      this.stateTimer = null;
      this.stateDirty = true;
      this.schedulePump();
    }, this.k.stateCoalesceMs);
    this.stateTimer.unref();
  }

  setStatus(s: 'online' | 'updating'): void {
    if (this.stopped) return;
    this.published = s;
    this.statusDirty = true;
    this.schedulePump();
  }

  /** Publishes status offline and disconnects; resolves within about 2 s whatever the broker does. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of [this.reconnectTimer, this.healthTimer, this.stateTimer]) if (t) clearTimeout(t);
    this.reconnectTimer = this.healthTimer = this.stateTimer = null;
    this.sampler?.stop();
    const client = this.client;
    this.gen++; // callbacks of this client no longer touch our state
    this.client = null;
    if (!client) return;
    if (this.connected) {
      // The same seq as the Will: one of the two reaches subscribers, never both.
      const body = statusPayload(
        envelope(this.host.bootId, this.willSeq, this.now()),
        this.host.node,
        'offline',
        this.host.version,
        this.slot(),
      );
      await withTimeout(STOP_PUBLISH_MS, (done) => {
        client.publish(this.topics.status, JSON.stringify(body), { qos: 1, retain: true }, () => done());
      });
    }
    this.connected = false;
    await withTimeout(STOP_END_MS, (done) => {
      client.end(false, {}, () => done());
    });
    try {
      client.end(true);
    } catch {
      /* already closed */
    }
  }

  stats(): TelemetryStats {
    return {
      connected: this.connected,
      queued: this.events.length,
      dropped: this.events.droppedCount,
      reconnects: Math.max(0, this.attempts - 1),
      oversized: this.oversized,
      rejected: this.rejected,
      inFlight: this.inFlight,
      refused: this.refused,
      retainedIgnored: this.retainedIgnored,
    };
  }

  // ---- connection ----

  private async connectOnce(): Promise<void> {
    if (this.stopped) return;
    const gen = ++this.gen;
    this.attempts++;
    let opts: IClientOptions;
    try {
      opts = await this.clientOptions();
    } catch (err) {
      // The message names the file, never its content.
      this.rateLog(
        'error',
        'files',
        { err: (err as Error).message },
        'telemetry: cannot read MQTT credential or TLS files',
      );
      if (gen === this.gen) this.scheduleReconnect();
      return;
    }
    if (this.stopped || gen !== this.gen) return;
    let client: MqttClient;
    try {
      // Explicit username/passwordFile win over credentials in the URL (MQTT.js would let the URL win).
      const url = this.cfg.username !== undefined || this.cfg.passwordFile ? redactUrl(this.cfg.url) : this.cfg.url;
      client = mqtt.connect(url, opts);
    } catch (err) {
      this.rateLog(
        'error',
        'url',
        { url: redactUrl(this.cfg.url), err: (err as Error).message },
        'telemetry: cannot create MQTT client',
      );
      this.scheduleReconnect();
      return;
    }
    this.client = client;
    client.on('connect', (ack) => this.onConnect(gen, client, ack));
    client.on('message', (topic, payload, packet) => this.onMessage(gen, topic, payload, packet));
    client.on('error', (err) => {
      // always listened to: an unhandled 'error' would crash the daemon
      if (gen === this.gen)
        this.rateLog(
          'warn',
          'conn-error',
          { err: err.message, url: redactUrl(this.cfg.url) },
          'telemetry: MQTT connection error',
        );
    });
    client.on('close', () => this.onClose(gen, client));
  }

  private async clientOptions(): Promise<IClientOptions> {
    const cfg = this.cfg;
    const [password, ca, cert, key] = await Promise.all([
      cfg.passwordFile ? readFile(cfg.passwordFile, 'utf8').then((s) => s.replace(/\r?\n$/, '')) : undefined,
      cfg.ca ? readFile(cfg.ca) : undefined,
      cfg.cert ? readFile(cfg.cert) : undefined,
      cfg.key ? readFile(cfg.key) : undefined,
    ]);
    // The Will carries a seq reserved now; see stop().
    this.willSeq = ++this.seq;
    const will = statusPayload(
      envelope(this.host.bootId, this.willSeq, this.now()),
      this.host.node,
      'offline',
      this.host.version,
      this.slot(),
    );
    const v5 = cfg.protocolVersion === 5;
    const opts: IClientOptions = {
      clientId: cfg.clientId,
      protocolVersion: cfg.protocolVersion,
      clean: true,
      reconnectPeriod: 0, // our own backoff instead (scheduleReconnect)
      connectTimeout: this.k.connectTimeoutMs,
      keepalive: this.k.keepaliveS,
      queueQoSZero: false,
      resubscribe: false,
      autoUseTopicAlias: v5,
      will: { topic: this.topics.status, payload: Buffer.from(JSON.stringify(will)), qos: 1, retain: true },
    };
    if (v5) opts.properties = { sessionExpiryInterval: 0, maximumPacketSize: 65_536 };
    if (cfg.username !== undefined) opts.username = cfg.username;
    if (password !== undefined) opts.password = password;
    if (ca) opts.ca = ca;
    if (cert) opts.cert = cert;
    if (key) opts.key = key;
    if (ca || cert) opts.rejectUnauthorized = true;
    return opts;
  }

  private onConnect(gen: number, client: MqttClient, ack: IConnackPacket): void {
    if (gen !== this.gen || this.stopped) return;
    const p = ack.properties ?? {};
    this.connected = true;
    this.failures = 0;
    this.inFlight = 0;
    this.inFlightMax = Math.max(1, Math.min(LOCAL_INFLIGHT_MAX, p.receiveMaximum ?? LOCAL_INFLIGHT_MAX));
    this.maxPacket = p.maximumPacketSize ?? Infinity;
    this.aliasMax = p.topicAliasMaximum ?? 0;
    this.aliasSent.clear();
    this.events.rewind();
    this.replies.rewind();
    this.statusDirty = this.stateDirty = true;
    this.statusInFlight = this.stateInFlight = false;
    this.lastLog.delete('conn-error');
    this.log.info(
      {
        url: redactUrl(this.cfg.url),
        protocol: this.cfg.protocolVersion,
        queued: this.events.length,
        receiveMaximum: p.receiveMaximum,
        maximumPacketSize: p.maximumPacketSize,
        topicAliasMaximum: p.topicAliasMaximum,
      },
      'telemetry: connected to MQTT broker',
    );
    // Retain Handling 2 (MQTT 5 section 3.8.3.1): the broker sends no retained command at
    // subscribe time; a retained one that still arrives (3.1.1) is dropped in onMessage.
    const subOpts = this.cfg.protocolVersion === 5 ? { qos: 1 as const, rh: 2 } : { qos: 1 as const };
    client.subscribe(this.topics.cmdFilter, subOpts, (err) => {
      if (err && gen === this.gen)
        this.rateLog('warn', 'subscribe', { err: err.message }, 'telemetry: cannot subscribe to commands');
    });
    this.pump();
  }

  private onClose(gen: number, client: MqttClient): void {
    if (gen !== this.gen || this.stopped) return;
    const was = this.connected;
    this.connected = false;
    this.inFlight = 0;
    this.client = null;
    try {
      client.end(true);
    } catch {
      /* closed */
    }
    if (was) this.log.warn({ queued: this.events.length }, 'telemetry: lost MQTT connection, queueing events');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer) return;
    const delay = backoffDelayMs(this.failures++, this.k.backoffMinMs, this.k.backoffMaxMs, this.random);
    this.log.debug({ delayMs: delay }, 'telemetry: reconnecting later');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.connectOnce();
    }, delay);
    this.reconnectTimer.unref();
  }

  // ---- publishing ----

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Hands messages to MQTT.js while connected and under the in-flight limit; O(limit) per call. */
  private pump(): void {
    while (this.connected && this.client?.connected && this.inFlight < this.inFlightMax) {
      if (this.statusDirty && !this.statusInFlight) {
        this.statusDirty = false;
        const body = statusPayload(this.env(), this.host.node, this.published, this.host.version, this.slot());
        this.statusInFlight = true;
        this.send(
          { topic: this.topics.status, payload: Buffer.from(JSON.stringify(body)), retain: true, alias: 'status' },
          (ok) => {
            this.statusInFlight = false;
            if (!ok) this.statusDirty = true;
          },
        );
        continue;
      }
      if (this.stateDirty && !this.stateInFlight) {
        this.stateDirty = false;
        let payload: Buffer;
        try {
          payload = Buffer.from(JSON.stringify(statePayload(this.env(), this.host.status())));
        } catch (err) {
          this.rateLog('error', 'status', { err: (err as Error).message }, 'telemetry: host status() failed');
          continue;
        }
        this.stateInFlight = true;
        this.send({ topic: this.topics.state, payload, retain: true, alias: 'state' }, (ok) => {
          this.stateInFlight = false;
          if (!ok) this.stateDirty = true;
        });
        continue;
      }
      let queue = this.replies;
      let item = queue.takeNext();
      if (!item) {
        queue = this.events;
        item = queue.takeNext();
      }
      if (!item) break;
      const q = queue,
        it = item;
      this.send(it.value, (settled) => {
        if (settled) q.ack(it);
      });
    }
  }

  /**
   * One QoS 1 publish. `done(true)` once it is settled (PUBACKed, or dropped for good because it
   * is too big or the broker refused it); `done(false)` if the connection closed first.
   */
  private send(m: Msg, done: (settled: boolean) => void): void {
    const client = this.client!;
    const gen = this.gen;
    const v5 = this.cfg.protocolVersion === 5;
    const props: PublishProps = { ...m.props };
    if (v5) props.payloadFormatIndicator = true;
    if (v5 && m.alias && this.aliasMax >= 4 && !this.aliasSent.has(m.alias)) {
      props.topicAlias = ALIASES[m.alias]; // registers it; later publishes use it via autoUseTopicAlias
      this.aliasSent.add(m.alias);
    }
    const size = publishPacketSize(m.topic, m.payload.byteLength, 1, this.cfg.protocolVersion, props);
    if (size > this.maxPacket) {
      this.oversized++;
      this.rateLog(
        'warn',
        'oversized',
        { topic: m.topic, bytes: size, max: this.maxPacket, oversized: this.oversized },
        'telemetry: message exceeds the broker maximum packet size, dropped',
      );
      if (props.topicAlias) this.aliasSent.delete(m.alias!);
      done(true);
      return;
    }
    this.inFlight++;
    client.publish(m.topic, m.payload, { qos: 1, retain: m.retain, ...(v5 ? { properties: props } : {}) }, (err) => {
      if (gen !== this.gen) return; // an older connection: rewind() resends what it lost
      this.inFlight--;
      const code = (err as { code?: unknown } | undefined)?.code;
      if (err && typeof code === 'number' && code >= 0x80) {
        // PUBACK with a failure reason code (MQTT 5 section 3.4.2.1): retrying would loop.
        // Any other error means the connection closed first; rewind() resends it.
        this.rejected++;
        this.rateLog(
          'warn',
          'rejected',
          { topic: m.topic, err: err.message },
          'telemetry: broker refused a message, dropped',
        );
        done(true);
      } else if (err) {
        done(false);
        return; // closing: no new publishes on this client
      } else {
        done(true);
      }
      this.pump();
    });
  }

  private slot(): string | undefined {
    try {
      return this.host.slot();
    } catch {
      return undefined;
    }
  }

  private env() {
    return envelope(this.host.bootId, ++this.seq, this.now());
  }

  private publishHealth(): void {
    if (!this.sampler) return;
    const sample = this.sampler.sample(); // always, so each report covers one period
    const client = this.client;
    if (!this.connected || !client?.connected) return;
    // A stalled broker: don't pile QoS 0 messages into the socket.
    if (this.inFlight >= this.inFlightMax || (client.stream?.writableLength ?? 0) > HEALTH_BACKPRESSURE_BYTES) return;
    let instances: HealthInstance[] = [];
    try {
      instances = this.host.status().instances.map((i) => ({ name: i.name, state: i.state, counters: i.counters }));
    } catch (err) {
      this.rateLog('error', 'status', { err: (err as Error).message }, 'telemetry: host status() failed');
    }
    const s = this.stats();
    const body = healthPayload(this.env(), this.host.node, this.host.version, this.slot(), sample, instances, {
      queued: s.queued,
      dropped: s.dropped,
      reconnects: s.reconnects,
      oversized: s.oversized,
    });
    const payload = Buffer.from(JSON.stringify(body));
    const v5 = this.cfg.protocolVersion === 5;
    const props: PublishProps = {};
    if (v5) {
      // Expire after about three periods: a stale health report is worse than none.
      props.messageExpiryInterval = Math.max(1, Math.ceil((3 * this.cfg.healthIntervalMs) / 1000));
      props.payloadFormatIndicator = true;
      if (this.aliasMax >= 4 && !this.aliasSent.has('health')) {
        props.topicAlias = ALIASES.health;
        this.aliasSent.add('health');
      }
    }
    if (
      publishPacketSize(this.topics.health, payload.byteLength, 0, this.cfg.protocolVersion, props) > this.maxPacket
    ) {
      this.oversized++;
      if (props.topicAlias) this.aliasSent.delete('health');
      return;
    }
    client.publish(this.topics.health, payload, { qos: 0, retain: false, ...(v5 ? { properties: props } : {}) });
  }

  // ---- commands ----

  private onMessage(gen: number, topic: string, payload: Buffer, packet: IPublishPacket): void {
    if (gen !== this.gen || !topic.startsWith(this.topics.cmdPrefix)) return;
    const name = topic.slice(this.topics.cmdPrefix.length);
    // A retained command would run again at every restart and reconnect: never executed, and
    // not answered (the requester is long gone; an answer per reconnect would be noise).
    if (packet.retain) {
      this.retainedIgnored++;
      this.rateLog('warn', 'retained', { cmd: name.slice(0, 64) }, 'telemetry: retained command ignored');
      return;
    }
    const v5 = this.cfg.protocolVersion === 5;
    const responseTopic = v5 ? packet.properties?.responseTopic : undefined;
    const corr = v5 ? packet.properties?.correlationData : undefined;
    const route: Route = {
      topic: confineResponseTopic(responseTopic, this.topics.reply),
      correlationData: corr,
    };
    const refuse = (id: string | null, code: string, message: string) => {
      this.refused++;
      this.rateLog('warn', 'refused', { cmd: name.slice(0, 64), code }, 'telemetry: command refused');
      this.reply(route, { id, cmd: name.slice(0, 64), status: 'failed', error: { code, message } });
    };
    let body: Uint8Array = payload;
    let key: string | null = null;
    if (this.auth.signed) {
      // Checked before any crypto: the allowlist, then an exact repeat (answered from the cache).
      if (!this.auth.allowed(name)) {
        refuse(null, 'not-allowed', `command '${name.slice(0, 64)}' is not allowed on this node`);
        return;
      }
      key = requestKey(name, null, Buffer.from('signed'), payload);
      const seen = key ? this.cache.get(key) : undefined;
      if (seen) {
        this.reply(route, seen);
        return;
      }
      const u = this.auth.unwrap(name, payload, this.now());
      if (!u.ok) {
        refuse(null, u.code, u.message);
        return;
      }
      body = u.body;
    }
    const req = parseRequest(name, body);
    if (!req.ok) {
      this.reply(route, {
        id: req.id,
        cmd: name.slice(0, 64),
        status: 'failed',
        error: { code: req.code, message: req.message },
      });
      return;
    }
    if (!this.auth.allowed(req.name)) {
      refuse(
        req.id,
        'not-allowed',
        `command '${req.name}' is not allowed on this node (telemetry.mqtt.commands.allow)`,
      );
      return;
    }
    // A reply is re-sent only for the identical request (see requestKey): an id reused for
    // another command or with other arguments is a new request.
    if (!key) {
      key = requestKey(req.name, req.id, corr, payload);
      const seen = key ? this.cache.get(key) : undefined;
      if (seen) {
        this.reply(route, seen);
        return;
      }
    }
    const base = { id: req.id, cmd: req.name };
    if (this.running >= MAX_RUNNING_COMMANDS) {
      this.reply(route, {
        ...base,
        status: 'failed',
        error: { code: 'busy', message: `${this.running} commands already running` },
      });
      return;
    }
    const accepted: ReplyBody = { ...base, status: 'accepted' };
    if (key) this.cache.set(key, accepted); // a duplicate while it runs gets `accepted`, not a rerun
    if (TWO_PHASE.has(req.name)) this.reply(route, accepted);
    let lastProgress = -Infinity;
    const progress = (p: object) => {
      const t = this.now();
      if (t - lastProgress < PROGRESS_MIN_GAP_MS) return;
      lastProgress = t;
      this.reply(route, { ...base, status: 'progress', progress: p });
    };
    this.running++;
    let work: Promise<unknown>;
    try {
      work = Promise.resolve(this.host.command(req.name, req.args, progress));
    } catch (err) {
      work = Promise.reject(err);
    }
    work
      .then(
        (result) => ({ ...base, status: 'done', result: result ?? null }) as ReplyBody,
        (err) => ({ ...base, status: 'failed', error: errorBody(err) }) as ReplyBody,
      )
      .then((final) => {
        this.running--;
        if (key) this.cache.set(key, final);
        this.reply(route, final);
      });
  }

  private reply(route: Route, body: ReplyBody): void {
    if (this.stopped) return;
    const props: PublishProps = route.correlationData ? { correlationData: route.correlationData } : {};
    let payload = Buffer.from(safeJson(replyPayload(this.env(), this.host.node, body)));
    if (publishPacketSize(route.topic, payload.byteLength, 1, this.cfg.protocolVersion, props) + 8 > this.maxPacket) {
      const small: ReplyBody = {
        id: body.id,
        cmd: body.cmd,
        status: 'failed',
        error: {
          code: 'reply-too-large',
          message: `the reply exceeds the broker's maximum packet size (${this.maxPacket} bytes)`,
        },
      };
      payload = Buffer.from(JSON.stringify(replyPayload(this.env(), this.host.node, small)));
    }
    this.replies.push({ topic: route.topic, payload, retain: false, props });
    this.schedulePump();
  }

  private rateLog(level: 'warn' | 'error', key: string, obj: object, msg: string): void {
    const t = this.now();
    const last = this.lastLog.get(key);
    if (last !== undefined && t - last < LOG_EVERY_MS) {
      this.log.debug(obj, msg);
      return;
    }
    this.lastLog.set(key, t);
    this.log[level](obj, msg);
  }
}

interface Route {
  topic: string;
  correlationData?: Buffer;
}

function errorBody(err: unknown): { code: string; message: string } {
  if (err instanceof CommandError) return { code: err.code, message: err.message.slice(0, 500) };
  const e = err as { message?: unknown } | null;
  return { code: 'internal', message: String(e?.message ?? err).slice(0, 500) };
}

function safeJson(x: unknown): string {
  try {
    return JSON.stringify(x);
  } catch (err) {
    const r = x as ReplyBody;
    return JSON.stringify({
      ...r,
      result: null,
      status: 'failed',
      error: { code: 'internal', message: `result is not JSON: ${(err as Error).message}` },
    });
  }
}

function withTimeout(ms: number, fn: (done: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    const done = () => {
      clearTimeout(t);
      resolve();
    };
    try {
      fn(done);
    } catch {
      done();
    }
  });
}
