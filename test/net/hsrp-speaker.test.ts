// tandem's HSRP on the wire, in network namespaces. No Cisco router runs here; the peers are:
//  - an independent HSRPv1 router scripted in Python from RFC 2281's state table
//    (test/kit/py/hsrp-speaker.py: scapy builds and parses its messages; it shares no code with
//    tandem), against one tandem daemon: election by priority, preemption with a Coup, silent
//    failure of the active router in both roles (the standby takes over after the Holdtime),
//    graceful Resign on SIGTERM in both roles, and a wrong authentication ignored by both;
//  - tshark's HSRP dissector and scapy's HSRP layer on everything the tandem daemon sent (v1),
//    and tshark on what two tandem daemons send in HSRPv2 over IPv4 and IPv6 with MD5.
//
// Timing (RFC 2281 5.1, 6.2): hello 1 s, hold 3 s (v1 carries whole seconds). A standby declares
// the active router gone Holdtime after the last Hello it heard; that Hello left at most one
// Hellotime before the failure, so a takeover measured from the failure lies in
// [hold - hello, hold], widened by EARLY_MS and MARGIN_MS below (a late Hello, status polling, a
// loaded 2-core machine).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep, withLab } from '../kit/lab.ts';
import type { Lab, LabHost } from '../kit/lab.ts';
import { spawnCollecting, startTandem, stopAll, type TandemHandle } from '../kit/tandem.ts';

const SPEAKER = new URL('../kit/py/hsrp-speaker.py', import.meta.url).pathname;
const VIP = '192.0.2.1';
const GROUP = 7;
const HELLO_S = 1;
const HOLD_S = 3;
const AUTH = 'tandem1';
const MARGIN_MS = 800; // late: status polling, the speaker's 10 ms output poll, a loaded machine
const EARLY_MS = 300; // early: a Hello sent late by a loaded sender leaves a gap above Hellotime

function hsrpYaml(h: LabHost, o: { priority: number; preempt: boolean; auth?: string }): string {
  return [
    '  - name: lan',
    '    protocol: hsrp',
    `    interface: ${h.ifname}`,
    `    group: ${GROUP}`,
    `    priority: ${o.priority}`,
    `    preempt: ${o.preempt}`,
    `    hello_time: ${HELLO_S}s`,
    `    hold_time: ${HOLD_S}s`,
    `    authentication: ${o.auth ?? AUTH}`,
    `    addresses: [${VIP}/24]`,
  ].join('\n');
}

interface Speaker {
  state(): string;
  events(): Record<string, unknown>[];
  /** Monotonic time (performance.now() ms) at which the speaker last entered `state`. */
  enteredAt(state: string): number | undefined;
  stop(): Promise<void>;
  output(): string;
}

/** The Python speaker in `h`'s namespace, once it runs (in Listen: importing scapy can take
 *  seconds on a loaded machine). Its states come from its own JSON lines. */
async function startSpeaker(
  lab: Lab,
  h: LabHost,
  priority: number,
  o: { preempt?: boolean; auth?: string } = {},
): Promise<Speaker> {
  const argv = ['/usr/bin/python3', '-u', SPEAKER, h.ipv4, String(GROUP), String(priority), VIP];
  argv.push(String(HELLO_S), String(HOLD_S), o.auth ?? AUTH, o.preempt ? 'preempt' : 'no');
  const p = spawnCollecting(lab, h, argv);
  const seenAt = new Map<string, number>();
  let parsed = 0;
  const evs: Record<string, unknown>[] = [];
  const refresh = () => {
    const lines = p.output().split('\n');
    for (; parsed < lines.length - 1; parsed++) {
      try {
        const e = JSON.parse(lines[parsed]) as Record<string, unknown>;
        evs.push(e);
        if (e.ev === 'state') seenAt.set(String(e.state), performance.now());
      } catch {
        /* a traceback line: kept in output() */
      }
    }
  };
  // Poll its output often, so the time a state was entered is known to within a few ms.
  const poll = setInterval(refresh, 10);
  const speaker: Speaker = {
    state: () => {
      refresh();
      const s = [...evs].reverse().find((e) => e.ev === 'state');
      return s ? String(s.state) : 'none';
    },
    events: () => {
      refresh();
      return evs;
    },
    enteredAt: (s) => {
      refresh();
      return seenAt.get(s);
    },
    output: () => p.output(),
    stop: async () => {
      p.proc.kill('SIGTERM');
      await Promise.race([p.exited, sleep(3000)]);
      clearInterval(poll);
      refresh();
    },
  };
  const t0 = performance.now();
  while (speaker.state() !== 'Listen') {
    if (performance.now() - t0 > 20_000 || p.proc.exitCode !== null) {
      await speaker.stop();
      throw new Error(`the speaker did not start:\n${p.output().slice(-2000)}`);
    }
    await sleep(20);
  }
  return speaker;
}

