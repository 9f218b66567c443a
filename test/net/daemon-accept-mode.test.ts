// accept_mode (RFC 5798 6.1) on a real kernel: one router, two instances on one segment, one with
// accept_mode false and one with true, and a client. The master answers ARP for both virtual
// addresses but a ping only to the one that accepts; the filter lives in tandem's nftables table
// while master, is gone after a graceful stop, and a crash's leftover is removed by the next
// start (the journal). Needs root, nftables (libnftables1) and dist/tandem.js (./build.sh).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { withLab } from '../kit/lab.ts';
import type { Lab } from '../kit/lab.ts';
import { instanceYaml, runTandem, startTandem, stateOf, stopAll, waitForStatus } from '../kit/tandem.ts';
import type { TandemHandle, TandemStatus } from '../kit/tandem.ts';
import { writeFileSync, readFileSync } from 'node:fs';

const STRICT_VIP = '192.0.2.201'; // accept_mode: false
const OPEN_VIP = '192.0.2.202'; // accept_mode: true

const body = (strictAccept: boolean) =>
  [
    'instances:',
    instanceYaml({
      name: 'strict',
      ifname: 'eth0',
      vrid: 61,
      priority: 200,
      addresses: [`${STRICT_VIP}/24`],
      extra: [`accept_mode: ${strictAccept}`],
    }),
    instanceYaml({
      name: 'open',
      ifname: 'eth0',
      vrid: 62,
      priority: 200,
      addresses: [`${OPEN_VIP}/24`],
      extra: ['accept_mode: true'],
    }),
  ].join('\n');

const bothMaster = (s: TandemStatus) => stateOf(s, 'strict') === 'master' && stateOf(s, 'open') === 'master';

const ECHO_PY = new URL('../kit/py/echo.py', import.meta.url).pathname;

/** ICMP echo requests for 1 s (test/kit/py/echo.py: no ping binary needed): true when answered. */
async function pings(lab: Lab, ns: string, ip: string): Promise<boolean> {
  const r = await lab.exec(ns, ['python3', ECHO_PY, ip, '1', '1'], { allowFail: true });
  return r.code === 0;
}

/** The client's neighbour entry for `ip`: its MAC once ARP resolved it, else undefined. */
async function arpMac(lab: Lab, ns: string, ip: string): Promise<string | undefined> {
  const rows = JSON.parse((await lab.exec(ns, ['ip', '-j', '-4', 'neigh', 'show', ip])).stdout) as {
    lladdr?: string;
    state?: string[];
  }[];
  const row = rows[0];
  return row && !row.state?.includes('FAILED') ? row.lladdr : undefined;
}

async function tableExists(lab: Lab, ns: string): Promise<boolean> {
  const r = await lab.exec(ns, ['nft', 'list', 'table', 'inet', 'tandem_accept'], { allowFail: true });
  return r.code === 0;
}

test('accept_mode false: no answer to a ping for the VIP but ARP resolves it; true answers; the filter goes on stop and after a crash', async () => {
  await withLab({ routers: 1, clients: 1 }, async (lab) => {
    const r = lab.routers[0];
    const c = lab.clients[0].ns;
    const hs: TandemHandle[] = [];
    try {
      const h = await startTandem(lab, r, body(false));
      hs.push(h);
      await waitForStatus(h, bothMaster, 5000);
      const routerMac = JSON.parse((await lab.exec(r.ns, ['ip', '-j', 'link', 'show', 'dev', 'eth0'])).stdout)[0]
        .address as string;
      assert.ok(await tableExists(lab, r.ns), 'no tandem_accept table while master with accept_mode false');

      assert.ok(await pings(lab, c, OPEN_VIP), 'accept_mode true: the VIP does not answer ping');
      assert.not.ok(await pings(lab, c, STRICT_VIP), 'accept_mode false: the VIP answered a ping');
      // RFC 5798 6.4.3: the master still answers ARP for the address it does not accept for.
      assert.is(await arpMac(lab, c, STRICT_VIP), routerMac, 'ARP for the accept_mode false VIP did not resolve');
      const s = await h.status();
      assert.is(s.instances.find((i) => i.name === 'strict')!.acceptMode, false);

      // Reload to accept_mode true: reconfigured in place, the master drops its filter.
      const header = readFileSync(h.configFile, 'utf8').split('instances:')[0];
      const rewrite = (strictAccept: boolean) => writeFileSync(h.configFile, `${header}${body(strictAccept)}\n`);
      rewrite(true);
      const rl = await h.cmd({ cmd: 'reload' });
      assert.ok(rl.ok, JSON.stringify(rl));
      assert.ok(await pings(lab, c, STRICT_VIP), 'after reload to accept_mode true the VIP does not answer');
      assert.not.ok(await tableExists(lab, r.ns), 'the filter table outlived its last filter');

      // Back to false, then a crash: the filter is left behind; the next start removes it.
      rewrite(false);
      assert.ok((await h.cmd({ cmd: 'reload' })).ok);
      assert.ok(await tableExists(lab, r.ns), 'reload to accept_mode false put no filter in place');
      await h.stop('SIGKILL');
      assert.ok(await tableExists(lab, r.ns), 'a SIGKILL should leave the filter in place');
      rewrite(true);
      const h2 = await runTandem(lab, r, h);
      hs.push(h2);
      assert.not.ok(await tableExists(lab, r.ns), "the crashed run's filter was not removed at start");
      await waitForStatus(h2, bothMaster, 5000);

      // A graceful stop with accept_mode false removes the filter.
      rewrite(false);
      assert.ok((await h2.cmd({ cmd: 'reload' })).ok);
      assert.ok(await tableExists(lab, r.ns));
      assert.is(await h2.stop('SIGTERM'), 0);
      assert.not.ok(await tableExists(lab, r.ns), 'the filter outlived a graceful stop');
    } finally {
      await stopAll(hs);
      await lab.exec(r.ns, ['nft', 'delete', 'table', 'inet', 'tandem_accept'], { allowFail: true });
    }
  });
});

test.run();
