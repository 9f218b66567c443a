// The active-active firewall lab: three tandem nodes in one forward cluster (issue #14 with #13),
// the clients' gateway on the LAN and the servers' route back on the WAN, conntrackd among them
// on a sync segment. Used by test/net/cluster-state-sync.test.ts. Lab code: it may run iproute2/nft.
//
//   client c1 192.0.2.101 + SOURCES --br0-- r1..r3 eth0 192.0.2.11-13, gateway 192.0.2.1 (cluster)
//   server c2 198.51.100.100      --br1-- r1..r3 wan 198.51.100.11-13, gateway 198.51.100.1
//   r1..r3 sync0 203.0.113.11-13  --br2-- (conntrackd, multicast 225.0.0.50)
import { bridgeCommand, createLab, type Lab, type LabHost } from './netns.ts';
import { STATEFUL_FORWARD } from './state-sync.ts';

export const GATEWAY = '192.0.2.1';
export const RETURN_GATEWAY = '198.51.100.1';
export const SERVER_IP = '198.51.100.100';
export const CLUSTER_ID = 9;
export const BUCKETS = 64;
export const ADVERT_MS = 100;
/** The client's source addresses: enough that every node owns some of them. */
export const SOURCES = Array.from({ length: 16 }, (_, i) => `192.0.2.${150 + i}`);

/** Stateful forwarding, no NAT (a forward cluster hashes the client address on both sides, and a
 *  translated reply would no longer carry it): the WAN side only gets established flows. */
const RULESET = `
table inet sfw {
  ${STATEFUL_FORWARD}
}
`;

export interface ClusterFirewallLab {
  lab: Lab;
  client: LabHost;
  server: LabHost;
  nodes: LabHost[];
  /** Bridge ports of each node's WAN side and sync side (in the switch namespace). */
  wanPorts: string[];
  /** A node fails silently: its LAN and WAN ports stop forwarding, its carrier stays up. */
  failSilently(i: number, down?: boolean): Promise<void>;
  destroy(): Promise<void>;
}

async function bridge(lab: Lab, name: string): Promise<void> {
  await lab.exec(null, bridgeCommand(lab.switchNs, name));
  await lab.exec(null, ['ip', '-n', lab.switchNs, 'link', 'set', name, 'up']);
}

export async function createClusterFirewallLab(n = 3): Promise<ClusterFirewallLab> {
  const lab = await createLab({ routers: n, clients: 2, ipv6: false });
  try {
    const [client, server] = lab.clients;
    const sw = lab.switchNs;
    const x = (ns: string | null, argv: string[]) => lab.exec(ns, argv);
    await bridge(lab, 'br1');
    await bridge(lab, 'br2');
    await x(null, ['ip', '-n', sw, 'link', 'set', server.bridgePort, 'master', 'br1']);
    await x(null, ['ip', '-n', server.ns, 'addr', 'flush', 'dev', 'eth0']);
    await x(null, ['ip', '-n', server.ns, 'addr', 'add', `${SERVER_IP}/24`, 'dev', 'eth0']);
    await x(null, ['ip', '-n', server.ns, 'route', 'add', '192.0.2.0/24', 'via', RETURN_GATEWAY]);
    for (const a of SOURCES) await x(null, ['ip', '-n', client.ns, 'addr', 'add', `${a}/24`, 'dev', 'eth0']);
    await x(null, ['ip', '-n', client.ns, 'route', 'add', 'default', 'via', GATEWAY]);
    const wanPorts: string[] = [];
    for (const [i, r] of lab.routers.entries()) {
      for (const [dev, br, net] of [
        ['wan', 'br1', '198.51.100'],
        ['sync0', 'br2', '203.0.113'],
      ] as const) {
        const port = `${lab.name}${dev[0]}${i + 1}`;
        if (dev === 'wan') wanPorts.push(port);
        await x(null, ['ip', '-n', sw, 'link', 'add', port, 'type', 'veth', 'peer', 'name', dev, 'netns', r.ns]);
        await x(null, ['ip', '-n', sw, 'link', 'set', port, 'master', br, 'up']);
        await x(null, ['ip', '-n', r.ns, 'addr', 'add', `${net}.${11 + i}/24`, 'dev', dev]);
        await x(null, ['ip', '-n', r.ns, 'link', 'set', dev, 'up']);
      }
      await lab.exec(r.ns, ['nft', '-f', '-'], { input: RULESET });
      await x(r.ns, ['sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward']);
    }
    const failSilently = async (i: number, down = true) => {
      await (down ? lab.linkDown(lab.routers[i]) : lab.linkUp(lab.routers[i]));
      await x(null, ['bridge', '-n', sw, 'link', 'set', 'dev', wanPorts[i], 'state', down ? '0' : '3']);
    };
    return {
      lab,
      client,
      server,
      nodes: [...lab.routers],
      wanPorts,
      failSilently,
      destroy: () => lab.destroy(),
    };
  } catch (e) {
    await lab.destroy();
    throw e;
  }
}

/** Node i's cluster (and, with `sync`, conntrackd among the nodes). */
export function clusterFirewallYaml(i: number, sync: boolean): string {
  return [
    'clusters:',
    '  - name: fw',
    '    interface: eth0',
    `    id: ${CLUSTER_ID}`,
    `    addresses: [${GATEWAY}/24]`,
    `    buckets: ${BUCKETS}`,
    `    advert_interval: ${ADVERT_MS}ms`,
    '    drain_timeout: 2s',
    '    mode: forward',
    `    return_path: { interface: wan, addresses: [${RETURN_GATEWAY}/24] }`,
    ...(sync ? [`    state_sync: { interface: sync0, local: 203.0.113.${11 + i} }`] : []),
  ].join('\n');
}