async function hsrpState(t: TandemHandle): Promise<string> {
  try {
    return String((await t.status()).instances[0].hsrpState);
  } catch {
    return 'unknown';
  }
}

/** Waits until tandem and the speaker are in the given states; returns the ms it took. */
async function until(what: string, t: TandemHandle, tWant: string, s: Speaker, sWant: string, ms: number) {
  const t0 = performance.now();
  let ts = '';
  while (performance.now() - t0 < ms) {
    ts = await hsrpState(t);
    if (ts === tWant && s.state() === sWant) return performance.now() - t0;
    await sleep(20);
  }
  throw new Error(
    `${what}: tandem ${ts} (want ${tWant}), speaker ${s.state()} (want ${sWant}) after ${ms} ms\n--- speaker ---\n${s.output().slice(-1500)}\n--- tandem ---\n${t.output().slice(-2500)}`,
  );
}

/** Waits until the speaker alone is in `want`; returns the ms it took. */
async function untilSpeaker(s: Speaker, want: string, ms: number): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    if (s.state() === want) return performance.now() - t0;
    await sleep(10);
  }
  throw new Error(`speaker ${s.state()} (want ${want}) after ${ms} ms\n${s.output().slice(-1500)}`);
}

function assertHoldWindow(ms: number, who: string) {
  const lo = (HOLD_S - HELLO_S) * 1000 - EARLY_MS;
  const hi = HOLD_S * 1000 + MARGIN_MS;
  assert.ok(ms >= lo && ms <= hi, `${who} took over ${Math.round(ms)} ms after the failure, want ${lo}..${hi} ms`);
}

async function hasVip(lab: Lab, h: LabHost): Promise<boolean> {
  const r = await lab.exec(h.ns, ['ip', '-4', '-o', 'addr', 'show', 'dev', h.ifname]);
  return r.stdout.includes(` ${VIP}/`);
}

