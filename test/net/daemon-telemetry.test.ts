// The daemon with telemetry on (issue "Fleet telemetry"): two tandem routers report to a real
// mosquitto over its unix socket; an operator watches them fail over and puts one into
// maintenance from the broker; a SIGKILLed daemon's Will says offline; a frozen broker does not
// delay a single advertisement.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import mqtt from 'mqtt';
import { execFileSync } from 'node:child_process';
import { withLab, startMosquitto, startVrrpCapture, sleep, type Lab, type LabHost } from '../kit/lab.ts';
import { startTandem, instanceYaml, stopAll, waitForStatus, stateOf, type TandemHandle } from '../kit/tandem.ts';

interface Msg {
  topic: string;
  payload: Record<string, unknown>;
  retain: boolean;
}

function telemetryYaml(url: string, prefix: string): string {
  return `telemetry:\n  mqtt:\n    url: ${url}\n    topic_prefix: ${prefix}\n    health_interval: 1s\n    commands: { allow: [status, maintenance] }\n`;
}

async function subscriber(url: string, topic: string) {
  const client = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 200 });
  const msgs: Msg[] = [];
  client.on('message', (t, p, packet) => {
    try {
      msgs.push({ topic: t, payload: JSON.parse(p.toString()), retain: packet.retain });
    } catch {
      /* not JSON */
    }
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => client.subscribe(topic, { qos: 1 }, (err) => (err ? reject(err) : resolve())));
    client.once('error', reject);
  });
  return { client, msgs };
}

/** r1 (priority 200) and r2 (100) on one VRID, both reporting to the broker at `url`. */
async function startPair(
  lab: Lab,
  url: string,
  prefix: string,
  vrid: number,
  advert = '100ms',
): Promise<[TandemHandle, TandemHandle]> {
  const [r1, r2] = lab.routers;
  const one = (host: LabHost, node: string, priority: number) =>
    startTandem(
      lab,
      host,
      `${telemetryYaml(url, prefix)}instances:\n${instanceYaml({ ifname: host.ifname, vrid, priority, advert, addresses: ['192.0.2.254/24'] })}`,
      { node },
    );
  const t1 = await one(r1, 'r1', 200);
  try {
    return [t1, await one(r2, 'r2', 100)];
  } catch (e) {
    await stopAll([t1]);
    throw e;
  }
}

