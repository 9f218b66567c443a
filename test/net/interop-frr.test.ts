// tandem against FRR 8.4 vrrpd (with zebra) on the wire, VRRPv3 over IPv4 at 100 ms adverts, in
// both roles: election, silent failure of the master, its return. FRR stays master when its own
// link goes down, so the failure is the lab's bridge-port linkDown (the router hears nothing and
// nobody hears it). FRR works with the RFC virtual MAC on a macvlan; tandem runs `mac_mode:
// virtual` to match, so a client's neighbour entry never changes and the check of who answers is
// the switch's forwarding entry for 00:00:5e:00:01:VRID.
import { type InteropRouter, peerState, waitStates } from '../kit/interop.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { withLab, startFrr, startProber, waitFor, sleep } from '../kit/lab.ts';
import type { Lab, LabHost, FrrHandle } from '../kit/lab.ts';
import { startTandem, instanceYaml, stopAll, stateOf } from '../kit/tandem.ts';
import type { TandemHandle } from '../kit/tandem.ts';

const VIP = '192.0.2.1';
const VRID = 9;
const VMAC = '00:00:5e:00:01:09'; // RFC 5798 7.3
const ADVERT_MS = 100;
const SETTLE_TIMEOUT_MS = 15_000;
const TAKEOVER_TIMEOUT_MS = 5_000;

interface Router extends InteropRouter {
  kind: 'tandem' | 'frr';
}

async function tandemRouter(lab: Lab, h: LabHost, priority: number): Promise<Router & { t: TandemHandle }> {
  const t = await startTandem(
    lab,
    h,
    instanceYaml({
      ifname: h.ifname,
      vrid: VRID,
      priority,
      advert: `${ADVERT_MS}ms`,
      addresses: [`${VIP}/24`],
      macMode: 'virtual',
    }),
  );
  return {
    kind: 'tandem',
    host: h,
    t,
    state: async () => {
      try {
        return peerState(stateOf(await t.status()));
      } catch {
        return 'unknown';
      }
    },
    stop: () => stopAll([t]),
    describe: async () => {
      try {
        const i = (await t.status()).instances[0];
        return `tandem ${i.state} prio ${i.effectivePriority} master ${i.masterIp} ${JSON.stringify(i.counters)}`;
      } catch (e) {
        return `tandem: ${(e as Error).message}\n${t.output().slice(-2000)}`;
      }
    },
  };
}

async function frrRouter(lab: Lab, h: LabHost, priority: number): Promise<Router & { f: FrrHandle }> {
  const f = await startFrr(lab, h.ns, {
    ifname: h.ifname,
    vrid: VRID,
    priority,
    version: 3,
    advertIntervalMs: ADVERT_MS,
    addresses: [VIP],
  });
  return {
    kind: 'frr',
    host: h,
    f,
    state: () => f.state(),
    stop: () => f.stop(),
    describe: async () =>
      `frr ${await f.state()}\n${(await f.vtysh('show vrrp').catch((e) => String(e))).slice(-1500)}\n${f.log().slice(-1000)}`,
  };
}

/** The bridge port the switch forwards the virtual MAC to (the last port it came from). */
async function vmacPort(lab: Lab): Promise<string | undefined> {
  const r = await lab.exec(lab.switchNs, ['bridge', '-j', 'fdb', 'show', 'br', lab.bridge]);
  const rows = JSON.parse(r.stdout || '[]') as { mac: string; ifname: string; flags?: string[] }[];
  return rows.find((x) => x.mac === VMAC)?.ifname;
}

/** The client reaches the VIP at the virtual MAC, and the switch sends that MAC to `master`. */
async function assertClientReaches(lab: Lab, master: Router, step: string): Promise<number> {
  const client = lab.clients[0];
  const t0 = Date.now();
  const deadline = t0 + 10_000;
  let last = '';
  while (Date.now() < deadline) {
    const p = startProber(lab, client.ns, VIP, { intervalMs: 5 });
    await p.ready;
    const got = await waitFor(() => p.received() >= 20, 2000, 20);
    const rep = await p.stop();
    const neigh = JSON.parse((await lab.exec(client.ns, ['ip', '-j', 'neigh', 'show', VIP])).stdout || '[]');
    const port = await vmacPort(lab);
    last = `replies ${rep.received}/${rep.sent}, neighbour ${neigh[0]?.lladdr}, ${VMAC} on port ${port}`;
    if (got && neigh[0]?.lladdr === VMAC && port === master.host.bridgePort) return Date.now() - t0;
    await sleep(200);
  }
  assert.unreachable(
    `${step}: the client does not reach ${VIP} through ${master.kind} (port ${master.host.bridgePort}): ${last}`,
  );
  return NaN;
}

async function tandemChecks(r: Router, label: string, wasBackup: boolean): Promise<void> {
  if (r.kind !== 'tandem') return;
  const st = await (r as Router & { t: TandemHandle }).t.status();
  const inst = st.instances[0];
  // A tandem that was master throughout may never hear FRR: FRR is a silent backup, and after the
  // heal it steps down without a word when it hears tandem first (a race). Only a tandem that was
  // backup is sure to have heard FRR's adverts.
  if (wasBackup) assert.ok(inst.counters.advertsReceived > 0, `${label}: tandem heard no FRR adverts`);
  // FRR 8.4 has no switch for it: its v3 IPv4 checksum covers the pseudo-header (RFC 5798 5.2.8).
  assert.is(inst.checksumForm, 'pseudo-header');
  assert.equal(inst.counters.drops, {}, `${label}: tandem dropped FRR adverts`);
}

