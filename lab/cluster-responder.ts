// The small service each node of `tandem lab --cluster N` runs on the shared address (run inside
// the node's namespace: `node --import tsx lab/cluster-responder.ts NAME ADDRESS`): HTTP on port
// 80 answering the node's name (keep-alive), and a UDP echo on port 7 answering "NAME SEQ" for
// the client's fine-grained outage probes. It binds before tandem adds the address
// (net.ipv4.ip_nonlocal_bind=1 in the namespace), so it serves as soon as the node owns buckets.
import { createServer } from 'node:http';
import { createSocket } from 'node:dgram';

const [name, address] = process.argv.slice(2);
const http = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(`${name}\n`);
});
http.keepAliveTimeout = 60_000;
http.listen(80, address);
const udp = createSocket(address.includes(':') ? 'udp6' : 'udp4');
udp.on('message', (msg, rinfo) => udp.send(`${name} ${msg}`, rinfo.port, rinfo.address));
udp.bind(7, address);
process.on('SIGTERM', () => process.exit(0));
