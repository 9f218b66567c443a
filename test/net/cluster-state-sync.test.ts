// State sync for an active-active firewall (issue #14, "the cluster can use the same machinery"):
// three tandem nodes forward between a client and a server (a forward cluster, stateful nftables,
// no pickup of unknown mid-stream TCP), with long-lived TCP connections from 16 client addresses
// spread over every node. The node that carries the most of them fails silently. With state sync
// (conntrackd among the nodes, committed when a member dies) every one of its connections goes on
// through the survivors; without it (the same run, sync off) they stall, since the new owners
// drop their packets as INVALID. The survivors' own connections are untouched in both runs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ADVERT_MS,
  BUCKETS,
  CLUSTER_ID,
  type ClusterFirewallLab,
  clusterFirewallYaml,
  createClusterFirewallLab,
  SERVER_IP,
  SOURCES,
} from '../../lab/cluster-firewall.ts';
import { type FlowReport, startFlows } from '../../lab/state-sync.ts';
import { clusterSeed, memberDownIntervalMs } from '../../firmware/core/cluster/index.ts';
import { parseIp } from '../../firmware/core/packet/addr.ts';
import { nftJhashBucket } from '../kit/jhash.ts';
import { waitFor } from '../kit/lab.ts';
import { runTandem, startTandem, stopAll, type TandemHandle } from '../kit/tandem.ts';

const TCP = 32; // two per source address
/** A flow survived: it never stalled longer than the failover (Member_Down_Interval and a load
 *  margin of 300 ms) plus one retransmission after it (the first RTO is 200 ms or more; its
 *  double as the bound), and it still moves at the end. */
const FAILOVER_BOUND_MS = memberDownIntervalMs(ADVERT_MS) + 300;
const GAP_BOUND_MS = 2 * FAILOVER_BOUND_MS + 200;

interface ClusterView {
  state: string;
  owned: number[];
  draining: number[];
  stateSync?: { externalCache: number | null; commits: number; commitFailures: number; lastError: string | null };
}

let f: ClusterFirewallLab;
let handles: (TandemHandle | undefined)[] = [];

const bucketOf = (src: string) => nftJhashBucket(parseIp(src)!.bytes, BUCKETS, clusterSeed(CLUSTER_ID));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function view(h: TandemHandle | undefined): Promise<ClusterView | undefined> {
  try {
    return ((await h!.status()).clusters as ClusterView[])[0];
  } catch {
    return undefined;
  }
}

/** Start the three nodes; resolves once each serves and every bucket has one owner. */
async function startNodes(sync: boolean): Promise<void> {
  handles = await Promise.all(f.nodes.map((r, i) => startTandem(f.lab, r, clusterFirewallYaml(i, sync))));
  const steady = await waitFor(
    async () => {
      const v = await Promise.all(handles.map(view));
      if (!v.every((x) => x?.state === 'serving' && !x.draining.length)) return false;
      const owners = v.flatMap((x) => x!.owned);
      return owners.length === BUCKETS && new Set(owners).size === BUCKETS;
    },
    15_000,
    20,
  );
  assert.ok(steady, 'the cluster reached a steady state');
}

interface RunResult {
  victim: number;
  victimFlows: number;
  victimKept: number;
  othersKept: number;
  othersTotal: number;
  report: FlowReport;
}

