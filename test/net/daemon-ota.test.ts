// The daemon's OTA hooks (issue "OTA updates"): a trial boot confirms itself once healthy, and an
// update requested over MQTT is applied, acknowledged, and followed by a graceful handover and exit
// so the launcher can start the new slot.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import mqtt from 'mqtt';
import { OtaAgent } from '../../ota/agent.ts';
import { makeBundle, makeKey, tempDir } from '../kit/ota.ts';
import { withLab, startMosquitto, sleep } from '../kit/lab.ts';
import { startTandem, instanceYaml, stopAll, waitForStatus, stateOf, type TandemHandle } from '../kit/tandem.ts';

const key = makeKey();
const work = tempDir('daemon-ota');
const keyFile = join(work, 'ota.pub');
writeFileSync(keyFile, key.pubPem);
let v1 = '',
  v2 = '';
const quiet = { info() {}, warn() {}, error() {} };

test.before(async () => {
  v1 = (await makeBundle(key, { rollbackIndex: 5, outDir: join(work, 'v1') })).file;
  v2 = (await makeBundle(key, { rollbackIndex: 6, outDir: join(work, 'v2') })).file;
});
test.after(() => rmSync(work, { recursive: true, force: true }));

function otaYaml(root: string): string {
  return `ota:\n  root: ${root}\n  trusted_keys: [${keyFile}]\n  health_deadline: 20s\n`;
}

test('a trial boot confirms itself once every instance is out of init', async () => {
  const root = tempDir('trial-root');
  const agent = new OtaAgent({ root, trustedKeys: [key.pubPem], log: quiet });
  assert.ok((await agent.apply(v1)).ok);
  const r = await agent.apply(v2);
  assert.ok(r.ok && r.pending, JSON.stringify(r));
  await withLab({ routers: 1, clients: 0 }, async (lab) => {
    const [r1] = lab.routers;
    let t: TandemHandle | undefined;
    try {
      t = await startTandem(
        lab,
        r1,
        `${otaYaml(root)}instances:\n${instanceYaml({ ifname: r1.ifname, vrid: 71, priority: 100, addresses: ['192.0.2.254/24'] })}`,
      );
      await waitForStatus(t, (s) => stateOf(s) === 'master', 5000);
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline && new OtaAgent({ root, trustedKeys: [key.pubPem], log: quiet }).status().pending)
        await sleep(200);
      const st = new OtaAgent({ root, trustedKeys: [key.pubPem], log: quiet }).status();
      assert.is(st.pending, false, 'the trial was confirmed');
      assert.is(st.active, 'b');
      assert.is(st.rollbackIndex, 6);
      assert.ok(t.logs().some((l) => l.msg === 'update healthy: confirmed'));
    } finally {
      await stopAll([t]);
      rmSync(root, { recursive: true, force: true });
    }
  });
});

