// A tiny service for the cluster daemon tests, run in a node's namespace next to tandem
// (`node --import tsx test/kit/cluster-responder.ts NAME ADDRESS...`): UDP echo and TCP on port 7
// of each cluster address, every answer starting with the node's name (the protocol of
// test/kit/cluster-client.ts). It binds before tandem has put the addresses on the node, so the
// test sets net.ipv4.ip_nonlocal_bind / net.ipv6.ip_nonlocal_bind in the namespace first.
import { createSocket } from 'node:dgram';
import { createServer, type Socket } from 'node:net';

const PORT = 7;
const [name, ...addresses] = process.argv.slice(2);
const sockets = new Set<Socket>();
for (const address of addresses) {
  const udp = createSocket(address.includes(':') ? 'udp6' : 'udp4');
  udp.on('message', (msg, rinfo) => udp.send(`${name} ${msg}`, rinfo.port, rinfo.address));
  await new Promise<void>((r) => udp.bind(PORT, address, r));
  const tcp = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.write(`${name}\n`);
    s.on('data', (d) => s.write(`${name} ${d.toString().trim()}\n`));
  });
  await new Promise<void>((r) => tcp.listen(PORT, address, r));
}
process.stdout.write('ready\n');
