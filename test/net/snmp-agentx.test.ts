// The VRRPv3-MIB (RFC 6527) through a real snmpd (Debian's net-snmp 5.9) as an AgentX master: each
// router runs snmpd in its namespace and tandem registers mib-2.207 with it as a subagent;
// snmpwalk -v2c reads vrrpv3OperationsTable and vrrpv3StatisticsTable by the MIB's own object
// identifiers. The backup's row turns master (3) with vrrpv3StatisticsNewMasterReason
// masterNoResponse (3) when the master's switch port stops forwarding; a restarted snmpd gets the
// registration back. Needs root, dist/tandem.js (./build.sh) and the snmpd and snmp packages.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { withLab, waitFor } from '../kit/lab.ts';
import type { Lab, LabHost } from '../kit/lab.ts';
import { startTandem, instanceYaml, stopAll, waitForStatus, stateOf } from '../kit/tandem.ts';
import type { TandemHandle } from '../kit/tandem.ts';

const VRRPV3 = '1.3.6.1.2.1.207';
const OPS = `${VRRPV3}.1.1.1.1`; // vrrpv3OperationsEntry
const STATS = `${VRRPV3}.1.2.5.1`; // vrrpv3StatisticsEntry
const VRID = 51;
const TAKEOVER_MS = 5_000;
// AgentX reconnects every 5 s; a walk follows within a status push (1 s) after registration.
const MIB_TIMEOUT_MS = 15_000;

function startSnmpd(lab: Lab, h: LabHost, dir: string): ChildProcess {
  const conf = join(dir, 'snmpd.conf');
  writeFileSync(
    conf,
    [
      'agentaddress udp:127.0.0.1:161',
      'master agentx',
      `agentXSocket ${join(dir, 'agentx')}`,
      'rocommunity public 127.0.0.1',
      '',
    ].join('\n'),
  );
  // -C: only this file; -f: foreground; -Lf: log to a file in the private dir.
  return lab.spawn(h.ns, ['snmpd', '-f', '-C', '-c', conf, '-Lf', join(dir, 'snmpd.log'), '-p', join(dir, 'pid')], {
    env: { ...process.env, SNMP_PERSISTENT_DIR: dir },
  });
}

/** OID suffix -> value text, from `snmpwalk -On`. */
async function walk(lab: Lab, h: LabHost, oid: string): Promise<Map<string, string>> {
  const r = await lab.exec(h.ns, ['snmpwalk', '-v2c', '-c', 'public', '-On', '-Oe', '127.0.0.1', oid], {
    allowFail: true,
    timeoutMs: 10_000,
  });
  const out = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const m = /^\.(\S+) = (.*)$/.exec(line);
    if (m?.[1].startsWith(`${oid}.`)) out.set(m[1].slice(oid.length + 1), m[2]);
  }
  return out;
}

const ifIndex = async (lab: Lab, h: LabHost) =>
  JSON.parse((await lab.exec(h.ns, ['ip', '-j', 'link', 'show', 'dev', h.ifname])).stdout)[0].ifindex as number;

