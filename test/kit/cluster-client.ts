// The client side of the cluster data-path tests, run inside the client namespace (`ip netns exec
// NS node --import tsx test/kit/cluster-client.ts IFNAME`). One JSON command per stdin line, run
// concurrently; each answer is one JSON line carrying the command's `tag`:
//   probe {sources, vip4, vip6, waitMs}: from every source address one UDP probe (every reply
//     counted), one TCP connect (the greeting names the node) and one ICMP echo (every reply
//     counted by the replying node's MAC, captured with libpcap); also every Neighbor
//     Advertisement received meanwhile (replying MAC, destination, target);
//   watch {src, vip, ms, intervalMs}: UDP probes every intervalMs; every reply with its time;
//   tcpOpen {id, src, vip} / tcpSend {id, text} / tcpClose {id}: a long-lived TCP connection,
//     whose errors (a reset) are reported by tcpClose.
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { createLinuxDriver } from '../../drivers/linux/driver.ts';
import { formatIpv4, formatIpv6 } from '../../firmware/core/packet/addr.ts';

const PORT = 7;
const ifname = process.argv[2];
const driver = createLinuxDriver();
const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.timeOrigin + performance.now();

// ICMP echo replies (v4 type 0, v6 type 129) by destination address -> replying MACs.
const echoReplies = new Map<string, string[]>();
// Neighbor Advertisements (ICMPv6 type 136) received: the replying MAC, the asker, the target.
let neighborAdverts: { mac: string; dst: string; target: string }[] = [];
const ch = driver.openChannel(ifname, {
  vrrp: false,
  filter: 'icmp[0] == 0 or (icmp6 and (ip6[40] == 129 or ip6[40] == 136))',
});
ch.onFrame((f) => {
  const mac = [...f.subarray(6, 12)].map((b) => b.toString(16).padStart(2, '0')).join(':');
  const type = (f[12] << 8) | f[13];
  const dst = type === 0x0800 ? formatIpv4(f.subarray(30, 34)) : type === 0x86dd ? formatIpv6(f.subarray(38, 54)) : '';
  if (!dst) return;
  if (type === 0x86dd && f[54] === 136) {
    if (f.length >= 78) neighborAdverts.push({ mac, dst, target: formatIpv6(f.subarray(62, 78)) });
    return;
  }
  const list = echoReplies.get(dst) ?? [];
  list.push(mac);
  echoReplies.set(dst, list);
});

function udpProbe(src: string, vip: string, text: string, waitMs: number): Promise<string[]> {
  return new Promise((resolve) => {
    const s = createSocket(vip.includes(':') ? 'udp6' : 'udp4');
    const replies: string[] = [];
    s.on('message', (m) => replies.push(m.toString().split(' ')[0]));
    s.on('error', () => {});
    s.bind(0, src, () => {
      s.send(text, PORT, vip);
      setTimeout(() => {
        s.close();
        resolve(replies);
      }, waitMs);
    });
  });
}

function tcpGreeting(src: string, vip: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host: vip, port: PORT, localAddress: src });
    const t = setTimeout(() => {
      s.destroy();
      resolve('error:timeout');
    }, timeoutMs);
    s.once('data', (d) => {
      clearTimeout(t);
      s.destroy();
      resolve(d.toString().split('\n')[0]);
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(t);
      resolve(`error:${e.code}`);
    });
  });
}

const ICMP_ECHO = `${import.meta.dirname}/py/icmp-echo.py`;
/** One echo request per (source, destination) pair (a python raw socket: no iputils-ping here). */
function pings(pairs: [string, string][]): Promise<void> {
  return new Promise((resolve) => {
    execFile('python3', [ICMP_ECHO, ...pairs.map(([s, d]) => `${s},${d}`)], (err, _o, stderr) => {
      if (err) process.stderr.write(`icmp-echo: ${stderr}`);
      resolve();
    });
  });
}

interface Conn {
  sock: Socket;
  lines: string[];
  errors: string[];
  waiters: ((line: string) => void)[];
}
const conns = new Map<string, Conn>();

