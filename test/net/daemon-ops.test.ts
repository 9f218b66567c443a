// The daemon's operational behaviour in a lab of two routers and a client at 100 ms adverts:
// notify scripts (order, a hanging one), reload (SIGHUP and `tandem reload`: no advert gap,
// changed priority, invalid file), a VIP removed by hand, and crash cleanup from the journal.
// Needs root and dist/tandem.js (./build.sh).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withLab, startVrrpCapture, sleep } from '../kit/lab.ts';
import type { Lab } from '../kit/lab.ts';
import { startTandem, runTandem, instanceYaml, waitForStatus, stateOf, stopAll, TANDEM_BIN } from '../kit/tandem.ts';
import type { TandemHandle } from '../kit/tandem.ts';

const VIP = '192.0.2.1';
const ADVERT_MS = 100;

const yaml = (priority: number, extra: Partial<Parameters<typeof instanceYaml>[0]> = {}) =>
  instanceYaml({ ifname: 'eth0', vrid: 51, priority, addresses: [`${VIP}/24`], ...extra });

async function addrs(lab: Lab, ns: string): Promise<string[]> {
  const j = JSON.parse((await lab.exec(ns, ['ip', '-j', 'addr', 'show'])).stdout);
  return j.flatMap((l: { ifname: string; addr_info: { local: string; prefixlen: number }[] }) =>
    l.addr_info.map((a) => `${l.ifname} ${a.local}/${a.prefixlen}`),
  );
}
const count = async (lab: Lab, ns: string, a: string) =>
  (await addrs(lab, ns)).filter((x) => x.split(' ')[1].startsWith(`${a}/`)).length;
async function link(
  lab: Lab,
  ns: string,
  dev: string,
): Promise<{ ifindex: number; address: string; flags: string[] } | undefined> {
  return (
    JSON.parse((await lab.exec(ns, ['ip', '-j', 'link', 'show'])).stdout) as {
      ifname: string;
      ifindex: number;
      address: string;
      flags: string[];
    }[]
  ).find((l) => l.ifname === dev);
}

function tempScript(body: string): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-ops-'));
  const path = join(dir, 'script.sh');
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return { dir, path };
}

/** The interval between successive adverts from `src` in a capture, worst case, in ms. */
function worstGap(rows: { timeMs: number; src: string }[], src: string, fromMs = -Infinity, toMs = Infinity): number {
  const t = rows
    .filter((r) => r.src === src && r.timeMs >= fromMs && r.timeMs <= toMs)
    .map((r) => r.timeMs)
    .sort((a, b) => a - b);
  let worst = 0;
  for (let i = 1; i < t.length; i++) worst = Math.max(worst, t[i] - t[i - 1]);
  return worst;
}

/** `tandem <args>` from the bundle, in the root namespace (the control socket is a file). */
async function cli(lab: Lab, args: string[]) {
  return lab.exec(null, [process.execPath, TANDEM_BIN, ...args], { allowFail: true });
}

