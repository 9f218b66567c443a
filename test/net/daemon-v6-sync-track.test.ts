// The daemon with IPv6 virtual addresses, a sync group of two instances, and a track script with
// weight and rise/fall, in a lab of two routers and a client at 100 ms adverts. Needs root and
// dist/tandem.js (./build.sh).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withLab, startVrrpCapture, sleep } from '../kit/lab.ts';
import type { Lab } from '../kit/lab.ts';
import { startTandem, instanceYaml, waitForStatus, stateOf, stopAll } from '../kit/tandem.ts';
import type { TandemHandle, TandemStatus } from '../kit/tandem.ts';

async function addrsOf(
  lab: Lab,
  ns: string,
  dev = 'eth0',
): Promise<{ local: string; prefixlen: number; scope: string }[]> {
  return JSON.parse((await lab.exec(ns, ['ip', '-j', 'addr', 'show', 'dev', dev])).stdout)[0].addr_info;
}
const holds = async (lab: Lab, ns: string, a: string) => (await addrsOf(lab, ns)).some((x) => x.local === a);
const macOf = async (lab: Lab, ns: string) =>
  JSON.parse((await lab.exec(ns, ['ip', '-j', 'link', 'show', 'dev', 'eth0'])).stdout)[0].address as string;
const prio = (s: TandemStatus, name = 'lan') => s.instances.find((i) => i.name === name)!.effectivePriority;

