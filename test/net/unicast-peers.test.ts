// unicast_peers: adverts sent by raw socket to each peer's address instead of the multicast group.
// Two tandem routers pointing at each other (IPv4 and IPv6): election, silent failure of the
// master (bridge port down), its return; the wire as tshark sees it (unicast to the peer's address
// and MAC, TTL 255, good checksum, nothing to 224.0.0.18); and keepalived 2.2.7 with
// `unicast_peer` in both roles. Needs root and dist/tandem.js (./build.sh).
import { startTsharkFields, VRRP_CAPTURE_FILTER } from '../../lab/wire.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { withLab, startKeepalived, startVrrpCapture, checkVrrpCapture, waitFor, sleep } from '../kit/lab.ts';
import type { Lab, LabHost, PeerHandle } from '../kit/lab.ts';
import { startTandem, instanceYaml, waitForStatus, stateOf, stopAll } from '../kit/tandem.ts';
import type { TandemHandle } from '../kit/tandem.ts';

const VIP4 = '192.0.2.1';
const VIP6 = '2001:db8::1';
const ADVERT_MS = 100;
/** RFC 5798 6.1: Master_Down_Interval = 3 x interval + Skew_Time, under 400 ms here; a noisy
 *  2-core machine gets a wide margin. */
const TAKEOVER_MS = 5_000;
const SETTLE_MS = 10_000;

type Family = 'ipv4' | 'ipv6';
const addrOf = (h: LabHost, f: Family) => (f === 'ipv4' ? h.ipv4 : h.ipv6);

function yaml(f: Family, priority: number, peers: string[], vrid = 61): string {
  return instanceYaml({
    ifname: 'eth0',
    vrid,
    priority,
    addresses: [f === 'ipv4' ? `${VIP4}/24` : `${VIP6}/64`],
    extra: [`unicast_peers: [${peers.join(', ')}]`],
  });
}

async function nicMac(lab: Lab, h: LabHost): Promise<string> {
  return JSON.parse((await lab.exec(h.ns, ['ip', '-j', 'link', 'show', 'dev', h.ifname])).stdout)[0].address;
}

async function hasVip(lab: Lab, h: LabHost, vip: string): Promise<boolean> {
  const j = JSON.parse((await lab.exec(h.ns, ['ip', '-j', 'addr', 'show', 'dev', h.ifname])).stdout);
  return j[0].addr_info.some((a: { local: string }) => a.local === vip);
}

interface AddrRow {
  ethDst: string;
  src: string;
  dst: string;
}

/** A second tshark beside the lab's checker: the destinations (Ethernet and IP) of each VRRP packet. */
function startDstCapture(lab: Lab, ns: string, ifname: string) {
  const fields = ['eth.dst', 'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst'];
  const t = startTsharkFields(lab, ns, ifname, VRRP_CAPTURE_FILTER, fields);
  return {
    ready: t.ready,
    async stop(): Promise<AddrRow[]> {
      return (await t.stop()).map((l) => {
        const [ethDst, s4, d4, s6, d6] = l.split('\t');
        return { ethDst, src: s4 || s6, dst: d4 || d6 };
      });
    },
  };
}

