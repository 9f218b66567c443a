// The clients of `tandem lab --cluster N` (run in the client namespace: `node --import tsx
// lab/cluster-traffic.ts CONFIG_JSON`): from every source address a UDP probe every `udpMs`
// (the outage clock) and an HTTP GET every `httpMs` on one keep-alive connection per source (a
// reset of that connection is what a planned change must never cause; each connection is closed
// after `requestsPerConnection` requests, as browsers and proxies recycle theirs, so a drained
// connection ends well before drain_timeout). It prints one JSON line
// {ready} and, on "stop" on stdin, one JSON line with what each source saw:
//   gaps: runs of probes that got no answer, longer than `gapMs` {startMs, lengthMs} (from the
//   last answered probe's sending to the next answered one's: a stall of this process sends
//   nothing and loses nothing, so it is not counted), duplicates: probes answered twice,
//   served: node -> replies,
//   lastNode, httpOk, httpErrors: {atMs, code}.
import { createSocket } from 'node:dgram';
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';

interface Config {
  sources: string[];
  vip: string;
  udpMs: number;
  /** A silence longer than this counts as an outage (scheduling jitter on a loaded box stays below). */
  gapMs: number;
  httpMs: number;
  requestsPerConnection: number;
}
const cfg = JSON.parse(process.argv[2]) as Config;
const now = () => performance.timeOrigin + performance.now();

interface SourceStats {
  gaps: { startMs: number; lengthMs: number }[];
  duplicates: number;
  served: Record<string, number>;
  lastNode: string | null;
  lastReplyMs: number | null;
  httpOk: number;
  httpErrors: { atMs: number; code: string }[];
  httpServed: Record<string, number>;
}
const stats = new Map<string, SourceStats>();
const gapsOf = new Map<string, () => void>();
const stops: (() => void)[] = [];

for (const src of cfg.sources) {
  const sent: number[] = [];
  const answers: number[] = [];
  const s: SourceStats = {
    gaps: [],
    duplicates: 0,
    served: {},
    lastNode: null,
    lastReplyMs: null,
    httpOk: 0,
    httpErrors: [],
    httpServed: {},
  };
  stats.set(src, s);
  /** Recomputes s.gaps from the probes sent more than a second ago. */
  gapsOf.set(src, () => {
    const horizon = now() - 1000;
    s.gaps = [];
    let prev = -1;
    for (let i = 0; i < sent.length && sent[i] < horizon; i++) {
      if (!answers[i]) continue;
      if (prev >= 0 && i - prev > 1 && sent[i] - sent[prev] > cfg.gapMs)
        s.gaps.push({ startMs: sent[prev], lengthMs: sent[i] - sent[prev] });
      prev = i;
    }
  });
  const sock = createSocket(cfg.vip.includes(':') ? 'udp6' : 'udp4');
  sock.on('error', () => {});
  sock.on('message', (m) => {
    const t = now();
    const [node, seqText] = m.toString().split(' ');
    const seq = Number(seqText);
    if (Number.isInteger(seq) && seq >= 0 && seq < sent.length) {
      answers[seq] = (answers[seq] ?? 0) + 1;
      if (answers[seq] === 2) s.duplicates++;
    }
    s.lastReplyMs = t;
    s.lastNode = node;
    s.served[node] = (s.served[node] ?? 0) + 1;
  });
  sock.bind(0, src, () => {
    const timer = setInterval(() => {
      sent.push(now());
      sock.send(String(sent.length - 1), 7, cfg.vip);
    }, cfg.udpMs);
    stops.push(() => {
      clearInterval(timer);
      sock.close();
    });
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let busy = false;
  let requests = 0;
  const httpTimer = setInterval(() => {
    if (busy) return;
    busy = true;
    const last = ++requests % cfg.requestsPerConnection === 0;
    const headers = last ? { connection: 'close' } : {};
    const req = request(
      { host: cfg.vip, port: 80, path: '/', agent, localAddress: src, timeout: 5000, headers },
      (res) => {
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
      },
    );
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
    for (const [k, v] of stats) {
      gapsOf.get(k)?.();
      out[k] = v;
    }
    process.stdout.write(`${JSON.stringify({ atMs: now(), sources: out })}\n`);
    if (line.trim() === 'stop') {
      for (const s of stops) s();
      setTimeout(() => process.exit(0), 50);
    }
  }
}
