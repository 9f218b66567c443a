// State sync through conntrackd in a lab: a client, a stateful NAT firewall pair of two tandem
// appliances (VRRP on LAN and WAN in one sync group, nftables forward ruleset that admits only
// established flows from the server side, source NAT to the WAN VIP, no TCP mid-stream pickup)
// and a server; 20 long-lived TCP connections and a UDP stream through the master. Needs root,
// conntrackd, nft and dist/tandem.js (./build.sh). One lab for the whole file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sleep } from '../kit/lab.ts';
import {
  ADVERT_MS,
  createFirewallLab,
  electPair,
  type FirewallLab,
  failSilently,
  flushConntrack,
  groupState,
  stopFirewalls,
  type TandemHandle,
  waitForStatus,
  startFlows,
  survivors,
  syncOf,
  waitReplicated,
} from '../../lab/state-sync.ts';

const TCP = 20;
const FLOWS = TCP + 1; // and the UDP stream
/** RFC 5798 6.1: Master_Down_Interval = 3 x Master_Adver_Interval + Skew_Time (priority 100). */
const MASTER_DOWN_MS = 3 * ADVERT_MS + ((256 - 100) * ADVERT_MS) / 256;
/** Failover on a loaded 2-core box: Master_Down_Interval + 300 ms for the loop, the commit of
 *  the external cache (one conntrackd call) and the gratuitous ARP. */
const FAILOVER_MS = MASTER_DOWN_MS + 300;
/** No flow may stall longer than the failover plus one TCP retransmission: the retransmission
 *  timer runs from the last loss, at least 200 ms (Linux TCP_RTO_MIN) and doubling, so the one
 *  that follows a failover of F ms comes at most about 2F + 200 ms after the first loss. */
const GAP_BOUND_MS = 2 * FAILOVER_MS + 200;

let f: FirewallLab | undefined;
const handles: TandemHandle[] = [];

test.before(async () => {
  f = await createFirewallLab();
});
test.after(async () => {
  await stopFirewalls(handles);
  await f?.destroy();
});