function nextLine(c: Conn, timeoutMs: number): Promise<string> {
  const queued = c.lines.shift();
  if (queued !== undefined) return Promise.resolve(queued);
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      c.waiters = c.waiters.filter((w) => w !== done);
      resolve('error:timeout');
    }, timeoutMs);
    const done = (line: string) => {
      clearTimeout(t);
      resolve(line);
    };
    c.waiters.push(done);
  });
}

type Cmd = { tag: number; cmd: string } & Record<string, unknown>;

async function run(c: Cmd): Promise<unknown> {
  switch (c.cmd) {
    case 'probe': {
      const sources = c.sources as string[];
      const waitMs = (c.waitMs as number) ?? 300;
      const vipOf = (s: string) => (s.includes(':') ? (c.vip6 as string) : (c.vip4 as string));
      for (const s of sources) echoReplies.delete(s);
      neighborAdverts = [];
      const results: Record<string, { udp: string[]; tcp: string; icmp: string[] }> = {};
      await Promise.all([
        pings(sources.map((s) => [s, vipOf(s)])),
        ...sources.map(async (s) => {
          const [udp, tcp] = await Promise.all([
            udpProbe(s, vipOf(s), 'probe', waitMs),
            tcpGreeting(s, vipOf(s), 1500),
          ]);
          results[s] = { udp, tcp, icmp: [] };
        }),
      ]);
      await sleep(waitMs);
      for (const s of sources) results[s].icmp = echoReplies.get(s) ?? [];
      return { results, neighborAdverts };
    }
    case 'watch': {
      const { src, vip, ms, intervalMs } = c as unknown as { src: string; vip: string; ms: number; intervalMs: number };
      const s = createSocket(vip.includes(':') ? 'udp6' : 'udp4');
      const replies: { t: number; node: string; seq: number }[] = [];
      s.on('message', (m) => {
        const [node, seq] = m.toString().split(' ');
        replies.push({ t: now(), node, seq: Number(seq) });
      });
      s.on('error', () => {});
      await new Promise<void>((r) => s.bind(0, src, r));
      const end = now() + ms;
      const sent: number[] = [];
      for (let seq = 0; now() < end; seq++) {
        sent.push(now());
        s.send(String(seq), PORT, vip);
        await sleep(intervalMs);
      }
      await sleep(100);
      s.close();
      return { sent, replies };
    }
    case 'tcpOpen': {
      const { id, src, vip } = c as unknown as { id: string; src: string; vip: string };
      const sock = connect({ host: vip, port: PORT, localAddress: src });
      const conn: Conn = { sock, lines: [], errors: [], waiters: [] };
      conns.set(id, conn);
      let buf = '';
      sock.on('data', (d) => {
        buf += d.toString();
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          const w = conn.waiters.shift();
          if (w) w(line);
          else conn.lines.push(line);
        }
      });
      sock.on('error', (e: NodeJS.ErrnoException) => conn.errors.push(e.code ?? e.message));
      return { greeting: await nextLine(conn, 1500) };
    }
    case 'tcpSend': {
      const conn = conns.get(c.id as string);
      if (!conn) return { error: 'no such connection' };
      conn.sock.write(`${c.text as string}\n`);
      return { reply: await nextLine(conn, (c.timeoutMs as number) ?? 3000) };
    }
    case 'tcpClose': {
      const conn = conns.get(c.id as string);
      if (!conn) return { error: 'no such connection' };
      conns.delete(c.id as string);
      conn.sock.end();
      await sleep(50);
      conn.sock.destroy();
      return { errors: conn.errors };
    }
    case 'exit':
      ch.close();
      driver.close();
      setTimeout(() => process.exit(0), 10);
      return {};
    default:
      return { error: `unknown command ${c.cmd}` };
  }
}

out({ ready: true });
for await (const line of createInterface({ input: process.stdin })) {
  const c = JSON.parse(line) as Cmd;
  run(c).then(
    (r) => out({ tag: c.tag, ...(r as object) }),
    (e) => out({ tag: c.tag, error: String(e) }),
  );
}