for (const family of ['ipv4', 'ipv6'] as const) {
  const vip = family === 'ipv4' ? VIP4 : VIP6;
  test(`${family}: two tandems with unicast_peers elect, fail over on a silent link failure and preempt back; the wire shows unicast adverts`, async () => {
    await withLab({ routers: 2, clients: 0 }, async (lab) => {
      const [r1, r2] = lab.routers;
      const hs: TandemHandle[] = [];
      let caps: { check: ReturnType<typeof startVrrpCapture>; dst: ReturnType<typeof startDstCapture> } | undefined;
      try {
        // Capture on the backup's side from before the first advert.
        caps = { check: startVrrpCapture(lab, r2.ns, 'eth0'), dst: startDstCapture(lab, r2.ns, 'eth0') };
        await Promise.all([caps.check.ready, caps.dst.ready]);
        hs.push(await startTandem(lab, r1, yaml(family, 200, [addrOf(r2, family)])));
        hs.push(await startTandem(lab, r2, yaml(family, 100, [addrOf(r1, family)])));
        const m = await waitForStatus(hs[0], (s) => stateOf(s) === 'master', SETTLE_MS);
        const b = await waitForStatus(
          hs[1],
          (s) => stateOf(s) === 'backup' && s.instances[0].counters.advertsReceived >= 5,
          SETTLE_MS,
        );
        assert.is(m.instances[0].counters.becameMaster, 1);
        assert.ok(await hasVip(lab, r1, vip));
        assert.not.ok(await hasVip(lab, r2, vip));
        assert.equal(b.instances[0].counters.drops, {});
        await sleep(1000); // a stable second of adverts on the wire
        const rows = await caps.check.stop();
        const dsts = await caps.dst.stop();
        caps = undefined;

        // The wire: r1's adverts, TTL 255 and a checksum Wireshark verifies against the unicast
        // destination (RFC 5798 5.1.1.3, 5.2.8), none to the multicast group.
        const fromR1 = rows.filter((r) => r && r.priority === 200);
        assert.ok(fromR1.length >= 8, `only ${fromR1.length} adverts from r1 captured`);
        const verdict = checkVrrpCapture(fromR1);
        assert.ok(verdict.ok, JSON.stringify(verdict.problems.slice(0, 5)));
        assert.ok(
          fromR1.every((r) => r!.checksumStatus === 'good'),
          'checksums not verified good',
        );
        const r2Mac = await nicMac(lab, r2);
        const sent = dsts.filter((d) => d.dst !== addrOf(r1, family)); // r2, a backup, sends none
        assert.ok(sent.length >= 8, `${sent.length} packets towards r2`);
        for (const d of dsts) {
          assert.not.ok(d.dst === '224.0.0.18' || d.dst === 'ff02::12', `a multicast advert: ${JSON.stringify(d)}`);
        }
        for (const d of sent) {
          assert.is(d.dst, addrOf(r2, family));
          assert.is(d.ethDst, r2Mac, "unicast to the peer's own MAC, resolved by the kernel");
        }
        console.log(
          `  ${family}: ${fromR1.length} unicast adverts r1 -> ${addrOf(r2, family)} in the capture, TTL 255, checksums good`,
        );

        // Silent failure of the master: r2 stops hearing it and takes over.
        const t0 = Date.now();
        await lab.linkDown(r1);
        await waitForStatus(hs[1], (s) => stateOf(s) === 'master', TAKEOVER_MS);
        const took = Date.now() - t0;
        assert.ok(await hasVip(lab, r2, vip));
        // The link returns: r1 (still master, priority 200) reaches r2 by unicast, r2 yields (6.4.3).
        await lab.linkUp(r1);
        const t1 = Date.now();
        await waitForStatus(hs[1], (s) => stateOf(s) === 'backup', TAKEOVER_MS);
        const back = Date.now() - t1;
        await sleep(500);
        assert.equal(
          (await Promise.all(hs.map((h) => h.status()))).map((s) => stateOf(s)),
          ['master', 'backup'],
        );
        assert.ok(await hasVip(lab, r1, vip));
        assert.not.ok(await hasVip(lab, r2, vip));
        console.log(`  ${family}: r2 master ${took} ms after linkDown; r1 master alone again ${back} ms after linkUp`);

        // SIGTERM: r1's priority-0 advert reaches r2 by unicast, so r2 takes over after Skew_Time
        // rather than Master_Down_Interval (RFC 5798 6.4.2); restarted, r1 preempts back (6.4.2).
        const t2 = Date.now();
        assert.is(await hs[0].stop(), 0);
        await waitForStatus(hs[1], (s) => stateOf(s) === 'master', TAKEOVER_MS);
        const handover = Date.now() - t2;
        hs[0] = await startTandem(lab, r1, yaml(family, 200, [addrOf(r2, family)]));
        const t3 = Date.now();
        await waitForStatus(hs[0], (s) => stateOf(s) === 'master', TAKEOVER_MS);
        await waitForStatus(hs[1], (s) => stateOf(s) === 'backup', TAKEOVER_MS);
        assert.ok(await hasVip(lab, r1, vip));
        assert.not.ok(await hasVip(lab, r2, vip));
        console.log(
          `  ${family}: SIGTERM handover to r2 in ${handover} ms; restarted r1 preempted back in ${Date.now() - t3} ms`,
        );
      } finally {
        if (caps) {
          await caps.check.stop().catch(() => {});
          await caps.dst.stop().catch(() => {});
        }
        await stopAll(hs);
      }
    });
  });
}

