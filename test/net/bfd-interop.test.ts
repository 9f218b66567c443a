// BFD on the wire (RFC 5880 asynchronous mode, RFC 5881 single hop): tandem's session comes Up
// with FRR 8.4 bfdd and with keepalived 2.2.7's BFD, seen Up on both sides, and both sides see it
// go Down when the other stops; tshark's BFD dissector flags nothing and every packet leaves
// with TTL 255. Then a tandem pair: a silent master (its bridge port stops forwarding) at
// 100 ms adverts is taken over at BFD speed, never before the session's Detection Time.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startTsharkFields, withLab, sleep } from '../kit/lab.ts';
import type { Lab, LabHost } from '../kit/lab.ts';
import { type BfdPeerHandle, startFrrBfd, startKeepalivedBfd } from '../../lab/bfd-peers.ts';
import { instanceYaml, startTandem, stopAll, stateOf } from '../kit/tandem.ts';
import type { TandemHandle } from '../kit/tandem.ts';

const UP_TIMEOUT_MS = 15_000; // the slow 1 s rate while not Up (RFC 5880 6.8.3), a loaded machine
const PEER_BFD_MS = 20; // against other daemons: well inside what they schedule reliably here
const FIELDS = [
  'ip.src',
  'ip.ttl',
  'udp.srcport',
  'udp.dstport',
  'bfd.version',
  'bfd.sta',
  'bfd.flags.m',
  'bfd.detect_time_multiplier',
  'bfd.message_length',
  'bfd.my_discriminator',
  'bfd.your_discriminator',
  '_ws.expert.message',
  '_ws.malformed',
];

interface BfdView {
  state: string;
  txIntervalMs: number;
  detectionTimeMs: number;
  lastDownDiag: string | null;
  counters: { packetsReceived: number; drops: Record<string, number> };
}
async function bfdOf(t: TandemHandle): Promise<BfdView | undefined> {
  try {
    return (await t.status()).instances[0].bfd as BfdView | undefined;
  } catch {
    return undefined;
  }
}

