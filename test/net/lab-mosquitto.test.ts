// The lab broker: mosquitto on 127.0.0.1 and on a unix socket, reachable from inside a lab
// namespace through the socket (the filesystem is shared across network namespaces).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import mqtt from 'mqtt';
import { withLab, startMosquitto } from '../kit/lab.ts';

function connected(url: string): Promise<mqtt.MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000 });
    c.once('connect', () => resolve(c));
    c.once('error', (e) => {
      c.end(true);
      reject(e);
    });
  });
}

test('a publish from inside a lab namespace over the unix socket reaches a subscriber on 127.0.0.1', async () => {
  const broker = await startMosquitto();
  try {
    assert.match(broker.url, /^mqtt:\/\/127\.0\.0\.1:\d+$/);
    const sub = await connected(broker.url);
    const got = new Promise<[string, string]>((res) => sub.on('message', (t, m) => res([t, m.toString()])));
    await sub.subscribeAsync('tandem/lab/#');
    await withLab({ routers: 1 }, async (lab) => {
      await lab.exec(lab.routers[0].ns, [
        'mosquitto_pub',
        '--unix',
        broker.socketPath,
        '-t',
        'tandem/lab/r1',
        '-m',
        'hello from r1',
      ]);
    });
    const timeout = new Promise<never>((_, rej) => setTimeout(() => rej(new Error('no message in 5 s')), 5000).unref());
    assert.equal(await Promise.race([got, timeout]), ['tandem/lab/r1', 'hello from r1']);
    // mqtt.js reaches the socket with the mqtt+unix:// scheme too.
    const viaUnix = await connected(broker.unixUrl);
    viaUnix.end(true);
    sub.end(true);
  } finally {
    await broker.stop();
  }
  assert.not.ok(existsSync(broker.dir), 'private dir left behind');
});

test('two brokers get different free ports and configExtra is applied', async () => {
  const a = await startMosquitto();
  const b = await startMosquitto({ configExtra: 'max_packet_size 1000' });
  try {
    assert.is.not(a.port, b.port);
    const c = await connected(b.url);
    // Over max_packet_size the broker disconnects the client.
    const closed = new Promise<boolean>((res) => c.once('close', () => res(true)));
    c.publish('big', Buffer.alloc(5000));
    const t = new Promise<boolean>((res) => setTimeout(() => res(false), 3000).unref());
    assert.ok(await Promise.race([closed, t]), 'broker kept a client that sent an oversized packet');
    c.end(true);
  } finally {
    await a.stop();
    await b.stop();
  }
});

test.run();
