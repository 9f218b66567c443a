// Bad input at a running master and backup: thousands of malformed and hostile VRRP frames, built
// with tandem's own encoders and then mutated (one defect each), injected from the client's
// namespace through a pcap channel. Each must be counted under its reason in `tandem status`, and
// nothing may crash, change state or flood the log. Needs root and dist/tandem.js (./build.sh).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withLab, sleep } from '../kit/lab.ts';
import type { Lab } from '../kit/lab.ts';
import { startTandem, instanceYaml, waitForStatus, stateOf, stopAll } from '../kit/tandem.ts';
import type { TandemHandle, TandemStatus } from '../kit/tandem.ts';
import {
  decodeFrame,
  encodeVrrpFrame,
  internetChecksum,
  parseIp,
  pseudoHeaderSumV4,
} from '../../firmware/core/packet/index.ts';
import type { VrrpAdvert } from '../../firmware/core/packet/index.ts';

const VIP = '192.0.2.1';
const V2VIP = '192.0.2.2';
const ATTACKER = '192.0.2.101';
const ATTACKER_MAC = '02:00:00:00:00:65';
const PER_CLASS = 300;
const PCAP_CHANNEL = new URL('../../drivers/pcap-channel.ts', import.meta.url).pathname;

// Ethernet 14 + IPv4 20: offsets of the fields the mutations touch.
const IP = 14,
  VRRP = 34;

/** After a mutation: IPv4 total length from the frame, then the VRRP checksum (RFC 5798 5.2.8
 *  pseudo-header form for v3, message only for v2), then the IPv4 header checksum. */
function refix(f: Uint8Array, o: { vrrpChecksum?: boolean; ipChecksum?: boolean } = {}): Uint8Array {
  const total = f.length - IP;
  f[IP + 2] = total >> 8;
  f[IP + 3] = total & 0xff;
  if (o.vrrpChecksum !== false) {
    const v = f.subarray(VRRP);
    v[6] = 0;
    v[7] = 0;
    const pseudo =
      v[0] >> 4 === 3 ? pseudoHeaderSumV4(f.slice(IP + 12, IP + 16), f.slice(IP + 16, IP + 20), 112, v.length) : 0;
    const ck = internetChecksum(v, pseudo);
    v[6] = ck >> 8;
    v[7] = ck & 0xff;
  }
  if (o.ipChecksum !== false) {
    f[IP + 10] = 0;
    f[IP + 11] = 0;
    const ck = internetChecksum(f.subarray(IP, IP + 20));
    f[IP + 10] = ck >> 8;
    f[IP + 11] = ck & 0xff;
  }
  return f;
}

const v3 = (o: Partial<VrrpAdvert> = {}): VrrpAdvert => ({
  version: 3,
  vrid: 51,
  priority: 254,
  maxAdverIntervalCs: 10,
  addresses: [VIP],
  ...o,
});
const frame = (advert: VrrpAdvert, ttl?: number) =>
  encodeVrrpFrame({ srcMac: ATTACKER_MAC, family: 4, src: ATTACKER, advert, ttl });
const password = (s: string) => {
  const b = new Uint8Array(8);
  b.set(new TextEncoder().encode(s));
  return b;
};
const v2 = (o: Partial<VrrpAdvert> = {}): VrrpAdvert => ({
  version: 2,
  vrid: 60,
  priority: 254,
  maxAdverIntervalCs: 100,
  addresses: [V2VIP],
  authType: 1,
  authData: password('s3cret'),
  ...o,
});

