// Active-active clusters end to end (issue #13): three tandem daemons share 192.0.2.80 and
// 2001:db8::80 on a bridge (the Linux data path of drivers/linux, the engine's cluster runner),
// a client speaks from many source addresses, and a keepalived VRRP pair runs on the same segment.
// Checks, from the client and from the daemons: exactly one answer per ICMP, UDP and TCP probe
// (IPv4 and IPv6) from the bucket's owner; a silent failure's buckets answered again within
// 3 x interval + skew (+5 ms, + a load margin) and spread over both survivors; a split brain
// healed within about one interval; a SIGTERM and a return (planned changes) with long-lived TCP
// connections that are not reset; keepalived never flaps, and tandem's own VRRP instance on the
// segment counts nothing of the cluster's frames.
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assignBuckets, clusterSeed, memberDownIntervalMs, nodeIdOf } from '../../firmware/core/cluster/index.ts';
import { parseIp } from '../../firmware/core/packet/addr.ts';
import { nftJhashBucket } from '../kit/jhash.ts';
import { createLab, type Lab, type PeerHandle, startKeepalived, waitFor } from '../kit/lab.ts';
import { instanceYaml, runTandem, startTandem, stopAll, type TandemHandle } from '../kit/tandem.ts';

const VIP4 = '192.0.2.80';
const VIP6 = '2001:db8::80';
const BUCKETS = 64;
const ID = 1;
const SEED = clusterSeed(ID);
/** 100 ms here; cluster-daemon-10ms.test.ts runs this whole file again at 10 ms. */
const ADVERT_MS = Number(process.env.TANDEM_TEST_CLUSTER_ADVERT_MS ?? 100);
const DRAIN_MS = 2000;
/** keepalived's own interval stays at 100 ms in both runs: at 10 ms its backup declares the master
 *  down after ~36 ms, and on a loaded 2-core CI machine keepalived's own scheduling lateness alone
 *  crossed that once (a flap with no cluster frame involved: they are IP protocol 253, keepalived
 *  listens on 112). The check is that the cluster does not disturb it, not keepalived's timing. */
const KEEPALIVED_ADVERT_MS = 100;
/** Beyond the protocol's bound: the client's probe interval (5 ms) and the timer and scheduling
 *  lateness of a loaded 2-core machine (measured up to ~40 ms past the bound under load 10+). */
const LOAD_MARGIN_MS = 50;
const SOURCES4 = Array.from({ length: 16 }, (_, i) => `192.0.2.${150 + i}`);
const SOURCES6 = Array.from({ length: 16 }, (_, i) => `2001:db8::${150 + i}`);
const CLIENT = `${import.meta.dirname}/../kit/cluster-client.ts`;
const RESPONDER = `${import.meta.dirname}/../kit/cluster-responder.ts`;

interface ClusterView {
  state: string;
  weight: number;
  owned: number[];
  draining: number[];
  members: { node: string; weight: number; buckets: number }[];
  drops: Record<string, number>;
}

/** A JSON-lines agent in a namespace (test/kit/cluster-client.ts): answers carry the request's tag. */
class Agent {
  private tag = 0;
  private readonly waiting = new Map<number, (o: Record<string, unknown>) => void>();
  readonly ready: Promise<void>;
  constructor(readonly proc: ChildProcess) {
    let ready!: () => void;
    this.ready = new Promise((r) => (ready = r));
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      let o: Record<string, unknown>;
      try {
        o = JSON.parse(line);
      } catch {
        return;
      }
      if (o.ready) ready();
      const w = typeof o.tag === 'number' ? this.waiting.get(o.tag) : undefined;
      if (w) {
        this.waiting.delete(o.tag as number);
        w(o);
      }
    });
    proc.stderr?.on('data', (d) => process.stderr.write(`[client] ${d}`));
  }
  call(o: Record<string, unknown>): Promise<Record<string, unknown>> {
    const tag = ++this.tag;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`client did not answer ${JSON.stringify(o)}`)), 20_000);
      this.waiting.set(tag, (r) => {
        clearTimeout(t);
        resolve(r);
      });
      this.proc.stdin!.write(`${JSON.stringify({ ...o, tag })}\n`);
    });
  }
}

let lab: Lab;
let nodes: (TandemHandle | undefined)[] = [];
let files: { dir: string; configFile: string; socket: string }[] = [];
let names: string[] = []; // node names (the namespaces) of the three cluster nodes
const macs: string[] = [];
let keepalived: PeerHandle[] = [];
let kaEntered: number[] = [];
let client: Agent;