test("IPv6 VIPs (link-local first): adverts from the router's own link-local, failover, unsolicited NAs update the client", async () => {
  const VIP6 = '2001:db8::51';
  await withLab({ routers: 2, clients: 1 }, async (lab) => {
    const hs: TandemHandle[] = [];
    const y = (p: number) =>
      instanceYaml({ ifname: 'eth0', vrid: 51, priority: p, addresses: ['fe80::51', `${VIP6}/64`] });
    // Unsolicited NAs (ICMPv6 type 136) seen by the client.
    const na = lab.spawn(lab.clients[0].ns, [
      'tshark',
      '-n',
      '-l',
      '-i',
      'eth0',
      '-f',
      'icmp6 and ip6[40] == 136',
      '-T',
      'fields',
      '-e',
      'eth.src',
      '-e',
      'ipv6.src',
      '-e',
      'icmpv6.nd.na.target_address',
      '-e',
      'icmpv6.nd.na.flag.o',
    ]);
    let naOut = '',
      naErr = '';
    na.stdout?.on('data', (d: Buffer) => {
      naOut += d.toString();
    });
    na.stderr?.on('data', (d: Buffer) => {
      naErr += d.toString();
    });
    const cap = startVrrpCapture(lab, lab.clients[0].ns, 'eth0');
    try {
      await cap.ready;
      const capDeadline = Date.now() + 15_000;
      while (!naErr.includes('Capturing on') && Date.now() < capDeadline) await sleep(50);
      hs.push(await startTandem(lab, lab.routers[0], y(200)));
      hs.push(await startTandem(lab, lab.routers[1], y(100)));
      await waitForStatus(hs[0], (s) => stateOf(s) === 'master', 5000);
      await waitForStatus(hs[1], (s) => stateOf(s) === 'backup', 5000);
      assert.ok(await holds(lab, lab.routers[0].ns, VIP6));
      assert.ok(await holds(lab, lab.routers[0].ns, 'fe80::51'));
      assert.not.ok(await holds(lab, lab.routers[1].ns, VIP6));
      // The client resolves the VIP (a UDP datagram makes it send an NS).
      const poke = [
        'python3',
        '-c',
        `import socket; socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).sendto(b"x", ("${VIP6}", 9))`,
      ];
      await lab.exec(lab.clients[0].ns, poke);
      const neigh = async () =>
        JSON.parse((await lab.exec(lab.clients[0].ns, ['ip', '-j', '-6', 'neigh', 'show', VIP6])).stdout)[0]?.lladdr;
      const mac = [await macOf(lab, lab.routers[0].ns), await macOf(lab, lab.routers[1].ns)];
      let deadline = Date.now() + 2000;
      while ((await neigh()) !== mac[0] && Date.now() < deadline) await sleep(50);
      assert.is(await neigh(), mac[0]);
      await sleep(1000); // adverts to capture
      await lab.linkDown(lab.routers[0]);
      await waitForStatus(hs[1], (s) => stateOf(s) === 'master', 3000);
      assert.ok(await holds(lab, lab.routers[1].ns, VIP6));
      // RFC 4861 7.2.6: the override flag makes the client replace its entry without asking.
      deadline = Date.now() + 2000;
      while ((await neigh()) !== mac[1] && Date.now() < deadline) await sleep(50);
      assert.is(await neigh(), mac[1], 'client still points at the old master');
      await sleep(300);
      const rows = (await cap.stop()).filter((r) => r !== null);
      const ll = await Promise.all(
        lab.routers.map(
          async (r) =>
            (await addrsOf(lab, r.ns)).find(
              (a) => a.scope === 'link' && a.local.startsWith('fe80:') && a.local !== 'fe80::51',
            )!.local,
        ),
      );
      const v6 = rows.filter((r) => r!.family === 'ipv6' && r!.vrid === 51);
      assert.ok(v6.length >= 8, `only ${v6.length} IPv6 adverts`);
      // RFC 5798 5.1.2.1: the source is the interface's own link-local, never the virtual one.
      const srcs = new Set(v6.map((r) => r!.src));
      assert.equal([...srcs].sort(), [...ll].sort());
      assert.ok(v6.every((r) => r!.ttl === 255 && r!.checksumStatus !== 'bad'));
      assert.ok(v6.every((r) => r!.addresses[0] === 'fe80::51' && r!.addresses[1] === VIP6));
      // SIGINT makes tshark print what dumpcap handed it so far, then exit.
      const naDone = new Promise<void>((res) => {
        if (na.exitCode !== null) res();
        else na.once('exit', () => res());
      });
      if (na.pid)
        try {
          process.kill(-na.pid, 'SIGINT');
        } catch {
          /* gone */
        }
      await Promise.race([naDone, sleep(5000)]);
      const nas = naOut
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => l.split('\t'));
      const fromR2 = nas.filter((f) => f[0] === mac[1] && f[2] === VIP6);
      console.log(
        `  IPv6: ${v6.length} adverts from ${[...srcs].join(', ')}; ${nas.length} NAs, ${fromR2.length} from r2 for ${VIP6}`,
      );
      assert.ok(fromR2.length >= 1, `no unsolicited NA from r2 for ${VIP6}:\n${naOut}`);
      assert.ok(
        fromR2.every((f) => f[1] === ll[1]),
        "NA not sourced from r2's link-local",
      );
      assert.ok(
        fromR2.some((f) => f[3] === '1' || f[3] === 'True'),
        'NA without the override flag',
      );
    } finally {
      await cap.stop().catch(() => []);
      if (na.pid)
        try {
          process.kill(-na.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      await stopAll(hs);
    }
  });
});

test('sync group: a fault (tracked interface, no weight) and a priority loss (weight -150) on one instance each move both instances', async () => {
  await withLab({ routers: 2, clients: 0 }, async (lab) => {
    const hs: TandemHandle[] = [];
    const dummy = `${lab.name}trk`;
    try {
      // A second subnet for VRID 52's address on the same segment.
      for (const r of lab.routers)
        await lab.exec(r.ns, ['ip', 'addr', 'add', `198.51.100.${10 + r.index}/24`, 'dev', 'eth0']);
      // No dummy module in these kernels: a veth pair inside r1's namespace is the tracked link.
      await lab.exec(lab.routers[0].ns, ['ip', 'link', 'add', dummy, 'type', 'veth', 'peer', 'name', `${dummy}p`]);
      await lab.exec(lab.routers[0].ns, ['ip', 'link', 'set', `${dummy}p`, 'up']);
      await lab.exec(lab.routers[0].ns, ['ip', 'link', 'set', dummy, 'up']);
      // A second tracked link whose loss costs lan 150 (200 -> 50, below r2's 100): a priority cause.
      const weighted = `${lab.name}tw`;
      await lab.exec(lab.routers[0].ns, [
        'ip',
        'link',
        'add',
        weighted,
        'type',
        'veth',
        'peer',
        'name',
        `${weighted}p`,
      ]);
      await lab.exec(lab.routers[0].ns, ['ip', 'link', 'set', `${weighted}p`, 'up']);
      await lab.exec(lab.routers[0].ns, ['ip', 'link', 'set', weighted, 'up']);
      const body = (p: number, track: boolean) =>
        [
          'instances:',
          instanceYaml({
            name: 'lan',
            ifname: 'eth0',
            vrid: 51,
            priority: p,
            addresses: ['192.0.2.1/24'],
            extra: track ? ['track:', `  interfaces: [{ name: ${dummy} }, { name: ${weighted}, weight: -150 }]`] : [],
          }),
          instanceYaml({ name: 'wan', ifname: 'eth0', vrid: 52, priority: p, addresses: ['198.51.100.1/24'] }),
          'sync_groups:',
          '  - name: gw',
          '    instances: [lan, wan]',
        ].join('\n');
      hs.push(await startTandem(lab, lab.routers[0], body(200, true)));
      hs.push(await startTandem(lab, lab.routers[1], body(100, false)));
      const both = (st: string) => (s: TandemStatus) => stateOf(s, 'lan') === st && stateOf(s, 'wan') === st;
      await waitForStatus(hs[0], both('master'), 5000);
      await waitForStatus(hs[1], both('backup'), 5000);
      await lab.exec(lab.routers[0].ns, ['ip', 'link', 'set', dummy, 'down']);
      await waitForStatus(hs[1], both('master'), 3000);
      const s = await waitForStatus(
        hs[0],
        (x) => stateOf(x, 'lan') === 'fault' && stateOf(x, 'wan') === 'backup',
        3000,
      );
      assert.equal(s.instances.find((i) => i.name === 'lan')!.trackedDown, [dummy]);
      assert.is(prio(s, 'wan'), 0);
      await sleep(500);
      assert.ok(both('master')(await hs[1].status()), 'r2 lost an instance');
      assert.not.ok(await holds(lab, lab.routers[0].ns, '192.0.2.1'));
      assert.not.ok(await holds(lab, lab.routers[0].ns, '198.51.100.1'));
      assert.ok(await holds(lab, lab.routers[1].ns, '192.0.2.1'));
      assert.ok(await holds(lab, lab.routers[1].ns, '198.51.100.1'));
      // Back up: both return to r1 together.
      await lab.exec(lab.routers[0].ns, ['ip', 'link', 'set', dummy, 'up']);
      await waitForStatus(hs[0], both('master'), 3000);
      await waitForStatus(hs[1], both('backup'), 3000);

      // Priority: lan alone loses 150 and r2 preempts it; wan carries the same change and goes
      // with it (keepalived's vrrp_sync_group), so no router is master of one and not the other.
      await lab.exec(lab.routers[0].ns, ['ip', 'link', 'set', weighted, 'down']);
      await waitForStatus(hs[1], both('master'), 3000);
      const p = await waitForStatus(hs[0], both('backup'), 3000);
      assert.is(prio(p, 'lan'), 50);
      assert.is(prio(p, 'wan'), 50, 'wan did not carry the group change');
      await sleep(500);
      assert.ok(both('backup')(await hs[0].status()), 'r1 split after the priority change');
      assert.ok(both('master')(await hs[1].status()), 'r2 split after the priority change');
      assert.ok(await holds(lab, lab.routers[1].ns, '192.0.2.1'));
      assert.ok(await holds(lab, lab.routers[1].ns, '198.51.100.1'));
      assert.not.ok(await holds(lab, lab.routers[0].ns, '198.51.100.1'));
      // The priority returns: r1 preempts both back.
      await lab.exec(lab.routers[0].ns, ['ip', 'link', 'set', weighted, 'up']);
      await waitForStatus(hs[0], both('master'), 3000);
      await waitForStatus(hs[1], both('backup'), 3000);
    } finally {
      await stopAll(hs);
    }
  });
});

test('track script weight -150 moves mastership; with rise/fall 2 a single failed run does not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-track-'));
  const script = join(dir, 'check.sh');
  const rcFile = join(dir, 'rc'),
    onceFile = join(dir, 'once');
  writeFileSync(rcFile, '0');
  // Exit code from a file; "once" makes exactly one run fail.
  writeFileSync(
    script,
    `#!/bin/sh\nif [ -e ${onceFile} ]; then rm -f ${onceFile}; exit 1; fi\nexit $(cat ${rcFile})\n`,
  );
  chmodSync(script, 0o755);
  await withLab({ routers: 2, clients: 0 }, async (lab) => {
    const hs: TandemHandle[] = [];
    try {
      const track = [
        'track:',
        '  scripts:',
        `    - { run: ${script}, interval: 200ms, timeout: 200ms, rise: 2, fall: 2, weight: -150 }`,
      ];
      hs.push(
        await startTandem(
          lab,
          lab.routers[0],
          instanceYaml({ ifname: 'eth0', vrid: 51, priority: 200, addresses: ['192.0.2.1/24'], extra: track }),
        ),
      );
      hs.push(
        await startTandem(
          lab,
          lab.routers[1],
          instanceYaml({ ifname: 'eth0', vrid: 51, priority: 100, addresses: ['192.0.2.1/24'] }),
        ),
      );
      await waitForStatus(hs[0], (s) => stateOf(s) === 'master' && prio(s) === 200, 5000);
      await waitForStatus(hs[1], (s) => stateOf(s) === 'backup', 5000);
      // One failed run (fall 2): nothing moves.
      writeFileSync(onceFile, '');
      const t0 = Date.now();
      while (existsSync(onceFile) && Date.now() - t0 < 3000) await sleep(20);
      assert.not.ok(existsSync(onceFile), 'the script never ran');
      await sleep(1200); // several more runs
      let s = await hs[0].status();
      assert.is(stateOf(s), 'master');
      assert.is(prio(s), 200);
      assert.equal(s.instances[0].failedScripts, []);
      assert.is(s.instances[0].counters.transitions, 2); // init>backup>master only
      assert.is(s.instances[0].counters.becameMaster, 1);
      // Failing for good: after two runs priority 200 - 150 = 50 < 100, r2 preempts.
      writeFileSync(rcFile, '1');
      await waitForStatus(hs[1], (x) => stateOf(x) === 'master', 3000);
      s = await waitForStatus(hs[0], (x) => stateOf(x) === 'backup', 2000);
      assert.is(prio(s), 50);
      assert.equal(s.instances[0].failedScripts, [script]);
      // Healthy again (rise 2): r1 back to 200 and preempts.
      writeFileSync(rcFile, '0');
      await waitForStatus(hs[0], (x) => stateOf(x) === 'master' && prio(x) === 200, 3000);
      await waitForStatus(hs[1], (x) => stateOf(x) === 'backup', 2000);
    } finally {
      await stopAll(hs);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test.run();