/** Deterministic pseudo-random numbers (xorshift32), so a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

interface BadClass {
  name: string;
  where: 'port' | 'lan' | 'old';
  reason: string;
  make: (i: number, r: () => number) => Uint8Array;
}

/** Each class: one defect, and where (interface or instance) and under which reason it is counted. */
const CLASSES: BadClass[] = [
  // RFC 5798 7.1: TTL not 255 means the packet was routed; a priority-254 advert that would preempt.
  { name: 'TTL 64 (and 1..254)', where: 'port', reason: 'bad-ttl', make: (i) => frame(v3(), 1 + (i % 254)) },
  {
    name: 'VRRP checksum off',
    where: 'port',
    reason: 'bad-checksum',
    make: (i) => {
      const f = frame(v3());
      f[VRRP + 6] ^= 1 + (i % 255);
      return f;
    },
  },
  {
    name: 'IPv4 header checksum off',
    where: 'port',
    reason: 'bad-ip-checksum',
    make: (i) => {
      const f = frame(v3());
      f[IP + 10] ^= 1 + (i % 255);
      return f;
    },
  },
  {
    name: 'VRRP version 0,1,4..15',
    where: 'port',
    reason: 'bad-version',
    make: (i) => {
      const f = frame(v3());
      const ver = [0, 1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15][i % 14];
      f[VRRP] = (ver << 4) | 1;
      return refix(f);
    },
  },
  {
    name: 'VRRP type not 1',
    where: 'port',
    reason: 'bad-type',
    make: (i) => {
      const f = frame(v3());
      f[VRRP] = 0x30 | [0, 2, 3, 7, 15][i % 5];
      return refix(f);
    },
  },
  { name: 'unknown VRID', where: 'port', reason: 'unknown-vrid', make: (i) => frame(v3({ vrid: 100 + (i % 100) })) },
  {
    name: 'Count IPvX Addrs 2..255 with one address',
    where: 'port',
    reason: 'bad-length',
    make: (i) => {
      const f = frame(v3());
      f[VRRP + 3] = 2 + (i % 254);
      return refix(f);
    },
  },
  {
    name: 'Count IPvX Addrs 0, no address',
    where: 'port',
    reason: 'address-count',
    make: () => {
      const f = frame(v3());
      f[VRRP + 3] = 0;
      return refix(f.slice(0, f.length - 4));
    },
  },
  {
    name: 'truncated (IP total length beyond the frame)',
    where: 'port',
    reason: 'too-short',
    make: (i) => {
      const f = frame(v3({ addresses: [VIP, '192.0.2.3'] }));
      return f.slice(0, 34 + (i % (f.length - 34)));
    },
  },
  {
    name: 'IPv4 fragment (MF)',
    where: 'port',
    reason: 'bad-ip-header',
    make: () => {
      const f = frame(v3());
      f[IP + 6] = 0x20;
      return refix(f, { vrrpChecksum: false });
    },
  },
  // Valid packets that the instance must refuse.
  {
    name: 'VRRPv2 at the v3 instance',
    where: 'lan',
    reason: 'bad-version',
    make: () => frame(v2({ vrid: 51, addresses: [VIP] })),
  },
  {
    name: 'v2 with a wrong password',
    where: 'old',
    reason: 'bad-auth',
    make: (i) => frame(v2({ authData: password(`x${i % 1000}`) })),
  },
  {
    name: 'v2 without authentication',
    where: 'old',
    reason: 'bad-auth',
    make: () => frame(v2({ authType: 0, authData: new Uint8Array(8) })),
  },
  // RFC 3768 7.1: Adver Interval must match the local one.
  {
    name: 'v2 with another Adver Int',
    where: 'old',
    reason: 'interval-mismatch',
    make: (i) => frame(v2({ maxAdverIntervalCs: 200 + 100 * (i % 50) })),
  },
  // RFC 5798 7.1: a different address list from a non-owner is dropped.
  {
    name: 'v3 priority 254 with another address list',
    where: 'lan',
    reason: 'address-mismatch',
    make: (i) => frame(v3({ addresses: [`198.51.100.${1 + (i % 200)}`] })),
  },
];

const body = (priority: number) =>
  [
    instanceYaml({ name: 'lan', ifname: 'eth0', vrid: 51, priority, addresses: [`${VIP}/24`] }),
    instanceYaml({
      name: 'old',
      ifname: 'eth0',
      vrid: 60,
      version: 2,
      advert: '1s',
      priority,
      addresses: [`${V2VIP}/24`],
      extra: ['auth: { type: simple, password: "s3cret" }'],
    }),
  ].join('\n');

/** Injects frames (hex, one a line) from `ns` through tandem's pcap channel, paced so that
 *  neither side's capture buffer overflows. */
async function inject(lab: Lab, ns: string, frames: Uint8Array[], dir: string): Promise<void> {
  const file = join(dir, `frames-${Date.now()}.hex`);
  writeFileSync(file, `${frames.map((f) => Buffer.from(f).toString('hex')).join('\n')}\n`);
  const script = join(dir, 'inject.mts');
  writeFileSync(
    script,
    [
      `import { readFileSync } from 'node:fs';`,
      `import { openPcapChannel } from ${JSON.stringify(PCAP_CHANNEL)};`,
      `const ch = openPcapChannel('eth0', { vrrp: true });`,
      `const lines = readFileSync(process.argv[2], 'utf8').split('\\n').filter(Boolean);`,
      `for (let i = 0; i < lines.length; i++) {`,
      `  ch.send(Buffer.from(lines[i], 'hex'));`,
      `  if (i % 20 === 19) await new Promise((r) => setTimeout(r, 15));`,
      `}`,
      `console.log('sent', lines.length);`,
      `process.exit(0);`,
    ].join('\n'),
  );
  const r = await lab.exec(ns, [process.execPath, '--import', 'tsx', script, file], { timeoutMs: 120_000 });
  assert.match(r.stdout, new RegExp(`sent ${frames.length}`));
}