// keepalived with unicast_peer: both roles, with a silent failure of the master and its return.
for (const tandemHigh of [true, false]) {
  test(`ipv4 interop: ${tandemHigh ? 'tandem (200) master, keepalived (100)' : 'keepalived (200) master, tandem (100)'} backup, both unicast; linkDown; linkUp`, async () => {
    await withLab({ routers: 2, clients: 0 }, async (lab) => {
      const [r1, r2] = lab.routers;
      const hs: TandemHandle[] = [];
      let k: PeerHandle | undefined;
      try {
        const kHost = tandemHigh ? r2 : r1,
          tHost = tandemHigh ? r1 : r2;
        const tPrio = tandemHigh ? 200 : 100,
          kPrio = tandemHigh ? 100 : 200;
        const start = async () => {
          if (tandemHigh) {
            hs.push(await startTandem(lab, tHost, yaml('ipv4', tPrio, [kHost.ipv4], 62)));
          }
          k = await startKeepalived(lab, kHost.ns, {
            ifname: 'eth0',
            vrid: 62,
            priority: kPrio,
            version: 3,
            advertIntervalMs: ADVERT_MS,
            addresses: [VIP4],
            family: 'ipv4',
            unicastPeers: [tHost.ipv4],
            unicastSrc: kHost.ipv4,
          });
          if (!tandemHigh) hs.push(await startTandem(lab, tHost, yaml('ipv4', tPrio, [kHost.ipv4], 62)));
        };
        await start();
        const t = hs[0];
        const tState = async () => {
          try {
            return stateOf(await t.status());
          } catch {
            return 'unknown';
          }
        };
        const both = (ts: string, ks: string, ms: number) =>
          waitFor(async () => (await tState()) === ts && (await k!.state()) === ks.toUpperCase(), ms, 20);
        const why = async () =>
          `tandem ${JSON.stringify((await t.status()).instances[0])}\nkeepalived ${await k!.state()}\n${k!.log().slice(-1500)}`;
        const hi = tandemHigh ? ['master', 'backup'] : ['backup', 'master'];
        assert.ok(await both(hi[0], hi[1], SETTLE_MS), `election: ${await why()}`);
        await sleep(1000);
        assert.ok(await both(hi[0], hi[1], 100), `election not stable: ${await why()}`);
        const st = (await t.status()).instances[0];
        // Whichever side is backup heard the other's unicast adverts; tandem dropped none of keepalived's.
        if (!tandemHigh) assert.ok(st.counters.advertsReceived >= 5, `tandem heard ${st.counters.advertsReceived}`);
        assert.equal(st.counters.drops, {});
        assert.ok(await hasVip(lab, tandemHigh ? tHost : kHost, VIP4));
        assert.not.ok(await hasVip(lab, tandemHigh ? kHost : tHost, VIP4));

        const master = tandemHigh ? tHost : kHost;
        await lab.linkDown(master);
        assert.ok(await both('master', 'master', TAKEOVER_MS), `after linkDown: ${await why()}`);
        await lab.linkUp(master);
        assert.ok(await both(hi[0], hi[1], TAKEOVER_MS), `after linkUp: ${await why()}`);
        await sleep(500);
        assert.ok(await both(hi[0], hi[1], 100), `after linkUp, not stable: ${await why()}`);
        const end = (await t.status()).instances[0];
        assert.equal(end.counters.drops, {});
        assert.ok(await hasVip(lab, master, VIP4));
        console.log(
          `  interop ${tandemHigh ? 'tandem>keepalived' : 'keepalived>tandem'}: tandem sent ${end.counters.advertsSent}, heard ${end.counters.advertsReceived}`,
        );
      } finally {
        await k?.stop().catch(() => {});
        await stopAll(hs);
      }
    });
  });
}

test.run();
