// The clients of `tandem lab --cluster N` (run in the client namespace: `node --import tsx
// lab/cluster-traffic.ts CONFIG_JSON`): from every source address a UDP probe every `udpMs`
// (the outage clock) and an HTTP GET every `httpMs` on one keep-alive connection per source (a
// reset of that connection is what a planned change must never cause). It prints one JSON line
// {ready} and, on "stop" on stdin, one JSON line with what each source saw:
//   gaps: UDP silences longer than 3 probe intervals {startMs, lengthMs}, served: node -> replies,
//   lastNode, httpOk, httpErrors: {atMs, code}.
import { createSocket } from 'node:dgram';
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';

interface Config {
  sources: string[];
  vip: string;
  udpMs: number;
  httpMs: number;
}
const cfg = JSON.parse(process.argv[2]) as Config;
const now = () => performance.timeOrigin + performance.now();

interface SourceStats {
  gaps: { startMs: number; lengthMs: number }[];
  served: Record<string, number>;
  lastNode: string | null;
  lastReplyMs: number | null;
  httpOk: number;
  httpErrors: { atMs: number; code: string }[];
  httpServed: Record<string, number>;
}
const stats = new Map<string, SourceStats>();
const stops: (() => void)[] = [];

for (const src of cfg.sources) {
  const s: SourceStats = {
    gaps: [],
    served: {},
    lastNode: null,
    lastReplyMs: null,
    httpOk: 0,
    httpErrors: [],
    httpServed: {},
  };
  stats.set(src, s);
  const sock = createSocket(cfg.vip.includes(':') ? 'udp6' : 'udp4');
  sock.on('error', () => {});
  sock.on('message', (m) => {
    const t = now();
    const node = m.toString().split(' ')[0];
    if (s.lastReplyMs !== null && t - s.lastReplyMs > 3 * cfg.udpMs)
      s.gaps.push({ startMs: s.lastReplyMs, lengthMs: t - s.lastReplyMs });
    s.lastReplyMs = t;
    s.lastNode = node;
    s.served[node] = (s.served[node] ?? 0) + 1;
  });
  sock.bind(0, src, () => {
    let seq = 0;
    const timer = setInterval(() => sock.send(String(seq++), 7, cfg.vip), cfg.udpMs);
    stops.push(() => {
      clearInterval(timer);
      sock.close();
    });
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let busy = false;
  const httpTimer = setInterval(() => {
    if (busy) return;
    busy = true;
    const req = request({ host: cfg.vip, port: 80, path: '/', agent, localAddress: src, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d) => {
        body += d.toString();
      });
      res.on('end', () => {
        busy = false;
        s.httpOk++;
        const node = body.trim();
        s.httpServed[node] = (s.httpServed[node] ?? 0) + 1;
      });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => {
      busy = false;
      s.httpErrors.push({ atMs: now(), code: e.code ?? e.message });
    });
    req.end();
  }, cfg.httpMs);
  stops.push(() => {
    clearInterval(httpTimer);
    agent.destroy();
  });
}

process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === 'snapshot' || line.trim() === 'stop') {
    const out: Record<string, SourceStats> = {};
    for (const [k, v] of stats) out[k] = v;
    process.stdout.write(`${JSON.stringify({ atMs: now(), sources: out })}\n`);
    if (line.trim() === 'stop') {
      for (const s of stops) s();
      setTimeout(() => process.exit(0), 50);
    }
  }
}