test('snmpwalk reads vrrpv3OperationsTable and vrrpv3StatisticsTable; the backup row becomes master on failover', async () => {
  await withLab({ routers: 2, clients: 0 }, async (lab) => {
    const [r1, r2] = lab.routers;
    const dirs = [mkdtempSync(join(tmpdir(), 'tandem-snmp-')), mkdtempSync(join(tmpdir(), 'tandem-snmp-'))];
    const ts: TandemHandle[] = [];
    try {
      startSnmpd(lab, r1, dirs[0]);
      let snmpd2 = startSnmpd(lab, r2, dirs[1]);
      const body = (h: LabHost, d: string, priority: number) =>
        `snmp:\n  agentx: ${join(d, 'agentx')}\ninstances:\n${instanceYaml({ ifname: h.ifname, vrid: VRID, priority, addresses: ['192.0.2.254/24'] })}`;
      ts.push(await startTandem(lab, r1, body(r1, dirs[0], 200)));
      ts.push(await startTandem(lab, r2, body(r2, dirs[1], 100)));
      await waitForStatus(ts[0], (s) => stateOf(s) === 'master', TAKEOVER_MS);
      await waitForStatus(ts[1], (s) => stateOf(s) === 'backup', TAKEOVER_MS);

      // Row index: ifIndex . VRID . InetAddressType ipv4(1)
      const row2 = `${await ifIndex(lab, r2)}.${VRID}.1`;
      const row1 = `${await ifIndex(lab, r1)}.${VRID}.1`;
      const col = async (h: LabHost, entry: string, c: number, row: string) =>
        (await walk(lab, h, entry)).get(`${c}.${row}`);
      assert.ok(
        await waitFor(async () => (await col(r2, OPS, 6, row2)) === 'INTEGER: 2', MIB_TIMEOUT_MS, 250),
        `r2's vrrpv3OperationsStatus is not backup(2): ${JSON.stringify([...(await walk(lab, r2, VRRPV3))])}`,
      );
      const ops1 = await walk(lab, r1, OPS);
      assert.is(ops1.get(`6.${row1}`), 'INTEGER: 3', 'r1 master(3)');
      assert.is(ops1.get(`3.${row1}`), 'Hex-STRING: C0 00 02 0B ', 'MasterIpAddr 192.0.2.11');
      assert.is(ops1.get(`4.${row1}`), 'Hex-STRING: C0 00 02 0B ', 'PrimaryIpAddr');
      assert.is(ops1.get(`5.${row1}`), 'Hex-STRING: 00 00 5E 00 01 33 ', 'VirtualMacAddr 00-00-5E-00-01-{VRID}');
      assert.is(ops1.get(`7.${row1}`), 'Gauge32: 200', 'Priority');
      assert.is(ops1.get(`8.${row1}`), 'INTEGER: 1', 'AddrCount');
      assert.is(ops1.get(`9.${row1}`), 'INTEGER: 10', 'AdvInterval in centiseconds (100 ms)');
      assert.is(ops1.get(`10.${row1}`), 'INTEGER: 1', 'PreemptMode true(1)');
      const stats2 = await walk(lab, r2, STATS);
      assert.is(stats2.get(`1.${row2}`), 'Counter32: 0', 'no master transition yet');
      assert.is(stats2.get(`2.${row2}`), 'INTEGER: 0', 'NewMasterReason notMaster(0)');
      // Counters reach the MIB with the next status push (at most a second later).
      assert.ok(
        await waitFor(
          async () => Number(((await col(r2, STATS, 3, row2)) ?? '').split(': ')[1]) > 0,
          MIB_TIMEOUT_MS,
          250,
        ),
        'RcvdAdvertisements counts the master',
      );

      await lab.linkDown(r1);
      await waitForStatus(ts[1], (s) => stateOf(s) === 'master', TAKEOVER_MS);
      assert.ok(
        await waitFor(async () => (await col(r2, OPS, 6, row2)) === 'INTEGER: 3', MIB_TIMEOUT_MS, 250),
        'r2 master(3) over SNMP',
      );
      const after = await walk(lab, r2, STATS);
      assert.is(after.get(`1.${row2}`), 'Counter32: 1', 'vrrpv3StatisticsMasterTransitions');
      assert.is(after.get(`2.${row2}`), 'INTEGER: 3', 'masterNoResponse(3)');
      assert.is((await walk(lab, r2, OPS)).get(`3.${row2}`), 'Hex-STRING: C0 00 02 0C ', 'MasterIpAddr now 192.0.2.12');

      // snmpd restarts: the subagent registers again by itself.
      snmpd2.kill('SIGTERM');
      await new Promise((r) => snmpd2.once('exit', r));
      snmpd2 = startSnmpd(lab, r2, dirs[1]);
      assert.ok(
        await waitFor(async () => (await col(r2, OPS, 6, row2)) === 'INTEGER: 3', MIB_TIMEOUT_MS, 500),
        'the MIB is back after snmpd restarted',
      );
    } finally {
      await stopAll(ts);
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });
});

test.run();