test('tandem against an RFC 2281 speaker: coup, election, silent failure and Resign both ways, wrong authentication', async () => {
  await withLab({ routers: 2, clients: 0, ipv6: false }, async (lab) => {
    const [r1, r2] = lab.routers;
    const dir = mkdtempSync(join(tmpdir(), 'tandem-hsrp-'));
    const pcap = join(dir, 'hsrp.pcap');
    const cap = lab.spawn(lab.switchNs, ['tcpdump', '-U', '-n', '-i', lab.bridge, '-w', pcap, 'udp port 1985']);
    let t: TandemHandle | undefined;
    let s: Speaker | undefined;
    try {
      await sleep(300);
      // 1. The speaker alone: Listen, Speak, Standby, Active after 2 x Holdtime.
      s = await startSpeaker(lab, r2, 100);
      await untilSpeaker(s, 'Active', HOLD_S * 1000 * 2 + 3000);

      // 2. tandem, priority 150 with preempt, hears a lower active router: Coup, and it is active;
      //    the speaker, couped, resigns and ends standby (RFC 2281 6.5 Active j: ABH/4).
      t = await startTandem(lab, r1, hsrpYaml(r1, { priority: 150, preempt: true }));
      await until('coup', t, 'active', s, 'Standby', HOLD_S * 1000 * 2 + 3000);
      assert.ok(
        s.events().some((e) => e.ev === 'rx' && e.op === 'coup' && e.src === r1.ipv4),
        `the speaker received a Coup from tandem: ${JSON.stringify(s.events())}\n${t.output().slice(-3000)}`,
      );
      assert.ok(await hasVip(lab, r1), 'tandem holds the virtual IP');
      const st = (await t.status()).instances[0];
      assert.is(st.state, 'master');
      assert.is(st.counters.drops['bad-auth'] ?? 0, 0);
      assert.ok((st.counters.becameMasterBy as Record<string, number>).preempt >= 1, 'became active by preemption');

      // 3. Silent failure of tandem (its bridge port stops forwarding): the speaker takes over
      //    after the Holdtime.
      const down = performance.now();
      await lab.linkDown(r1);
      await until('speaker takes over', t, 'active', s, 'Active', HOLD_S * 1000 + 5000);
      assertHoldWindow(s.enteredAt('Active')! - down, 'the speaker');

      // 4. tandem comes back: two active routers; the lower (the speaker) gives way (6.5 g), tandem
      //    answers the lower active router with a Coup (6.5 h).
      await lab.linkUp(r1);
      await until('tandem back', t, 'active', s, 'Standby', HOLD_S * 1000 * 2 + 3000);
      assert.ok(await hasVip(lab, r1));

      // 5. Graceful: SIGTERM makes tandem send a Resign; the speaker is active at once.
      await sleep(HELLO_S * 1000); // a Hello or two as the standby before the stop
      const term = performance.now();
      await t.stop('SIGTERM', 5000);
      const took = await untilSpeaker(s, 'Active', 3000);
      assert.ok(
        s.events().some((e) => e.ev === 'rx' && e.op === 'resign' && e.src === r1.ipv4),
        'the speaker received a Resign from tandem',
      );
      assert.ok(s.enteredAt('Active')! - term < HELLO_S * 1000, `took over ${Math.round(took)} ms after SIGTERM`);
      await stopAll([t]);

      // 6. tandem again, priority 150 without preempt: it stays standby under the speaker.
      t = await startTandem(lab, r1, hsrpYaml(r1, { priority: 150, preempt: false }));
      await until('tandem standby', t, 'standby', s, 'Active', HOLD_S * 1000 * 2 + 3000);
      assert.not.ok(await hasVip(lab, r1), 'a standby tandem does not hold the virtual IP');

      // 7. Silent failure of the speaker: tandem takes over after the Holdtime.
      const down2 = performance.now();
      await lab.linkDown(r2);
      let tookT = -1;
      while (performance.now() - down2 < HOLD_S * 1000 + 5000) {
        if ((await hsrpState(t)) === 'active') {
          tookT = performance.now() - down2;
          break;
        }
        await sleep(20);
      }
      assert.ok(tookT >= 0, 'tandem took over');
      assertHoldWindow(tookT, 'tandem');
      assert.ok(await hasVip(lab, r1));
      await lab.linkUp(r2);
      await until('speaker back', t, 'active', s, 'Standby', HOLD_S * 1000 * 2 + 3000);

      // 8. The speaker stops (SIGTERM): its last message is no Resign (it is standby) and tandem
      //    stays active; then it restarts with the wrong authentication text: neither side hears
      //    the other (each counts or logs the mismatch), and both end active.
      await s.stop();
      s = await startSpeaker(lab, r2, 100, { auth: 'wrong' });
      await until('wrong auth', t, 'active', s, 'Active', HOLD_S * 1000 * 2 + 3000);
      await sleep(HELLO_S * 1000);
      assert.is(await hsrpState(t), 'active', 'tandem ignored the speaker');
      assert.ok(
        s.events().some((e) => e.ev === 'bad-auth' && e.src === r1.ipv4),
        'the speaker refused tandem',
      );
      const drops = (await t.status()).instances[0].counters.drops;
      assert.ok((drops['bad-auth'] ?? 0) > 0, `tandem counted bad-auth: ${JSON.stringify(drops)}`);
    } finally {
      await s?.stop();
      await stopAll([t]);
      cap.kill('SIGTERM');
      await sleep(300);
    }

    // Everything tandem sent, judged by tshark and scapy.
    const fields = ['hsrp.version', 'hsrp.opcode', 'hsrp.state', 'hsrp.hellotime', 'hsrp.holdtime', 'hsrp.priority'];
    const more = [
      'hsrp.group',
      'hsrp.virt_ip',
      'ip.ttl',
      'udp.checksum.status',
      '_ws.malformed',
      '_ws.expert.severity',
    ];
    const out = execFileSync(
      'tshark',
      [
        '-n',
        '-r',
        pcap,
        '-Y',
        `ip.src == ${r1.ipv4}`,
        '-o',
        'udp.check_checksum:TRUE',
        '-T',
        'fields',
        '-E',
        'separator=/t',
        ...[...fields, ...more].flatMap((f) => ['-e', f]),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const rows = out
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));
    assert.ok(rows.length > 20, `tandem sent ${rows.length} messages`);
    const ops = new Set(rows.map((r) => r[1]));
    assert.ok(ops.has('0') && ops.has('1') && ops.has('2'), `Hello, Coup and Resign all seen: ${[...ops]}`);
    for (const r of rows) {
      assert.is(r[0], '0', 'version 0');
      assert.ok(['4', '8', '16'].includes(r[2]), `state ${r[2]}`);
      assert.equal(r.slice(3, 5), [String(HELLO_S), String(HOLD_S)]);
      assert.is(r[6], String(GROUP));
      assert.is(r[7], VIP);
      assert.is(r[8], '1', 'TTL 1 (RFC 2281 5.1)');
      assert.is(r[9], '1', 'UDP checksum good');
      assert.is(r[10] ?? '', '', `malformed: ${r.join(' ')}`);
      assert.is(r[11] ?? '', '', `expert info: ${r.join(' ')}`);
    }
    const py = `
import sys
from scapy.all import rdpcap, IP
from scapy.layers.hsrp import HSRP
for p in rdpcap(sys.argv[1]):
    if p[IP].src != sys.argv[2]: continue
    h = p[HSRP]
    print(h.version, h.opcode, h.state, h.hellotime, h.holdtime, h.priority, h.group, h.virtualIP, h.auth.rstrip(b'\\0').decode())
`;
    const sc = execFileSync('/usr/bin/python3', ['-c', py, pcap, r1.ipv4], { encoding: 'utf8' });
    const srows = sc
      .trim()
      .split('\n')
      .map((l) => l.split(' '));
    assert.is(srows.length, rows.length, 'scapy read as many messages as tshark');
    srows.forEach((r, i) => {
      assert.equal(r.slice(0, 8), rows[i].slice(0, 8), `scapy and tshark agree on message ${i}`);
      assert.is(r[8], AUTH, 'the authentication text tandem sends');
    });
    rmSync(dir, { recursive: true, force: true });
  });
});

