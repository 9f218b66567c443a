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
import {
  startTandem,
  runTandem,
  instanceYaml,
  stopAll,
  waitForStatus,
  stateOf,
  type TandemHandle,
} from '../kit/tandem.ts';

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

function otaYaml(root: string, healthDeadline = '20s'): string {
  return `ota:\n  root: ${root}\n  trusted_keys: [${keyFile}]\n  health_deadline: ${healthDeadline}\n`;
}

const otaStatus = (root: string) => new OtaAgent({ root, trustedKeys: [key.pubPem], log: quiet }).status();

async function waitFor(pred: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!pred() && Date.now() < end) await sleep(50);
}

/** A root with v1 confirmed and v2 installed on trial. */
async function trialRoot(tag: string): Promise<string> {
  const root = tempDir(tag);
  const agent = new OtaAgent({ root, trustedKeys: [key.pubPem], log: quiet });
  assert.ok((await agent.apply(v1)).ok);
  const r = await agent.apply(v2);
  assert.ok(r.ok && r.pending, JSON.stringify(r));
  return root;
}

test('a trial boot confirms itself once every instance has been backup or master for health_deadline', async () => {
  const root = await trialRoot('trial-root');
  await withLab({ routers: 1, clients: 0 }, async (lab) => {
    const [r1] = lab.routers;
    let t: TandemHandle | undefined;
    try {
      t = await startTandem(
        lab,
        r1,
        `${otaYaml(root, '3s')}instances:\n${instanceYaml({ ifname: r1.ifname, vrid: 71, priority: 100, addresses: ['192.0.2.254/24'] })}`,
      );
      await waitForStatus(t, (s) => stateOf(s) === 'master', 5000);
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && otaStatus(root).pending) await sleep(100);
      const st = otaStatus(root);
      assert.is(st.pending, false, 'the trial was confirmed');
      // From the daemon's own log: confirmed no sooner than 3 s after the instance left init (to
      // backup), give or take the 0.5 s health poll.
      const at = (pred: (l: Record<string, unknown>) => boolean) => Date.parse(String(t!.logs().find(pred)?.time));
      const healthyFrom = at((l) => l.msg === 'transition' && l.from === 'init');
      const confirmedAt = at((l) => l.msg === 'update healthy: confirmed');
      assert.ok(
        confirmedAt - healthyFrom >= 3000 - 500,
        `confirmed ${confirmedAt - healthyFrom} ms after leaving init`,
      );
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

test('a trial that crashes before health_deadline, and one whose instances stay in fault, both roll back', async () => {
  await withLab({ routers: 1, clients: 0 }, async (lab) => {
    const [r1] = lab.routers;
    const hs: TandemHandle[] = [];
    const body = (root: string) =>
      `${otaYaml(root, '2s')}instances:\n${instanceYaml({ ifname: r1.ifname, vrid: 73, priority: 100, addresses: ['192.0.2.254/24'] })}`;
    const crashRoot = await trialRoot('crash-root');
    const faultRoot = await trialRoot('fault-root');
    try {
      // Healthy for 1 s of its 2 s, then killed: twice, and the third start rolls back.
      const first = await startTandem(lab, r1, body(crashRoot));
      hs.push(first);
      for (let run = 1; run <= 2; run++) {
        const h = run === 1 ? first : await runTandem(lab, r1, first);
        if (run > 1) hs.push(h);
        await waitForStatus(h, (s) => stateOf(s) === 'master', 5000);
        await sleep(1000);
        await h.stop('SIGKILL');
        assert.is(otaStatus(crashRoot).pending, true, `crash run ${run} was confirmed`);
      }
      hs.push(await runTandem(lab, r1, first));
      await waitFor(() => otaStatus(crashRoot).active === 'a', 3000); // the boot check follows the socket
      assert.is(otaStatus(crashRoot).active, 'a', 'the crashing trial was not rolled back');
      await hs[hs.length - 1].stop();

      // No carrier: the instance is in fault for the whole trial; it exits 70 at 2 x 2 s, twice.
      // The switch's end of the veth down: r1's eth0 stays up, without carrier.
      await lab.exec(lab.switchNs, ['ip', 'link', 'set', 'dev', r1.bridgePort, 'down']);
      const f = await startTandem(lab, r1, body(faultRoot));
      hs.push(f);
      for (let run = 1; run <= 2; run++) {
        const h = run === 1 ? f : await runTandem(lab, r1, f);
        if (run > 1) hs.push(h);
        await waitForStatus(h, (s) => stateOf(s) === 'fault', 3000);
        const code = await Promise.race([h.exited, sleep(8000).then(() => 'timeout')]);
        assert.is(code, 70, `fault run ${run}: ${h.output().slice(-400)}`);
        assert.is(otaStatus(faultRoot).pending, true);
      }
      hs.push(await runTandem(lab, r1, f));
      await waitFor(() => otaStatus(faultRoot).active === 'a', 3000);
      assert.is(otaStatus(faultRoot).active, 'a', 'the trial stuck in fault was not rolled back');
    } finally {
      await stopAll(hs);
      rmSync(crashRoot, { recursive: true, force: true });
      rmSync(faultRoot, { recursive: true, force: true });
    }
  });
});

test.run();
