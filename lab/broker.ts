// The lab's MQTT broker: aedes inside the lab process, listening on a unix socket. The filesystem
// is shared by every network namespace, so daemons inside the lab reach it as
// `mqtt+unix://PATH` (MQTT.js's unix-socket form) without any route into the root namespace.
// Or, with `--mqtt URL`, an external broker the lab only subscribes to.
import { createServer, type Server, type Socket } from 'node:net';
import { chmodSync, rmSync } from 'node:fs';

export interface LabMessage {
  topic: string;
  payload: Buffer;
  atMs: number;
}

export interface LabBroker {
  /** What the daemons put in `telemetry.mqtt.url`. */
  readonly url: string;
  /** aedes speaks MQTT 3.1.1 only: daemons must use protocol_version 4. */
  readonly protocolVersion: 4 | 5;
  /** Called for every message a daemon publishes (or, external broker, that the lab receives). */
  onMessage(fn: (m: LabMessage) => void): void;
  /** Daemons connected now (embedded broker only; -1 when unknown). */
  clients(): number;
  stop(): Promise<void>;
}

/** aedes on a unix socket at `socketPath` (root-only, 0600: the lab runs as root). */
export async function startEmbeddedBroker(socketPath: string): Promise<LabBroker> {
  const { Aedes } = await import('aedes');
  const aedes = await Aedes.createBroker({ heartbeatInterval: 3_600_000 });
  const listeners: ((m: LabMessage) => void)[] = [];
  aedes.on('publish', (packet, client) => {
    // client is null for the broker's own $SYS messages.
    if (!client) return;
    const m = { topic: packet.topic, payload: Buffer.from(packet.payload), atMs: Date.now() };
    for (const l of listeners) l(m);
  });
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.once('close', () => sockets.delete(sock));
    aedes.handle(sock);
  });
  rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(socketPath, 0o600);
  let stopped = false;
  return {
    url: `mqtt+unix://${socketPath}`,
    protocolVersion: 4,
    onMessage: (fn) => {
      listeners.push(fn);
    },
    clients: () => aedes.connectedClients,
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const s of sockets) s.destroy();
      await new Promise<void>((res) => server.close(() => res()));
      await new Promise<void>((res) => aedes.close(() => res()));
      rmSync(socketPath, { force: true });
    },
  };
}

/**
 * Subscribe to an external broker (mosquitto, say) at `url` for `topicPrefix/#`. The daemons use
 * the same URL, so it must be reachable from inside the namespaces: a unix socket
 * (`mqtt+unix://PATH`) is; 127.0.0.1 in the root namespace is not.
 */
export async function connectExternalBroker(url: string, topicPrefix: string, timeoutMs = 5000): Promise<LabBroker> {
  const mqtt = await import('mqtt');
  const client = mqtt.connect(url, {
    protocolVersion: 4,
    reconnectPeriod: 1000,
    connectTimeout: timeoutMs,
    clientId: `tandem-lab-${process.pid}`,
  });
  const listeners: ((m: LabMessage) => void)[] = [];
  client.on('message', (topic, payload) => {
    const m = { topic, payload, atMs: Date.now() };
    for (const l of listeners) l(m);
  });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => {
      client.end(true);
      reject(new Error(`--mqtt ${url}: no connection within ${timeoutMs} ms`));
    }, timeoutMs);
    client.once('connect', () => {
      clearTimeout(t);
      resolve();
    });
  });
  await client.subscribeAsync(`${topicPrefix}/#`, { qos: 1 });
  return {
    url,
    protocolVersion: 5,
    onMessage: (fn) => {
      listeners.push(fn);
    },
    clients: () => -1,
    async stop() {
      await client.endAsync(true).catch(() => undefined);
    },
  };
}