async function until(what: string, pred: () => Promise<boolean>, ms: number, describe: () => Promise<string>) {
  const t0 = Date.now();
  while (!(await pred())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}\n${await describe()}`);
    await sleep(50);
  }
}

function tandemWithBfd(
  lab: Lab,
  h: LabHost,
  peer: string,
  o: { vrid: number; prio: number; bfdMs: number; advert?: string },
) {
  return startTandem(
    lab,
    h,
    instanceYaml({
      ifname: h.ifname,
      vrid: o.vrid,
      priority: o.prio,
      advert: o.advert ?? '1s',
      addresses: ['192.0.2.1/24'],
      extra: [`bfd: { peer: ${peer}, interval: ${o.bfdMs}ms, multiplier: 3 }`],
    }),
  );
}

/** Every row from tshark: BFD v1, TTL 255, port 3784, no expert message, not malformed. */
function checkRows(lines: string[], who: string): number {
  let n = 0;
  for (const line of lines) {
    const f = line.split('\t');
    if (f.length < FIELDS.length - 2) continue;
    const [src, ttl, , dport, version, , m, mult, len, , , expert, malformed] = f;
    if (dport !== '3784') continue;
    n++;
    assert.is(ttl, '255', `${who}: TTL from ${src}: ${line}`);
    assert.is(version, '1', `${who}: version: ${line}`);
    assert.ok(m === '0' || m === 'False' || m === '', `${who}: M bit: ${line}`);
    assert.ok(Number(mult) > 0, `${who}: Detect Mult: ${line}`);
    assert.is(len, '24', `${who}: length: ${line}`);
    assert.ok(!expert, `${who}: tshark expert info "${expert}": ${line}`);
    assert.ok(!malformed, `${who}: malformed: ${line}`);
  }
  return n;
}

async function interop(kind: 'frr' | 'keepalived') {
  await withLab({ routers: 2, ipv6: false }, async (lab) => {
    const [h1, h2] = lab.routers;
    const cap = startTsharkFields(lab, h1.ns, h1.ifname, 'udp port 3784', FIELDS);
    await cap.ready;
    let t: TandemHandle | undefined;
    let peer: BfdPeerHandle | undefined;
    try {
      const o = { peer: h1.ipv4, local: h2.ipv4, intervalMs: PEER_BFD_MS, multiplier: 3 };
      peer = kind === 'frr' ? await startFrrBfd(lab, h2.ns, o) : await startKeepalivedBfd(lab, h2.ns, o);
      t = await tandemWithBfd(lab, h1, h2.ipv4, { vrid: 9, prio: 100, bfdMs: PEER_BFD_MS });
      const tt = t;
      const pp = peer;
      const describe = async () =>
        `tandem: ${JSON.stringify(await bfdOf(tt))}\n${tt.output().slice(-1500)}\n${kind}: ${await pp.state()}\n${pp.log().slice(-2500)}`;
      await until(
        `the session Up on tandem and ${kind}`,
        async () => (await bfdOf(tt))?.state === 'Up' && (await pp.state()) === 'up',
        UP_TIMEOUT_MS,
        describe,
      );
      await until('timers negotiated', async () => (await bfdOf(tt))?.txIntervalMs === PEER_BFD_MS, 5000, describe);
      const b = (await bfdOf(tt))!;
      assert.is(b.detectionTimeMs, 3 * PEER_BFD_MS);
      // Stays Up for a while at 20 ms: no flap, nothing dropped.
      await sleep(1500);
      const later = (await bfdOf(tt))!;
      assert.is(later.state, 'Up', await describe());
      assert.equal(later.counters.drops, {}, await describe());
      assert.ok(later.counters.packetsReceived > 1500 / PEER_BFD_MS / 2, await describe());
      // The other direction: tandem stops (AdminDown), the peer sees the session go Down.
      await stopAll([tt]);
      t = undefined;
      await until(`${kind} sees the session Down`, async () => (await pp.state()) === 'down', 5000, describe);
    } finally {
      await stopAll([t]);
      await peer?.stop();
      const rows = await cap.stop();
      const n = checkRows(rows, kind);
      assert.ok(n > 20, `only ${n} BFD packets captured`);
    }
  });
}

test('tandem and FRR bfdd bring a 20 ms x 3 session Up both ways, clean on the wire', async () => {
  await interop('frr');
});

test("tandem and keepalived's BFD bring a 20 ms x 3 session Up both ways, clean on the wire", async () => {
  await interop('keepalived');
});

// The pair at 100 ms adverts (Master_Down_Interval 300 ms + skew). BFD 10 ms x 3 rather than the
// issue's 3 ms x 3: on this shared 2-core machine (load often above 10) a 9 ms detection time
// flaps; 30 ms holds. Bound: detection (30 ms after the last packet heard, which left at most one
// 10 ms interval before the cut) plus a stated 120 ms margin for the takeover and a loaded box;
// never below Detection Time minus one interval.
const PAIR_BFD_MS = 10;
test('a tandem pair: a silent master at 100 ms adverts is taken over at BFD speed, not before detection', async () => {
  await withLab({ routers: 2, ipv6: false }, async (lab) => {
    const [h1, h2] = lab.routers;
    let r1: TandemHandle | undefined;
    let r2: TandemHandle | undefined;
    try {
      r1 = await tandemWithBfd(lab, h1, h2.ipv4, { vrid: 12, prio: 200, bfdMs: PAIR_BFD_MS, advert: '100ms' });
      r2 = await tandemWithBfd(lab, h2, h1.ipv4, { vrid: 12, prio: 100, bfdMs: PAIR_BFD_MS, advert: '100ms' });
      const a = r1;
      const b = r2;
      const describe = async () =>
        `r1 ${JSON.stringify(await bfdOf(a))}\nr2 ${JSON.stringify(await bfdOf(b))}\n${b.output().slice(-2000)}`;
      await until(
        'r1 master, r2 backup, BFD Up and fast, no damping hold',
        async () => {
          const s1 = await a.status();
          const s2 = await b.status();
          const bfd = s2.instances[0].bfd as
            | { state: string; txIntervalMs: number; takeoverHoldMs: number }
            | undefined;
          return (
            stateOf(s1) === 'master' &&
            stateOf(s2) === 'backup' &&
            bfd?.state === 'Up' &&
            bfd.txIntervalMs === PAIR_BFD_MS &&
            bfd.takeoverHoldMs === 0
          );
        },
        UP_TIMEOUT_MS,
        describe,
      );
      await sleep(300);
      // The cut happens somewhere inside linkDown's command: between tBefore and tAfter (wall
      // clock, as the daemon's log lines are stamped, 1 ms resolution).
      const tBefore = Date.now();
      await lab.linkDown(h1); // silent: r1 runs on, nothing it sends arrives
      const tAfter = Date.now();
      await until('r2 master', async () => stateOf(await b.status()) === 'master', 3000, describe);
      const s = (await b.status()).instances[0];
      assert.is(s.masterReason, 'master-down-detected', await describe());
      const line = b.logs().find((l) => l.msg === 'transition' && l.reason === 'master-down-detected');
      assert.ok(line, 'the takeover is logged');
      const at = Date.parse(String(line!.time));
      const detection = 3 * PAIR_BFD_MS;
      // Not before the Detection Time: the last packet heard left at most one interval before the cut.
      assert.ok(at - tBefore >= detection - PAIR_BFD_MS - 1, `took over ${at - tBefore} ms after the cut began`);
      assert.ok(at - tAfter <= detection + 120, `took over ${at - tAfter} ms after the cut ended\n${await describe()}`);
      console.log(
        `  silent master taken over ${at - tAfter}..${at - tBefore} ms after the cut (BFD ${PAIR_BFD_MS} ms x 3; linkDown took ${tAfter - tBefore} ms)`,
      );
    } finally {
      await stopAll([r1, r2]);
    }
  });
});

test.run();