const bucketOf = (src: string) => nftJhashBucket(parseIp(src)!.bytes, BUCKETS, SEED);
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const entered = (h: PeerHandle) => [...h.log().matchAll(/Entering (MASTER|BACKUP|FAULT) STATE/g)].length;

function clusterYaml(ifname: string): string {
  return [
    'clusters:',
    '  - name: web',
    `    interface: ${ifname}`,
    `    id: ${ID}`,
    `    addresses: [${VIP4}/32, ${VIP6}/128]`,
    `    buckets: ${BUCKETS}`,
    `    advert_interval: ${ADVERT_MS}ms`,
    `    drain_timeout: ${DRAIN_MS}ms`,
  ].join('\n');
}

async function view(i: number): Promise<ClusterView | undefined> {
  const h = nodes[i];
  if (!h || h.proc.exitCode !== null) return undefined;
  try {
    return ((await h.status()).clusters as ClusterView[])[0];
  } catch {
    return undefined;
  }
}

/** bucket -> indexes of the live nodes that say they own it */
async function owners(live = [0, 1, 2]): Promise<number[][]> {
  const out: number[][] = Array.from({ length: BUCKETS }, () => []);
  const views = await Promise.all(live.map((i) => view(i)));
  views.forEach((v, k) => {
    for (const b of v?.owned ?? []) out[b].push(live[k]);
  });
  return out;
}
const oneOwnerEach = (o: number[][]) => o.every((x) => x.length === 1);

async function untilOneOwner(live: number[], ms: number, what: string): Promise<number> {
  const t0 = now();
  const ok = await waitFor(async () => oneOwnerEach(await owners(live)), ms, 5);
  assert.ok(ok, `timed out after ${ms} ms: ${what}`);
  return now() - t0;
}