test('two tandem daemons in HSRPv2 (IPv4 and IPv6, MD5): they elect, and tshark finds nothing malformed', async () => {
  await withLab({ routers: 2, clients: 0 }, async (lab) => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-hsrp2-'));
    const pcap = join(dir, 'hsrp2.pcap');
    const cap = lab.spawn(lab.switchNs, [
      'tcpdump',
      '-U',
      '-n',
      '-i',
      lab.bridge,
      '-w',
      pcap,
      'udp port 1985 or udp port 2029',
    ]);
    const ts: TandemHandle[] = [];
    const v2 = (h: LabHost, prio: number) =>
      [
        '  - name: lan',
        '    protocol: hsrp',
        '    version: 2',
        `    interface: ${h.ifname}`,
        '    group: 4001',
        `    priority: ${prio}`,
        '    hello_time: 100ms',
        '    hold_time: 400ms',
        '    md5_key: tandem-md5',
        `    addresses: [${VIP}/24]`,
        '  - name: lan6',
        '    protocol: hsrp',
        '    version: 2',
        `    interface: ${h.ifname}`,
        '    group: 12',
        `    priority: ${prio}`,
        '    hello_time: 100ms',
        '    hold_time: 400ms',
        '    addresses: [2001:db8:0:66::1/64]',
      ].join('\n');
    try {
      await sleep(300);
      ts.push(await startTandem(lab, lab.routers[0], v2(lab.routers[0], 200)));
      ts.push(await startTandem(lab, lab.routers[1], v2(lab.routers[1], 100)));
      const t0 = performance.now();
      for (;;) {
        const a = (await ts[0].status()).instances.map((i) => i.hsrpState);
        const b = (await ts[1].status()).instances.map((i) => i.hsrpState);
        if (a.every((x) => x === 'active') && b.every((x) => x === 'standby')) break;
        if (performance.now() - t0 > 8000) throw new Error(`v2 election: ${a} / ${b}\n${ts[1].output().slice(-2000)}`);
        await sleep(50);
      }
      const st = await ts[1].status();
      assert.is(st.instances[0].masterIp, lab.routers[0].ipv4);
      for (const i of st.instances) assert.equal(i.counters.drops, {}, `${i.name} dropped nothing`);
      await sleep(500);
    } finally {
      await stopAll(ts);
      cap.kill('SIGTERM');
      await sleep(300);
    }
    const cols = ['hsrp2.version', 'hsrp2.opcode', 'hsrp2.state', 'hsrp2.ipversion', 'hsrp2.group', 'hsrp2.priority'];
    const tail = ['hsrp2.hellotime', 'hsrp2.holdtime', 'udp.checksum.status', '_ws.malformed', '_ws.expert.message'];
    const out = execFileSync(
      'tshark',
      [
        '-n',
        '-r',
        pcap,
        '-o',
        'udp.check_checksum:TRUE',
        '-T',
        'fields',
        '-E',
        'separator=/t',
        ...[...cols, ...tail].flatMap((f) => ['-e', f]),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const rows = out
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));
    assert.ok(rows.length > 20, `${rows.length} HSRPv2 messages`);
    const families = new Set(rows.map((r) => r[3]));
    assert.ok(families.has('4') && families.has('6'), `IPv4 and IPv6 groups seen: ${[...families]}`);
    for (const r of rows) {
      assert.is(r[0], '2');
      assert.ok(['4001', '12'].includes(r[4]), `group ${r[4]}`);
      assert.equal(r.slice(6, 8), ['100', '400'], 'hello and hold time in ms');
      assert.is(r[8], '1', 'UDP checksum good');
      assert.is(r[9] ?? '', '', `malformed: ${r.join(' ')}`);
      // As in hsrp-wire.test.ts: tshark notes TTL 1 towards 224.0.0.102 (a group it does not know
      // as link-local control); nothing else is allowed.
      const notes = (r[10] ?? '').split(',').filter((x) => x && !x.startsWith('"Time To Live" != 255'));
      assert.equal(notes, [], `expert info: ${r.join(' ')}`);
    }
    rmSync(dir, { recursive: true, force: true });
  });
});

test.run();