/** Flows through the cluster, the busiest node fails silently, 3 s of watching. */
async function run(sync: boolean): Promise<RunResult> {
  await startNodes(sync);
  const flows = await startFlows(f, TCP, 15_000, { serverIp: SERVER_IP, sources: SOURCES });
  const views = await Promise.all(handles.map(view));
  const ownerOf = (src: string) => views.findIndex((v) => v!.owned.includes(bucketOf(src)));
  // The node that carries the most connections.
  const perNode = views.map((_, i) => SOURCES.filter((s) => ownerOf(s) === i).length);
  const victim = perNode.indexOf(Math.max(...perNode));
  if (sync) {
    // Every connection (and the UDP stream) is in the external cache of the two other nodes.
    const replicated = await waitFor(
      async () => {
        const v = await Promise.all(handles.map(view));
        return v.reduce((n, x) => n + (x?.stateSync?.externalCache ?? 0), 0) >= 2 * TCP;
      },
      10_000,
      100,
    );
    assert.ok(
      replicated,
      `the nodes replicated every flow: ${JSON.stringify((await Promise.all(handles.map(view))).map((x) => x?.stateSync))}`,
    );
  } else await sleep(500);
  await f.failSilently(victim);
  await sleep(3_000);
  const report = await flows.report();
  const kept = (c: FlowReport['tcp'][number]) =>
    c.error === null && c.sinceLastMs !== null && c.sinceLastMs < 1_000 && c.maxGapMs <= GAP_BOUND_MS;
  const mine = report.tcp.filter((c) => ownerOf(c.src) === victim);
  const others = report.tcp.filter((c) => ownerOf(c.src) !== victim);
  if (sync) {
    const v = await Promise.all(handles.map((h, i) => (i === victim ? undefined : view(h))));
    for (const x of v.filter(Boolean))
      assert.ok(x!.stateSync!.commits >= 1 && x!.stateSync!.commitFailures === 0, JSON.stringify(x!.stateSync));
  }
  await stopAll(handles);
  handles = [];
  await f.failSilently(victim, false);
  for (const r of f.nodes) await f.lab.exec(r.ns, ['conntrack', '-F'], { allowFail: true });
  return {
    victim,
    victimFlows: mine.length,
    victimKept: mine.filter(kept).length,
    othersKept: others.filter(kept).length,
    othersTotal: others.length,
    report,
  };
}

test.before(async () => {
  f = await createClusterFirewallLab(3);
});

test.after(async () => {
  await stopAll(handles);
  await f?.destroy();
});

test('without state sync, the dead node`s connections stall; the others go on', async () => {
  const r = await run(false);
  console.log(
    `  sync off: node ${r.victim + 1} failed: kept ${r.victimKept}/${r.victimFlows} of its connections, ${r.othersKept}/${r.othersTotal} of the others`,
  );
  assert.ok(r.victimFlows >= 4, `the failed node carried ${r.victimFlows} connections`);
  assert.is(r.victimKept, 0, 'no connection of the dead node survives without its state');
  assert.is(r.othersKept, r.othersTotal, 'the survivors` own connections are untouched');
});

test('with state sync, every connection survives the silent failure of the node that carried it', async () => {
  const r = await run(true);
  const worst = Math.max(...r.report.tcp.map((c) => c.maxGapMs));
  console.log(
    `  sync on: node ${r.victim + 1} failed: kept ${r.victimKept}/${r.victimFlows} of its connections, ${r.othersKept}/${r.othersTotal} of the others; worst gap ${worst} ms (bound ${GAP_BOUND_MS} ms)`,
  );
  assert.ok(r.victimFlows >= 4, `the failed node carried ${r.victimFlows} connections`);
  assert.is(r.victimKept, r.victimFlows, JSON.stringify(r.report.tcp));
  assert.is(r.othersKept, r.othersTotal);
});

test('a forward node killed (SIGKILL) leaves its data path on both interfaces; its next start removes it, and a stop leaves the node as it was', async () => {
  const r = f.nodes[0];
  // What the node looks like without tandem: addresses, multicast MACs, arp_announce, nft tables.
  const state = async () =>
    (
      await f.lab.exec(r.ns, [
        'sh',
        '-c',
        'for d in eth0 wan; do ip -4 -o addr show dev $d | awk "{print \\$4}"; ip maddr show dev $d | grep link; sysctl -n net.ipv4.conf.$d.arp_announce; done; nft list tables',
      ])
    ).stdout;
  const before = await state();
  const h = await startTandem(f.lab, r, clusterFirewallYaml(0, false));
  handles = [h];
  const installed = await state();
  assert.match(installed, /198\.51\.100\.1\/32/, 'the return path gateway is on wan');
  assert.match(installed, /01:00:5e:7e:54:09/);
  await h.stop('SIGKILL');
  assert.is(await state(), installed, 'a crash leaves everything in place');
  const again = await runTandem(f.lab, r, { dir: h.dir, configFile: h.configFile, socket: h.socket });
  handles = [again];
  await stopAll(handles);
  handles = [];
  assert.is(await state(), before);
});

test.run();
