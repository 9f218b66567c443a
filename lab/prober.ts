// A client-side reachability prober at 1 ms granularity: ICMP echo to the VIP every 1 ms from a
// client namespace, and the outages (gaps between replies) computed from the reply times. The
// sender is a small python3 raw-socket loop, since Node has no raw sockets and iputils-ping is
// not among the packages the build installs.
import { stopProcessGroup } from './process-group.ts';
import { fileURLToPath } from 'node:url';
import type { Lab } from './netns.ts';
import { LabError } from './netns.ts';

export interface Outage {
  /** Unix time (ms) of the last reply before the gap. */
  startMs: number;
  /** Time from the last reply before the gap to the first one after it (or to the stop). */
  lengthMs: number;
  /** Echo requests without a reply inside the gap. */
  lostPackets: number;
}

export interface ProbeReport {
  sent: number;
  received: number;
  lost: number;
  outages: Outage[];
  longestOutageMs: number;
  /** Requests lost before the first reply (address resolution, or the target not up yet). */
  initialLost: number;
  /** The requested interval between echo requests. */
  intervalMs: number;
  /** From the first request to the last: sent / durationMs is the rate really achieved. */
  durationMs: number;
}

export interface ProbeReply {
  n: number;
  timeMs: number;
}

export interface ProberOptions {
  /** Time between echo requests (default 1 ms). */
  intervalMs?: number;
  /** A gap counts as an outage when at least this many requests in a row went unanswered (default 1). */
  minLostPackets?: number;
}

// Prints "R <n> <epoch_ms>" per reply (n = 0-based request number, unwrapped from the 16-bit
// sequence) and "S <sent>" at the end. Sends on an absolute schedule; if it falls behind it does
// not burst to catch up. Stops on SIGTERM, waiting 200 ms for late replies.
const PROBER_PY = fileURLToPath(new URL('./py/icmp-prober.py', import.meta.url));

/**
 * Outages from replies (any order, duplicates allowed). A gap between consecutive answered
 * requests a and b with b - a - 1 >= minLostPackets is an outage lasting from a's reply to b's.
 * If requests after the last reply went unanswered, the tail is an outage up to `stopMs`.
 */
export function computeProbeReport(
  replies: readonly ProbeReply[],
  sent: number,
  opts: { intervalMs: number; stopMs: number; minLostPackets?: number; durationMs?: number },
): ProbeReport {
  const minLost = Math.max(1, opts.minLostPackets ?? 1);
  const byN = new Map<number, number>();
  for (const r of replies) if (r.n >= 0 && r.n < sent && !byN.has(r.n)) byN.set(r.n, r.timeMs);
  const got = [...byN.entries()].sort((a, b) => a[0] - b[0]);
  const outages: Outage[] = [];
  for (let i = 1; i < got.length; i++) {
    const [na, ta] = got[i - 1];
    const [nb, tb] = got[i];
    const lostPackets = nb - na - 1;
    if (lostPackets >= minLost) outages.push({ startMs: ta, lengthMs: Math.max(0, tb - ta), lostPackets });
  }
  if (got.length > 0) {
    const [nLast, tLast] = got[got.length - 1];
    const tail = sent - 1 - nLast;
    if (tail >= minLost)
      outages.push({ startMs: tLast, lengthMs: Math.max(0, opts.stopMs - tLast), lostPackets: tail });
  }
  const received = got.length;
  return {
    sent,
    received,
    lost: sent - received,
    outages,
    longestOutageMs: outages.reduce((m, o) => Math.max(m, o.lengthMs), 0),
    initialLost: got.length ? got[0][0] : sent,
    intervalMs: opts.intervalMs,
    durationMs: opts.durationMs ?? sent * opts.intervalMs,
  };
}

export interface WindowOutage {
  /** Longest time between consecutive answered requests inside the window, or from the last
   *  reply to the window's end when nothing answered after it (then `recovered` is false). */
  lengthMs: number;
  /** Requests without a reply in that gap (estimated from the request rate for an open tail). */
  lostPackets: number;
  /** Unix time (ms) of the last reply before the gap. */
  startMs: number;
  recovered: boolean;
}