test('an update requested over MQTT is applied, acknowledged, then the master hands over and exits', async () => {
  const root = tempDir('mqtt-root');
  const agent = new OtaAgent({ root, trustedKeys: [key.pubPem], log: quiet });
  assert.ok((await agent.apply(v1)).ok);
  const broker = await startMosquitto();
  const prefix = `tandem-ota-${process.pid}`;
  const sub = mqtt.connect(broker.url, { protocolVersion: 5 });
  const replies: Record<string, unknown>[] = [];
  const events: Record<string, unknown>[] = [];
  sub.on('message', (t, p) => {
    try {
      (t.endsWith('/events') ? events : replies).push(JSON.parse(p.toString()));
    } catch {
      /* ignore */
    }
  });
  await new Promise<void>((res, rej) => {
    sub.once('connect', () =>
      sub.subscribe([`${prefix}/r1/reply/ops`, `${prefix}/r1/events`], { qos: 1 }, (e) => (e ? rej(e) : res())),
    );
    sub.once('error', rej);
  });
  try {
    await withLab({ routers: 2, clients: 0 }, async (lab) => {
      const [r1, r2] = lab.routers;
      let t1: TandemHandle | undefined, t2: TandemHandle | undefined;
      let http: ReturnType<typeof lab.spawn> | undefined;
      try {
        const tel = `telemetry:\n  mqtt:\n    url: mqtt+unix://${broker.socketPath}\n    topic_prefix: ${prefix}\n    commands: { allow: [status, ota] }\n`;
        // Over MQTT only a URL: served over HTTP inside r1's namespace (remote_allow_http; https
        // would need a CA the daemon trusts, which is not what this test is about).
        const port = 18_000 + (process.pid % 1000);
        http = lab.spawn(r1.ns, [
          'python3',
          '-m',
          'http.server',
          '--bind',
          '127.0.0.1',
          String(port),
          '--directory',
          dirname(v2),
        ]);
        const url = `http://127.0.0.1:${port}/${basename(v2)}`;
        t1 = await startTandem(
          lab,
          r1,
          `${tel}${otaYaml(root)}  remote_allow_http: true\ninstances:\n${instanceYaml({ ifname: r1.ifname, vrid: 72, priority: 200, addresses: ['192.0.2.254/24'] })}`,
          { node: 'r1' },
        );
        t2 = await startTandem(
          lab,
          r2,
          `instances:\n${instanceYaml({ ifname: r2.ifname, vrid: 72, priority: 100, addresses: ['192.0.2.254/24'] })}`,
          { node: 'r2' },
        );
        await waitForStatus(t1, (s) => stateOf(s) === 'master', 5000);
        await waitForStatus(t2, (s) => stateOf(s) === 'backup', 5000);
        await sleep(500); // telemetry connected and subscribed
        // A local path is refused, without running anything and without echoing it.
        sub.publish(`${prefix}/r1/cmd/ota`, JSON.stringify({ id: 'u-0', args: { source: v2 } }), {
          qos: 1,
          properties: { responseTopic: `${prefix}/r1/reply/ops` },
        });
        const t00 = Date.now();
        const u0Final = (r: Record<string, unknown>) => r.id === 'u-0' && r.status !== 'accepted';
        while (Date.now() - t00 < 5_000 && !replies.some(u0Final)) await sleep(50);
        const refused = replies.find(u0Final) as {
          status?: string;
          error?: { code: string; message: string };
        };
        assert.equal([refused?.status, refused?.error?.code], ['failed', 'bad-source'], JSON.stringify(refused));
        assert.not.ok(refused.error!.message.includes(v2));
        sub.publish(`${prefix}/r1/cmd/ota`, JSON.stringify({ id: 'u-1', args: { source: url } }), {
          qos: 1,
          properties: { responseTopic: `${prefix}/r1/reply/ops`, correlationData: Buffer.from('u-1') },
        });
        const t0 = Date.now();
        while (
          Date.now() - t0 < 20_000 &&
          !replies.some((r) => r.id === 'u-1' && (r.status === 'done' || r.status === 'failed'))
        )
          await sleep(100);
        const final = replies.find((r) => r.id === 'u-1' && (r.status === 'done' || r.status === 'failed'));
        assert.is(final?.status, 'done', JSON.stringify(replies));
        // Progress on the fleet's events topic, weighted by bytes: rising, 100 % only at the end.
        const pcts = events.filter((e) => e.reason === 'ota-progress').map((e) => Number(e.percent));
        assert.ok(pcts.length >= 3, `progress events: ${JSON.stringify(pcts)}`);
        for (let i = 1; i < pcts.length; i++) assert.ok(pcts[i] >= pcts[i - 1], `progress went back: ${pcts}`);
        assert.is(pcts[pcts.length - 1], 100);
        assert.is(pcts.filter((p) => p === 100).length, 1);
        // The master hands over (priority 0) and exits 0 for the launcher to restart it.
        const code = await Promise.race([t1.exited, sleep(10_000).then(() => 'timeout')]);
        assert.is(code, 0);
        await waitForStatus(t2, (s) => stateOf(s) === 'master', 3000);
        const st = new OtaAgent({ root, trustedKeys: [key.pubPem], log: quiet }).status();
        assert.is(st.active, 'b');
        assert.is(st.pending, true, 'the new slot awaits its trial boot');
      } finally {
        await stopAll([t1, t2]);
        http?.kill();
      }
    });
  } finally {
    sub.end(true);
    await broker.stop();
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