async function until<T>(f: () => T | undefined, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('an operator sees state, events and health, and puts a router into maintenance over MQTT', async () => {
  const broker = await startMosquitto();
  const prefix = `tandem-${process.pid}`;
  const sub = await subscriber(broker.url, `${prefix}/#`);
  try {
    await withLab({ routers: 2, clients: 0 }, async (lab) => {
      const [r1] = lab.routers;
      let t1: TandemHandle | undefined, t2: TandemHandle | undefined;
      try {
        [t1, t2] = await startPair(lab, `mqtt+unix://${broker.socketPath}`, prefix, 61);
        await waitForStatus(t1, (s) => stateOf(s) === 'master', 5000);
        await waitForStatus(t2, (s) => stateOf(s) === 'backup', 5000);

        // Retained status online and the state object, for both nodes.
        for (const node of ['r1', 'r2']) {
          const st = await until(
            () => sub.msgs.find((m) => m.topic === `${prefix}/${node}/status` && m.payload.state === 'online'),
            5000,
            `${node} online`,
          );
          assert.is(st.payload.version, (await t1.status()).version);
          await until(() => sub.msgs.find((m) => m.topic === `${prefix}/${node}/state`), 5000, `${node} state`);
        }
        const r1State = await until(
          () =>
            [...sub.msgs]
              .reverse()
              .find(
                (m) =>
                  m.topic === `${prefix}/r1/state` &&
                  (m.payload.instances as { state: string }[])?.[0]?.state === 'master',
              ),
          5000,
          'r1 state shows master',
        );
        assert.is((r1State.payload.instances as { vrid: number }[])[0].vrid, 61);
        const health = await until(() => sub.msgs.find((m) => m.topic === `${prefix}/r1/health`), 5000, 'r1 health');
        assert.ok(typeof health.payload.seq === 'number');

        // Fail the master: r2's events stream shows backup -> master.
        await lab.linkDown(r1);
        await waitForStatus(t2, (s) => stateOf(s) === 'master', 5000);
        const ev = await until(
          () => sub.msgs.find((m) => m.topic === `${prefix}/r2/events` && m.payload.to === 'master'),
          5000,
          'r2 event to master',
        );
        assert.is(ev.payload.instance, 'lan');
        assert.is(ev.payload.from, 'backup');
        await lab.linkUp(r1);
        await waitForStatus(t1, (s) => stateOf(s) === 'master', 5000);

        // Maintenance from the broker (MQTT 5 request/response): r1 hands over and stays backup.
        const replyTopic = `${prefix}/r1/reply/ops`; // replies stay under the node's reply topic
        await new Promise<void>((res, rej) =>
          sub.client.subscribe(replyTopic, { qos: 1 }, (e) => (e ? rej(e) : res())),
        );
        sub.client.publish(`${prefix}/r1/cmd/maintenance`, JSON.stringify({ id: 'm-1', args: { on: true } }), {
          qos: 1,
          properties: { responseTopic: replyTopic, correlationData: Buffer.from('m-1') },
        });
        const reply = await until(
          () => sub.msgs.find((m) => m.topic === replyTopic && m.payload.status === 'done'),
          5000,
          'maintenance reply',
        );
        assert.ok(reply);
        await waitForStatus(t2, (s) => stateOf(s) === 'master', 5000);
        const s1 = await waitForStatus(t1, (s) => stateOf(s) === 'backup', 5000);
        assert.is(s1.instances[0].effectivePriority, 0);
        await sleep(500); // stays backup
        assert.is(stateOf(await t1.status()), 'backup');

        // SIGKILL: the broker publishes r2's Will.
        await t2.stop('SIGKILL');
        await until(
          () => [...sub.msgs].reverse().find((m) => m.topic === `${prefix}/r2/status` && m.payload.state === 'offline'),
          10_000,
          'r2 offline (Will)',
        );
      } finally {
        await stopAll([t1, t2]);
      }
    });
  } finally {
    sub.client.end(true);
    await broker.stop();
  }
});

test('a frozen broker delays no advertisement and no failover', async () => {
  const broker = await startMosquitto();
  const prefix = `tandem-${process.pid}-b`;
  let brokerPid = 0;
  const thaw = () => {
    if (brokerPid)
      try {
        process.kill(brokerPid, 'SIGCONT');
      } catch {
        /* gone */
      }
  };
  try {
    await withLab({ routers: 2, clients: 0 }, async (lab) => {
      const [r1, r2] = lab.routers;
      let t1: TandemHandle | undefined, t2: TandemHandle | undefined;
      try {
        [t1, t2] = await startPair(lab, `mqtt+unix://${broker.socketPath}`, prefix, 62, '50ms');
        await waitForStatus(t1, (s) => stateOf(s) === 'master', 5000);
        await waitForStatus(t2, (s) => stateOf(s) === 'backup', 5000);

        // Freeze the broker (connections stay open, nothing answers), then record adverts.
        brokerPid = Number(execFileSync('pgrep', ['-f', broker.dir], { encoding: 'utf8' }).trim().split('\n')[0]);
        process.kill(brokerPid, 'SIGSTOP');
        const cap = startVrrpCapture(lab, lab.routers[1].ns, lab.routers[1].ifname);
        await cap.ready;
        await sleep(1500);
        // A failover while the broker is frozen: telemetry has events queued, the protocol does not care.
        await lab.linkDown(r1);
        const t0 = Date.now();
        await waitForStatus(t2, (s) => stateOf(s) === 'master', 3000);
        const failoverMs = Date.now() - t0;
        await sleep(1500);
        const rows = (await cap.stop()).filter((r): r is NonNullable<typeof r> => r !== null);
        const fromR1 = rows.filter((r) => r.src === r1.ipv4).map((r) => r.timeMs);
        const fromR2 = rows.filter((r) => r.src === r2.ipv4).map((r) => r.timeMs);
        const gaps = (ts: number[]) => ts.slice(1).map((t, i) => t - ts[i]);
        const worst = (ts: number[]) => Math.max(0, ...gaps(ts));
        console.log(
          `  adverts seen: r1 ${fromR1.length}, r2 ${fromR2.length}; worst gap r1 ${worst(fromR1).toFixed(1)} ms, r2 ${worst(fromR2).toFixed(1)} ms; failover ${failoverMs} ms`,
        );
        assert.ok(fromR1.length >= 20, `r1 advertised while the broker was frozen (${fromR1.length})`);
        assert.ok(fromR2.length >= 20, `r2 advertised after taking over (${fromR2.length})`);
        // 50 ms adverts: a gap over 150 ms would mean a stall the broker caused.
        assert.ok(worst(fromR1) < 150, `r1 worst advert gap ${worst(fromR1)} ms`);
        assert.ok(worst(fromR2) < 150, `r2 worst advert gap ${worst(fromR2)} ms`);
        // Master_Down_Interval at 50 ms is ~190 ms; allow a wide margin for a loaded machine.
        assert.ok(failoverMs < 1500, `failover took ${failoverMs} ms`);
      } finally {
        thaw();
        await stopAll([t1, t2]);
      }
    });
  } finally {
    thaw();
    await broker.stop();
  }
});

test.run();