async function frrRx(r: Router): Promise<number> {
  const f = (r as Router & { f: FrrHandle }).f;
  return JSON.parse(await f.vtysh('show vrrp json'))[0].v4.stats.adverRx as number;
}

for (const tandemHigh of [true, false]) {
  const label = tandemHigh ? 'tandem>frr' : 'frr>tandem';
  test(`v3 ipv4: ${tandemHigh ? 'tandem (200) master, FRR (100)' : 'FRR (200) master, tandem (100)'} backup; linkDown -> the other; linkUp -> back`, async () => {
    await withLab({ routers: 2, clients: 1 }, async (lab) => {
      const rs: Router[] = [];
      try {
        const [h1, h2] = lab.routers;
        rs.push(tandemHigh ? await tandemRouter(lab, h1, 200) : await frrRouter(lab, h1, 200));
        rs.push(tandemHigh ? await frrRouter(lab, h2, 100) : await tandemRouter(lab, h2, 100));
        const [hi, lo] = rs;
        await waitStates(hi, 'MASTER', lo, 'BACKUP', SETTLE_TIMEOUT_MS, `${label} election`);
        await sleep(500);
        assert.is(await hi.state(), 'MASTER');
        assert.is(await lo.state(), 'BACKUP');
        await assertClientReaches(lab, hi, `${label} election`);
        const frr = rs.find((r) => r.kind === 'frr')!;
        if (frr === lo) assert.ok((await frrRx(frr)) > 5, 'FRR heard no tandem adverts');

        await lab.linkDown(hi.host);
        const tookOver = await waitStates(lo, 'MASTER', hi, 'MASTER', TAKEOVER_TIMEOUT_MS, `${label} linkDown`);
        const reach1 = await assertClientReaches(lab, lo, `${label} after linkDown`);

        await lab.linkUp(hi.host);
        const back = await waitStates(hi, 'MASTER', lo, 'BACKUP', TAKEOVER_TIMEOUT_MS, `${label} linkUp`);
        await sleep(500);
        assert.is(await hi.state(), 'MASTER');
        assert.is(await lo.state(), 'BACKUP');
        const reach2 = await assertClientReaches(lab, hi, `${label} after linkUp`);
        console.log(
          `  ${label}: ${lo.kind} took over ${tookOver} ms after linkDown (client through ${reach1} ms later), ` +
            `${hi.kind} master again ${back} ms after linkUp (client through ${reach2} ms later)`,
        );
        for (const r of rs) await tandemChecks(r, label, r === lo);
      } finally {
        for (const r of rs) await r.stop().catch(() => {});
      }
    });
  });
}

// RFC 5798 6.4.3: a leaving master sends priority 0; FRR's backup then waits Skew_Time
// ((256 - 100) / 256 x 1 s = 0.61 s) instead of Master_Down_Interval (3.61 s).
test('SIGTERM of a tandem master: FRR takes over after about Skew_Time (1 s adverts)', async () => {
  await withLab({ routers: 2, clients: 1 }, async (lab) => {
    let t: TandemHandle | undefined;
    let f: FrrHandle | undefined;
    try {
      const [h1, h2] = lab.routers;
      t = await startTandem(
        lab,
        h1,
        instanceYaml({
          ifname: h1.ifname,
          vrid: VRID,
          priority: 200,
          advert: '1s',
          addresses: [`${VIP}/24`],
          macMode: 'virtual',
        }),
      );
      f = await startFrr(lab, h2.ns, {
        ifname: h2.ifname,
        vrid: VRID,
        priority: 100,
        version: 3,
        advertIntervalMs: 1000,
        addresses: [VIP],
      });
      const ff = f;
      const tt = t;
      assert.ok(
        await waitFor(
          async () => stateOf(await tt.status()) === 'master' && (await ff.state()) === 'BACKUP',
          SETTLE_TIMEOUT_MS,
          50,
        ),
        `no election: tandem ${stateOf(await tt.status())}, FRR ${await ff.state()}`,
      );
      await sleep(1500);
      const t0 = Date.now();
      const stopping = t.stop('SIGTERM');
      assert.ok(await waitFor(async () => (await ff.state()) === 'MASTER', 5000, 10), 'FRR did not take over');
      const ms = Date.now() - t0;
      const code = await stopping;
      console.log(
        `  SIGTERM handover to FRR at 1 s adverts: ${ms} ms (Skew_Time 609 ms, Master_Down_Interval 3609 ms); tandem exit ${code}`,
      );
      assert.is(code, 0);
      assert.ok(ms < 609 + 1500, `takeover after ${ms} ms`);
      // tandem took its macvlan away on the way out: only FRR's carries the virtual MAC now.
      const links = (await lab.exec(h1.ns, ['ip', '-br', 'link'])).stdout;
      assert.not.match(links, /vr4\./);
      const p = startProber(lab, lab.clients[0].ns, VIP, { intervalMs: 5 });
      await p.ready;
      const got = await waitFor(() => p.received() >= 20, 5000, 20);
      await p.stop();
      assert.ok(got, 'the client does not reach the VIP through FRR');
    } finally {
      await stopAll([t]);
      await f?.stop().catch(() => {});
    }
  });
});

test.run();