let t0 = 0;
test.before.each(() => {
  t0 = Date.now();
});
test.after.each(() => {
  console.log(`  (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
});

async function reset(): Promise<void> {
  await stopFirewalls(handles.splice(0));
  await failSilently(f!, 0, false);
  await flushConntrack(f!);
}

test('sync off: a silent failure of the master loses the connections (the test can fail)', async () => {
  try {
    const [h1, h2] = await electPair(f!, null);
    handles.push(h1, h2);
    const flows = await startFlows(f!, TCP);
    await sleep(500);
    await failSilently(f!, 0);
    await waitForStatus(h2, (s) => groupState(s) === 'master', 3_000);
    await sleep(2_000);
    const r = survivors(await flows.report(), GAP_BOUND_MS);
    console.log(`  sync off: ${r.tcp}/${TCP} TCP and UDP ${r.udp ? 'kept' : 'lost'}`);
    assert.ok(r.tcp < TCP / 2, `without state sync most connections must be lost, kept ${r.tcp}`);
    assert.not.ok(r.udp, 'the server-to-client stream needs the state on the new master');
  } finally {
    await reset();
  }
});
for (const family of [4, 6] as const)
  test(`sync on (sync link over IPv${family}): every connection survives a silent failure of the master`, async () => {
    try {
      const sync = { family };
      const [h1, h2] = await electPair(f!, sync);
      handles.push(h1, h2);
      const flows = await startFlows(f!, TCP);
      await waitReplicated(h2, FLOWS);
      await failSilently(f!, 0);
      await waitForStatus(h2, (s) => groupState(s) === 'master', 3_000);
      await sleep(2_000);
      const rep = await flows.report();
      const r = survivors(rep, GAP_BOUND_MS);
      console.log(
        `  sync on, IPv${family} link: ${r.tcp}/${TCP} TCP and UDP ${r.udp ? 'kept' : 'lost'}; worst gap ${r.worstGapMs} ms (bound ${GAP_BOUND_MS} ms)`,
      );
      assert.is(r.tcp, TCP, JSON.stringify(rep));
      assert.ok(r.udp, JSON.stringify(rep.udp));
      const s2 = syncOf(await h2.status());
      assert.is(s2?.role, 'master');
      assert.equal(s2?.lastSequence?.failed, [], 'commit, flush, resync and bulk send all succeeded');
    } finally {
      await reset();
    }
  });
test('conntrackd killed: restarted and reported; then a graceful handoff and the old master back after a resync keep every connection', async () => {
  try {
    const [h1, h2] = await electPair(f!, {});
    handles.push(h1, h2);
    const flows = await startFlows(f!, TCP);
    await waitReplicated(h2, FLOWS);
    // conntrackd on the backup dies; tandem restarts it, which then asks the master for a resync.
    const pid = syncOf(await h2.status())?.conntrackdPid;
    assert.ok(pid, 'fw2 runs conntrackd');
    process.kill(pid!, 'SIGKILL');
    const after = await waitForStatus(
      h2,
      (s) => syncOf(s)?.restarts === 1 && syncOf(s)?.reachable === true && (syncOf(s)?.externalCache ?? 0) >= FLOWS,
      10_000,
    );
    assert.is.not(syncOf(after)?.conntrackdPid, pid);
    assert.match(h2.output(), /conntrackd exited; restarting it/);
    assert.match(h2.output(), /state-sync-conntrackd-restarted|conntrackd restarted/);
    // Graceful handoff: SIGTERM on the master; fw2 takes over with the state replicated after the restart.
    await h1.stop('SIGTERM');
    await waitForStatus(h2, (s) => groupState(s) === 'master', 3_000);
    // The old master comes back: it holds preemption until fw2 has resynced it, then takes over.
    const back = await h1.restart();
    handles[0] = back;
    const early = await waitForStatus(back, (s) => groupState(s) === 'backup', 3_000);
    assert.ok(syncOf(early)?.preemptHeld, 'a returning node holds preemption until it has the state');
    await waitForStatus(back, (s) => groupState(s) === 'master', 15_000);
    assert.match(
      back.output(),
      /"why":"resynced"[^\n]*preemption hold ended|preemption hold ended[^\n]*"why":"resynced"/,
    );
    await waitForStatus(h2, (s) => groupState(s) === 'backup', 3_000);
    await sleep(1_500);
    const rep = await flows.report();
    const r = survivors(rep, GAP_BOUND_MS);
    console.log(
      `  restart + handoff + return: ${r.tcp}/${TCP} TCP and UDP ${r.udp ? 'kept' : 'lost'}; worst gap ${r.worstGapMs} ms`,
    );
    assert.is(r.tcp, TCP, JSON.stringify(rep));
    assert.ok(r.udp, JSON.stringify(rep.udp));
  } finally {
    await reset();
  }
});
test('bad input: a sync link down at start and garbage on the sync port are reported; VRRP and replication go on', async () => {
  try {
    const [r1, r2] = f!.fw;
    await f!.lab.exec(r2.ns, ['ip', 'link', 'set', 'sync0', 'down']);
    const sync = { stallAfter: '1s', stallPenalty: 50 };
    const [h1, h2] = await electPair(f!, sync);
    handles.push(h1, h2);
    const stalled = await waitForStatus(h2, (s) => syncOf(s)?.stalled === true, 5_000);
    assert.is(syncOf(stalled)?.connected, false);
    assert.match(h2.output(), /state sync stalled/);
    // stall_penalty 50 works like a failed track with weight -50.
    await waitForStatus(h2, (s) => s.instances.every((i) => i.effectivePriority === 50), 2_000);
    await f!.lab.exec(r2.ns, ['ip', 'link', 'set', 'sync0', 'up']);
    await waitForStatus(h2, (s) => syncOf(s)?.connected === true && syncOf(s)?.stalled === false, 5_000);
    await waitForStatus(h2, (s) => s.instances.every((i) => i.effectivePriority === 100), 2_000);
    const before = await h2.status();
    // Garbage from the sync link (the peer's address, another port) to conntrackd's port.
    await f!.lab.exec(r1.ns, [
      'python3',
      '-c',
      "import os,socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor i in range(50): s.sendto(os.urandom(8+i),('198.51.100.2',3780))",
    ]);
    const hit = await waitForStatus(h2, (s) => (syncOf(s)?.malformedMessages ?? 0) > 0, 5_000);
    assert.is(groupState(hit), 'backup');
    assert.is(groupState(await h1.status()), 'master');
    assert.equal(
      hit.instances.map((i) => i.counters.transitions),
      before.instances.map((i) => i.counters.transitions),
      'no VRRP transition',
    );
    // Replication still works after the garbage.
    const flows = await startFlows(f!, 5);
    await waitReplicated(h2, 6);
    assert.ok(syncOf(await h2.status())?.connected);
    await flows.report();
  } finally {
    await f!.lab.exec(f!.fw[1].ns, ['ip', 'link', 'set', 'sync0', 'up']);
    await reset();
  }
});

test.run();
