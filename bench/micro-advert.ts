// The engine's per-advert cost without a lab: K backup instances on the fake driver, fed their
// master's adverts as captured frames, and K master instances sending theirs. CPU time of this
// process (process.cpuUsage) per advert, so it is usable on a loaded machine; run it under
// `node --cpu-prof` for a profile. Not a test: it prints numbers.
//   node --import tsx bench/micro-advert.ts [--instances 251] [--seconds 5] [--role backup|master|both]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FakeDriver } from '../drivers/fake.ts';
import { loadConfig } from '../firmware/config/index.ts';
import { encodeVrrpFrame } from '../firmware/core/packet/index.ts';
import { Engine } from '../firmware/engine/engine.ts';
import { createLogger } from '../firmware/runtime/log.ts';

const { values } = parseArgs({
  options: {
    instances: { type: 'string', default: '251' },
    seconds: { type: 'string', default: '5' },
    role: { type: 'string', default: 'both' },
    prof: { type: 'string' }, // write a .cpuprofile of the measured window (prefix)
  },
});
const K = Number(values.instances);
const SECONDS = Number(values.seconds);
const MASTER_IP = '192.0.2.11';
const OWN_IP = '192.0.2.12';

function engineFor(priority: number, dir: string, driver: FakeDriver): Engine {
  const inst = Array.from(
    { length: K },
    (_, i) => `  - name: vr${i + 1}
    interface: eth0
    vrid: ${i + 1}
    priority: ${priority}
    advert_interval: 100ms
    addresses: [198.51.100.${i + 1}/32]
`,
  ).join('');
  const yaml = `node: micro\nstate_dir: ${dir}\ninstances:\n${inst}`;
  const r = loadConfig('/virtual/micro.yaml', { hostname: 'micro', platform: 'linux', readFile: () => yaml });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return new Engine({ driver, log: createLogger('silent'), config: r.config });
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
/** V8's sampling profiler over the measured window only (not the module loading). */
function profiler(name: string): () => void {
  if (!values.prof) return () => {};
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 200 });
  session.post('Profiler.start');
  return () =>
    session.post('Profiler.stop', (err, res) => {
      if (!err) writeFileSync(`${values.prof}-${name}.cpuprofile`, JSON.stringify(res.profile));
      session.disconnect();
    });
}

const tick = () => new Promise<void>((r) => setImmediate(r));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Backups: every instance hears its master's advert every 100 ms (delivered in one burst per
 *  10 ms slot, as the capture hands them over), for SECONDS of real time. */
async function backup(dir: string): Promise<void> {
  const driver = new FakeDriver({ links: { eth0: {} } });
  driver.addAddress('eth0', `${OWN_IP}/24`);
  const engine = engineFor(100, dir, driver);
  const frames = Array.from({ length: K }, (_, i) =>
    encodeVrrpFrame({
      srcMac: '00:00:5e:00:01:01',
      family: 4,
      src: MASTER_IP,
      advert: { version: 3, vrid: i + 1, priority: 200, maxAdverIntervalCs: 10, addresses: [`198.51.100.${i + 1}`] },
    }),
  );
  engine.start();
  try {
    for (const f of frames) driver.deliver('eth0', f);
    await sleep(200);
    const stopProf = profiler('backup');
    const c0 = cpuMs(),
      t0 = performance.now();
    let n = 0;
    const slots = 10;
    for (let round = 0; performance.now() - t0 < SECONDS * 1000; round++) {
      const slot = round % slots;
      for (let i = slot; i < K; i += slots) {
        driver.deliver('eth0', frames[i]);
        n++;
      }
      await sleep(10);
    }
    const used = cpuMs() - c0,
      wall = performance.now() - t0;
    stopProf();
    const st = engine.status().instances;
    const notBackup = `${st.filter((s) => s.state !== 'backup').length}, transitions ${st.reduce((a, s) => a + s.counters.transitions, 0)}`;
    console.log(
      `backup x${K}: ${n} adverts in ${(wall / 1000).toFixed(1)} s, CPU ${used.toFixed(0)} ms = ${((used * 60) / wall).toFixed(2)} CPU-s/min, ${((used * 1000) / n).toFixed(1)} us/advert (incl. idle loop), not backup: ${notBackup}`,
    );
  } finally {
    await engine.stop();
  }
}

/** Masters: K instances alone on the link, sending every 100 ms. */
async function master(dir: string): Promise<void> {
  const driver = new FakeDriver({ links: { eth0: {} } });
  driver.addAddress('eth0', `${MASTER_IP}/24`);
  const engine = engineFor(200, dir, driver);
  engine.start();
  try {
    await sleep(1500); // Master_Down_Interval, then all master
    driver.calls.length = 0;
    const sent0 = engine.status().instances.reduce((a, s) => a + s.counters.advertsSent, 0);
    const stopProf = profiler('master');
    const c0 = cpuMs(),
      t0 = performance.now();
    while (performance.now() - t0 < SECONDS * 1000) {
      await sleep(250);
      driver.calls.length = 0; // the fake driver records every send
      for (const ch of driver.openChannels()) ch.sent.length = 0;
    }
    const used = cpuMs() - c0,
      wall = performance.now() - t0;
    stopProf();
    const st = engine.status().instances;
    const sent = st.reduce((a, s) => a + s.counters.advertsSent, 0) - sent0;
    console.log(
      `master x${K}: ${sent} adverts in ${(wall / 1000).toFixed(1)} s, CPU ${used.toFixed(0)} ms = ${((used * 60) / wall).toFixed(2)} CPU-s/min, ${((used * 1000) / sent).toFixed(1)} us/advert, not master: ${st.filter((s) => s.state !== 'master').length}`,
    );
  } finally {
    await engine.stop();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'tandem-micro-'));
try {
  await tick();
  if (values.role !== 'master') await backup(join(dir, 'b'));
  if (values.role !== 'backup') await master(join(dir, 'm'));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