test.before(async () => {
  lab = await createLab({ routers: 5, clients: 1 });
  const c = lab.clients[0];
  for (const a of SOURCES4) await lab.exec(c.ns, ['ip', 'addr', 'add', `${a}/24`, 'dev', 'eth0']);
  for (const a of SOURCES6) await lab.exec(c.ns, ['ip', 'addr', 'add', `${a}/64`, 'dev', 'eth0', 'nodad']);
  // A keepalived VRRP pair on the same segment, before the cluster starts.
  keepalived = await Promise.all(
    [3, 4].map((i) =>
      startKeepalived(lab, lab.routers[i].ns, {
        ifname: lab.routers[i].ifname,
        vrid: 50,
        priority: i === 3 ? 200 : 100,
        version: 3,
        advertIntervalMs: KEEPALIVED_ADVERT_MS,
        addresses: ['192.0.2.50'],
      }),
    ),
  );
  assert.ok(
    await waitFor(
      async () => (await keepalived[0].state()) === 'MASTER' && (await keepalived[1].state()) === 'BACKUP',
      10_000,
    ),
    'keepalived pair elected',
  );
  kaEntered = keepalived.map(entered);
  const cluster = lab.routers.slice(0, 3);
  names = cluster.map((r) => r.ns);
  for (const [i, r] of cluster.entries()) {
    await lab.exec(r.ns, ['sysctl', '-qw', 'net.ipv4.ip_nonlocal_bind=1', 'net.ipv6.ip_nonlocal_bind=1']);
    const resp = lab.spawn(r.ns, [process.execPath, '--import', 'tsx', RESPONDER, `n${i}`, VIP4, VIP6], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((res) => resp.stdout!.once('data', () => res()));
    macs.push(JSON.parse((await lab.exec(r.ns, ['ip', '-j', 'link', 'show', 'dev', r.ifname])).stdout)[0].address);
  }
  // Node 0 also runs a VRRP instance on the segment (alone on its VRID: master).
  const vrrp = `instances:\n${instanceYaml({ name: 'gw', ifname: cluster[0].ifname, vrid: 60, priority: 200, addresses: ['192.0.2.60/24'] })}\n`;
  nodes = await Promise.all(cluster.map((r, i) => startTandem(lab, r, (i === 0 ? vrrp : '') + clusterYaml(r.ifname))));
  files = nodes.map((h) => ({ dir: h!.dir, configFile: h!.configFile, socket: h!.socket }));
  client = new Agent(
    lab.spawn(c.ns, [process.execPath, '--import', 'tsx', CLIENT, 'eth0'], { stdio: ['pipe', 'pipe', 'pipe'] }),
  );
  await client.ready;
  // Started together, one node takes everything first and drains it to the others: steady once
  // every node serves and nothing drains.
  const steady = await waitFor(
    async () => {
      const v = await Promise.all([0, 1, 2].map(view));
      return v.every((x) => x?.state === 'serving' && !x.draining.length) && oneOwnerEach(await owners());
    },
    15_000,
    20,
  );
  assert.ok(steady, 'the cluster reached a steady state');
});

test.after(async () => {
  await stopAll(nodes);
  await Promise.all(keepalived.map((k) => k.stop().catch(() => {})));
  await lab?.destroy();
});

test('steady state: every ICMP, UDP and TCP probe (IPv4, IPv6) gets one answer, from its bucket`s owner', async () => {
  const own = await owners();
  for (const [i] of names.entries()) {
    const v = (await view(i))!;
    assert.ok(v.owned.length === 21 || v.owned.length === 22, `node ${i} owns ${v.owned.length}`);
    assert.is(v.members.length, 3);
    assert.ok(v.members.every((m) => m.weight === 100));
  }
  const sources = [...SOURCES4, ...SOURCES6];
  // A first round resolves the cluster MAC (ARP, ND) from every source; the second is judged,
  // with time for a loaded machine to answer.
  await client.call({ cmd: 'probe', sources, vip4: VIP4, vip6: VIP6, waitMs: 300 });
  const r = await client.call({ cmd: 'probe', sources, vip4: VIP4, vip6: VIP6, waitMs: 800 });
  const results = r.results as Record<string, { udp: string[]; tcp: string; icmp: string[] }>;
  const used = new Set<number>();
  for (const src of sources) {
    const owner = own[bucketOf(src)][0];
    used.add(owner);
    assert.equal(results[src].udp, [`n${owner}`], `UDP from ${src} (bucket ${bucketOf(src)})`);
    assert.is(results[src].tcp, `n${owner}`, `TCP from ${src}`);
    assert.equal(results[src].icmp, [macs[owner]], `ICMP from ${src}`);
  }
  assert.is(used.size, 3, 'the sources spread over the three nodes');
});

test('silent failure: its buckets answered again within 3 x interval + skew + 5 ms (+ margin), spread over both survivors', async () => {
  const before = await owners();
  const victim = 2;
  const orphans = before.map((o, b) => (o[0] === victim ? b : -1)).filter((b) => b >= 0);
  const s4 = SOURCES4.find((s) => before[bucketOf(s)][0] === victim);
  const s6 = SOURCES6.find((s) => before[bucketOf(s)][0] === victim);
  const watches = [s4, s6]
    .filter((s): s is string => s !== undefined)
    .map((src) => client.call({ cmd: 'watch', src, vip: src.includes(':') ? VIP6 : VIP4, ms: 1400, intervalMs: 5 }));
  assert.ok(watches.length > 0, 'a source in the victim`s buckets');
  await sleep(300);
  await lab.linkDown(lab.routers[victim]);
  const bound = memberDownIntervalMs(ADVERT_MS) + 5;
  for (const w of await Promise.all(watches)) {
    const replies = w.replies as { t: number; node: string; seq: number }[];
    const seqs = replies.map((x) => x.seq);
    assert.is(new Set(seqs).size, seqs.length, 'no probe answered twice');
    const lastOld = replies.filter((x) => x.node === `n${victim}`).at(-1)!;
    const firstNew = replies.find((x) => x.node !== `n${victim}`);
    assert.ok(lastOld && firstNew, 'answered by the victim, then by a survivor');
    const outage = firstNew.t - lastOld.t;
    console.log(
      `  silent failure at ${ADVERT_MS} ms adverts: outage ${outage.toFixed(0)} ms (bound ${bound} ms + ${LOAD_MARGIN_MS} ms margin)`,
    );
    assert.ok(outage <= bound + LOAD_MARGIN_MS, `outage ${outage.toFixed(0)} ms`);
    // The other side: not before the victim's adverts have been missed (its last one was sent
    // at most one interval before the cut).
    assert.ok(outage >= memberDownIntervalMs(ADVERT_MS) - ADVERT_MS - 10, `outage ${outage.toFixed(0)} ms too short`);
  }
  const after = await owners([0, 1]);
  assert.ok(oneOwnerEach(after), 'the survivors own every bucket once');
  const share = [0, 1].map((i) => orphans.filter((b) => after[b][0] === i).length);
  for (const n of share) assert.ok(n >= orphans.length / 4, `orphans spread ${share} of ${orphans.length}`);
});

test('split brain that heals: every bucket one owner within about one advert interval', async () => {
  // Cut off, the victim saw the others go silent and took every bucket for itself.
  assert.is((await view(2))!.owned.length, BUCKETS);
  await lab.linkUp(lab.routers[2]);
  const took = await untilOneOwner([0, 1, 2], 3000, 'one owner per bucket after the heal');
  console.log(`  split brain at ${ADVERT_MS} ms adverts healed in ${took.toFixed(0)} ms (status polling included)`);
  assert.ok(took <= ADVERT_MS + LOAD_MARGIN_MS, `healed in ${took.toFixed(0)} ms`);
  assert.ok(
    await waitFor(async () => ((await view(2))?.owned.length ?? 0) >= 21, 3000, 20),
    'the returned node serves its share',
  );
});

test('planned changes: SIGTERM and return hand buckets over with draining; long-lived TCP connections are not reset', async () => {
  // Leave: a connection to node 2 keeps working while node 2 drains; new ones go to the new owner.
  let own = await owners();
  const src = [...SOURCES4, ...SOURCES6].find((s) => own[bucketOf(s)][0] === 2)!;
  const vip = src.includes(':') ? VIP6 : VIP4;
  assert.is((await client.call({ cmd: 'tcpOpen', id: 'leave', src, vip })).greeting, 'n2');
  const stopping = nodes[2]!.stop('SIGTERM', 10_000);
  await untilOneOwner([0, 1], 1000, 'the others own every bucket once node 2 leaves');
  const fresh = await client.call({ cmd: 'tcpOpen', id: 'leave-new', src, vip });
  assert.ok(fresh.greeting === 'n0' || fresh.greeting === 'n1', `new connection to ${String(fresh.greeting)}`);
  assert.is((await client.call({ cmd: 'tcpSend', id: 'leave', text: 'still' })).reply, 'n2 still');
  assert.equal((await client.call({ cmd: 'tcpClose', id: 'leave' })).errors, [], 'no reset while draining');
  assert.equal((await client.call({ cmd: 'tcpClose', id: 'leave-new' })).errors, []);
  const t0 = now();
  assert.is(await stopping, 0, 'node 2 exits cleanly');
  assert.ok(now() - t0 < DRAIN_MS + 1000);
  const left = (await lab.exec(lab.routers[2].ns, ['nft', 'list', 'tables'])).stdout;
  assert.not.match(left, /tandem_web/, 'the data path is gone');

  // Return: buckets that move back to node 2 drain on their current owner.
  const target = assignBuckets(
    names.map((n) => ({ nodeId: nodeIdOf(n), weight: 100 })),
    BUCKETS,
  );
  own = await owners([0, 1]);
  const back = [...SOURCES4, ...SOURCES6].find((s) => target[bucketOf(s)] === nodeIdOf(names[2]))!;
  const backVip = back.includes(':') ? VIP6 : VIP4;
  const was = own[bucketOf(back)][0];
  assert.is((await client.call({ cmd: 'tcpOpen', id: 'join', src: back, vip: backVip })).greeting, `n${was}`);
  nodes[2] = await runTandem(lab, lab.routers[2], files[2]);
  assert.ok(
    await waitFor(async () => ((await view(2))?.owned ?? []).includes(bucketOf(back)), 5000, 10),
    'node 2 takes its buckets back',
  );
  const joined = await client.call({ cmd: 'tcpOpen', id: 'join-new', src: back, vip: backVip });
  assert.is(joined.greeting, 'n2', 'new connections go to the returned node');
  assert.is((await client.call({ cmd: 'tcpSend', id: 'join', text: 'on' })).reply, `n${was} on`);
  assert.ok(((await view(was))?.draining ?? []).includes(bucketOf(back)), 'the old owner drains the bucket');
  assert.equal((await client.call({ cmd: 'tcpClose', id: 'join' })).errors, [], 'no reset across the return');
  assert.equal((await client.call({ cmd: 'tcpClose', id: 'join-new' })).errors, []);
  assert.ok(oneOwnerEach(await owners()));
});

test('keepalived on the same segment never flapped; tandem`s VRRP instance counted none of the cluster`s frames', async () => {
  assert.is(await keepalived[0].state(), 'MASTER');
  assert.is(await keepalived[1].state(), 'BACKUP');
  assert.equal(keepalived.map(entered), kaEntered, 'no keepalived state change while the cluster ran');
  const s = await nodes[0]!.status();
  const gw = s.instances.find((i) => i.name === 'gw')!;
  assert.is(gw.state, 'master');
  assert.equal(gw.counters.drops, {});
  // keepalived's VRRP adverts (VRID 50) are the only frames the VRRP capture drops here.
  for (const p of s.interfaces)
    assert.equal(
      Object.keys(p.drops).filter((k) => k !== 'unknown-vrid'),
      [],
    );
  for (const i of [0, 1, 2]) assert.equal((await view(i))!.drops, {}, `node ${i} dropped no cluster advert`);
});

test.run();