type Counts = Record<string, number>;
function countsOf(s: TandemStatus): { port: Counts; lan: Counts; old: Counts } {
  return {
    port: { ...s.interfaces.find((p) => p.name === 'eth0')!.drops },
    lan: { ...s.instances.find((i) => i.name === 'lan')!.counters.drops },
    old: { ...s.instances.find((i) => i.name === 'old')!.counters.drops },
  };
}
const capDropped = (s: TandemStatus) =>
  s.interfaces.reduce((n, p) => n + ((p as { captureDropped?: number }).captureDropped ?? 0), 0);
const delta = (a: Counts, b: Counts): Counts =>
  Object.fromEntries(
    [...new Set([...Object.keys(a), ...Object.keys(b)])]
      .map((k) => [k, (b[k] ?? 0) - (a[k] ?? 0)])
      .filter(([, v]) => v !== 0),
  );

test("the bad frames are what they claim: tandem's own decoder gives each class its reason (vector check)", () => {
  const r = rng(1);
  for (const c of CLASSES) {
    if (c.where !== 'port') continue;
    for (let i = 0; i < 40; i++) {
      const d = decodeFrame(c.make(i, r));
      // The VRID is the daemon's to judge (it knows which ones it runs).
      assert.is(d.ok ? 'accepted' : d.reason, c.reason === 'unknown-vrid' ? 'accepted' : c.reason, `${c.name} #${i}`);
    }
  }
  // The instance-level ones decode fine; the daemon refuses them with configuration in hand.
  for (const c of CLASSES.filter((x) => x.where !== 'port')) assert.ok(decodeFrame(c.make(0, r)).ok, c.name);
  assert.ok(parseIp(ATTACKER));
});