/**
 * The worst gap in replies between `fromMs` and `toMs` (Unix ms), counting only gaps where at
 * least `minLostPackets` requests went unanswered, so 1 ms send jitter is not an outage. Null when
 * replies flowed without a loss, or when there were none at all in the window.
 */
export function windowOutage(
  replies: readonly ProbeReply[],
  fromMs: number,
  toMs: number,
  minLostPackets = 1,
): WindowOutage | null {
  const inWin = replies.filter((r) => r.timeMs >= fromMs && r.timeMs <= toMs).sort((a, b) => a.n - b.n);
  if (inWin.length === 0) return null;
  let worst: WindowOutage | null = null;
  for (let i = 1; i < inWin.length; i++) {
    const lost = inWin[i].n - inWin[i - 1].n - 1;
    const len = inWin[i].timeMs - inWin[i - 1].timeMs;
    if (lost >= minLostPackets && (!worst || len > worst.lengthMs)) {
      worst = { lengthMs: len, lostPackets: lost, startMs: inWin[i - 1].timeMs, recovered: true };
    }
  }
  // Nothing answered after the last reply: an open outage up to the window's end. The loss is
  // estimated from the request rate seen inside the window.
  const last = inWin[inWin.length - 1];
  const tail = toMs - last.timeMs;
  const first = inWin[0];
  const ratePerMs = last.timeMs > first.timeMs ? (last.n - first.n) / (last.timeMs - first.timeMs) : 1;
  const tailLost = Math.floor(tail * ratePerMs);
  if (tailLost >= Math.max(minLostPackets, 20) && (!worst || tail > worst.lengthMs)) {
    worst = { lengthMs: tail, lostPackets: tailLost, startMs: last.timeMs, recovered: false };
  }
  return worst;
}

export interface Prober {
  /** Resolves once the first echo request is about to go out. */
  readonly ready: Promise<void>;
  /** Replies so far (for waiting until the target answers). */
  received(): number;
  /** Unix time (ms) of the latest reply, or null before the first. */
  lastReplyMs(): number | null;
  /** Every reply so far, in arrival order (for outages inside a time window: windowOutage). */
  replies(): readonly ProbeReply[];
  stop(): Promise<ProbeReport>;
}

/** Probe `target` (IPv4) from `clientNs` every `intervalMs` (1 ms by default) until stop(). */
export function startProber(lab: Lab, clientNs: string, target: string, opts: ProberOptions = {}): Prober {
  const intervalMs = opts.intervalMs ?? 1;
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(target)) throw new LabError(`prober: IPv4 target expected, got ${target}`);
  const child = lab.spawn(clientNs, ['python3', '-u', PROBER_PY, target, String(intervalMs)]);
  const replies: ProbeReply[] = [];
  let sent = -1;
  let durationMs = 0;
  let buf = '';
  let err = '';
  let readyResolve!: () => void;
  const ready = new Promise<void>((res) => {
    readyResolve = res;
  });
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const [k, a, b] = line.split(' ');
      if (k === 'R') replies.push({ n: Number(a), timeMs: Number(b) });
      else if (k === 'S') {
        sent = Number(a);
        durationMs = Number(b);
      } else if (k === 'READY') readyResolve();
    }
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  child.once('exit', () => readyResolve());
  return {
    ready,
    received: () => replies.length,
    lastReplyMs: () => (replies.length ? replies[replies.length - 1].timeMs : null),
    replies: () => replies,
    async stop() {
      const stopMs = Date.now();
      await stopProcessGroup(child, exited, 'SIGTERM');
      if (sent < 0) throw new LabError(`prober in ${clientNs} ended without a summary: ${err.trim()}`);
      return computeProbeReport(replies, sent, { intervalMs, stopMs, minLostPackets: opts.minLostPackets, durationMs });
    },
  };
}