test('notify: the script receives INSTANCE STATE for every transition, in order', async () => {
  const { dir, path } = tempScript('echo "$1 $2" >> "$(dirname "$0")/calls"');
  const calls = join(dir, 'calls');
  await withLab({ routers: 2, clients: 0 }, async (lab) => {
    const hs: TandemHandle[] = [];
    try {
      hs.push(await startTandem(lab, lab.routers[0], yaml(200, { extra: [`notify: ${path}`] })));
      hs.push(await startTandem(lab, lab.routers[1], yaml(100)));
      await waitForStatus(hs[0], (s) => stateOf(s) === 'master', 5000);
      await lab.carrierDown(lab.routers[0]);
      await waitForStatus(hs[0], (s) => stateOf(s) === 'fault', 3000);
      await lab.carrierUp(lab.routers[0]);
      await waitForStatus(hs[0], (s) => stateOf(s) === 'master', 3000);
      const want = hs[0]
        .logs()
        .filter((l) => l.msg === 'transition')
        .map((l) => `lan ${l.to}`);
      assert.equal(want.slice(0, 2), ['lan backup', 'lan master']);
      assert.ok(want.includes('lan fault'));
      const deadline = Date.now() + 3000;
      const got = () => (existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : []);
      while (got().length < want.length && Date.now() < deadline) await sleep(50);
      assert.equal(got(), want);
    } finally {
      await stopAll(hs);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('notify: a hanging script is killed at notify_timeout and never delays the protocol', async () => {
  // Records its pid, then hangs far beyond the timeout.
  const { dir, path } = tempScript('echo $$ >> "$(dirname "$0")/pids"; exec sleep 60');
  await withLab({ routers: 1, clients: 0 }, async (lab) => {
    const hs: TandemHandle[] = [];
    try {
      hs.push(await startTandem(lab, lab.routers[0], yaml(200, { extra: [`notify: ${path}`, 'notify_timeout: 1s'] })));
      await waitForStatus(hs[0], (s) => stateOf(s) === 'master', 5000);
      // The first call (backup) hangs; the master's adverts go on regardless.
      const a0 = (await hs[0].status()).instances[0].counters.advertsSent;
      const t0 = Date.now();
      await sleep(800);
      const a1 = (await hs[0].status()).instances[0].counters.advertsSent;
      const t1 = Date.now();
      const expected = (t1 - t0) / ADVERT_MS;
      assert.ok(a1 - a0 >= expected * 0.6, `only ${a1 - a0} adverts in ${Date.now() - t0} ms`);
      // Killed at its timeout: a 'notify script failed' line with timedOut, and the process gone.
      const deadline = Date.now() + 4000;
      while (!hs[0].logs().some((l) => l.msg === 'notify script failed') && Date.now() < deadline) await sleep(50);
      const failed = hs[0].logs().find((l) => l.msg === 'notify script failed');
      assert.ok(failed, 'no timeout logged');
      assert.is(failed!.timedOut, true);
      const pid = Number(readFileSync(join(dir, 'pids'), 'utf8').split('\n')[0]);
      await sleep(1000);
      let alive = true;
      try {
        process.kill(pid, 0);
      } catch {
        alive = false;
      }
      assert.not.ok(alive, `notify script ${pid} still running`);
      // The queue moved on to the next call (master), which hangs too; adverts still flow.
      const s = await hs[0].status();
      assert.is(stateOf(s), 'master');
      const more = s.instances[0].counters.advertsSent - a1,
        ms = Date.now() - t1;
      console.log(`  hanging notify: ${a1 - a0} adverts in the first ${t1 - t0} ms, ${more} in the next ${ms} ms`);
      assert.ok(more >= (ms / ADVERT_MS) * 0.6, `only ${more} adverts in ${ms} ms`);
    } finally {
      await stopAll(hs);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('reload: SIGHUP and `tandem reload` keep an unchanged master advertising with no gap; a changed priority applies; an invalid file is rejected', async () => {
  await withLab({ routers: 2, clients: 1 }, async (lab) => {
    const hs: TandemHandle[] = [];
    const cap = startVrrpCapture(lab, lab.clients[0].ns, 'eth0');
    try {
      await cap.ready;
      hs.push(await startTandem(lab, lab.routers[0], yaml(200)));
      hs.push(await startTandem(lab, lab.routers[1], yaml(100)));
      await waitForStatus(hs[0], (s) => stateOf(s) === 'master', 5000);
      await waitForStatus(hs[1], (s) => stateOf(s) === 'backup', 5000);
      await sleep(500);
      const tReload = Date.now();
      hs[0].proc.kill('SIGHUP');
      let deadline = Date.now() + 3000;
      while (!hs[0].logs().some((l) => l.msg === 'reloaded') && Date.now() < deadline) await sleep(20);
      const r1 = hs[0].logs().find((l) => l.msg === 'reloaded');
      assert.equal(r1?.kept, ['lan']);
      const cr = await cli(lab, ['reload', '--socket', hs[0].socket]);
      assert.is(cr.code, 0, cr.stderr);
      assert.match(cr.stdout, /kept 1, restarted 0/);
      await sleep(500);
      const s = await hs[0].status();
      assert.is(stateOf(s), 'master');
      assert.is(s.instances[0].counters.transitions, 2); // init>backup>master, nothing since
      assert.is(stateOf(await hs[1].status()), 'backup');
      // A changed priority applies, in place (no restart): r2 at 250 preempts.
      writeFileSync(hs[1].configFile, readFileSync(hs[1].configFile, 'utf8').replace('priority: 100', 'priority: 250'));
      const cr2 = await cli(lab, ['reload', '--socket', hs[1].socket]);
      assert.is(cr2.code, 0, cr2.stderr);
      assert.match(cr2.stdout, /kept 1, restarted 0/);
      await waitForStatus(hs[1], (x) => stateOf(x) === 'master' && x.instances[0].priority === 250, 3000);
      await waitForStatus(hs[0], (x) => stateOf(x) === 'backup', 3000);
      // An invalid file: rejected with exit 1, logged, the running config kept (still master, 250).
      const good = readFileSync(hs[1].configFile, 'utf8');
      writeFileSync(hs[1].configFile, good.replace('priority: 250', 'priority: 300'));
      const cr3 = await cli(lab, ['reload', '--socket', hs[1].socket]);
      assert.is(cr3.code, 1);
      assert.match(cr3.stderr, /rejected[\s\S]*instances\[0\]\.priority/);
      assert.ok(hs[1].logs().some((l) => l.msg === 'reload rejected: keeping the running configuration'));
      hs[1].proc.kill('SIGHUP');
      deadline = Date.now() + 3000;
      while (
        hs[1].logs().filter((l) => l.msg?.toString().startsWith('reload rejected')).length < 2 &&
        Date.now() < deadline
      )
        await sleep(20);
      assert.is(hs[1].logs().filter((l) => l.msg?.toString().startsWith('reload rejected')).length, 2);
      await sleep(400);
      const after = await hs[1].status();
      assert.is(stateOf(after), 'master');
      assert.is(after.instances[0].priority, 250);
      assert.is(stateOf(await hs[0].status()), 'backup');
      const rows = (await cap.stop()).filter((r) => r !== null).map((r) => r!);
      // Around both reloads of r1 (SIGHUP, then the CLI), no gap over 2 x the advert interval.
      const gap = worstGap(rows, lab.routers[0].ipv4, tReload - 300, tReload + 1000);
      const gap2 = worstGap(rows, lab.routers[1].ipv4, Date.now() - 1500, Date.now());
      console.log(
        `  reload: r1 worst advert gap around SIGHUP + tandem reload ${gap.toFixed(1)} ms; r2 after rejected reloads ${gap2.toFixed(1)} ms`,
      );
      assert.ok(
        rows.filter((r) => r.src === lab.routers[0].ipv4 && r.timeMs >= tReload - 300 && r.timeMs <= tReload + 1000)
          .length >= 8,
        'too few adverts captured',
      );
      assert.ok(gap > 0 && gap <= 2 * ADVERT_MS, `gap ${gap} ms`);
      assert.ok(gap2 > 0 && gap2 <= 2 * ADVERT_MS, `gap ${gap2} ms`);
    } finally {
      await cap.stop().catch(() => []);
      await stopAll(hs);
    }
  });
});

test('a VIP removed by hand on the master is put back and counted', async () => {
  await withLab({ routers: 1, clients: 0 }, async (lab) => {
    const hs: TandemHandle[] = [];
    try {
      hs.push(await startTandem(lab, lab.routers[0], yaml(200)));
      await waitForStatus(hs[0], (s) => stateOf(s) === 'master', 5000);
      assert.is(await count(lab, lab.routers[0].ns, VIP), 1);
      await lab.exec(lab.routers[0].ns, ['ip', 'addr', 'del', `${VIP}/24`, 'dev', 'eth0']);
      const s = await waitForStatus(hs[0], (x) => x.instances[0].counters.addressesRestored === 1, 3000);
      assert.is(stateOf(s), 'master');
      assert.is(await count(lab, lab.routers[0].ns, VIP), 1);
      assert.ok(hs[0].logs().some((l) => l.msg === 'a virtual address was removed by other software: restored'));
    } finally {
      await stopAll(hs);
    }
  });
});

test('crash cleanup: after SIGKILL, the next start removes the leftover VIPs, macvlan and moved MAC, then rejoins', async () => {
  await withLab({ routers: 2, clients: 0 }, async (lab) => {
    const hs: (TandemHandle | undefined)[] = [];
    const r1 = lab.routers[0];
    try {
      for (const r of lab.routers)
        await lab.exec(r.ns, ['ip', 'addr', 'add', `198.51.100.${10 + r.index}/24`, 'dev', 'eth0']);
      const body = (p: number) =>
        [
          instanceYaml({
            name: 'lan',
            ifname: 'eth0',
            vrid: 51,
            priority: p,
            addresses: [`${VIP}/24`],
            macMode: 'virtual',
          }),
          instanceYaml({
            name: 'mv',
            ifname: 'eth0',
            vrid: 52,
            priority: p,
            addresses: ['198.51.100.1/24'],
            macMode: 'move',
          }),
        ].join('\n');
      const eth0 = (await link(lab, r1.ns, 'eth0'))!;
      const mvl = `vr4.${eth0.ifindex}.51`;
      hs[0] = await startTandem(lab, r1, body(200));
      hs[1] = await startTandem(lab, lab.routers[1], body(100));
      const both = (st: string) => (s: Awaited<ReturnType<TandemHandle['status']>>) =>
        stateOf(s, 'lan') === st && stateOf(s, 'mv') === st;
      await waitForStatus(hs[0], both('master'), 5000);
      await waitForStatus(hs[1], both('backup'), 5000);
      assert.ok(existsSync(join(hs[0].dir, 'state', 'changes.json')), 'no journal while master');
      hs[0].proc.kill('SIGKILL');
      await hs[0].exited;
      // What the crash left behind.
      assert.is((await link(lab, r1.ns, 'eth0'))!.address, '00:00:5e:00:01:34');
      assert.ok((await link(lab, r1.ns, mvl))?.flags.includes('UP'));
      assert.is(await count(lab, r1.ns, VIP), 1);
      assert.is(await count(lab, r1.ns, '198.51.100.1'), 1);
      await waitForStatus(hs[1]!, both('master'), 3000);
      // Restart with a lower priority, so it must come back as a clean backup.
      writeFileSync(
        hs[0].configFile,
        readFileSync(hs[0].configFile, 'utf8').replaceAll('priority: 200', 'priority: 50'),
      );
      const re = await runTandem(lab, r1, hs[0]!);
      hs[0] = re;
      assert.ok(
        re.logs().some((l) => l.msg === 'cleaned up what a previous run left behind'),
        re.output(),
      );
      await waitForStatus(
        hs[0],
        (s) => both('backup')(s) && s.instances.every((i) => i.masterIp === lab.routers[1].ipv4),
        3000,
      );
      assert.is((await link(lab, r1.ns, 'eth0'))!.address, eth0.address, 'MAC not restored');
      assert.is(await count(lab, r1.ns, VIP), 0);
      assert.is(await count(lab, r1.ns, '198.51.100.1'), 0);
      // The macvlan is made afresh for the new run: down, no address.
      const l = await link(lab, r1.ns, mvl);
      assert.ok(l && !l.flags.includes('UP'), JSON.stringify(l));
      // It rejoins fully: back at 200 it preempts, with exactly one copy of each VIP.
      for (const name of ['lan', 'mv'])
        assert.ok((await hs[0].cmd({ cmd: 'set-priority', instance: name, value: 200 })).ok);
      await waitForStatus(hs[0], both('master'), 3000);
      await waitForStatus(hs[1]!, both('backup'), 3000);
      assert.is(await count(lab, r1.ns, VIP), 1);
      assert.is(await count(lab, r1.ns, '198.51.100.1'), 1);
      assert.is((await link(lab, r1.ns, 'eth0'))!.address, '00:00:5e:00:01:34');
      assert.is(await hs[0].stop(), 0);
      assert.is((await link(lab, r1.ns, 'eth0'))!.address, eth0.address);
      assert.is(await link(lab, r1.ns, mvl), undefined);
      assert.not.ok(existsSync(join(hs[0].dir, 'state', 'changes.json')), 'journal left after a clean exit');
    } finally {
      await stopAll(hs);
    }
  });
});

test.run();