test(`a flood of ${CLASSES.length} x ${PER_CLASS} bad frames at a master and a backup: each counted under its reason, no crash, no state change, no log flood`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bad-'));
  await withLab({ routers: 2, clients: 1 }, async (lab) => {
    const hs: TandemHandle[] = [];
    try {
      // br_netfilter (loaded on this host, per namespace) validates IPv4 headers on bridged frames
      // and would drop the bad-checksum and truncated ones; a plain L2 switch does not.
      await lab.exec(lab.switchNs, [
        'sh',
        '-c',
        'f=/proc/sys/net/bridge/bridge-nf-call-iptables; [ ! -e $f ] || echo 0 > $f',
      ]);
      hs.push(await startTandem(lab, lab.routers[0], body(200)));
      hs.push(await startTandem(lab, lab.routers[1], body(100)));
      const all = (st: string) => (s: TandemStatus) => stateOf(s, 'lan') === st && stateOf(s, 'old') === st;
      await waitForStatus(hs[0], all('master'), 8000);
      await waitForStatus(hs[1], all('backup'), 8000);
      await sleep(300);
      const before = await Promise.all(hs.map((h) => h.status()));
      const logLines = hs.map((h) => h.output().split('\n').length);
      const r = rng(0x7a4d);
      const frames: Uint8Array[] = [];
      const want = { port: {} as Counts, lan: {} as Counts, old: {} as Counts };
      for (const c of CLASSES) {
        for (let i = 0; i < PER_CLASS; i++) frames.push(c.make(i, r));
        want[c.where][c.reason] = (want[c.where][c.reason] ?? 0) + PER_CLASS;
      }
      // Shuffle, so no class arrives as one neat burst.
      for (let i = frames.length - 1; i > 0; i--) {
        const j = Math.floor(r() * (i + 1));
        [frames[i], frames[j]] = [frames[j], frames[i]];
      }
      const t0 = Date.now();
      await inject(lab, lab.clients[0].ns, frames, dir);
      const ms = Date.now() - t0;
      await sleep(500);
      const after = await Promise.all(hs.map((h) => h.status()));
      for (const [k, h] of hs.entries()) {
        assert.is(h.proc.exitCode, null, `r${k + 1} exited:\n${h.output().slice(-2000)}`);
        const b = countsOf(before[k]),
          a = countsOf(after[k]);
        const got = { port: delta(b.port, a.port), lan: delta(b.lan, a.lan), old: delta(b.old, a.old) };
        console.log(
          `  r${k + 1} (${stateOf(after[k], 'lan')}): ${frames.length} frames in ${ms} ms; ` +
            `interface ${JSON.stringify(got.port)}, lan ${JSON.stringify(got.lan)}, old ${JSON.stringify(got.old)}, ` +
            `capture dropped ${capDropped(after[k]) - capDropped(before[k])}`,
        );
        const dropped = capDropped(after[k]) - capDropped(before[k]);
        if (dropped === 0) assert.equal(got, want, `r${k + 1} counts`);
        else {
          // The kernel's capture ring overflowed (a busy machine): what was read is still counted
          // exactly, and read + dropped by the kernel accounts for every frame sent.
          for (const w of ['port', 'lan', 'old'] as const) {
            for (const [reason, n] of Object.entries(got[w]))
              assert.ok(n <= (want[w][reason] ?? 0), `r${k + 1} ${w} ${reason} ${n}`);
          }
          const sum = (c: { port: Counts; lan: Counts; old: Counts }) =>
            [c.port, c.lan, c.old].flatMap((x) => Object.values(x)).reduce((a, b) => a + b, 0);
          assert.is(sum(got) + dropped, frames.length, `r${k + 1}: counted ${sum(got)} + dropped ${dropped}`);
        }
        // No state change: same states, same master, no new transitions.
        for (const name of ['lan', 'old']) {
          const i0 = before[k].instances.find((i) => i.name === name)!,
            i1 = after[k].instances.find((i) => i.name === name)!;
          assert.is(i1.state, i0.state, `r${k + 1} ${name}`);
          assert.is(i1.counters.transitions, i0.counters.transitions, `r${k + 1} ${name} transitions`);
          assert.is(i1.masterIp, i0.masterIp);
          assert.is(i1.effectivePriority, i0.effectivePriority);
        }
        // Per-packet drops are debug-level: at most a few lines logged during the flood.
        const newLines = h.output().split('\n').length - logLines[k];
        assert.ok(newLines <= 10, `r${k + 1} logged ${newLines} lines during the flood`);
      }
      // Then garbage: random bytes in place of the VRRP message (IP header valid, random length).
      // Whatever reason each gets, every one is counted somewhere and none is accepted.
      const junk: Uint8Array[] = [];
      for (let i = 0; i < 1000; i++) {
        const f = frame(
          v3({ addresses: Array.from({ length: 1 + Math.floor(r() * 6) }, (_, k) => `192.0.2.${200 + k}`) }),
        );
        for (let k = VRRP; k < f.length; k++) f[k] = Math.floor(r() * 256);
        junk.push(f);
      }
      const mid = await Promise.all(hs.map((h) => h.status()));
      const total = (st: TandemStatus) => {
        const c = countsOf(st);
        return [c.port, c.lan, c.old].flatMap((x) => Object.values(x)).reduce((a, b) => a + b, 0) + capDropped(st);
      };
      await inject(lab, lab.clients[0].ns, junk, dir);
      await sleep(500);
      const end = await Promise.all(hs.map((h) => h.status()));
      for (const k of [0, 1]) {
        assert.is(hs[k].proc.exitCode, null);
        assert.is(
          total(end[k]) - total(mid[k]),
          junk.length,
          `r${k + 1}: ${JSON.stringify(delta(countsOf(mid[k]).port, countsOf(end[k]).port))}`,
        );
        assert.is(
          end[k].instances.map((i) => i.counters.transitions).join(),
          mid[k].instances.map((i) => i.counters.transitions).join(),
        );
      }
      // The master kept advertising through it all and the backup kept hearing it.
      const sent =
        after[0].instances.find((i) => i.name === 'lan')!.counters.advertsSent -
        before[0].instances.find((i) => i.name === 'lan')!.counters.advertsSent;
      const heard =
        after[1].instances.find((i) => i.name === 'lan')!.counters.advertsReceived -
        before[1].instances.find((i) => i.name === 'lan')!.counters.advertsReceived;
      assert.ok(sent >= ((ms + 500) / 100) * 0.6, `master sent ${sent} adverts in ${ms + 500} ms`);
      assert.ok(heard >= sent - 3, `backup heard ${heard} of ${sent}`);
    } finally {
      await stopAll(hs);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test("spoofed adverts (priority 0 and 255, the other checksum form, a router's address from the wrong MAC, another VLAN) at a pair with accept_from: no change of master, each counted", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-spoof-'));
  await withLab({ routers: 2, clients: 1 }, async (lab) => {
    const hs: TandemHandle[] = [];
    const [r1, r2] = lab.routers;
    const VMAC = '00:00:5e:00:01:33'; // VRID 51: tandem advertises from the virtual MAC
    const accept = `accept_from: [{ address: ${r1.ipv4}, mac: "${VMAC}" }, { address: ${r2.ipv4}, mac: "${VMAC}" }]`;
    const yaml = (priority: number) =>
      instanceYaml({ name: 'lan', ifname: 'eth0', vrid: 51, priority, addresses: [`${VIP}/24`], extra: [accept] });
    try {
      hs.push(await startTandem(lab, r1, yaml(200)));
      hs.push(await startTandem(lab, r2, yaml(100)));
      await waitForStatus(hs[0], (s) => stateOf(s, 'lan') === 'master', 8000);
      await waitForStatus(hs[1], (s) => stateOf(s, 'lan') === 'backup', 8000);
      await sleep(300);
      const before = await Promise.all(hs.map((h) => h.status()));
      const spoof = (src: string, advert: VrrpAdvert, o: { form?: 'vrrp-only'; vlan?: number } = {}) =>
        encodeVrrpFrame({ srcMac: ATTACKER_MAC, family: 4, src, advert, checksumForm: o.form, vlan: o.vlan });
      const N = 150;
      // [what, frame, where counted, reason; at the router whose own address it forges: own-packet]
      const kinds: [string, Uint8Array, 'port' | 'lan', string, string?][] = [
        ['priority 255', spoof(ATTACKER, v3({ priority: 255 })), 'lan', 'source-not-accepted'],
        ['priority 0', spoof(ATTACKER, v3({ priority: 0 })), 'lan', 'source-not-accepted'],
        [
          'the other checksum form',
          spoof(ATTACKER, v3({ priority: 1 }), { form: 'vrrp-only' }),
          'lan',
          'source-not-accepted',
        ],
        [
          "priority 0 as the master's address",
          spoof(r1.ipv4, v3({ priority: 0 })),
          'lan',
          'source-mac-mismatch',
          r1.ipv4,
        ],
        [
          "priority 255 as the backup's address",
          spoof(r2.ipv4, v3({ priority: 255 })),
          'lan',
          'source-mac-mismatch',
          r2.ipv4,
        ],
        ['priority 255, 802.1Q VLAN 7', spoof(ATTACKER, v3({ priority: 255 }), { vlan: 7 }), 'port', 'vlan-tagged'],
      ];
      const frames = Array.from({ length: N }, () => kinds.map((k) => k[1])).flat();
      await inject(lab, lab.clients[0].ns, frames, dir);
      await sleep(500);
      const after = await Promise.all(hs.map((h) => h.status()));
      for (const k of [0, 1]) {
        const i0 = before[k].instances[0],
          i1 = after[k].instances[0];
        assert.is(hs[k].proc.exitCode, null);
        assert.is(i1.state, i0.state, `r${k + 1} state`);
        assert.is(i1.counters.transitions, i0.counters.transitions, `r${k + 1} transitions`);
        assert.is(i1.masterIp, i0.masterIp, `r${k + 1} master`);
        const b = countsOf1(before[k]),
          a = countsOf1(after[k]);
        const got = { port: delta(b.port, a.port), lan: delta(b.lan, a.lan) };
        console.log(
          `  r${k + 1}: ${JSON.stringify(got)}, capture dropped ${capDropped(after[k]) - capDropped(before[k])}`,
        );
        const want: { port: Counts; lan: Counts } = { port: {}, lan: {} };
        for (const [, , where, reason, forged] of kinds) {
          const r = forged === lab.routers[k].ipv4 ? 'own-packet' : reason;
          want[where][r] = (want[where][r] ?? 0) + N;
        }
        if (capDropped(after[k]) === capDropped(before[k])) assert.equal(got, want, `r${k + 1} counts`);
        else
          for (const w of ['port', 'lan'] as const)
            for (const [r, n] of Object.entries(got[w])) assert.ok(n <= (want[w][r] ?? 0));
      }
    } finally {
      await stopAll(hs);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const countsOf1 = (s: TandemStatus) => ({
  port: { ...s.interfaces.find((p) => p.name === 'eth0')!.drops } as Counts,
  lan: { ...s.instances.find((i) => i.name === 'lan')!.counters.drops } as Counts,
});

test.run();
