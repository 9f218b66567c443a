// One cluster node for the data-path tests, run inside its namespace (`ip netns exec NS node
// --import tsx test/kit/cluster-node.ts NAME SPEC_JSON`): opens the Linux driver's cluster data
// path and a tiny responder on every cluster address (UDP echo and TCP on port 7, both answering
// with the node's name; ICMP is the kernel's), then obeys one JSON command per stdin line and
// answers one JSON line on stdout: {cmd:'set',owned,draining} | {cmd:'describe'} | {cmd:'close'}.
// With `--remove NAME IFNAME` it only calls removeClusterDataPath (what a restart after a crash does).
import { createServer, type Socket } from 'node:net';
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';
import { createLinuxDriver } from '../../drivers/linux/driver.ts';
import type { ClusterDataPathSpec } from '../../drivers/types.ts';

export const RESPONDER_PORT = 7;

if (process.argv[2] === '--remove') {
  const d = createLinuxDriver();
  d.removeClusterDataPath(process.argv[3], process.argv[4]);
  d.close();
  process.exit(0);
}

const [name, specJson] = process.argv.slice(2);
const spec = JSON.parse(specJson) as ClusterDataPathSpec;
const driver = createLinuxDriver();
const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

const closers: (() => void)[] = [];
try {
  const dp = driver.openClusterDataPath(spec);
  for (const cidr of spec.addresses) {
    const address = cidr.split('/')[0];
    const udp = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    udp.on('message', (msg, rinfo) => udp.send(`${name} ${msg}`, rinfo.port, rinfo.address));
    await new Promise<void>((r) => udp.bind(RESPONDER_PORT, address, r));
    closers.push(() => udp.close());
    const sockets = new Set<Socket>();
    const tcp = createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
      s.write(`${name}\n`);
      s.on('data', (d) => s.write(`${name} ${d.toString().trim()}\n`));
    });
    await new Promise<void>((r) => tcp.listen(RESPONDER_PORT, address, r));
    closers.push(() => {
      tcp.close();
      for (const s of sockets) s.destroy();
    });
  }
  out({ ready: true, mac: driver.getMac(spec.interface) });
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    const cmd = JSON.parse(line) as { cmd: string; owned?: number[]; draining?: number[]; handing?: number[] };
    try {
      if (cmd.cmd === 'set') {
        const t0 = performance.now();
        dp.setBuckets(cmd.owned ?? [], cmd.draining ?? [], cmd.handing ?? []);
        out({ ok: true, ms: performance.now() - t0, at: performance.timeOrigin + t0 });
      } else if (cmd.cmd === 'describe') {
        out({ ok: true, describe: dp.describe() });
      } else if (cmd.cmd === 'close') {
        for (const c of closers.splice(0)) c();
        dp.close();
        driver.close();
        out({ ok: true });
        process.exit(0);
      }
    } catch (e) {
      out({ ok: false, error: String(e) });
    }
  }
} catch (e) {
  out({ ready: false, error: String(e) });
  driver.close();
  process.exit(1);
}
