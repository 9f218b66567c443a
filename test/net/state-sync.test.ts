// State sync through conntrackd in a lab: a client, a stateful NAT firewall pair of two tandem
// appliances (VRRP on LAN and WAN in one sync group, nftables forward ruleset that admits only
// established flows from the server side, source NAT to the WAN VIP, no TCP mid-stream pickup)
// and a server; 20 long-lived TCP connections and a UDP stream through the master. Needs root,
// conntrackd, nft and dist/tandem.js (./build.sh). One lab for the whole file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sleep } from '../kit/lab.ts';
import { stopAll, type TandemHandle, waitForStatus } from '../kit/tandem.ts';
import {
  ADVERT_MS,
  createFirewallLab,
  electPair,
  type FirewallLab,
  failSilently,
  flushConntrack,
  groupState,
  startFirewall,
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
  await stopAll(handles);
  await f?.destroy();
});

async function reset(): Promise<void> {
  await stopAll(handles.splice(0));
  await failSilently(f!, 0, false);
  await flushConntrack(f!);
}

test('sync off: a silent failure of the master loses the connections (the test can fail)', async () => {
  const [h1, h2] = await electPair(f!, null);
  handles.push(h1, h2);
  const flows = await startFlows(f!, TCP);
  await sleep(500);
  await failSilently(f!, 0);
  await waitForStatus(h2, (s) => groupState(s) === 'master', 3_000);
  await sleep(2_500);
  const r = survivors(await flows.report(), GAP_BOUND_MS);
  console.log(`  sync off: ${r.tcp}/${TCP} TCP and UDP ${r.udp ? 'kept' : 'lost'}`);
  assert.ok(r.tcp < TCP / 2, `without state sync most connections must be lost, kept ${r.tcp}`);
  assert.not.ok(r.udp, 'the server-to-client stream needs the state on the new master');
  await reset();
});

test('sync on: every connection survives a silent failure of the master', async () => {
  const sync = {};
  const [h1, h2] = await electPair(f!, sync);
  handles.push(h1, h2);
  const flows = await startFlows(f!, TCP);
  await waitReplicated(h2, FLOWS);
  await failSilently(f!, 0);
  await waitForStatus(h2, (s) => groupState(s) === 'master', 3_000);
  await sleep(2_500);
  const rep = await flows.report();
  const r = survivors(rep, GAP_BOUND_MS);
  console.log(`  sync on: ${r.tcp}/${TCP} TCP and UDP ${r.udp ? 'kept' : 'lost'}; worst gap ${r.worstGapMs} ms (bound ${GAP_BOUND_MS} ms)`);
  assert.is(r.tcp, TCP, JSON.stringify(rep));
  assert.ok(r.udp, JSON.stringify(rep.udp));
  const s2 = syncOf(await h2.status());
  assert.is(s2?.role, 'master');
  await reset();
});

test.run();
