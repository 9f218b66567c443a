// The lab topology against the real kernel: namespaces, bridge, veths, addresses, the two
// failure modes, and a teardown that leaves nothing behind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  createLab,
  destroyAllWithPrefix,
  listNamespaces,
  randomPrefix,
  startProber,
  waitFor,
  sleep,
} from '../kit/lab.ts';
import type { Lab } from '../kit/lab.ts';

const ours = (prefix: string) => listNamespaces().filter((n) => n.startsWith(`${prefix}-`));

/** Replies from `target` seen by a short prober run in `ns`. */
async function reachable(lab: Lab, ns: string, target: string, ms = 300): Promise<number> {
  const p = startProber(lab, ns, target, { intervalMs: 5 });
  await p.ready;
  await sleep(ms);
  return (await p.stop()).received;
}

test('a 2-router, 1-client lab has the documented names and addresses and is gone after destroy', async () => {
  const prefix = randomPrefix();
  const lab = await createLab({ routers: 2, clients: 1, prefix });
  try {
    assert.equal(ours(prefix).sort(), [`${prefix}-c1`, `${prefix}-r1`, `${prefix}-r2`, `${prefix}-sw`]);
    assert.is(lab.name, prefix);
    assert.equal(
      lab.routers.map((r) => [r.ns, r.ifname, r.ipv4, r.ipv6, r.bridgePort]),
      [
        [`${prefix}-r1`, 'eth0', '192.0.2.11', '2001:db8::11', `${prefix}r1`],
        [`${prefix}-r2`, 'eth0', '192.0.2.12', '2001:db8::12', `${prefix}r2`],
      ],
    );
    assert.is(lab.clients[0].ipv4, '192.0.2.101');
    for (const h of [...lab.routers, ...lab.clients]) assert.ok(h.ns.length <= 15 && h.bridgePort.length <= 15);

    const addrs = JSON.parse((await lab.exec(lab.routers[0].ns, ['ip', '-j', 'addr', 'show', 'dev', 'eth0'])).stdout);
    const locals = addrs[0].addr_info.map((a: { local: string; prefixlen: number }) => `${a.local}/${a.prefixlen}`);
    assert.ok(locals.includes('192.0.2.11/24') && locals.includes('2001:db8::11/64'), locals.join(' '));
    // No address is left tentative: DAD is off on the lab links.
    assert.not.ok(
      addrs[0].addr_info.some((a: { tentative?: boolean }) => a.tentative),
      'tentative address',
    );

    const br = JSON.parse(
      (await lab.exec(lab.switchNs, ['ip', '-j', '-d', 'link', 'show', 'dev', lab.bridge])).stdout,
    )[0];
    assert.is(br.linkinfo.info_data.mcast_snooping, 0);
    assert.is(br.linkinfo.info_data.stp_state, 0);

    const sys = (
      await lab.exec(lab.routers[0].ns, [
        'sh',
        '-c',
        'cat /proc/sys/net/ipv4/conf/all/arp_ignore /proc/sys/net/ipv4/conf/all/arp_announce',
      ])
    ).stdout.split('\n');
    assert.equal(sys.slice(0, 2), ['1', '2']);

    assert.ok((await reachable(lab, lab.clients[0].ns, '192.0.2.11')) > 0, 'client reaches router 1');
    assert.ok((await reachable(lab, lab.clients[0].ns, '192.0.2.12')) > 0, 'client reaches router 2');
  } finally {
    await lab.destroy();
  }
  assert.equal(ours(prefix), [], 'namespaces left behind');
  await lab.destroy(); // idempotent
});

test('linkDown silences a router while its carrier stays up; linkUp restores it', async () => {
  const lab = await createLab({ routers: 1, clients: 1 });
  try {
    const r = lab.routers[0];
    const c = lab.clients[0].ns;
    assert.ok((await reachable(lab, c, r.ipv4)) > 0);
    await lab.linkDown(r);
    assert.is(await reachable(lab, c, r.ipv4), 0, 'traffic passed a disabled port');
    const link = JSON.parse((await lab.exec(r.ns, ['ip', '-j', 'link', 'show', 'dev', r.ifname])).stdout)[0];
    assert.ok(link.flags.includes('LOWER_UP'), 'the router should still see carrier');
    await lab.linkUp(r);
    assert.ok(
      await waitFor(async () => (await reachable(lab, c, r.ipv4, 200)) > 0, 5000),
      'not reachable after linkUp',
    );
  } finally {
    await lab.destroy();
  }
});

test('carrierDown takes the router-side link down; carrierUp brings it back', async () => {
  const lab = await createLab({ routers: 1, clients: 1 });
  try {
    const r = lab.routers[0];
    await lab.carrierDown(r);
    const link = JSON.parse((await lab.exec(r.ns, ['ip', '-j', 'link', 'show', 'dev', r.ifname])).stdout)[0];
    assert.not.ok(link.flags.includes('UP'), link.flags.join(','));
    assert.is(await reachable(lab, lab.clients[0].ns, r.ipv4), 0);
    await lab.carrierUp(r);
    assert.ok(await waitFor(async () => (await reachable(lab, lab.clients[0].ns, r.ipv4, 200)) > 0, 5000));
  } finally {
    await lab.destroy();
  }
});

test('destroy kills processes spawned in the lab', async () => {
  const lab = await createLab({ routers: 1 });
  let child: ReturnType<typeof lab.spawn> | undefined;
  try {
    child = lab.spawn(lab.routers[0].ns, ['sleep', '60']);
    await sleep(100);
    assert.is(child.exitCode, null);
  } finally {
    await lab.destroy();
  }
  assert.ok(await waitFor(() => child.exitCode !== null || child.signalCode !== null, 3000), 'sleep survived destroy');
});

test('destroyAllWithPrefix removes a lab whose handle was lost, and only that lab', async () => {
  const keep = await createLab({ routers: 1 });
  const lost = await createLab({ routers: 2, clients: 1 });
  try {
    lost.spawn(lost.routers[0].ns, ['sleep', '60']);
    const gone = destroyAllWithPrefix(lost.name);
    assert.is(gone.length, 4);
    assert.equal(ours(lost.name), []);
    assert.equal(ours(keep.name).sort(), [`${keep.name}-r1`, `${keep.name}-sw`]);
  } finally {
    await lost.destroy();
    await keep.destroy();
  }
  assert.equal(ours(keep.name), []);
});

test('a taken prefix and a bad prefix are refused without touching the existing lab', async () => {
  const lab = await createLab({ routers: 1 });
  try {
    let err: unknown;
    try {
      await createLab({ routers: 1, prefix: lab.name });
    } catch (e) {
      err = e;
    }
    assert.match(String(err), /already exist/);
    err = undefined;
    try {
      await createLab({ routers: 1, prefix: 'Bad_Name' });
    } catch (e) {
      err = e;
    }
    assert.match(String(err), /prefix/);
    assert.is(ours(lab.name).length, 2);
  } finally {
    await lab.destroy();
  }
});

test.run();
